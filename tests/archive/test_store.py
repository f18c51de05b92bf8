"""The state database: versioned schema, in-place upgrade of archives made by older versions, named states."""
from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from wxarchive.errors import ArchiveError
from wxarchive.archive.store import SCHEMA_VERSION, ImageStatus, Status, Store

# The state of an archive made before the schema had a version: no user_version, no `stripped` column,
# no learned-footer table, no kv/sources tables.
OLD_SCHEMA = """
CREATE TABLE articles (
    key TEXT PRIMARY KEY, url TEXT NOT NULL, canonical_url TEXT, title TEXT, account TEXT, published TEXT,
    post_path TEXT, raw_path TEXT, status TEXT NOT NULL, error_code TEXT, error_msg TEXT,
    permanent INTEGER DEFAULT 0, attempts INTEGER DEFAULT 0, images_found INTEGER DEFAULT 0,
    images_saved INTEGER DEFAULT 0, updated_at REAL NOT NULL, archived_at REAL
);
CREATE TABLE aliases (alias TEXT PRIMARY KEY, key TEXT NOT NULL);
CREATE TABLE images (url TEXT PRIMARY KEY, name TEXT NOT NULL, local TEXT, status TEXT NOT NULL, error TEXT,
    attempts INTEGER DEFAULT 0);
INSERT INTO articles (key, url, title, account, post_path, status, updated_at, archived_at)
    VALUES ('b:1:1', 'https://mp.weixin.qq.com/s?__biz=b&mid=1&idx=1', '旧文章', '某号', '_posts/2020-01-01-旧文章.md',
            'archived', 1.0, 1.0);
INSERT INTO aliases VALUES ('https://mp.weixin.qq.com/s/OLDTOKEN', 'b:1:1');
INSERT INTO images (url, name, local, status) VALUES ('https://mmbiz.qpic.cn/x/0', 'x', 'x.png', 'saved');
"""


def _old_archive(path: Path, version: int = 0) -> None:
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.execute(f"PRAGMA user_version={version}")
    db.commit()
    db.close()


def _version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA user_version").fetchone()[0]
    finally:
        db.close()


def test_new_state_carries_the_schema_version(tmp_path: Path) -> None:
    Store(tmp_path / "state.sqlite3").close()
    assert _version(tmp_path / "state.sqlite3") == SCHEMA_VERSION >= 1


def test_a_new_state_is_what_the_upgrades_make(tmp_path: Path) -> None:
    """A new state is built in one unjournaled transaction; it must hold what the migrations, run one by one
    as an upgrade runs them, make of an empty file: every table, index and trigger, the version, WAL."""
    from wxarchive.archive.store import _upgrade

    Store(tmp_path / "new.sqlite3").close()
    stepped = sqlite3.connect(tmp_path / "stepped.sqlite3", isolation_level=None)
    stepped.execute("PRAGMA journal_mode=WAL")
    _upgrade(stepped, tmp_path / "stepped.sqlite3")
    stepped.close()

    def schema(name: str) -> tuple[list[tuple[str, str, str]], int, str]:
        db = sqlite3.connect(tmp_path / name)
        try:
            rows = sorted(db.execute("SELECT type, name, sql FROM sqlite_master"))
            return rows, db.execute("PRAGMA user_version").fetchone()[0], db.execute("PRAGMA journal_mode").fetchone()[0]
        finally:
            db.close()

    new, stepped_schema = schema("new.sqlite3"), schema("stepped.sqlite3")
    assert new == stepped_schema and len(new[0]) > 10 and new[1:] == (SCHEMA_VERSION, "wal")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("new")) == ["new.sqlite3"]


