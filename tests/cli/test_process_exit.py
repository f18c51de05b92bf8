"""How the command line process ends (``cli.run``): at once, without the interpreter's teardown
(~90 ms of freeing modules once httpx, lxml and yaml are loaded), yet with every line of output,
every log line and the right exit status.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import REPO, fixture_page



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


def test_the_interpreter_teardown_is_skipped(tmp_path: Path) -> None:
    """The exit hooks of the interpreter's teardown never run: the process is gone once its output is out.
    (A ``sitecustomize`` registers one that would write a file.)"""
    hook = tmp_path / "hook"
    hook.mkdir()
    marker = tmp_path / "teardown-ran"
    (hook / "sitecustomize.py").write_text(
        f"import atexit\natexit.register(lambda: open({str(marker)!r}, 'w').close())\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hook), str(REPO), os.environ.get("PYTHONPATH", "")])}
    lst = tmp_path / "l.txt"
    lst.write_text("https://mp.weixin.qq.com/s?__biz=MzI0NTc1OTk5Ng==&mid=2650100001&idx=1&sn=s1\n", encoding="utf-8")
    for args in (["--version"], ["import", lst, "--out", tmp_path / "a", "--dry-run"], ["get"]):  # argparse; a command; usage
        r = wx(*args, env=env)
        assert (r.returncode, bool(r.stdout.strip() or r.stderr.strip())) == (2 if args == ["get"] else 0, True)
        assert not marker.exists(), args
    # the same hook runs in an ordinary interpreter exit (the test can tell the two apart)
    subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
    assert marker.exists()


def test_another_thread_still_running_gets_the_ordinary_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    """``os._exit`` would kill a thread mid-work; with one still running, ``run`` exits the ordinary way."""
    from wxarchive import cli

    left = []
    monkeypatch.setattr(cli, "main", lambda: 0)
    monkeypatch.setattr(cli.os, "_exit", lambda code: left.append(("os._exit", code)))
    stop = threading.Event()
    t = threading.Thread(target=stop.wait, daemon=False)
    t.start()
    try:
        with pytest.raises(SystemExit) as e:
            cli.run()
        assert e.value.code == 0 and left == []
    finally:
        stop.set()
        t.join()
    with pytest.raises(AssertionError):  # (no thread left: the quick way; the stub returns, so run goes on)
        cli.run()
        raise AssertionError(left)
    assert left == [("os._exit", 0)]


def test_after_a_second_ctrl_c_a_thread_still_running_is_not_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """Status 130 with a download stuck on a slow server: the quick way, not the ordinary exit that joins it."""
    from wxarchive import cli

    left = []
    monkeypatch.setattr(cli, "main", lambda: 130)
    monkeypatch.setattr(cli.os, "_exit", lambda code: left.append(("os._exit", code)))
    stop = threading.Event()
    t = threading.Thread(target=stop.wait, daemon=False)
    t.start()
    try:
        with pytest.raises(AssertionError):  # (the stub returns, so run goes on)
            cli.run()
            raise AssertionError(left)
    finally:
        stop.set()
        t.join()
    assert left == [("os._exit", 130)]
