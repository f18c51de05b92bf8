"""Issue 24: what a command costs must not grow with the archive.

A command on a large archive reads only what it needs: no walk of ``_posts/`` or ``postimg/`` at
start (the temp files of a killed run are kept in a temp folder of their own), and index searches,
not table scans, in the state.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from batch_fake import server  # noqa: F401  (fixture)
from conftest import TESTS, fixture_page

FILLER = 300  # names put into each big folder: a command that walks one reads them all
DEAD = "http://127.0.0.1:9"  # nothing listens: a request fails at once


class _Counted:
    """An ``os.scandir`` iterator that counts the entries it yields."""

    def __init__(self, it: Any, count: Any) -> None:
        self._it, self._count = it, count

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> Any:
        e = next(self._it)
        self._count(e.path)
        return e

    def __enter__(self) -> _Counted:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._it.close()


@pytest.fixture
def dir_reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Directory entries read through ``os.scandir`` and ``os.listdir`` (what ``Path.iterdir``, ``glob``
    and ``os.walk`` use), counted by the folder they were read from."""
    reads: Counter[str] = Counter()
    real_scandir, real_listdir = os.scandir, os.listdir

    def count(path: str) -> None:
        reads[os.path.dirname(os.fspath(path))] += 1

    def scandir(path: Any = ".") -> Any:
        return _Counted(real_scandir(path), count)

    def listdir(path: Any = ".") -> list[Any]:
        names = real_listdir(path)
        for n in names:
            count(os.path.join(os.fspath(path), n))
        return names

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "listdir", listdir)
    return reads


def _grown(root: Path, run_cli) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """One real article, then ``FILLER`` more names in each folder that grows with the archive."""
    res = run_cli("get", fixture_page("article-2024-modern"), "--out", root, "--no-images", "--json")
    assert res.code == 0, res.err
    for d in ("_posts", "postimg", ".wxarchive/raw"):
        (root / d).mkdir(parents=True, exist_ok=True)
        for i in range(FILLER):
            (root / d / f"2020-01-01-filler-{i}.md").write_bytes(b"")
    return res.json


def _archive_reads(reads: Counter[str], root: Path) -> int:
    top = os.fspath(root.resolve())
    return sum(n for d, n in reads.items() if os.path.realpath(d).startswith(top))


@pytest.mark.parametrize("command", ["get", "import", "check", "status", "ls", "init"])
def test_a_command_reads_no_folder_of_the_archive_whole(tmp_path: Path, run_cli, dir_reads, command: str) -> None:
    """A start looks at what was in flight, not at every post, image and raw page: each command reads
    fewer directory entries than one of those folders holds (the sweep of every start read them all)."""
    root = tmp_path / "blog"
    got = _grown(root, run_cli)
    (tmp_path / "links.txt").write_text(got["url"] + "\n", encoding="utf-8")
    args = {"get": ["get", got["url"], "--no-images"], "import": ["import", tmp_path / "links.txt", "--no-images"],
            "check": ["check", got["key"], "--timeout", "1"], "status": ["status"], "ls": ["ls"], "init": ["init"]}
    argv = args[command] + ["--out", root] if command != "init" else ["init", root]
    if command in ("get", "import", "check"):
        argv += ["--connect-to", f"mp.weixin.qq.com={DEAD}", "--connect-to", f"mmbiz.qpic.cn={DEAD}"]
    dir_reads.clear()
    res = run_cli(*argv)
    assert res.code in (0, 1), res.err
    read = _archive_reads(dir_reads, root)
    assert read < FILLER, f"{command} read {read} directory entries of the archive: {dict(dir_reads)}"


# ---- the state: index searches, whatever the archive was built with (migration 4)

def _plan(st: Any, sql: str, args: tuple = ()) -> str:
    return " ; ".join(r[-1] for r in st.db.execute("EXPLAIN QUERY PLAN " + sql, args))


def _table_scan(plan: str) -> bool:
    """A read of every row of a table (a scan of an index in its order is what `ls` asks for)."""
    return any(p.strip().startswith("SCAN") and "INDEX" not in p for p in plan.split(";"))


def _fill(st: Any, n: int) -> None:
    """``n`` articles as runs record them: every 3rd made with --no-images, every 5th missing an image."""
    for i in range(n):
        key = f"b:{i}:1"
        st.record_archived(key, [], url=f"https://mp.weixin.qq.com/s?__biz=b&mid={i}&idx=1", title=f"t{i}",
                           account="号", published=f"2020-01-{1 + i % 28:02d}T00:00:00+08:00",
                           post_path=f"_posts/p{i}.md", stripped="[]", images_found=2,
                           images_saved=1 if i % 5 == 0 else 2)
        st.record_choices(key, keep_footers=i % 2 == 0, no_images=i % 3 == 0)


