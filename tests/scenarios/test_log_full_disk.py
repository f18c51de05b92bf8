"""Issue 23 item 7: a --log that cannot be written (a full disk, a read-only one) is one line on stderr,
and the run goes on (it printed logging's traceback for every record)."""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO

PAGE = REPO / "fixtures" / "article-2024-modern" / "page.html"


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


def wx(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WXARCHIVE_")}
    return subprocess.run([sys.executable, "-m", "wxarchive", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=60)


def _fill(fs: Path) -> None:
    fd = os.open(fs / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        for size in (65536, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)


@pytest.mark.parametrize("disk", ["full", "read-only"])
def test_a_log_that_cannot_be_written_is_one_line(tmp_path: Path, disk: str) -> None:
    with tmpfs(tmp_path / "fs", "256k") as fs:
        if disk == "full":
            _fill(fs)
        else:
            assert subprocess.run(["mount", "-o", "remount,ro", str(fs)], capture_output=True).returncode == 0
        r = wx("get", PAGE, "--out", tmp_path / "a", "--no-images", "--log", fs / "run.log")
    assert r.returncode == 0, r.stderr
    assert "archived" in r.stdout and list((tmp_path / "a" / "_posts").glob("*.md"))  # the run went on
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "cannot write the log file" in lines[0] and "going on without it" in lines[0], r.stderr
    assert "Traceback" not in r.stderr and "Logging error" not in r.stderr
