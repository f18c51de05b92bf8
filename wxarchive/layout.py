"""The archive's layout on disk: every name wxarchive gives a file or folder in an archive, in one place.

Pure names (and path arithmetic): the top-level vocabulary, so the settings' defaults and the pure
writer may name them too. ``archive/site.py`` makes the tree; nothing else spells these strings.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["CONFIG_NAME", "GONE_PAGE", "IMAGE_DIR", "JEKYLL_CONFIG", "LAYOUT_DIR", "LOCK_NAME", "POSTS_DIR",
           "RAW_DIR", "STATE_DB", "STATE_DIR", "TMP_DIR", "WRITE_LOCK_NAME", "raw_rel", "state_db"]

CONFIG_NAME = "wxarchive.toml"  # the archive's settings ([site], [[sources]], [check], [options])
JEKYLL_CONFIG = "_config.yml"  # the site's own; wxarchive writes it only into a folder that has none
POSTS_DIR = "_posts"  # the default of [site] posts_dir
IMAGE_DIR = "postimg"  # the default of [site] image_dir (saved images and media)
GONE_PAGE = "gone.html"  # the page listing the originals `check` found gone

STATE_DIR = ".wxarchive"  # wxarchive's own folder in the archive; the names below live in it
STATE_DB = "state.sqlite3"  # the SQLite state (a damaged one is set aside as state.sqlite3.damaged-<time>)
RAW_DIR = "raw"  # the raw pages kept for `rebuild`
LAYOUT_DIR = "layout"  # pages and answers kept as evidence when WeChat's layout changed
LOCK_NAME = "lock"  # the run lock (one batch run at a time)
WRITE_LOCK_NAME = "write.lock"  # the short lock every writer holds while it writes a post and records it

TMP_DIR = ".wxarchive-tmp"  # in each folder written into: the temp files in flight (same filesystem)


def state_db(root: Path) -> Path:
    """The state database of the archive at ``root``."""
    return root / STATE_DIR / STATE_DB


def raw_rel(name: str) -> Path:
    """A kept raw page's path relative to the archive root, as the state records it."""
    return Path(STATE_DIR) / RAW_DIR / name
