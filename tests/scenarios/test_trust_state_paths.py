"""Paths read from the state stay in the archive (issue 25, data loss 6): a crafted or foreign state whose
``post_path``/``raw_path`` names a file outside makes ``rebuild`` and ``get --force`` neither delete
nor rewrite it."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from conftest import FIXTURES
from wxarchive.archive.site import Site

PAGE = FIXTURES / "article-2024-modern" / "page.html"
VICTIM = "---\ntitle: mine\n---\n\nthe user's own file\n"


def _archive(run_cli, out: Path) -> Path:  # type: ignore[no-untyped-def]
    assert run_cli("get", PAGE, "--out", out, "-q", "--no-images").code == 0
    return out / ".wxarchive" / "state.sqlite3"


def _point(db: Path, column: str, value: str) -> None:
    with sqlite3.connect(db) as c:
        c.execute(f"UPDATE articles SET {column} = ?", (value,))


@pytest.mark.parametrize("form", ["relative", "absolute"])
@pytest.mark.parametrize("command", [("rebuild",), ("get", str(PAGE), "--force", "--no-images")])
def test_a_post_path_outside_is_never_deleted(run_cli, tmp_path: Path, form: str, command: tuple) -> None:
    out = tmp_path / "a"
    db = _archive(run_cli, out)
    victim = tmp_path / "victim.md"
    victim.write_text(VICTIM, encoding="utf-8")
    _point(db, "post_path", "../victim.md" if form == "relative" else str(victim))
    run_cli(*command, "--out", out)
    assert victim.read_text(encoding="utf-8") == VICTIM


def test_a_raw_path_outside_is_never_deleted_nor_read(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "a"
    db = _archive(run_cli, out)
    victim = tmp_path / "victim.raw"
    victim.write_bytes(PAGE.read_bytes())  # readable as a raw page: rebuild would use it, get --force delete it
    _point(db, "raw_path", "../victim.raw")
    r = run_cli("rebuild", "--out", out)
    assert "outside the archive" in r.err
    run_cli("get", PAGE, "--force", "--no-images", "--out", out)
    assert victim.read_bytes() == PAGE.read_bytes()


def test_inside(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    site = Site(root=root)
    (root / "_posts").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    os.symlink(tmp_path / "out", root / "_posts" / "link")
    assert site.inside("_posts/a.md") == root / "_posts" / "a.md"
    assert site.inside(".wxarchive/raw/ab/x.html.zst") is not None
    for bad in ("../a.md", "_posts/../../a.md", "/etc/passwd", str(tmp_path.parent / "a.md"), "_posts/link/x.md", ""):
        assert site.inside(bad) is None, bad
