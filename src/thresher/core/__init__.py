"""Pure algorithms: no I/O, no executors, arrays in and arrays out."""