def test_status_ls_heal_and_check_selection_are_index_searches(tmp_path: Path) -> None:
    from wxarchive.archive.store import ARTICLES_SQL, COUNTS_SQL, FAILURES_SQL, MISSING_TOTAL_SQL, Store

    with Store(tmp_path / "state.sqlite3") as st:
        _fill(st, 200)
        for i in range(5):
            st.record_failure(f"c:{i}:1", f"u{i}", "network", "timed out", permanent=i % 2 == 1)
        st.record_failure("b:3:1", "u", "network", "no", permanent=False)  # (archived: stays so)
        st.db.execute("INSERT OR REPLACE INTO articles (key, url, status, updated_at) VALUES ('b:1:1', 'u', 'failed', 0)")
        st.db.execute("ANALYZE")
        by_rows = dict(st.db.execute("SELECT status, COUNT(*) FROM articles GROUP BY status").fetchall())
        assert st.counts() == by_rows == {"archived": 199, "failed": 4, "gave_up": 2}
        assert len(st.failures()) == 6
        plans = {"status: images missing": _plan(st, MISSING_TOTAL_SQL), "status: counts": _plan(st, COUNTS_SQL),
                 "status: failures": _plan(st, FAILURES_SQL, (50,)), "ls": _plan(st, ARTICLES_SQL)}
        missing = st.missing_images()
        assert {r.key for r in missing} == {f"b:{i}:1" for i in range(200) if i % 5 == 0 and i % 3 and i != 1}
        assert st.images_missing_total() == (len(missing), len(missing))
        for i in range(0, 200, 4):  # some checked: the queue gives the never-checked first, then the oldest check
            st.record_check(f"b:{i}:1", at=1000.0 + i, seen="alive", http_status=200, detail="", fate=None,
                            changed=False, previous=None)
        queue = [r.key for r in st.check_queue(limit=160)]
        never = [f"b:{i}:1" for i in range(200) if i % 4 and i != 1]  # (b:1:1 failed since)
        assert queue == never + [f"b:{i}:1" for i in range(0, 4 * (160 - len(never)), 4)]
        st.db.set_trace_callback(lambda sql: seen.append(sql))
        seen: list[str] = []
        st.missing_images()
        st.check_queue(keys=["b:7:1"])
        st.check_queue(limit=50, tried_before=5000.0, account="号")
        st.unwritten_fates()
        st.db.set_trace_callback(None)
        for sql in seen:
            plans[sql[:60] + sql[-40:]] = _plan(st, sql)
    assert "INDEX articles_missing (status=? AND no_images=?)" in plans["status: images missing"]
    assert "articles_published" in plans["ls"] and "TEMP B-TREE" not in plans["ls"]  # rows come in order
    assert "INDEX articles_failed" in plans["status: failures"] and "TEMP B-TREE" not in plans["status: failures"]
    queue = next(p for k, p in plans.items() if k.endswith("LIMIT 50"))
    assert "INDEX articles_check_queue (status=?)" in queue and "TEMP B-TREE" not in queue, queue
    assert any("fates_unwritten" in p for p in plans.values()), plans
    bad = {k: p for k, p in plans.items() if _table_scan(p)}
    assert not bad, bad


def test_old_state_moves_its_choices_into_columns(tmp_path: Path) -> None:
    """A state written before migration 4 kept each post's choices as JSON in kv (some junk, as an
    untrusted file may hold): the upgrade moves them into columns, and a read-only open of such a
    state (`status` on a read-only filesystem) reads them where they are."""
    import sqlite3

    from wxarchive.archive import store as store_mod
    from wxarchive.archive.store import SCHEMA_VERSION, Store

    def _version(p: Path) -> int:
        con = sqlite3.connect(p)
        try:
            return int(con.execute("PRAGMA user_version").fetchone()[0])
        finally:
            con.close()

    path = tmp_path / "state.sqlite3"
    with Store(path) as st:
        _fill(st, 30)
    db = sqlite3.connect(path)  # back to version 3, as that wxarchive wrote it
    choices = {f"b:{i}:1": {"keep_footers": i % 2 == 0, "no_images": i % 3 == 0} for i in range(30)}
    db.executemany("INSERT INTO kv(k, v) VALUES (?, ?)",
                   [(f"choices:{k}", json.dumps(v)) for k, v in choices.items()] + [("choices:b:99:1", "{not json")])
    db.execute("DROP INDEX articles_missing")
    db.execute("DROP INDEX articles_published")
    db.execute("ALTER TABLE articles DROP COLUMN no_images")
    db.execute("ALTER TABLE articles DROP COLUMN keep_footers")
    db.execute("ALTER TABLE articles DROP COLUMN images_given_up")
    db.execute("CREATE INDEX articles_images_missing ON articles(status) WHERE images_saved < images_found")
    db.execute("PRAGMA user_version=3")
    db.commit()
    db.close()
    want = (sum(1 for i in range(30) if i % 5 == 0 and i % 3), sum(1 for i in range(30) if i % 5 == 0 and i % 3))

    def read_only_fs(*a: object) -> None:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(store_mod, "_upgrade", read_only_fs)
        with Store(path, readonly=True) as ro:
            assert ro.images_missing_total() == want
            assert {r.key: r.no_images for r in ro.articles()} == {f"b:{i}:1": int(i % 3 == 0) for i in range(30)}
    assert _version(path) == 3
    with Store(path, readonly=True) as ro:  # where it can, a reader upgrades the state
        assert ro.images_missing_total() == want
    with Store(path) as st:
        assert st.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        got = {r.key: {"keep_footers": bool(r.keep_footers), "no_images": bool(r.no_images)} for r in st.articles()}
        assert got == choices
        assert st.db.execute("SELECT COUNT(*) FROM kv WHERE k LIKE 'choices:%'").fetchone()[0] == 0
        assert st.images_missing_total() == want


