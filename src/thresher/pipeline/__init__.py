"""Stages as small functions that read and write files in the work folder."""
