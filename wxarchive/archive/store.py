"""SQLite state of an archive: articles, aliases, images, back-off, sources, learned footers.

gallery-dl's order: *check* before any request, *record* only after the files
were renamed into place, so the state never claims a post that is not on disk.

The schema carries a version (``PRAGMA user_version``); opening an archive runs
the ``MIGRATIONS`` it lacks, in order, so an archive made by an older wxarchive
upgrades in place. A schema change is a new entry there, never an edit of an old one.
"""
from __future__ import annotations

import json
import logging
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, NamedTuple
from collections.abc import Iterable, Iterator
from urllib.parse import quote

from wxarchive.errors import StateDamaged

from wxarchive.errors import ArchiveError
from wxarchive.archive.site import temp_dir
from wxarchive.write.original import Fate, SourceStatus

__all__ = ["SCHEMA_VERSION", "ArticleRow", "BackoffRecord", "ImageStatus", "SourceKind", "SourceState", "StateKey",
           "Status", "Store"]


class Status(str, Enum):
    """An article's state (``articles.status``); the stored text is the value."""

    ARCHIVED = "archived"
    FAILED = "failed"  # tried again by later runs
    GAVE_UP = "gave_up"  # not asked for again without --retry-failed

    def __str__(self) -> str:
        return self.value


class ImageStatus(str, Enum):
    """An image's state (``images.status``)."""

    SAVED = "saved"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


class StateKey(StrEnum):
    """The archive-wide entries of the ``kv`` table (a JSON value each, one owner each). A harvest source's
    entry is ``source:<ident>`` (:meth:`Store.source_state`); a pre-4 state also held ``choices:<key>``."""

    BACKOFF = "backoff"  # the pause after WeChat asked for verification: a BackoffRecord (archive.backoff)
    WEREAD = "weread"  # the WeRead bench and which problems were reported (net.weread.Channel)


SOURCE_PREFIX = "source:"


class SourceKind(StrEnum):
    """What a ``[[sources]]`` entry lists from (``kind =``, or found from its content)."""

    ALBUM = "album"
    FEED = "feed"
    LIST = "list"
    ACCOUNT = "account"


@dataclass
class SourceState:
    """What the state remembers of one harvest source between runs (``kv["source:<ident>"]``).

    Read from a state that may be anyone's: a value of the wrong type reads as its default, and keys
    this code does not know (a newer wxarchive's) are kept as they are in ``other``."""

    pending: list[str] = field(default_factory=list)  # listed, not archived yet (a block, a failure, a kill):
    # album and account listings stop at the first archived article, so would not list these again
    complete: bool = True  # the last listing reached the end (an album's listing then stops at the first known)
    kind: str = ""  # what the last listing found it to be (a SourceKind value)
    walk: dict[str, Any] = field(default_factory=dict)  # an account's history walk (``net.weread.list_account``)
    other: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, value: object) -> SourceState:
        if not isinstance(value, dict):
            return cls()
        pending, walk, kind = value.get("pending"), value.get("walk"), value.get("kind")
        return cls(pending=[u for u in pending if isinstance(u, str)] if isinstance(pending, list) else [],
                   complete=bool(value.get("complete", True)),
                   kind=kind if isinstance(kind, str) else "",
                   walk=dict(walk) if isinstance(walk, dict) else {},
                   other={k: v for k, v in value.items() if k not in ("pending", "complete", "kind", "walk")})

    def to_json(self) -> dict[str, Any]:
        out = {**self.other, "pending": self.pending, "complete": self.complete, "kind": str(self.kind)}
        if self.walk:
            out["walk"] = self.walk
        return out


@dataclass(frozen=True)
class BackoffRecord:
    """The archive-wide back-off (``kv["backoff"]``): no run asks WeChat before ``until``."""

    until: float = 0.0  # epoch seconds
    level: int = 0  # blocks in a row, less one: the delay doubles with each
    delay: float = 0.0  # seconds
    reason: str = ""  # what WeChat said
    since: float = 0.0  # when the block was met
    until_text: str = ""  # ``until`` in the local time of the run that wrote it

    @classmethod
    def from_json(cls, value: object) -> BackoffRecord | None:
        """The record, or None when it is not one this code wrote (a foreign or hand-edited state: ``until = "abc"``)."""
        if not isinstance(value, dict):
            return None
        try:
            rec = cls(until=float(value.get("until", 0)), level=int(value.get("level", 0)),
                      delay=float(value.get("delay", 0)), reason=str(value.get("reason") or ""),
                      since=float(value.get("since") or 0), until_text=str(value.get("until_text") or ""))
        except (TypeError, ValueError, OverflowError):
            return None
        if not (math.isfinite(rec.until) and math.isfinite(rec.delay) and 0 <= rec.level < 1000):
            return None
        return rec

    def to_json(self) -> dict[str, Any]:
        return {"until": self.until, "until_text": self.until_text, "level": self.level, "delay": self.delay,
                "reason": self.reason, "since": self.since}


_FAILED = (Status.FAILED.value, Status.GAVE_UP.value)
_FAILED_SQL = f"status IN ('{_FAILED[0]}', '{_FAILED[1]}')"  # (literal: a partial index's terms)


