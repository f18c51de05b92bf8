"""State and messages (issue 12): a damaged state database, a read-only or full disk, an article
given up earlier. Each test checks what the user sees on the terminal and what is left on disk.

The read-only and full-disk tests mount a small real tmpfs (root with mount rights, as in CI's
container); they are skipped where mounting is not allowed.
"""
from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from conftest import TESTS

sys.path.insert(0, str(TESTS / "fuzz"))
import wxpages  # noqa: E402
from wxpages import RawServer, check_archive, path_of  # noqa: E402

from conftest import FIXTURES, posts  # noqa: E402

PAGES = [FIXTURES / "article-2024-modern" / "page.html", FIXTURES / "article-2017-legacy" / "page.html"]


def _archive_two(run_cli, out: Path) -> dict[str, bytes]:
    res = run_cli("get", *PAGES, "--out", out, "-q", "--no-images")
    assert res.code == 0, res.err
    return {p.name: p.read_bytes() for p in posts(out)}


def _damage(db: Path, how: str) -> None:
    for extra in ("-wal", "-shm"):
        Path(str(db) + extra).unlink(missing_ok=True)
    if how == "zero bytes":
        db.write_bytes(b"")
    elif how == "not a database":
        db.write_bytes(b"this is no SQLite file " * 400)
    else:  # header intact, every page after the first overwritten
        data = bytearray(db.read_bytes())
        data[4096:] = b"\xab" * (len(data) - 4096)
        db.write_bytes(bytes(data))


def _one_damage_line(err: str, db: Path) -> None:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    line = lines[0]
    assert "state database damaged" in line and str(db) in line, line
    assert "posts" in line and "intact" in line and "wxarchive rebuild --from-posts" in line, line
    assert "Traceback" not in err


@pytest.mark.parametrize("how", ["zero bytes", "not a database", "pages overwritten"])
def test_damaged_state_is_named_never_started_over_and_rebuilt_from_posts(tmp_path: Path, run_cli, how: str) -> None:
    out = tmp_path / "a"
    before = _archive_two(run_cli, out)
    db = out / ".wxarchive" / "state.sqlite3"
    _damage(db, how)
    damaged = db.read_bytes()
    links = tmp_path / "links.txt"
    links.write_text(wxpages.article_url(2650000001) + "\n")
    for args in (["status"], ["get", PAGES[0]], ["import", links], ["rebuild"]):
        res = run_cli(*args, "--out", out)
        assert res.code == 1, (args, res.out, res.err)
        _one_damage_line(res.err, db)
        assert db.read_bytes() == damaged  # never silently replaced by an empty state
        assert {p.name: p.read_bytes() for p in posts(out)} == before
    res = run_cli("rebuild", "--from-posts", "--out", out)
    assert res.code == 0, res.err
    assert "2 post(s) recorded" in res.out
    assert list((out / ".wxarchive").glob("state.sqlite3.damaged-*"))  # kept aside for inspection
    status = run_cli("status", "--out", out)
    assert status.code == 0 and "archived 2" in status.out, status.out + status.err
    again = run_cli("get", *PAGES, "--out", out, "--json")
    assert [ln["status"] for ln in again.lines] == ["skipped", "skipped"]  # history is back: nothing redone
    assert {p.name: p.read_bytes() for p in posts(out)} == before
    check_archive(out)


def test_rebuild_from_posts_records_raw_pages_for_a_later_rebuild(tmp_path: Path, run_cli) -> None:
    out = tmp_path / "a"
    _archive_two(run_cli, out)
    db = out / ".wxarchive" / "state.sqlite3"
    _damage(db, "not a database")
    assert run_cli("rebuild", "--from-posts", "--out", out).code == 0
    res = run_cli("rebuild", "--out", out, "--json")
    assert res.code == 0, res.err
    assert [ln["status"] for ln in res.lines] == ["rebuilt", "rebuilt"]


def test_get_of_a_given_up_article_says_why(tmp_path: Path, run_cli) -> None:
    deleted = (FIXTURES / "error-deleted-zh" / "page.html").read_bytes()

    def handler(conn, req):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(deleted) + deleted)

    url = wxpages.article_url(2650000001)
    with RawServer(handler) as srv:
        route = ["--connect-to", f"mp.weixin.qq.com={srv.url}", "--delay", "0"]
        first = run_cli("get", url, "--out", tmp_path, *route)
        assert first.code == 1 and "删除" in first.err
        asked = len(srv.requests)
        res = run_cli("get", url, "--out", tmp_path, *route)
        assert len(srv.requests) == asked  # not asked for again
    assert res.code == 0  # skipped: nothing to do, as for an archived article
    assert "given up earlier" in res.err and "deleted" not in res.out
    assert "--retry-failed" in res.err and "删除" in res.err


