"""The archive on disk: the Jekyll tree, the SQLite state, raw pages, the run lock, recovery."""
