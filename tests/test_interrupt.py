"""Ctrl-C as the tools people know it (issue 23 item 2), on a real pseudo-terminal against a
trickling server: the first Ctrl-C finishes the article under way and takes no new one, the
second stops at once, cleanly; every finished article is reported; the exit status is 130.

The command runs with the pty as its controlling terminal, so the test types ``\\x03`` and the
terminal itself sends SIGINT, as it does for a person.
"""
from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import sqlite3
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from wxarchive.archive.site import TMP_DIR

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import wxpages  # noqa: E402
from wxpages import RawServer, path_of  # noqa: E402

MIDS = (2650000501, 2650000502, 2650000503)
IMAGES = 3


class Trickle:
    """Article pages at once; each image sends its first bytes, then one byte every 0.1 s for ``seconds``."""

    def __init__(self, seconds: float, first: float | None = None) -> None:
        self.seconds, self.first = seconds, first  # first: the first article's images, when they differ
        self.server = RawServer(self._handle)

    def _handle(self, conn, req) -> None:  # type: ignore[no-untyped-def]
        path = path_of(req)
        for mid in MIDS:
            if f"mid={mid}&" in path:
                body = wxpages.page(f"文章 {mid}", mid=mid,
                                    images=tuple(wxpages.img_url(f"IMG{mid}X{i}AAAAAAAAAAAA") for i in range(IMAGES)))
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body) + body)
                return
        n = int((self.first if self.first is not None and f"IMG{MIDS[0]}" in path else self.seconds) * 10)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n"
                     b"Content-Length: %d\r\n\r\n" % (len(wxpages.PNG) + n) + wxpages.PNG)
        for _ in range(n):
            conn.sendall(b"\0")
            time.sleep(0.1)

    def pages_asked(self) -> list[str]:
        return [path_of(r) for r in self.server.requests if b"mid=" in r]

    def images_asked(self) -> int:
        return sum(1 for r in self.server.requests if b"mmbiz_png" in r)


class Terminal:
    """wxarchive with a pty as its controlling terminal (stdout piped, to read --json)."""

    def __init__(self, *args: str) -> None:
        self.master, slave = pty.openpty()
        env = {k: v for k, v in os.environ.items() if not k.startswith("WXARCHIVE_")}
        env["TERM"] = "xterm"

        def own_terminal() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen([sys.executable, "-m", "wxarchive", *args], stdin=slave, stdout=subprocess.PIPE,
                                     stderr=slave, env=env, preexec_fn=own_terminal, close_fds=True)
        os.close(slave)
        self.screen = b""

    def read(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    return
                if not data:
                    return
                self.screen += data

    def ctrl_c(self) -> None:
        os.write(self.master, b"\x03")

    def finish(self, timeout: float) -> tuple[int, str, str]:
        end = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < end:
            self.read(0.1)
        if self.proc.poll() is None:
            self.proc.kill()
            pytest.fail(f"still running {timeout} s after Ctrl-C: {self.screen.decode('utf-8', 'replace')}")
        self.read(0.2)
        os.close(self.master)
        out = self.proc.stdout.read().decode() if self.proc.stdout else ""
        return self.proc.wait(), self.screen.decode("utf-8", "replace"), out


def _start(tmp_path: Path, srv: Trickle, *extra: str, images: int = 1) -> tuple[Terminal, Path]:
    lst = tmp_path / "links.txt"
    lst.write_text("\n".join(wxpages.article_url(m) for m in MIDS) + "\n")
    root = tmp_path / "arch"
    url = srv.server.url
    term = Terminal("import", str(lst), "--out", str(root), "--delay", "2", "--json", "--timeout", "30",
                    "--connect-to", f"mp.weixin.qq.com={url}", "--connect-to", f"mmbiz.qpic.cn={url}", *extra)
    end = time.monotonic() + 20
    while srv.images_asked() < images and time.monotonic() < end:  # the images are coming in
        term.read(0.05)
    assert srv.images_asked(), term.screen
    term.read(0.3)
    return term, root


def _leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".tmp-") or p.name.endswith(".part")]


def _archived(root: Path) -> list[str]:
    db = sqlite3.connect(root / ".wxarchive" / "state.sqlite3")
    try:
        return [r[0] for r in db.execute("SELECT key FROM articles WHERE status='archived'")]
    finally:
        db.close()


