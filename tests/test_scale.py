"""Issue 24: what a command costs must not grow with the archive.

A command on a large archive reads only what it needs: no walk of ``_posts/`` or ``postimg/`` at
start (the temp files of a killed run are kept in a temp folder of their own), and index searches,
not table scans, in the state.
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conftest import fixture_page

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
