"""How the command line process ends (``cli.run``): with every line of output, every log line and
the right exit status; quietly when the reader of its output has gone; at once after a second Ctrl-C.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import fixture_page

REPO = Path(__file__).resolve().parents[1]


def wx(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wxarchive", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)


def test_long_output_through_a_pipe_arrives_whole(tmp_path: Path) -> None:
    """Far more than a pipe's buffer: stdout is block-buffered into a pipe, so a missing final flush
    would lose the last lines."""
    n = 3000
    lst = tmp_path / "l.txt"
    lst.write_text("".join(f"https://mp.weixin.qq.com/s?__biz=MzI0NTc1OTk5Ng==&mid={2650100000 + i}&idx=1&sn=s{i}\n"
                           for i in range(n)), encoding="utf-8")
    r = wx("import", lst, "--out", tmp_path / "a", "--dry-run", "--json")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == n and len(r.stdout) > 256 * 1024
    assert '"mid=2650102999' not in lines[-1] and str(2650100000 + n - 1) in lines[-1]
    assert "3000 would be fetched" in r.stderr


def test_log_file_and_json_are_complete_and_the_status_kept(tmp_path: Path) -> None:
    """``--log FILE`` is flushed and closed (what logging's own exit hook did); images not saved are exit 4."""
    log = tmp_path / "run.log"
    page = fixture_page("article-2024-modern")
    r = wx("get", page, "--out", tmp_path / "a", "--log", log, "--json", "--timeout", "2",
           env={**os.environ, "WXARCHIVE_CONNECT_TO": "mmbiz.qpic.cn=http://127.0.0.1:9"})  # (nothing listens)
    assert r.returncode == 4, r.stderr  # archived, some images not saved
    assert r.stdout.count("\n") == 1 and '"status": "archived"' in r.stdout
    text = log.read_text(encoding="utf-8")
    assert "image not saved" in text and text.endswith("\n")


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["get"], ["import", "LIST", "--dry-run", "--json"]])
def test_a_reader_that_has_gone_is_no_error(tmp_path: Path, args: list[str]) -> None:
    """stdout is a pipe whose reader has closed it: no traceback, no "Exception ignored", the status
    the command would give anyway (141 when the command itself met the closed pipe)."""
    lst = tmp_path / "l.txt"
    lst.write_text("".join(f"https://mp.weixin.qq.com/s?__biz=MzI0NTc1OTk5Ng==&mid={2650100000 + i}&idx=1&sn=s{i}\n"
                           for i in range(3000)), encoding="utf-8")
    args = [str(lst) if a == "LIST" else a for a in args] + (["--out", str(tmp_path / "a")] if "LIST" in args else [])
    read, write = os.pipe()
    os.close(read)
    try:
        r = subprocess.run([sys.executable, "-m", "wxarchive", *args], stdout=write, stderr=subprocess.PIPE,
                           text=True, timeout=120)
    finally:
        os.close(write)
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr, r.stderr
    assert r.returncode == {"--version": 0, "--help": 0, "get": 2, "import": 141}[args[0]], r.stderr


def _stub_run(monkeypatch: pytest.MonkeyPatch, code: int) -> list[tuple[str, int]]:
    from wxarchive import cli

    left: list[tuple[str, int]] = []
    monkeypatch.setattr(cli, "main", lambda: code)
    monkeypatch.setattr(cli.os, "_exit", lambda c: left.append(("os._exit", c)))
    return left


def test_a_thread_still_running_is_waited_for_but_not_after_a_second_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ordinary exit (threads joined, exit hooks run), except after a second Ctrl-C (status 130)
    while a thread still runs: a download stuck on a slow server is not waited for."""
    from wxarchive import cli

    stop = threading.Event()
    t = threading.Thread(target=stop.wait, daemon=False)
    t.start()
    try:
        for code in (0, 1, 4):
            left = _stub_run(monkeypatch, code)
            with pytest.raises(SystemExit) as e:
                cli.run()
            assert e.value.code == code and left == []
        left = _stub_run(monkeypatch, 130)
        with pytest.raises(SystemExit) as e:  # (the stub returns; the real os._exit would not)
            cli.run()
        assert left == [("os._exit", 130)]
    finally:
        stop.set()
        t.join()
    left = _stub_run(monkeypatch, 130)  # no thread left: the ordinary exit
    with pytest.raises(SystemExit) as e:
        cli.run()
    assert e.value.code == 130 and left == []