def test_old_archive_upgrades_in_place_keeping_everything(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    _old_archive(path)
    with Store(path) as st:
        rec = st.get("https://mp.weixin.qq.com/s/OLDTOKEN")
        assert rec is not None and rec.title == "旧文章" and rec.status == Status.ARCHIVED
        assert rec.stripped is None  # the added column (nullable: nothing was recorded as stripped)
        assert st.image("https://mmbiz.qpic.cn/x/0")["local"] == "x.png"
        # everything the current code writes works on the upgraded file
        st.record_archived("b:2:1", ["https://mp.weixin.qq.com/s/NEW"], url="u", title="新", account="某号",
                           stripped="[]")
        st.count_tail_blocks("某号", "b:2:1", ["页脚"])
        st.set_kv("backoff", {"level": 0})
        st.record_source("links.txt", "ok", 1, 1)
        st.record_images([("https://mmbiz.qpic.cn/y/0", "y", None, "HTTP 404")])
        assert st.counts() == {"archived": 2}
        assert st.get_kv("backoff") == {"level": 0}
        assert [i["name"] for i in st.failed_images()] == ["y"]
    assert _version(path) == SCHEMA_VERSION
    with Store(path) as st:  # a second open is a no-op
        assert st.get("b:2:1").title == "新"


def test_archive_from_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    _old_archive(path, version=SCHEMA_VERSION + 1)
    before = path.read_bytes()
    with pytest.raises(ArchiveError, match="newer wxarchive"):
        Store(path)
    assert path.read_bytes() == before


def test_states_are_stored_as_their_plain_names(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    with Store(path) as st:
        st.record_archived("a:1:1", [], url="u")
        st.record_failure("a:2:1", "u2", "network", "timed out", permanent=False, max_attempts=3)
        st.record_failure("a:3:1", "u3", "deleted", "gone", permanent=True)
        st.record_images([("https://mmbiz.qpic.cn/i/0", "i", "i.png", None), ("https://mmbiz.qpic.cn/j/0", "j", None, "x")])
    db = sqlite3.connect(path)
    assert dict(db.execute("SELECT key, status FROM articles")) == {
        "a:1:1": "archived", "a:2:1": "failed", "a:3:1": "gave_up"}
    assert dict(db.execute("SELECT name, status FROM images")) == {"i": "saved", "j": "failed"}
    assert {type(v) for (v,) in db.execute("SELECT status FROM articles")} == {str}
    db.close()
    assert [s.value for s in Status] == ["archived", "failed", "gave_up"]
    assert [s.value for s in ImageStatus] == ["saved", "failed"]


def test_missing_images_are_counted_from_their_own_index(tmp_path: Path) -> None:
    """`status` counts missing images without reading every archived row (migration 3's partial index):
    the plan searches that index, and the count is right for posts missing some, none, or all."""
    from wxarchive.archive.store import MISSING_TOTAL_SQL

    path = tmp_path / "state.sqlite3"
    _old_archive(path)  # an archive from before the index: the upgrade adds it
    with Store(path) as st:
        for i, (found, saved) in enumerate([(3, 3), (4, 1), (2, 0), (0, 0)]):
            st.record_archived(f"b:{i}:1", [], url=f"u{i}", title=f"t{i}", account="某号", stripped="[]",
                               images_found=found, images_saved=saved)
        assert st.images_missing_total() == (5, 2)
        plan = " ".join(r[-1] for r in st.db.execute("EXPLAIN QUERY PLAN " + MISSING_TOTAL_SQL))
        assert "articles_missing" in plan, plan


def test_archived_records_read_many_as_get_reads_one(tmp_path: Path) -> None:
    """What a re-run reads 256 links per query is what ``get`` gives for each link: keys and aliases
    resolved the same way, archived records only, every chunk (600 links), unknown links absent."""
    with Store(tmp_path / "state.sqlite3") as st:
        for i in range(300):
            st.record_archived(f"b:{i}:1", [f"https://mp.weixin.qq.com/s/T{i}"], url=f"u{i}", title=f"t{i}",
                               post_path=f"_posts/p{i}.md")
        for i in range(300, 310):
            st.record_failure(f"b:{i}:1", f"u{i}", "network", "timed out", permanent=False, max_attempts=3)
        st.add_aliases("b:5:1", ["b:999:1"])  # an alias that looks like another key: the alias wins, as in get
        asked = ([f"b:{i}:1" for i in range(0, 320)] + [f"https://mp.weixin.qq.com/s/T{i}" for i in range(0, 300, 7)]
                 + ["b:999:1", "nobody", "https://mp.weixin.qq.com/s/none"])
        want = {}
        for k in asked:
            rec = st.get(k)
            if rec is not None and rec.status == Status.ARCHIVED:
                want[k] = rec
        got = st.archived_records(asked)
        assert got == want
        assert len(got) == 300 + len(range(0, 300, 7)) + 1 and got["b:999:1"].key == "b:5:1"
        assert st.archived_records([]) == {}


@pytest.mark.parametrize("wild", ["%", "_", "\\", "x"])  # (x: LIKE ignored ASCII case, aXb took axb's)
def test_versions_are_matched_by_their_literal_key(tmp_path: Path, wild: str) -> None:
    """A key holding a LIKE wildcard finds its own kept versions and none of another article's."""
    with Store(tmp_path / "state.sqlite3") as st:
        mine, other = f"a{wild}b:1:1", "aXb:1:1"
        st.record_archived(mine, [], url="u1", title="t1", post_path="_posts/1.md")
        st.record_archived(f"{mine}#v2", [], url="u1", title="t1 edited", post_path="_posts/1v2.md")
        st.record_archived(f"{other}#v2", [], url="u2", title="other", post_path="_posts/2v2.md")
        assert [v[0] for v in st.versions_of(mine)] == [f"{mine}#v2"]
        assert [v[0] for v in st.versions_of(other)] == [f"{other}#v2"]


def test_a_failure_never_demotes_an_archived_article(tmp_path: Path) -> None:
    """`get --force` of an archived article whose original is now deleted keeps the archive's copy archived."""
    with Store(tmp_path / "state.sqlite3") as st:
        st.record_archived("a:1:1", [], url="u", title="t", post_path="_posts/a.md")
        st.record_failure("a:1:1", "u", "deleted", "该内容已被发布者删除", permanent=True)
        rec = st.get("a:1:1")
        assert rec is not None and rec.status == Status.ARCHIVED and rec.post_path == "_posts/a.md"


# ---- the kv table through its typed accessors (issue 21): a state may be anyone's, so junk reads as nothing

def test_source_state_round_trips_and_keeps_what_it_does_not_know(tmp_path: Path) -> None:
    from wxarchive.archive.store import SourceKind, SourceState

    with Store(tmp_path / "state.sqlite3") as st:
        assert st.source_state("links.txt") == SourceState()
        st.set_kv("source:feed", {"pending": ["https://mp.weixin.qq.com/s/A"], "complete": False, "kind": "album",
                                  "walk": {"cursor": 3}, "later": [1]})
        got = st.source_state("feed")
        assert got.pending == ["https://mp.weixin.qq.com/s/A"] and got.complete is False
        assert got.kind == SourceKind.ALBUM and got.walk == {"cursor": 3}
        st.set_source_state("feed", got)
        assert st.get_kv("source:feed")["later"] == [1]  # a newer wxarchive's key survives an older run


@pytest.mark.parametrize("junk", ["just text", ["a"], {"pending": "https://mp.weixin.qq.com/s/A"},
                                  {"pending": [1, None, {}], "walk": "x", "kind": 5}])
def test_a_junk_source_state_reads_as_a_fresh_one(tmp_path: Path, junk: object) -> None:
    """A pending *string* was walked letter by letter: each letter a "URL" to archive, or to count in `status`."""
    with Store(tmp_path / "state.sqlite3") as st:
        st.set_kv("source:feed", junk)
        got = st.source_state("feed")
        assert got.pending == [] and got.walk == {} and got.kind == ""


@pytest.mark.parametrize("junk", ["soon", {"until": "abc"}, {"until": float("inf")}, {"level": 10**6}, [1]])
def test_a_junk_backoff_is_none_with_a_line(tmp_path: Path, junk: object, caplog: pytest.LogCaptureFixture) -> None:
    from wxarchive.archive.backoff import Backoff

    with Store(tmp_path / "state.sqlite3") as st, caplog.at_level(logging.WARNING):  # (the root's level: a CLI
        st.set_kv("backoff", junk)  # run in this process may have raised it)
        assert st.backoff() is None and Backoff(st).in_force() is None
    assert "back-off record in the state is not readable" in caplog.text


def test_a_backoff_round_trips(tmp_path: Path) -> None:
    from wxarchive.archive.store import BackoffRecord

    with Store(tmp_path / "state.sqlite3") as st:
        rec = BackoffRecord(until=2e9, level=2, delay=3600.0, reason="verify", since=1.9e9, until_text="later")
        st.set_backoff(rec)
        assert st.backoff() == rec and st.get_kv("backoff")["until"] == 2e9
        st.set_backoff(None)
        assert st.backoff() is None and st.get_kv("backoff") is None
