"""The stages of a dedup run, a module each, named after the stage it runs."""
