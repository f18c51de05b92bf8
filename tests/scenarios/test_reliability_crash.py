"""Reliability: SIGKILL mid-batch, disk full, unwritable folders, two processes on one archive.

Every test ends with the archive invariants (tests/fuzz/wxpages.check_archive): SQLite integrity_check ok,
no post outside ``_posts/``, no image outside ``postimg/``, no two articles sharing a post, every
article the state calls archived has its whole post on disk.
``WXARCHIVE_LONG_TESTS=1`` runs many more kill trials.
"""
from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from conftest import TESTS

sys.path.insert(0, str(TESTS / "fuzz"))
import wxpages  # noqa: E402
from wxpages import check_archive, rows  # noqa: E402

from wxarchive.archive.site import TMP_DIR  # noqa: E402

LONG = os.environ.get("WXARCHIVE_LONG_TESTS") == "1"
KILL_TRIALS = 40 if LONG else 5
N_ARTICLES = 6


def _handler(big: int = 0, same_title: bool = False):
    def handle(request: Request) -> Response:
        if request.path.startswith("/mmbiz_png/"):
            return Response(wxpages.PNG + b"\0" * 200_000, content_type="image/png")
        mid = int(request.args.get("mid", "0"))
        title = "同一个标题" if same_title else f"文章 {mid}"
        body = "<p>" + "长" * big + "</p>" if big else None
        imgs = (wxpages.img_url(f"IMG{mid}AAAAAAAAAAAAAAAA"), wxpages.img_url(f"IMG{mid}BBBBBBBBBBBBBBBB"))
        return Response(wxpages.page(title, mid=mid, body=body, images=imgs), content_type="text/html")
    return handle


def _cli(out: Path, base: str, mids, *extra: str) -> list[str]:
    return [sys.executable, "-m", "wxarchive", "get", *[wxpages.article_url(m) for m in mids], "--out", str(out),
            "--json", "--delay", "0", "--timeout", "5", "--connect-to", f"mp.weixin.qq.com={base}",
            "--connect-to", f"mmbiz.qpic.cn={base}", *extra]


def _archived(out: Path) -> set[str]:
    return set(check_archive(out))


def _keys(mids) -> set[str]:
    return {f"{wxpages.BIZ}:{m}:1" for m in mids}


def _no_orphans_besides_temps(out: Path) -> None:
    """Invariants right after a kill: everything except leftover temp files (the re-run must clean those)."""
    for d in ("_posts", "postimg", f"_posts/{TMP_DIR}", f"postimg/{TMP_DIR}"):
        for p in (out / d).glob(".tmp-*"):
            p.rename(p.with_name("KEEP" + p.name))  # hide from check_archive, restore after
    try:
        check_archive(out)
    finally:
        for d in ("_posts", "postimg", f"_posts/{TMP_DIR}", f"postimg/{TMP_DIR}"):
            for p in (out / d).glob("KEEP.tmp-*"):
                p.rename(p.with_name(p.name[4:]))


