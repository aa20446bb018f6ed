"""Readers and writers for the formats crawls come in."""
