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

Recovery never leaves less than it found (issue 25): a damaged state is replaced only at the
end, by a new one built whole beside it (its WAL and SHM moved aside first, so a kill between
the renames never leaves a stale ``-wal`` beside the new file); a post it cannot read is
skipped with a line; it adopts only posts wxarchive wrote (a kept raw page for the post's
key, or the front-matter keys only the archiver writes); and it never re-points an alias
that exists.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from wxarchive.archive import rawpage
from wxarchive.errors import StateDamaged
from wxarchive.write.frontmatter import FrontMatter, FrontMatterError
from wxarchive.archive.site import Site, read_post_front_matter
from wxarchive.archive.store import Store
from wxarchive.layout import raw_rel
from wxarchive.urls import article_key

__all__ = ["Recovered", "rebuild_state"]

log = logging.getLogger(__name__)


@dataclass
class Recovered:
    posts: int = 0  # posts recorded as archived
    known: int = 0  # already in a healthy state
    without_raw: int = 0  # recorded, but no raw page kept (rebuild cannot re-render them)
    not_ours: int = 0  # .md files without wxarchive's front matter
    kept_damaged: Path | None = None


def _healthy(db: Path) -> bool:
    """Whether ``db`` is a state to add to (a missing one counts as damaged: a new one is built)."""
    if not db.exists():
        return False
    try:
        with Store(db) as st:
            return bool(st.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
    except (StateDamaged, sqlite3.DatabaseError):
        return False


def _set_aside(db: Path) -> Path | None:
    """Move a damaged state out of the way (never delete it), its WAL and SHM first; None when there is none."""
    if not db.exists():
        for extra in ("-wal", "-shm"):  # a stale WAL left alone would be replayed into the new file
            Path(str(db) + extra).unlink(missing_ok=True)
        return None
    kept = db.with_name(f"{db.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    for extra in ("-wal", "-shm", ""):
        src = Path(str(db) + extra)
        if src.exists():
            os.replace(src, Path(str(kept) + extra))
    return kept


def _clear(path: Path) -> None:
    for extra in ("", "-wal", "-shm"):
        Path(str(path) + extra).unlink(missing_ok=True)


def _front_matter(post: Path) -> FrontMatter | None:
    """A post's front matter, or None (with a line when it has some that cannot be read)."""
    try:
        return read_post_front_matter(post)
    except (OSError, UnicodeDecodeError, FrontMatterError) as e:
        log.warning("%s: cannot read its front matter (%s); left out", post, " ".join(str(e).split())[:200])
        return None


_OURS = ("archived_at", "kind")  # front-matter keys render writes and a hand-written post does not


def _published(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    try:
        return dt.datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S %z").isoformat()
    except ValueError:
        return ""


def _raw_rel(site: Site, key: str) -> str:
    for suffix in (rawpage.SUFFIX, ".html.gz"):
        rel = raw_rel(rawpage.raw_name(key, suffix))
        if (site.root / rel).is_file():
            return str(rel)
    return ""


def rebuild_state(site: Site) -> Recovered:
    """Record every wxarchive post under ``site`` in its state (call it holding the archive's lock).

    A healthy state is added to in place (each post its own transaction: a kill leaves more, never
    less); a damaged or missing one is built whole under a temp name and swapped in at the end."""
    db = site.state_db
    res = Recovered()
    in_place = _healthy(db)
    target = db if in_place else db.with_name(db.name + ".rebuilding")
    if not in_place:
        _clear(target)  # what a killed recovery left
    with Store(target) as store:
        for post in sorted(site.posts_dir.glob("*.md")):
            _adopt(site, store, post, res)
        if not in_place:
            store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the new file whole, its WAL empty
    if not in_place:
        res.kept_damaged = _set_aside(db)
        for extra in ("-wal", "-shm"):
            Path(str(target) + extra).unlink(missing_ok=True)
        os.replace(target, db)
    return res


def _adopt(site: Site, store: Store, post: Path, res: Recovered) -> None:
    """Record one post, if wxarchive wrote it, as archived (never re-pointing an existing alias)."""
    fm = _front_matter(post)
    if fm is None:
        res.not_ours += 1
        return
    source = fm.source_url
    ids = [fm.text(k) for k in ("biz", "mid", "idx")]
    key = ":".join(ids) if all(ids) else (article_key(source) or source)
    if not source or not key:
        res.not_ours += 1
        return
    raw = _raw_rel(site, key)
    if not raw and not all(k in fm.data for k in _OURS):
        log.warning("%s: not written by wxarchive (no kept raw page, no archived_at/kind); left out", post)
        res.not_ours += 1
        return
    if store.is_archived(key):
        res.known += 1
        return
    res.without_raw += not raw
    store.record_archived(key, [], url=source, canonical_url=source, title=fm.text("title"),
                          account=fm.text("account"), published=_published(fm.data.get("date")),
                          post_path=str(post.relative_to(site.root)), raw_path=raw)
    store.add_aliases(key, [a for a in (source, article_key(source) or "") if a])
    chosen = fm.choices
    if chosen.set():  # what the post was made with, so a later rebuild makes it the same way
        store.record_choices(key, keep_footers=chosen.keep_footers, no_images=chosen.no_images)
    res.posts += 1
