"""Issue 23 item 5: the commands that only read (ls, status, check --dry-run, --help) work on an archive
on a read-only filesystem, and every command accepts -v."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from wxarchive.cli.running import COMMANDS
from conftest import REPO

FIXTURES = REPO / "fixtures"


def wx(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WXARCHIVE_")}
    return subprocess.run([sys.executable, "-m", "wxarchive", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=60)


@contextlib.contextmanager
def read_only_archive(where: Path) -> Iterator[Path]:
    """An archive of one post on a tmpfs, then remounted read-only (root ignores file modes)."""
    where.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount(8)")
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(where)], capture_output=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.decode(errors='replace').strip()}")
    try:
        root = where / "a"
        r = wx("get", FIXTURES / "article-2024-modern" / "page.html", "--out", root, "--no-images")
        assert r.returncode == 0, r.stderr
        assert subprocess.run(["mount", "-o", "remount,ro", str(where)], capture_output=True).returncode == 0
        yield root
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_reading_commands_work_on_a_read_only_archive(tmp_path: Path) -> None:
    with read_only_archive(tmp_path / "fs") as root:
        for args in (["ls"], ["ls", "--json"], ["ls", "-v"], ["ls", "--gone"], ["status"], ["status", "-v"],
                     ["status", "--json"], ["check", "--dry-run"], ["check", "--dry-run", "--json", "-v"]):
            r = wx(*args, "--out", root)
            assert r.returncode == 0, (args, r.stderr)
            assert "internal error" not in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
        ls = [json.loads(ln) for ln in wx("ls", "--json", "--out", root).stdout.splitlines()]
        dry = [json.loads(ln) for ln in wx("check", "--dry-run", "--json", "--out", root).stdout.splitlines()]
        assert len(ls) == 1 and [d["key"] for d in dry] == [ls[0]["key"]]
        for args in (["--help"], ["ls", "--help"], ["check", "--help"]):
            assert wx(*args).returncode == 0


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_accepts_v(command: str) -> None:
    r = wx(command, "--help")
    assert r.returncode == 0
    assert "-v, --verbose" in r.stdout, command