class ArticleRow(NamedTuple):
    """One article's record (a row of ``articles``, its columns in schema order): read by attribute."""

    key: str
    url: str
    canonical_url: str | None
    title: str | None
    account: str | None
    published: str | None  # ISO 8601, "" when unknown
    post_path: str | None  # relative to the archive root
    raw_path: str | None
    status: str  # a Status value
    error_code: str | None
    error_msg: str | None
    permanent: int
    attempts: int
    images_found: int
    images_saved: int
    stripped: str | None  # JSON: what boilerplate rules took out
    updated_at: float
    archived_at: float | None
    no_images: int = 0  # the post was made with --no-images: its remote images are not "missing"
    keep_footers: int = 0  # made with --keep-footers
    images_given_up: int = 0  # every image it lacks was tried MAX_IMAGE_TRIES times: no heal asks again
    tried_at: float | None = None  # the last check asked (fates.tried_at, kept here for the check queue's index)


# explicit columns, not *: a migrated archive may hold them in another order
_ARTICLE = ", ".join(ArticleRow._fields)
_A_ARTICLE = ", ".join(f"a.{c}" for c in ArticleRow._fields)
_GET = f"SELECT {_ARTICLE} FROM articles WHERE key = COALESCE((SELECT key FROM aliases WHERE alias=?), ?)"


def records_sql(n: int) -> str:
    """``n`` keys or aliases -> (each, its record's columns), one indexed lookup each (``archived_records``)."""
    return (f"WITH q(k) AS (VALUES {','.join('(?)' for _ in range(n))}) SELECT q.k, {_A_ARTICLE} FROM q "
            "CROSS JOIN articles a ON a.key = COALESCE((SELECT key FROM aliases WHERE alias = q.k), q.k)")


ARTICLES_SQL = f"SELECT {_ARTICLE} FROM articles ORDER BY published, key"  # ls: the articles_published index


UNWRITTEN_SQL = "SELECT key FROM fates WHERE written=0 AND status IS NOT NULL"  # the fates_unwritten index


def check_queue_sql(*, limit: int | None = None, tried_before: float | None = None, account: str | None = None,
                    keys: list[str] | None = None) -> tuple[str, list[object]]:
    """The check queue's query: articles in the order of the ``articles_check_queue`` index, so the
    first ``limit`` come off it without a sort of the archive."""
    where: list[str] = ["status='archived'", "key NOT LIKE '%#v%'"]
    args: list[object] = []
    if tried_before is not None:
        where.append("COALESCE(tried_at, archived_at, 0) < ?")
        args.append(tried_before)
    if account:
        where.append("account = ?")
        args.append(account)
    if keys is not None:
        where.append(f"key IN ({','.join('?' * len(keys))})")
        args.extend(keys)
    sql = f"SELECT {_ARTICLE} FROM articles WHERE " + " AND ".join(where) + f" ORDER BY {_QUEUE_ORDER}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, args


