"""Pure: a fetched page in, its metadata and a clean article tree out (no I/O)."""
