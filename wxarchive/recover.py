"""``wxarchive rebuild --from-posts``: the state database rebuilt from what is on disk.

Every post wxarchive writes carries its identity in its front matter (``source_url``,
``biz``/``mid``/``idx``, title, account, date), and its raw page is kept under
``.wxarchive/raw/`` by the key's hash. So a damaged or lost state can be made again
from the posts: each becomes an archived article again (a later run skips it, and
``rebuild`` re-renders it from its raw page). What only the database knew is lost:
failed and given-up articles (they are tried again), image retries, the back-off,
harvest positions and learned footers (they are learned again).

A damaged database is never deleted: it is moved aside, with its ``-wal``/``-shm``,
as ``state.sqlite3.damaged-<time>`` for whoever wants to look at it.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from . import rawpage
from .errors import StateDamaged
from .render import split_post
from .site import Site
from .store import Store
from .urls import article_key

__all__ = ["Recovered", "rebuild_state"]

log = logging.getLogger(__name__)


@dataclass
class Recovered:
    posts: int = 0  # posts recorded as archived
    known: int = 0  # already in a healthy state
    without_raw: int = 0  # recorded, but no raw page kept (rebuild cannot re-render them)
    not_ours: int = 0  # .md files without wxarchive's front matter
    kept_damaged: Path | None = None


def _set_aside(db: Path) -> Path | None:
    """Move a damaged state out of the way (never delete it); None when it was healthy."""
    if not db.exists():
        return None
    try:
        with Store(db) as st:
            if st.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok":
                return None
    except (StateDamaged, sqlite3.DatabaseError):
        pass
    kept = db.with_name(f"{db.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    for extra in ("", "-wal", "-shm"):
        src = Path(str(db) + extra)
        if src.exists():
            os.replace(src, Path(str(kept) + extra))
    return kept


def _published(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    try:
        return dt.datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S %z").isoformat()
    except ValueError:
        return ""


def _raw_rel(site: Site, key: str) -> str:
    for suffix in (rawpage.SUFFIX, ".html.gz"):
        rel = Path(".wxarchive") / "raw" / rawpage.raw_name(key, suffix)
        if (site.root / rel).is_file():
            return str(rel)
    return ""


def rebuild_state(site: Site) -> Recovered:
    """Record every wxarchive post under ``site`` in its state (call it holding the archive's lock)."""
    db = site.state_dir / "state.sqlite3"
    res = Recovered(kept_damaged=_set_aside(db))
    with Store(db) as store:
        for post in sorted(site.posts_dir.glob("*.md")):
            try:
                fm, _ = split_post(post.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError) as e:
                log.warning("%s: cannot read its front matter (%s); left out", post, e)
                res.not_ours += 1
                continue
            source = str(fm.get("source_url") or "")
            ids = [str(fm.get(k) or "") for k in ("biz", "mid", "idx")]
            key = ":".join(ids) if all(ids) else (article_key(source) or source)
            if not source or not key:
                res.not_ours += 1
                continue
            if store.is_archived(key):
                res.known += 1
                continue
            raw = _raw_rel(site, key)
            res.without_raw += not raw
            aliases = [a for a in {source, article_key(source) or ""} if a]
            store.record_archived(key, aliases, url=source, canonical_url=source, title=str(fm.get("title") or ""),
                                  account=str(fm.get("account") or ""), published=_published(fm.get("date")),
                                  post_path=str(post.relative_to(site.root)), raw_path=raw)
            res.posts += 1
    return res