def _article_row(_cur: sqlite3.Cursor, row: tuple[Any, ...]) -> ArticleRow:
    return ArticleRow._make(row)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    key TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    canonical_url TEXT,
    title TEXT,
    account TEXT,
    published TEXT,
    post_path TEXT,
    raw_path TEXT,
    status TEXT NOT NULL,            -- archived | failed | gave_up
    error_code TEXT,
    error_msg TEXT,
    permanent INTEGER DEFAULT 0,
    attempts INTEGER DEFAULT 0,
    images_found INTEGER DEFAULT 0,
    images_saved INTEGER DEFAULT 0,
    stripped TEXT,
    updated_at REAL NOT NULL,
    archived_at REAL
);
CREATE INDEX IF NOT EXISTS articles_status ON articles(status);
CREATE INDEX IF NOT EXISTS articles_post ON articles(post_path);
CREATE INDEX IF NOT EXISTS articles_account ON articles(account);
CREATE TABLE IF NOT EXISTS aliases (alias TEXT PRIMARY KEY, key TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS aliases_key ON aliases(key);
CREATE TABLE IF NOT EXISTS images (
    url TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    local TEXT,
    status TEXT NOT NULL,            -- saved | failed
    error TEXT,
    attempts INTEGER DEFAULT 0,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    source TEXT PRIMARY KEY,
    last_run REAL,
    last_status TEXT,
    found INTEGER DEFAULT 0,
    new INTEGER DEFAULT 0
);
CREATE TABLE IF NOT EXISTS footer_seen (
    account TEXT NOT NULL,
    block TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (account, block, key)
);
"""


def _statements(script: str) -> list[str]:
    return [st.strip() for st in script.split(";") if st.strip() and not st.strip().startswith("--")]


def _zero(sql_type: str) -> str:
    return "''" if "TEXT" in sql_type.upper() else "0"


def _migrate_1(db: sqlite3.Connection) -> None:
    """The first versioned schema. Archives from before versions existed get the tables and columns
    they lack (a column added NOT NULL without a default gets its type's zero, as ALTER TABLE needs)."""
    for st in _statements(_SCHEMA):
        db.execute(st)
    want = sqlite3.connect(":memory:")
    try:
        want.executescript(_SCHEMA)
        tables = [r[0] for r in want.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
            for _cid, name, sql_type, notnull, default, _pk in want.execute(f"PRAGMA table_info({table})"):
                if name not in have:
                    if default is None and notnull:
                        default = _zero(sql_type)
                    extra = f" DEFAULT {default}" if default is not None else ""
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}{extra}")
    finally:
        want.close()


_CHECKS = """
CREATE TABLE IF NOT EXISTS checks (           -- every check of an article's original (wxarchive check)
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    at REAL NOT NULL,
    seen TEXT NOT NULL,              -- a SourceStatus, or a transient outcome: network | http | verify | layout
    http_status INTEGER,
    detail TEXT,                     -- WeChat's reason, the new title, the target, or the error
    previous TEXT,                   -- the status before (on a change)
    changed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS checks_key ON checks(key, at);
CREATE TABLE IF NOT EXISTS fates (            -- the current state of each checked article's original
    key TEXT PRIMARY KEY,
    status TEXT,                     -- NULL until a check gave a verdict
    since REAL,
    checked_at REAL,
    gone_at REAL,
    reason TEXT,
    target TEXT,
    title TEXT,
    tried_at REAL NOT NULL,          -- last check asked, whatever came back (queue order)
    written INTEGER NOT NULL DEFAULT 1   -- 0: the post does not show this fate yet
);
CREATE INDEX IF NOT EXISTS fates_tried ON fates(tried_at);
"""


def _migrate_2(db: sqlite3.Connection) -> None:
    """`wxarchive check`: the history of every check, and the current fate of each original."""
    for st in _statements(_CHECKS):
        db.execute(st)


def _migrate_3(db: sqlite3.Connection) -> None:
    """`status` counts the images still missing: a partial index holds just the posts missing some,
    where the count read every archived row (~55 ms at 100,000 articles, the rest of `status` ~15 ms)."""
    db.execute("CREATE INDEX IF NOT EXISTS articles_images_missing ON articles(status) "
               "WHERE images_saved < images_found")


# the per-post choices as a pre-4 state kept them: JSON in kv under 'choices:<key>' (untrusted: may be junk)
def _kv_choice(field: str, key_expr: str) -> str:
    return (f"COALESCE((SELECT CASE WHEN json_valid(kv.v) AND json_extract(kv.v, '$.{field}') THEN 1 ELSE 0 END "
            f"FROM kv WHERE kv.k = 'choices:' || {key_expr}), 0)")


_NEW_COLUMNS = {"no_images": "INTEGER NOT NULL DEFAULT 0", "keep_footers": "INTEGER NOT NULL DEFAULT 0",
                "images_given_up": "INTEGER NOT NULL DEFAULT 0", "tried_at": "REAL"}
# `check` asks for the least recently checked: never-checked ones by archive time, then by last check
_QUEUE_ORDER = "tried_at IS NOT NULL, COALESCE(tried_at, archived_at), archived_at, key"


def _migrate_4(db: sqlite3.Connection) -> None:
    """The per-post choices become columns of ``articles`` (they were JSON in ``kv``, read by a correlated
    subquery per row: `status`, `ls` and the image heal read every row's JSON), and the posts missing
    images get partial indexes that only hold those a heal or `status` wants."""
    have = {r[1] for r in db.execute("PRAGMA table_info(articles)")}
    for col, sql_type in _NEW_COLUMNS.items():
        if col not in have:
            db.execute(f"ALTER TABLE articles ADD COLUMN {col} {sql_type}")
    db.execute(f"UPDATE articles SET no_images = {_kv_choice('no_images', 'articles.key')}, "
               f"keep_footers = {_kv_choice('keep_footers', 'articles.key')} "
               "WHERE key IN (SELECT substr(k, 9) FROM kv WHERE k >= 'choices:' AND k < 'choices;')")
    db.execute("DELETE FROM kv WHERE k >= 'choices:' AND k < 'choices;'")
    db.execute("DROP INDEX IF EXISTS articles_images_missing")
    # one partial index holds just the posts missing images: `status` searches (status, no_images), a heal
    # (status, no_images, images_given_up) in updated_at order
    db.execute("CREATE INDEX IF NOT EXISTS articles_missing ON articles(status, no_images, images_given_up, "
               "updated_at, images_found, images_saved) WHERE images_saved < images_found")
    # `status` lists the last failures: a partial index of the failed ones (the status index was no help:
    # with every row archived, SQLite's statistics rightly call it unselective and it read the table)
    db.execute(f"CREATE INDEX IF NOT EXISTS articles_failed ON articles(updated_at) WHERE {_FAILED_SQL}")
    # and counts the articles by state: a count kept by triggers, not a read of every row
    db.execute("CREATE TABLE IF NOT EXISTS status_counts (status TEXT PRIMARY KEY, n INTEGER NOT NULL)")
    db.execute("DELETE FROM status_counts")
    db.execute("INSERT INTO status_counts SELECT status, COUNT(*) FROM articles GROUP BY status")
    for trigger in _COUNT_TRIGGERS:
        db.execute(trigger)
    db.execute("CREATE INDEX IF NOT EXISTS articles_published ON articles(published, key)")  # ls, in order
    # the check queue: read in its order from an index (it sorted every archived row to pick 50)
    db.execute("UPDATE articles SET tried_at = (SELECT f.tried_at FROM fates f WHERE f.key = articles.key) "
               "WHERE key IN (SELECT key FROM fates)")
    db.execute(f"CREATE INDEX IF NOT EXISTS articles_check_queue ON articles(status, {_QUEUE_ORDER})")
    db.execute("CREATE INDEX IF NOT EXISTS fates_unwritten ON fates(key) WHERE written = 0")  # each check's start


_BUMP = "INSERT INTO status_counts(status, n) VALUES ({}, {}) ON CONFLICT(status) DO UPDATE SET n = n + ({})"
_COUNT_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS articles_count_insert AFTER INSERT ON articles BEGIN "
    f"{_BUMP.format('NEW.status', 1, 1)}; END",
    "CREATE TRIGGER IF NOT EXISTS articles_count_delete AFTER DELETE ON articles BEGIN "
    f"{_BUMP.format('OLD.status', -1, -1)}; END",
    "CREATE TRIGGER IF NOT EXISTS articles_count_update AFTER UPDATE OF status ON articles "
    f"WHEN OLD.status IS NOT NEW.status BEGIN {_BUMP.format('OLD.status', -1, -1)}; "
    f"{_BUMP.format('NEW.status', 1, 1)}; END",
)


def _legacy_view(db: sqlite3.Connection) -> None:
    """A state from before migration 4 opened read-only (``status`` on a read-only filesystem) cannot be
    upgraded: a temporary view of the same name shows its choices as the columns the queries read."""
    tables = {r[0] for r in db.execute("SELECT name FROM main.sqlite_master WHERE type='table'")}
    kv = "kv" in tables  # (a state older still may lack kv, fates, or columns)
    columns = {r[1] for r in db.execute("PRAGMA main.table_info(articles)")}
    made = [f"{_kv_choice('no_images', 'a.key') if kv else '0'} AS no_images",
            f"{_kv_choice('keep_footers', 'a.key') if kv else '0'} AS keep_footers", "0 AS images_given_up",
            "(SELECT f.tried_at FROM main.fates f WHERE f.key = a.key) AS tried_at" if "fates" in tables
            else "NULL AS tried_at"]
    made += [f"NULL AS {c}" for c in ArticleRow._fields if c not in columns and c not in _NEW_COLUMNS]
    db.execute(f"CREATE TEMP VIEW articles AS SELECT a.*, {', '.join(made)} FROM main.articles a")


# version -> the step that brings an archive at the version before it to this one
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _migrate_1, 2: _migrate_2, 3: _migrate_3,
                                                                4: _migrate_4}
