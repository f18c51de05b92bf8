"""`import` and `harvest` on a real pseudo-terminal, as a person runs them (issue 11: the bar crashed on a TTY).

CI never has a terminal, so these tests make one: the command's stderr (and stdout,
unless a case pipes it) is the slave side of a pty, and the test reads the master.
"""
from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

from batch_fake import FakeWeChat, connect_args, make_articles, posts, server  # noqa: F401  (fixture)


@dataclass
class TtyRun:
    code: int
    screen: str  # everything written to the terminal
    stdout: str  # stdout when it was piped, else ""


def run_in_pty(*args: str, pipe_stdout: bool = False, timeout: float = 60) -> TtyRun:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WXARCHIVE_")}
    env["TERM"] = "xterm"
    p = subprocess.Popen([sys.executable, "-m", "wxarchive", *args], stdin=slave,
                         stdout=subprocess.PIPE if pipe_stdout else slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every holder of the slave side has exited
                break
            if not data:
                break
            chunks.append(data)
    os.close(master)
    out = p.stdout.read().decode() if p.stdout else ""
    code = p.wait(timeout=10)
    return TtyRun(code, b"".join(chunks).decode("utf-8", "replace"), out)


def _links(tmp_path: Path, n: int, srv) -> tuple[Path, list]:  # type: ignore[no-untyped-def]
    arts = make_articles(n)
    FakeWeChat(srv, arts).install()
    lst = tmp_path / "links.txt"
    lst.write_text("\n".join(a.url() for a in arts) + "\n", encoding="utf-8")
    return lst, arts


def test_import_on_a_terminal_draws_a_bar_and_archives(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    lst, arts = _links(tmp_path, 3, server)
    root = tmp_path / "arch"
    r = run_in_pty("import", str(lst), "--out", str(root), "--delay", "0", *connect_args(server))
    assert r.code == 0, r.screen
    assert "Traceback" not in r.screen
    assert len(posts(root)) == 3
    assert "import [" in r.screen and "3/3" in r.screen  # the bar was drawn
    lines = [ln.split("\r")[-1] for ln in r.screen.replace("\x1b[K", "").splitlines()]
    # results print on lines of their own, never glued to the bar
    assert sum(1 for ln in lines if ln.startswith("archived ")) == 3, r.screen
    assert any("import: 3 archived" in ln for ln in lines)


def test_import_json_on_a_terminal(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    lst, arts = _links(tmp_path, 2, server)
    root = tmp_path / "arch"
    # stdout piped into a script, the bar on the terminal
    r = run_in_pty("import", str(lst), "--out", str(root), "--delay", "0", "--json", *connect_args(server),
                   pipe_stdout=True)
    assert r.code == 0, r.screen
    assert "Traceback" not in r.screen
    rows = [json.loads(ln) for ln in r.stdout.splitlines()]
    assert [x["status"] for x in rows] == ["archived", "archived"]
    assert "\x1b" not in r.stdout and "2/2" in r.screen
    # everything on the terminal (a second run: all skipped)
    r = run_in_pty("import", str(lst), "--out", str(root), "--delay", "0", "--json", *connect_args(server))
    assert r.code == 0, r.screen
    assert "Traceback" not in r.screen
    assert r.screen.count('"status": "skipped"') == 2


def test_harvest_on_a_terminal_with_and_without_json(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    lst, arts = _links(tmp_path, 2, server)
    root = tmp_path / "arch"
    root.mkdir()
    (root / "wxarchive.toml").write_text(f'[[sources]]\npath = "{lst}"\n', encoding="utf-8")
    r = run_in_pty("harvest", "--out", str(root), "--delay", "0", *connect_args(server))
    assert r.code == 0, r.screen
    assert r.screen.strip() == ""  # all went well: silent, even on a terminal
    assert len(posts(root)) == 2
    r = run_in_pty("harvest", "--out", str(root), "--delay", "0", "--json", *connect_args(server))
    assert r.code == 0, r.screen
    assert "Traceback" not in r.screen


def test_harvest_verbose_says_its_report_once_and_keeps_it_in_the_log(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    """At -v the report goes to the terminal once (it is also logged for --log, whose handler at -v
    writes to the terminal too: it said every line twice)."""
    lst, _ = _links(tmp_path, 2, server)
    root = tmp_path / "arch"
    root.mkdir()
    (root / "wxarchive.toml").write_text(f'[[sources]]\npath = "{lst}"\n', encoding="utf-8")
    log = tmp_path / "harvest.log"
    r = run_in_pty("harvest", "--out", str(root), "--delay", "0", "-v", "--log", str(log), *connect_args(server))
    assert r.code == 0, r.screen
    assert r.screen.count("harvest: 2 archived") == 1, r.screen
    assert log.read_text(encoding="utf-8").count("harvest: 2 archived") == 1