@pytest.mark.slow
def test_sigkill_at_random_points_then_rerun(tmp_path: Path, httpserver: HTTPServer) -> None:
    base = httpserver.url_for("/").rstrip("/")
    mids = list(range(2650001000, 2650001000 + N_ARTICLES))
    from pytest_httpserver.httpserver import URIPattern

    class Any(URIPattern):
        def match(self, uri: str) -> bool:
            return True
    httpserver.expect_request(Any()).respond_with_handler(_handler())

    # a full, undisturbed run gives the time scale
    ref = tmp_path / "ref"
    t0 = time.monotonic()
    subprocess.run(_cli(ref, base, mids), capture_output=True, timeout=120, check=True)
    full = time.monotonic() - t0
    assert _archived(ref) == _keys(mids)

    rng = random.Random(7)
    temps_seen = 0
    for trial in range(KILL_TRIALS):
        out = tmp_path / f"t{trial}"
        # kill twice in a row at random points, then let a third run finish
        for _ in range(2):
            p = subprocess.Popen(_cli(out, base, mids), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.05, full))
            p.send_signal(signal.SIGKILL)
            p.wait()
            if (out / ".wxarchive" / "state.sqlite3").exists():
                _no_orphans_besides_temps(out)
                temps_seen += sum(len(list((out / d).glob(".tmp-*"))) for d in (f"_posts/{TMP_DIR}", f"postimg/{TMP_DIR}"))
        r = subprocess.run(_cli(out, base, mids), capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        outs = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
        assert {o["status"] for o in outs} <= {"archived", "skipped"}
        _no_orphans_besides_temps(out)
        assert _archived(out) == _keys(mids)
        for key, rel in rows(out, "SELECT key, post_path FROM articles"):
            assert (out / rel).read_text(encoding="utf-8").rstrip().endswith("结尾段落。"), rel  # whole post
        for (local,) in rows(out, "SELECT local FROM images WHERE local IS NOT NULL"):
            assert (out / "postimg" / local).read_bytes().startswith(wxpages.PNG)


def test_rerun_removes_orphan_temp_files_of_a_killed_run(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/s").respond_with_handler(_handler())
    base = httpserver.url_for("/").rstrip("/")
    subprocess.run(_cli(tmp_path, base, [2650001100], "--no-images"), capture_output=True, timeout=60, check=True)
    # what SIGKILL between mkstemp() and os.replace() leaves
    # (temp names carry the writer's pid; this one belongs to a process that is gone)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = [tmp_path / "_posts" / TMP_DIR / f".tmp-{dead.pid}-k1ll3d.part",
            tmp_path / "postimg" / TMP_DIR / f".tmp-{dead.pid}-k1ll3d.part"]
    left[0].write_bytes(b"---\ntitle: half a po")
    left[1].parent.mkdir(exist_ok=True)
    left[1].write_bytes(wxpages.PNG[:10])
    r = subprocess.run(_cli(tmp_path, base, [2650001100, 2650001101], "--no-images"), capture_output=True, timeout=60)
    assert r.returncode == 0
    assert not any(p.exists() for p in left)
    check_archive(tmp_path)


# ---------------------------------------------------------------- disk full (RLIMIT_FSIZE)

def _fsize_limit(nbytes: int):
    def pre() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG instead of killing us
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return pre


def _snapshot(out: Path) -> dict:
    files = {str(p.relative_to(out)): p.read_bytes() for d in ("_posts", "postimg") for p in (out / d).rglob("*")
             if p.is_file()}  # (the temp folders' files too: none may be left)
    return {"files": files, "articles": rows(out, "SELECT key, status, post_path FROM articles ORDER BY key")}


@pytest.mark.slow
def test_disk_full_while_writing_a_post(tmp_path: Path, httpserver: HTTPServer) -> None:
    """A post too big for the space left: that article fails with a clear I/O error, nothing else changes."""
    small = lambda r: Response(wxpages.page("小", mid=int(r.args["mid"])), content_type="text/html")  # noqa: E731
    big = _handler(big=400_000)
    httpserver.expect_request("/s").respond_with_handler(lambda r: big(r) if r.args["mid"] == "2650001201" else small(r))
    base = httpserver.url_for("/").rstrip("/")
    subprocess.run(_cli(tmp_path, base, [2650001200], "--no-images"), capture_output=True, timeout=60, check=True)
    before = _snapshot(tmp_path)
    r = subprocess.run(_cli(tmp_path, base, [2650001201, 2650001202], "--no-images"), capture_output=True, text=True,
                       timeout=60, preexec_fn=_fsize_limit(1_000_000))
    outs = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    assert outs[0]["status"] == "failed" and outs[0]["error"] == "io", outs
    assert outs[1]["status"] == "archived", outs
    after = _snapshot(tmp_path)
    assert {k: v for k, v in after["files"].items() if k in before["files"]} == before["files"]
    assert f"{wxpages.BIZ}:2650001201:1" not in {k for k, s, _ in after["articles"] if s == "archived"}
    check_archive(tmp_path)
    # space comes back: the re-run archives it
    r = subprocess.run(_cli(tmp_path, base, [2650001201], "--no-images"), capture_output=True, timeout=60)
    assert r.returncode == 0 and f"{wxpages.BIZ}:2650001201:1" in _archived(tmp_path)


def test_disk_full_everywhere_gives_a_clear_error(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/s").respond_with_handler(_handler(big=400_000))
    base = httpserver.url_for("/").rstrip("/")
    subprocess.run(_cli(tmp_path, base, [2650001300], "--no-images"), capture_output=True, timeout=60, check=True)
    before = _snapshot(tmp_path)
    r = subprocess.run(_cli(tmp_path, base, [2650001301, 2650001302], "--no-images"), capture_output=True, text=True,
                       timeout=60, preexec_fn=_fsize_limit(1))
    check_archive(tmp_path)
    assert _snapshot(tmp_path) == before
    assert r.returncode != 0 and "Traceback" not in r.stderr and "wxarchive:" in r.stderr, r.stderr[-3000:]


# ---------------------------------------------------------------- unwritable archive folders

@pytest.mark.parametrize("blocked", ["_posts", "postimg", ".wxarchive"])
def test_folder_replaced_by_a_file(tmp_path: Path, httpserver: HTTPServer, blocked: str) -> None:
    httpserver.expect_request("/s").respond_with_handler(_handler())
    base = httpserver.url_for("/").rstrip("/")
    (tmp_path / blocked).write_text("not a folder")
    r = subprocess.run(_cli(tmp_path, base, [2650001400]), capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "Traceback" not in r.stderr and "wxarchive:" in r.stderr, r.stderr[-3000:]
    assert (tmp_path / blocked).read_text() == "not a folder"


def test_posts_folder_becomes_a_file_mid_archive(tmp_path: Path, httpserver: HTTPServer) -> None:
    """After the archive exists, an unwritable _posts fails each article with a clear io error; state unchanged."""
    httpserver.expect_request("/s").respond_with_handler(_handler())
    base = httpserver.url_for("/").rstrip("/")
    subprocess.run(_cli(tmp_path, base, [2650001500], "--no-images"), capture_output=True, timeout=60, check=True)
    state = rows(tmp_path, "SELECT key, status, post_path FROM articles ORDER BY key")
    # a file where the post's folder is expected: posts_dir pointing below a regular file
    (tmp_path / "wxarchive.toml").write_text((tmp_path / "wxarchive.toml").read_text().replace(
        'posts_dir = "_posts"', 'posts_dir = "blocker/_posts"'))
    (tmp_path / "blocker").write_text("a file, not a folder")
    r = subprocess.run(_cli(tmp_path, base, [2650001501], "--no-images"), capture_output=True, text=True, timeout=60)
    (tmp_path / "blocker").unlink()
    (tmp_path / "wxarchive.toml").write_text((tmp_path / "wxarchive.toml").read_text().replace(
        'posts_dir = "blocker/_posts"', 'posts_dir = "_posts"'))
    assert "Traceback" not in r.stderr, r.stderr[-2000:]
    assert r.returncode == 1 and "cannot write the archive" in r.stderr, r.stderr[-2000:]
    assert rows(tmp_path, "SELECT key, status, post_path FROM articles ORDER BY key") == state
    check_archive(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits")
def test_read_only_posts_folder(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/s").respond_with_handler(_handler())
    base = httpserver.url_for("/").rstrip("/")
    subprocess.run(_cli(tmp_path, base, [2650001600], "--no-images"), capture_output=True, timeout=60, check=True)
    state = rows(tmp_path, "SELECT key, status, post_path FROM articles ORDER BY key")
    (tmp_path / "_posts").chmod(0o555)
    try:
        r = subprocess.run(_cli(tmp_path, base, [2650001601], "--no-images"), capture_output=True, text=True, timeout=60)
    finally:
        (tmp_path / "_posts").chmod(0o755)
    assert '"io"' in r.stdout and "Traceback" not in r.stderr
    assert rows(tmp_path, "SELECT key, status, post_path FROM articles ORDER BY key") == state
    check_archive(tmp_path)


# ---------------------------------------------------------------- two processes, one archive

def test_two_processes_overlapping_batches(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/s").respond_with_handler(_handler())
    from pytest_httpserver.httpserver import URIPattern

    class Any(URIPattern):
        def match(self, uri: str) -> bool:
            return uri.startswith("/mmbiz_png/")
    httpserver.expect_request(Any()).respond_with_handler(_handler())
    base = httpserver.url_for("/").rstrip("/")
    a = list(range(2650001700, 2650001710))
    b = list(range(2650001705, 2650001715))
    ps = [subprocess.Popen(_cli(tmp_path, base, m), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
          for m in (a, b)]
    results = [p.communicate(timeout=120) for p in ps]
    assert all(p.returncode == 0 for p in ps), [e[-2000:] for _, e in results]
    assert _archived(tmp_path) == _keys(a + b)


def test_two_processes_same_titles_never_share_a_post(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/s").respond_with_handler(_handler(same_title=True))
    base = httpserver.url_for("/").rstrip("/")
    a = list(range(2650001800, 2650001830, 2))
    b = list(range(2650001801, 2650001830, 2))
    ps = [subprocess.Popen(_cli(tmp_path, base, m, "--no-images"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True) for m in (a, b)]
    for p in ps:
        p.communicate(timeout=120)
    assert _archived(tmp_path) == _keys(a + b)  # check_archive also asserts no two articles share a post