SCHEMA_VERSION = max(MIGRATIONS)


def _check_version(db: sqlite3.Connection, path: Path) -> int:
    """The file's schema version; a file from a newer wxarchive is refused before anything touches it."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if tables and "articles" not in tables:  # another program's database: never migrated into ours
        db.close()
        raise ArchiveError(f"{path} is not a wxarchive state (it holds the tables {', '.join(sorted(tables)[:5])}); "
                           "move it aside or give another --out")
    if version > SCHEMA_VERSION:
        db.close()
        raise ArchiveError(f"{path} was written by a newer wxarchive (state schema {version}, this one knows "
                           f"{SCHEMA_VERSION}); upgrade wxarchive")
    return version


def _upgrade(db: sqlite3.Connection, path: Path) -> None:
    """Run the migrations the file lacks, each in its own transaction with its version number."""
    version = _check_version(db, path)
    for step in range(version + 1, SCHEMA_VERSION + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] < step:  # another process may have run it
                MIGRATIONS[step](db)
                db.execute(f"PRAGMA user_version={step}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


# archived posts whose images are missing (a post made with --no-images keeps remote URLs by choice:
# its images are not "missing"): searches of the partial index articles_missing (migration 4)
_MISSING = "status = 'archived' AND images_saved < images_found AND no_images = 0"
_TO_HEAL = _MISSING + " AND images_given_up = 0"
COUNTS_SQL = "SELECT status, n FROM status_counts WHERE n > 0 ORDER BY status"
FAILURES_SQL = ("SELECT key, url, status, error_code, error_msg, attempts, updated_at FROM articles "
                f"WHERE {_FAILED_SQL} ORDER BY updated_at DESC LIMIT ?")
MISSING_TOTAL_SQL = f"SELECT COALESCE(SUM(images_found - images_saved), 0), COUNT(*) FROM articles WHERE {_MISSING}"

_DAMAGE_CODES = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB


def is_damage(e: BaseException) -> bool:
    """Whether a SQLite error says the database file itself is damaged (not busy, not full)."""
    if not isinstance(e, sqlite3.DatabaseError):
        return False
    code = getattr(e, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _DAMAGE_CODES
    msg = str(e).lower()
    return "malformed" in msg or "not a database" in msg


class _Connection(sqlite3.Connection):
    """A connection that names a damaged file instead of raising SQLite's bare error."""

    state_path: Path

    def _check(self, e: sqlite3.DatabaseError) -> None:
        if is_damage(e):
            raise StateDamaged(self.state_path, str(e)) from None

    def execute(self, *args: Any, **kw: Any) -> sqlite3.Cursor:
        try:
            return super().execute(*args, **kw)
        except sqlite3.DatabaseError as e:
            self._check(e)
            raise

    def executemany(self, *args: Any, **kw: Any) -> sqlite3.Cursor:
        try:
            return super().executemany(*args, **kw)
        except sqlite3.DatabaseError as e:
            self._check(e)
            raise

    def executescript(self, *args: Any, **kw: Any) -> sqlite3.Cursor:
        try:
            return super().executescript(*args, **kw)
        except sqlite3.DatabaseError as e:
            self._check(e)
            raise