def test_ls_reads_rows_as_it_prints_them(tmp_path: Path) -> None:
    """`ls` keeps no list of the archive: the memory it holds at its peak is the same for 1,000 articles
    as for 5,000 (a fetchall held every row: ~300 MB at 100,000)."""
    import tracemalloc

    from wxarchive.cli.listing import rows
    from wxarchive.archive.site import STATE_DIR
    from wxarchive.archive.store import Store

    def peak(n: int) -> int:
        root = tmp_path / f"a{n}"
        with Store(root / STATE_DIR / "state.sqlite3") as st:
            st.db.execute("BEGIN")
            st.db.executemany(
                "INSERT INTO articles (key, url, title, account, published, post_path, status, images_found,"
                " images_saved, stripped, updated_at) VALUES (?,?,?,?,?,?,'archived',2,2,'[]',0)",
                [(f"b:{i}:1", f"https://mp.weixin.qq.com/s?__biz=b&mid={i}&idx=1", "标题" * 20, "号",
                  f"2020-01-01T{i % 24:02d}:00:00+08:00", f"_posts/p{i}.md") for i in range(n)])
            st.db.execute("COMMIT")
        tracemalloc.start()
        try:
            count = sum(1 for _ in rows(root))
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            assert count == n

    small, big = peak(1000), peak(5000)
    assert big < small * 1.2 + 64 * 1024, (small, big)


def test_posts_whose_images_were_given_up_are_not_read_again(run_cli, tmp_path: Path, server,  # type: ignore[no-untyped-def]  # noqa: F811
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Once every image a post lacks has had its tries, later runs stop reading its raw page (each heal
    parsed up to 500 such pages on every run); `status` still counts its images as missing."""
    from batch_fake import FakeWeChat, connect_args, make_articles

    from wxarchive.archive import rawpage

    arts = make_articles(2)
    fake = FakeWeChat(server, arts)
    server.expect_request("/s").respond_with_handler(fake._article)
    for a in arts:
        server.expect_request(f"/mmbiz_png/{a.media}/640").respond_with_data("no", status=404)
    root = tmp_path / "arch"
    assert run_cli("get", arts[0].url(), "--out", root, "--delay", "0", *connect_args(server)).code == 4
    for _ in range(6):
        run_cli("get", arts[1].url(), "--out", root, "--delay", "0", "--no-images", *connect_args(server))
        run_cli("get", arts[1].url(), "--out", root, "--delay", "0", *connect_args(server))
    unpacked: list[int] = []
    real = rawpage.unpack
    monkeypatch.setattr(rawpage, "unpack", lambda data: unpacked.append(1) or real(data))
    run_cli("get", arts[1].url(), "--out", root, "--delay", "0", *connect_args(server))
    assert unpacked == [], "a post whose images were given up was read again"
    assert json.loads(run_cli("status", "--out", root, "--json").out)["images_missing"]["posts"] >= 1


def test_a_state_from_before_versions_is_read_as_it_is_on_a_read_only_filesystem(tmp_path: Path,
                                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """No kv, no fates, no `stripped` column (test_store's oldest state): `status` and `ls` still read it."""
    import importlib.util
    import sqlite3

    # test_store lives in tests/archive, not on the import path: read by its path, so this file runs alone too
    spec = importlib.util.spec_from_file_location("old_schema_of_test_store", TESTS / "archive" / "test_store.py")
    assert spec and spec.loader
    test_store = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(test_store)
    OLD_SCHEMA = test_store.OLD_SCHEMA

    from wxarchive.archive import store as store_mod
    from wxarchive.archive.store import Store

    path = tmp_path / "state.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.close()

    def read_only_fs(*a: object) -> None:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(store_mod, "_upgrade", read_only_fs)
    with Store(path, readonly=True) as ro:
        assert ro.counts() == {"archived": 1} and ro.images_missing_total() == (0, 0)
        assert [r.title for r in ro.articles()] == ["旧文章"]