# ---------------------------------------------------------------- real read-only and full filesystems

@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount(8)")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.decode(errors='replace').strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_read_only_filesystem_one_line_and_status_still_reads(tmp_path: Path, run_cli, run_proc) -> None:
    with tmpfs(tmp_path / "fs", "8m") as fs:
        out = fs / "a"
        _archive_two(run_cli, out)
        (out / "links.txt").write_text(wxpages.article_url(2650000001) + "\n")
        with (out / "wxarchive.toml").open("a") as f:
            f.write('\n[[sources]]\npath = "links.txt"\n')
        assert subprocess.run(["mount", "-o", "remount,ro", str(fs)], capture_output=True).returncode == 0
        status = run_proc("status", "--out", out)
        assert status.code == 0 and "archived 2" in status.out, status.err
        links = tmp_path / "links.txt"
        links.write_text(wxpages.article_url(2650000001) + "\n")
        for args in (["import", links], ["harvest"], ["get", PAGES[0], "--force"]):
            res = run_proc(*args, "--out", out, "--delay", "0")
            lines = [ln for ln in res.err.splitlines() if ln.strip()]
            assert res.code == 1 and len(lines) == 1, (args, res.err)
            assert "cannot write the archive" in lines[0] and "Read-only file system" in lines[0], lines[0]


def test_full_disk_stops_at_the_first_enospc(tmp_path: Path, run_proc) -> None:
    big = wxpages.PNG + b"\0" * (400 * 1024)  # each image 400 KB: a 2 MB disk fills within a few articles
    mids = list(range(2650000501, 2650000521))

    def handler(conn, req):
        path = path_of(req)
        if "/mmbiz_png/" in path:
            body, ctype = big, b"image/png"
        else:
            mid = int(path.split("mid=")[1].split("&")[0])
            body, ctype = wxpages.page(f"文章 {mid}", mid=mid, images=(wxpages.img_url(f"BIGIMG{mid}AAAAAAAAAAAAA"),)), \
                b"text/html; charset=utf-8"
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
                     % (ctype, len(body)) + body)

    with tmpfs(tmp_path / "fs", "2m") as fs, RawServer(handler) as srv:
        links = tmp_path / "links.txt"
        links.write_text("\n".join(wxpages.article_url(m) for m in mids) + "\n")
        res = run_proc("import", links, "--out", fs / "a", "--delay", "0", "--concurrency", "1",
                       "--connect-to", f"mp.weixin.qq.com={srv.url}", "--connect-to", f"mmbiz.qpic.cn={srv.url}",
                       timeout=120)
        pages_asked = sum(1 for r in srv.requests if b"GET /s?" in r)
        assert res.code == 1, res.err
        assert "No space left on device" in res.err and "stopped" in res.err and "Traceback" not in res.err
        assert pages_asked < len(mids) // 2, f"{pages_asked} pages fetched after the disk was full"
        with contextlib.suppress(sqlite3.Error):
            check_archive(fs / "a")


def test_a_full_disk_met_by_sqlite_first_reads_as_a_full_disk(tmp_path: Path) -> None:
    """Whichever writer meets the full disk first, a post's file (ENOSPC) or the state database
    (SQLITE_FULL, made real here by a page limit), the run stops with the same words; an error of
    the article's own does not stop it."""
    import errno
    import os

    from wxarchive.jobs.pipeline import _stop_reason

    db = sqlite3.connect(tmp_path / "s.sqlite3")
    db.execute("create table t (x)")
    db.execute("pragma max_page_count = 2")
    with pytest.raises(sqlite3.OperationalError) as full:
        db.executemany("insert into t values (?)", [("x" * 4000,)] * 50)
    assert _stop_reason(full.value) == os.strerror(errno.ENOSPC) == "No space left on device"
    assert _stop_reason(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))) == "No space left on device"
    assert _stop_reason(OSError(errno.ENAMETOOLONG, "File name too long")) == ""
    assert _stop_reason(sqlite3.OperationalError("no such table: x")) == ""