class Store:
    """One SQLite file per archive; safe to share between threads of one process.

    A state file that exists but is empty or unreadable is never replaced by a new one
    (that would silently forget what was archived and fetch it all again): it raises
    :class:`StateDamaged`, which points at ``wxarchive rebuild --from-posts``.
    ``readonly`` opens it for reading only (``status`` on a read-only filesystem).
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        if self.path.exists() and not self.path.is_file():
            raise ArchiveError(f"{self.path} is not a file (the state database); move it aside")
        self._legacy = False  # read as an older wxarchive left it (read-only, not upgraded)
        if self.path.exists() and self.path.stat().st_size == 0:
            raise StateDamaged(self.path, "the file is empty")
        if readonly:
            self.db = self._open_readonly()
            if _check_version(self.db, self.path) < SCHEMA_VERSION:
                self._upgrade_if_writable()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            self._create(self.path)
        self.db = self._connect(str(self.path))
        _check_version(self.db, self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.execute("PRAGMA recursive_triggers=ON")  # an INSERT OR REPLACE's delete is counted too
        self.db.row_factory = sqlite3.Row
        _upgrade(self.db, self.path)

    def _upgrade_if_writable(self) -> None:
        """A reader of a state an older wxarchive wrote upgrades it when it can (once: the searches of
        later reads need the new columns and indexes); on a read-only filesystem it reads it as it is."""
        self.db.close()
        try:
            Store(self.path).close()
        except (OSError, sqlite3.Error) as e:
            if is_damage(e):
                raise
        self.db = self._open_readonly()
        if _check_version(self.db, self.path) < 4:
            _legacy_view(self.db)
            self._legacy = True

    def _connect(self, target: str, uri: bool = False) -> sqlite3.Connection:
        db = sqlite3.connect(target, timeout=30, check_same_thread=False, isolation_level=None, uri=uri,
                             factory=_Connection)
        db.state_path = self.path
        db.row_factory = sqlite3.Row
        return db

    def _open_readonly(self) -> sqlite3.Connection:
        """Read-only; on a read-only filesystem (no ``-shm`` can be made) the file is read as immutable."""
        base = "file:" + quote(str(self.path.resolve()))
        db = self._connect(base + "?mode=ro", uri=True)
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError:
            db.close()
        db = self._connect(base + "?immutable=1", uri=True)
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db

    @staticmethod
    def _create(path: Path) -> None:
        """A new state file appears whole: built under a temp name, then renamed into place,
        so a run killed while creating it never leaves a database without its tables.

        No one else sees the temp file, so it is built as one transaction with no journal and no
        syncs, then synced once before the rename (the four migrations, each synced as an upgrade
        does, were ~3 ms of a first ``get``'s CPU). A test holds its schema equal to an upgrade's."""
        tmp = Path(temp_dir(path.parent)) / f".tmp-{os.getpid()}-{path.name}.part"
        tmp.unlink(missing_ok=True)
        db = sqlite3.connect(tmp, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            db.execute("BEGIN")
            for step in sorted(MIGRATIONS):
                MIGRATIONS[step](db)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            db.execute("COMMIT")
            db.execute("PRAGMA journal_mode=WAL")  # (kept in the file: every later connection uses it)
        finally:
            db.close()
        for extra in ("-wal", "-shm"):
            Path(str(tmp) + extra).unlink(missing_ok=True)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)

    def close(self) -> None:
        with self._lock:
            self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- articles
    def _articles(self, sql: str, args: Iterable[Any] = ()) -> list[ArticleRow]:
        """Rows of ``SELECT <the ArticleRow columns> …`` as records (no ``sqlite3.Row`` made per row)."""
        with self._lock:
            cur = self.db.cursor()
            cur.row_factory = _article_row
            return cur.execute(sql, tuple(args)).fetchall()

    def get(self, key_or_alias: str) -> ArticleRow | None:
        """The article's record, by key or any alias: one indexed query, its one row (``fetchone``: a
        ``fetchall`` stepped the query once more to find its end, ~8 µs of a re-run's ~25 µs per URL)."""
        with self._lock:
            cur = self.db.cursor()
            cur.row_factory = _article_row
            row: ArticleRow | None = cur.execute(_GET, (key_or_alias, key_or_alias)).fetchone()
            return row

    def archived_records(self, keys: list[str]) -> dict[str, ArticleRow]:
        """The records of those of ``keys`` (keys or aliases, each resolved as :meth:`get` does) that are
        archived, by the string asked for: 256 links per query (one query per link was ~25 µs of a
        re-run's ~130 per link)."""
        out: dict[str, ArticleRow] = {}
        with self._lock:
            for i in range(0, len(keys), 256):
                part = keys[i:i + 256]
                # (the status is looked at here: ``WHERE a.status = ?`` made SQLite build a Bloom filter
                # over the whole table for each query, 24 ms at 100,000 rows against 3 ms)
                for k, *cols in self.db.execute(records_sql(len(part)), part):
                    rec = ArticleRow._make(cols)
                    if rec.status == Status.ARCHIVED:
                        out[k] = rec
        return out

    def is_archived(self, key_or_alias: str, root: Path | None = None) -> bool:
        """Archived, and (when ``root`` is given) its post still on disk."""
        rec = self.get(key_or_alias)
        if not rec or rec.status != Status.ARCHIVED:
            return False
        if root is not None and rec.post_path:
            return (root / rec.post_path).exists()
        return True

    def post_owner(self, post_path: str) -> str | None:
        with self._lock:
            row = self.db.execute("SELECT key FROM articles WHERE post_path=?", (post_path,)).fetchone()
            return row[0] if row else None

    def versions_of(self, key: str) -> list[tuple[str, str, str]]:
        """(key, title, post_path) of the kept later versions (``<key>#v<n>``) of an article, oldest first.

        The key is matched as a literal, case-sensitive prefix (the keys from ``<key>#v`` up to ``<key>#w``, as
        the primary key's index orders them): a LIKE pattern took ``%`` and ``_`` in a key as wildcards and
        ignored ASCII case, so a key like another's (``MzA_…``, ``MZA…``) took that article's versions for its own."""
        prefix = key + "#v"
        with self._lock:
            cur = self.db.execute("SELECT key, title, post_path FROM articles WHERE key >= ? AND key < ? "
                                  "AND status='archived' ORDER BY archived_at", (prefix, key + "#w"))
            return [tuple(r) for r in cur.fetchall()]

    def record_archived(self, key: str, aliases: list[str], **fields: Any) -> None:
        now = time.time()
        cols = {"url": "", "canonical_url": "", "title": "", "account": "", "published": "", "post_path": "",
                "raw_path": "", "images_found": 0, "images_saved": 0, "stripped": "[]"}
        cols.update({k: v for k, v in fields.items() if k in cols})
        with self._lock, self._tx():
            self.db.execute(
                """INSERT INTO articles (key, url, canonical_url, title, account, published, post_path, raw_path,
                       status, error_code, error_msg, permanent, attempts, images_found, images_saved, stripped,
                       updated_at, archived_at)
                   VALUES (:key, :url, :canonical_url, :title, :account, :published, :post_path, :raw_path,
                       :archived, NULL, NULL, 0, 0, :images_found, :images_saved, :stripped, :now, :now)
                   ON CONFLICT(key) DO UPDATE SET url=excluded.url, canonical_url=excluded.canonical_url,
                       title=excluded.title, account=excluded.account, published=excluded.published,
                       post_path=excluded.post_path, raw_path=excluded.raw_path, status=:archived,
                       error_code=NULL, error_msg=NULL, permanent=0, images_found=excluded.images_found,
                       images_saved=excluded.images_saved, stripped=excluded.stripped, images_given_up=0,
                       updated_at=excluded.updated_at, archived_at=excluded.archived_at""",
                {**cols, "key": key, "now": now, "archived": Status.ARCHIVED.value},
            )
            for a in {key, *aliases}:
                if a:
                    self.db.execute("INSERT OR REPLACE INTO aliases(alias, key) VALUES (?, ?)", (a, key))

    def add_aliases(self, key: str, aliases: list[str]) -> None:
        """More names for an archived article (never re-pointing an alias that exists)."""
        with self._lock, self._tx():
            self.db.executemany("INSERT OR IGNORE INTO aliases(alias, key) VALUES (?, ?)", [(a, key) for a in aliases])

    def record_failure(self, key: str, url: str, code: str, message: str, permanent: bool,
                       max_attempts: int = 3, min_gap: float = 0.0) -> int:
        """Count one failed attempt; after ``max_attempts`` (or a permanent error) the article is given up.

        Attempts are spaced in time: a failure less than ``min_gap`` seconds after the last
        counted one is the same attempt (three runs in a minute are not three tries)."""
        now = time.time()
        with self._lock, self._tx():
            row = self.db.execute("SELECT attempts, status, updated_at FROM articles WHERE key=?", (key,)).fetchone()
            if row and row[1] == Status.ARCHIVED:
                return int(row[0])
            if (row and row[0] and not permanent and min_gap > 0 and row[1] in _FAILED
                    and now - float(row[2] or 0) < min_gap):
                self.db.execute("UPDATE articles SET error_code=?, error_msg=? WHERE key=?", (code, message[:500], key))
                return int(row[0])
            attempts = (row[0] if row else 0) + 1
            status = (Status.GAVE_UP if permanent or attempts >= max_attempts else Status.FAILED).value
            self.db.execute(
                """INSERT INTO articles (key, url, status, error_code, error_msg, permanent, attempts, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(key) DO UPDATE SET status=excluded.status, error_code=excluded.error_code,
                       error_msg=excluded.error_msg, permanent=excluded.permanent, attempts=excluded.attempts,
                       updated_at=excluded.updated_at""",
                (key, url, status, code, message[:500], int(permanent), attempts, now),
            )
            self.db.execute("INSERT OR IGNORE INTO aliases(alias, key) VALUES (?, ?)", (key, key))
            return attempts

    def archived(self) -> Iterator[ArticleRow]:
        yield from self._articles(f"SELECT {_ARTICLE} FROM articles WHERE status=? ORDER BY published",
                                  (Status.ARCHIVED.value,))

    def articles(self, batch: int = 512) -> Iterator[ArticleRow]:
        """Every article the state knows, archived or not, by publish date (``wxarchive ls``), read as they
        are yielded: ``batch`` rows at a time from the ``articles_published`` index, never the whole table
        in memory (at 100,000 rows a ``fetchall`` held ~300 MB)."""
        with self._lock:
            cur = self.db.cursor()
            cur.row_factory = _article_row
            cur.execute(ARTICLES_SQL)
        try:
            while True:
                with self._lock:
                    rows = cur.fetchmany(batch)
                if not rows:
                    return
                yield from rows
        finally:
            cur.close()

    def missing_images(self, limit: int = 500) -> list[ArticleRow]:
        """Archived articles whose post still points at remote images a heal may still get (some failed to
        save, and not all of those were tried ``MAX_IMAGE_TRIES`` times): a search of their own index."""
        return self._articles(f"SELECT {_ARTICLE} FROM articles WHERE {_TO_HEAL} ORDER BY updated_at LIMIT ?",
                              (limit,))

    def give_up_images(self, key: str) -> None:
        """Every image this post lacks has had its tries: heals stop reading its page (a new archive of the
        post, which asks for its images again, clears the mark)."""
        with self._lock, self._tx():
            self.db.execute("UPDATE articles SET images_given_up=1 WHERE key=?", (key,))

    def record_choices(self, key: str, *, keep_footers: bool, no_images: bool) -> None:
        """What this post was made with, so a rebuild makes it the same way."""
        with self._lock, self._tx():
            self.db.execute("UPDATE articles SET keep_footers=?, no_images=? WHERE key=?",
                            (int(keep_footers), int(no_images), key))

    def images_missing_total(self) -> tuple[int, int]:
        """(images missing, posts missing some) over the archive, for ``status``: a search of the
        ``articles_missing`` partial index, which holds only those posts."""
        with self._lock:
            row = self.db.execute(MISSING_TOTAL_SQL).fetchone()
            return int(row[0]), int(row[1])

    def counts(self) -> dict[str, int]:
        """Articles by state: the counts the triggers keep (a state read as it is, before migration 4,
        is counted row by row)."""
        with self._lock:
            if self._legacy:
                return {r[0]: r[1] for r in self.db.execute("SELECT status, COUNT(*) FROM articles GROUP BY status")}
            return {r[0]: r[1] for r in self.db.execute(COUNTS_SQL)}

    def counts_of_biz(self, biz: str) -> dict[str, int]:
        """:meth:`counts` of one account's articles (keys ``biz:mid:idx``)."""
        with self._lock:
            return {r[0]: r[1] for r in self.db.execute(
                "SELECT status, COUNT(*) FROM articles WHERE substr(key, 1, ?) = ? GROUP BY status",
                (len(biz) + 1, biz + ":"))}

    def failures(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self.db.execute(FAILURES_SQL, (limit,))]

    # ---- images
    def image(self, url: str) -> dict[str, Any] | None:
        with self._lock:
            row = self.db.execute("SELECT * FROM images WHERE url=?", (url,)).fetchone()
            return dict(row) if row else None

    def record_images(self, items: list[tuple[str, str, str | None, str | None]]) -> None:
        """(url, name, local file or None, error) of each image, in one transaction."""
        now = time.time()
        with self._lock, self._tx():
            self.db.executemany(
                """INSERT INTO images(url, name, local, status, error, attempts, updated_at) VALUES (?,?,?,?,?,1,?)
                   ON CONFLICT(url) DO UPDATE SET local=COALESCE(excluded.local, images.local),
                       status=CASE WHEN excluded.local IS NOT NULL THEN excluded.status ELSE images.status END,
                       error=excluded.error, attempts=images.attempts+1, updated_at=excluded.updated_at""",
                [(url, name, local, (ImageStatus.SAVED if local else ImageStatus.FAILED).value, error, now)
                 for url, name, local, error in items],
            )

    def failed_images(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self.db.execute("SELECT * FROM images WHERE status=?",
                                                     (ImageStatus.FAILED.value,))]

    # ---- key/value (back-off and the like)
    def get_kv(self, k: str) -> Any:
        with self._lock:
            row = self.db.execute("SELECT v FROM kv WHERE k=?", (k,)).fetchone()
            return json.loads(row[0]) if row else None

    def set_kv(self, k: str, v: Any) -> None:
        with self._lock, self._tx():
            if v is None:
                self.db.execute("DELETE FROM kv WHERE k=?", (k,))
            else:
                self.db.execute("INSERT OR REPLACE INTO kv(k, v) VALUES (?, ?)", (k, json.dumps(v)))

    def source_state(self, ident: str) -> SourceState:
        """What the state remembers of the harvest source ``ident`` (a fresh one when nothing)."""
        try:
            return SourceState.from_json(self.get_kv(SOURCE_PREFIX + ident))
        except ValueError:  # (not JSON: a foreign state)
            return SourceState()

    def set_source_state(self, ident: str, state: SourceState) -> None:
        self.set_kv(SOURCE_PREFIX + ident, state.to_json())

    def backoff(self) -> BackoffRecord | None:
        """The back-off record; None when there is none, or (with a line) when it is not one this code wrote."""
        try:
            value = self.get_kv(StateKey.BACKOFF)
        except ValueError:  # (not JSON: a foreign state)
            value = "(not JSON)"
        if value is None:
            return None
        rec = BackoffRecord.from_json(value)
        if rec is None:
            logging.getLogger(__name__).warning("the back-off record in the state is not readable (%.100r); "
                                                "ignored", value)
        return rec

    def set_backoff(self, rec: BackoffRecord | None) -> None:
        self.set_kv(StateKey.BACKOFF, rec.to_json() if rec is not None else None)

    # ---- sources
    def record_source(self, source: str, status: str, found: int, new: int) -> None:
        with self._lock, self._tx():
            self.db.execute("INSERT OR REPLACE INTO sources(source, last_run, last_status, found, new) VALUES (?,?,?,?,?)",
                            (source, time.time(), status, found, new))

    def sources(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self.db.execute("SELECT * FROM sources ORDER BY source")]

    # ---- learned footers
    def footer_blocks(self, account: str, min_posts: int = 3) -> frozenset[str]:
        """Blocks seen at the tail of ``min_posts`` or more different posts of one account."""
        if not account:
            return frozenset()
        with self._lock:
            return frozenset(r[0] for r in self.db.execute(
                "SELECT block FROM footer_seen WHERE account=? GROUP BY block HAVING COUNT(*)>=?",
                (account, min_posts)))

    def knows_account(self, account: str) -> bool:
        """Whether any post of this account has been read here (its tail counted toward a learned footer)."""
        with self._lock:
            return self.db.execute("SELECT 1 FROM footer_seen WHERE account=? LIMIT 1", (account,)).fetchone() is not None

    def archived_of(self, account: str, batch: int = 512) -> Iterator[ArticleRow]:
        """The archived articles of one account (not kept versions of edited ones), oldest first, read
        ``batch`` rows at a time as they are yielded (the caller may write meanwhile): the run that learns
        an account's footer goes through all its posts, and a list of 10,000 rows held ~12 MB."""
        sql = (f"SELECT {_ARTICLE} FROM articles WHERE status=? AND account=? AND key NOT LIKE '%#v%' "
               "AND (COALESCE(published, ''), key) > (?, ?) ORDER BY COALESCE(published, ''), key LIMIT ?")
        after = ("", "")
        while rows := self._articles(sql, (Status.ARCHIVED.value, account, *after, batch)):
            yield from rows
            after = (rows[-1].published or "", rows[-1].key)

    def count_tail_blocks(self, account: str, key: str, blocks: Iterable[str]) -> None:
        if not account:
            return
        with self._lock, self._tx():
            self.db.execute("DELETE FROM footer_seen WHERE key=?", (key,))  # this post's tail as read now
            self.db.executemany("INSERT OR IGNORE INTO footer_seen(account, block, key) VALUES (?,?,?)",
                                [(account, b, key) for b in dict.fromkeys(blocks)])

    # ---- the fate of each original (wxarchive check)
    def fate(self, key: str) -> Fate | None:
        with self._lock:
            row = self.db.execute("SELECT status, checked_at, since, gone_at, reason, target, title FROM fates "
                                  "WHERE key=? AND status IS NOT NULL", (key,)).fetchone()
        return _fate(row) if row and _known_fate(row[0], key) else None

    def record_check(self, key: str, *, at: float, seen: str, http_status: int | None, detail: str,
                     fate: Fate | None, changed: bool, previous: str | None, tried: bool = True) -> None:
        """One check, in one transaction: its history row, and the new fate when the check gave a verdict.

        A verdict leaves the fate marked unwritten until :meth:`mark_written` says the post shows it,
        so a run killed in between rewrites the post next time. ``tried=False`` (a verification page)
        keeps the article's place at the head of the queue.
        """
        with self._lock, self._tx():
            self.db.execute("INSERT INTO checks(key, at, seen, http_status, detail, previous, changed) "
                            "VALUES (?,?,?,?,?,?,?)", (key, at, seen, http_status, detail[:500], previous, int(changed)))
            if tried:
                self.db.execute("UPDATE articles SET tried_at=? WHERE key=?", (at, key))
            if fate is None:
                if not tried:
                    return
                self.db.execute("INSERT INTO fates(key, tried_at) VALUES (?, ?) "
                                "ON CONFLICT(key) DO UPDATE SET tried_at=excluded.tried_at", (key, at))
                return
            self.db.execute(
                """INSERT INTO fates(key, status, since, checked_at, gone_at, reason, target, title, tried_at, written)
                   VALUES (?,?,?,?,?,?,?,?,?,0)
                   ON CONFLICT(key) DO UPDATE SET status=excluded.status, since=excluded.since,
                       checked_at=excluded.checked_at, gone_at=excluded.gone_at, reason=excluded.reason,
                       target=excluded.target, title=excluded.title, tried_at=excluded.tried_at, written=0""",
                (key, fate.status.value, fate.since, fate.checked_at, fate.gone_at, fate.reason, fate.target,
                 fate.title, at))

    def mark_written(self, key: str, checked_at: float) -> None:
        with self._lock, self._tx():
            self.db.execute("UPDATE fates SET written=1 WHERE key=? AND checked_at=?", (key, checked_at))

    def unwritten_fates(self) -> list[str]:
        """Keys whose post does not show their fate yet (a run was killed between state and post)."""
        with self._lock:
            return [r[0] for r in self.db.execute(UNWRITTEN_SQL)]

    def check_queue(self, *, limit: int | None = None, tried_before: float | None = None,
                    account: str | None = None, keys: list[str] | None = None) -> list[ArticleRow]:
        """Archived articles to check, least recently checked first (never-checked ones by archive time)."""
        return self._articles(*check_queue_sql(limit=limit, tried_before=tried_before, account=account, keys=keys))

    def checks(self, key: str | None = None, *, changes_only: bool = False) -> list[dict[str, Any]]:
        """The check history, oldest first."""
        where = " WHERE 1=1" + (" AND key=?" if key else "") + (" AND changed=1" if changes_only else "")
        with self._lock:
            cur = self.db.execute("SELECT * FROM checks" + where + " ORDER BY at, id", (key,) if key else ())
            names = [c[0] for c in cur.description]
            return [dict(zip(names, r, strict=False)) for r in cur.fetchall()]

    def fates(self, *, gone_only: bool = False) -> list[tuple[ArticleRow, Fate]]:
        """(article record, fate) of every checked archived article, oldest publication first."""
        with self._lock:
            rows = self.db.execute(
                f"SELECT f.status, f.checked_at, f.since, f.gone_at, f.reason, f.target, f.title, {_A_ARTICLE} "
                "FROM fates f JOIN articles a ON a.key = f.key WHERE f.status IS NOT NULL AND a.status='archived' "
                "ORDER BY a.published, a.key").fetchall()
        out = [(ArticleRow._make(tuple(r)[7:]), _fate(tuple(r)[:7])) for r in rows if _known_fate(r[0], r[7])]
        return [(rec, f) for rec, f in out if f.gone or not gone_only]

    def _tx(self) -> _Tx:
        return _Tx(self.db)


def _known_fate(status: object, key: object) -> bool:
    """Whether a fate's status is one this code knows; a foreign state's ``bogus`` is left out with a line."""
    if status in SourceStatus._value2member_map_:
        return True
    logging.getLogger(__name__).warning("the state holds the fate %.40r for %s, which wxarchive does not know; "
                                        "ignored", status, key)
    return False


def _fate(row: tuple[Any, ...]) -> Fate:
    status, checked_at, since, gone_at, reason, target, title = row
    return Fate(SourceStatus(status), checked_at=checked_at, since=since, gone_at=gone_at, reason=reason or "",
                target=target or "", title=title or "")


class _Tx:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
