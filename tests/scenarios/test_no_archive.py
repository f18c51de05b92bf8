"""Issue 23 item 3: a command pointed at a folder that holds no archive (a typo in --out) refuses it,
as `rebuild` does, instead of building a site there or blaming a missing [[sources]]."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def wx(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WXARCHIVE_")}
    return subprocess.run([sys.executable, "-m", "wxarchive", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=60)


@pytest.mark.parametrize("command", ["check", "harvest", "ls", "status", "rebuild"])
@pytest.mark.parametrize("exists", [False, True])
def test_a_folder_with_no_archive_is_refused(tmp_path: Path, command: str, exists: bool) -> None:
    typo = tmp_path / "archve"
    if exists:
        typo.mkdir()
    r = wx(command, "--out", typo, "--ignore-config")
    assert r.returncode == 2, (command, r.stdout, r.stderr)
    assert "holds no wxarchive" in r.stderr, r.stderr
    assert "[[sources]]" not in r.stderr and "Traceback" not in r.stderr
    assert r.stdout == ""
    assert (list(typo.iterdir()) == []) if exists else not typo.exists()  # nothing laid down


def test_check_and_harvest_work_on_a_new_archive(tmp_path: Path) -> None:
    """A folder `init` made holds an archive with nothing in it yet: not refused."""
    root = tmp_path / "blog"
    assert wx("init", root).returncode == 0
    r = wx("check", "--out", root, "--ignore-config")
    assert r.returncode == 0, r.stderr
    r = wx("harvest", "--out", root, "--ignore-config")
    assert r.returncode == 2 and "[[sources]]" in r.stderr  # now the sources are what is missing