def test_first_ctrl_c_finishes_the_article_under_way_and_takes_no_new_one(tmp_path: Path) -> None:
    srv = Trickle(seconds=2.0)
    with srv.server:
        term, root = _start(tmp_path, srv)
        term.ctrl_c()
        code, screen, out = term.finish(timeout=20)
    assert code == 130, screen
    assert "finishing the current article (Ctrl-C again to stop now)" in screen
    assert "Traceback" not in screen
    assert len(srv.pages_asked()) == 1, srv.pages_asked()  # no page asked for after the Ctrl-C
    lines = [json.loads(ln) for ln in out.splitlines()]
    assert [ln["status"] for ln in lines] == ["archived", "failed", "failed"], out
    assert lines[0]["images"] == {"found": IMAGES, "saved": IMAGES, "failed": 0}  # finished whole
    assert [ln["error"] for ln in lines[1:]] == ["interrupted", "interrupted"]
    assert "import stopped by Ctrl-C: 1 archived" in screen and "2 link(s) not tried" in screen
    assert len(_archived(root)) == 1 and len(list((root / "_posts").glob("*.md"))) == 1
    assert _leftovers(root) == []


def test_second_ctrl_c_stops_at_once_and_cleanly(tmp_path: Path) -> None:
    srv = Trickle(seconds=30.0)  # without a clean stop the run would wait out the trickle
    with srv.server:
        term, root = _start(tmp_path, srv)
        term.ctrl_c()
        term.read(0.5)
        term.ctrl_c()
        t0 = time.monotonic()
        term.ctrl_c()  # a third press changes nothing
        code, screen, out = term.finish(timeout=10)
        took = time.monotonic() - t0
    assert code == 130, screen
    assert took < 4, f"{took:.1f} s from the second Ctrl-C to the exit"
    assert "Traceback" not in screen
    assert "interrupted" in screen
    assert out == ""  # nothing finished, nothing reported as finished
    assert _leftovers(root) == []  # no .part left behind
    assert _archived(root) == [] and list((root / "_posts").glob("*.md")) == []
    postimg = root / "postimg"
    assert not postimg.exists() or [p for p in postimg.iterdir() if p.name != TMP_DIR] == []  # (an empty temp folder may stay)


def test_after_a_second_ctrl_c_the_run_resumes(tmp_path: Path) -> None:
    """Nothing recorded half: the same command, run again, archives every article."""
    srv = Trickle(seconds=30.0)
    with srv.server:
        term, root = _start(tmp_path, srv)
        term.ctrl_c()
        term.read(0.3)
        term.ctrl_c()
        code, screen, _ = term.finish(timeout=10)
        assert code == 130, screen
        srv.seconds = 0.0
        r = subprocess.run([sys.executable, "-m", "wxarchive", "import", str(tmp_path / "links.txt"), "--out", str(root),
                            "--delay", "0", "--connect-to", f"mp.weixin.qq.com={srv.server.url}",
                            "--connect-to", f"mmbiz.qpic.cn={srv.server.url}"], capture_output=True, text=True,
                           timeout=60)
    assert r.returncode == 0, r.stderr
    assert len(_archived(root)) == len(MIDS) and _leftovers(root) == []


def test_an_article_finished_before_the_second_ctrl_c_is_reported(tmp_path: Path) -> None:
    """The first article is done while the second one's images trickle: two Ctrl-C's stop the second,
    and the first is still printed (and sent to --json) as archived."""
    srv = Trickle(seconds=30.0, first=0.5)
    with srv.server:
        term, root = _start(tmp_path, srv, images=IMAGES + 1)  # the second article's images have begun
        term.ctrl_c()
        term.read(0.3)
        term.ctrl_c()
        code, screen, out = term.finish(timeout=10)
    assert code == 130, screen
    lines = [json.loads(ln) for ln in out.splitlines()]
    assert [(ln["status"], ln["images"]["saved"]) for ln in lines] == [("archived", IMAGES)], out
    assert len(_archived(root)) == 1 and _leftovers(root) == []


def test_check_stops_at_the_first_ctrl_c_after_the_check_under_way(tmp_path: Path) -> None:
    srv = Trickle(seconds=0.0)
    with srv.server:
        lst = tmp_path / "links.txt"
        lst.write_text("\n".join(wxpages.article_url(m) for m in MIDS) + "\n")
        root, url = tmp_path / "arch", srv.server.url
        route = ["--connect-to", f"mp.weixin.qq.com={url}", "--connect-to", f"mmbiz.qpic.cn={url}"]
        r = subprocess.run([sys.executable, "-m", "wxarchive", "import", str(lst), "--out", str(root), "--delay", "0",
                            "--no-images", *route], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        before = len(srv.pages_asked())
        term = Terminal("check", "--out", str(root), "--delay", "3", *route)
        end = time.monotonic() + 20
        while len(srv.pages_asked()) == before and time.monotonic() < end:
            term.read(0.05)
        term.read(0.3)
        term.ctrl_c()
        t0 = time.monotonic()
        code, screen, _ = term.finish(timeout=10)
    assert code == 130, screen
    assert time.monotonic() - t0 < 2.5, "the pacing wait before the next check was not cut short"
    assert len(srv.pages_asked()) == before + 1  # the one under way; no new one
    assert "finishing the current article" in screen and "check stopped by Ctrl-C: 1 checked" in screen, screen
