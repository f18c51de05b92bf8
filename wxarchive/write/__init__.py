"""Pure: a clean article tree in, Markdown and front matter out (no I/O)."""
