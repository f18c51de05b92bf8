"""`wxarchive rebuild` (issue 11): idempotent, keeps each post's own choices, reports a missing raw page,
refuses a folder with no archive, takes the archive's lock."""
from __future__ import annotations

from pathlib import Path

from conftest import fixture_page, posts
from wxarchive.archive.lock import ArchiveLock

MODERN = fixture_page("article-2024-modern")
LEGACY = fixture_page("article-2017-legacy")


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in posts(root)}


def test_rebuild_twice_changes_no_byte_and_keeps_choices(run_cli, tmp_path: Path) -> None:
    root = tmp_path / "a"
    assert run_cli("get", MODERN, "--out", root, "--keep-footers", "--no-images").code == 0
    assert run_cli("get", LEGACY, "--out", root, "--no-images").code == 0
    before = _snapshot(root)
    r = run_cli("rebuild", "--out", root)
    assert r.code == 0, r.err
    assert r.out.count("rebuilt") == 2
    after = _snapshot(root)
    # nothing changed: the posts are byte for byte what `get` wrote (archived_at, footers, remote images)
    assert {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in before.items()}
    r = run_cli("rebuild", "--out", root)
    assert r.code == 0
    assert _snapshot(root) == after  # not even rewritten


def test_rebuild_without_keep_footers_choice_recorded_keeps_footers(run_cli, tmp_path: Path) -> None:
    """--keep-footers made a longer post; a rebuild (without the flag) must not strip it."""
    a, b = tmp_path / "a", tmp_path / "b"
    assert run_cli("get", MODERN, "--out", a, "--keep-footers", "--no-images").code == 0
    assert run_cli("get", MODERN, "--out", b, "--no-images").code == 0
    kept, stripped = posts(a)[0].read_text(encoding="utf-8"), posts(b)[0].read_text(encoding="utf-8")
    assert len(kept) > len(stripped)  # the fixture has boilerplate to keep
    assert run_cli("rebuild", "--out", a).code == 0
    assert posts(a)[0].read_text(encoding="utf-8") == kept


def test_missing_raw_page_is_reported(run_cli, tmp_path: Path) -> None:
    root = tmp_path / "a"
    assert run_cli("get", MODERN, "--out", root, "--no-images").code == 0
    for raw in (root / ".wxarchive" / "raw").iterdir():
        if raw.is_file():  # (not the temp folder)
            raw.unlink()
    before = _snapshot(root)
    r = run_cli("rebuild", "--out", root)
    assert r.code == 1
    lines = r.err.strip().splitlines()
    assert "raw page missing" in lines[0] and lines[1:] == ["wxarchive: rebuild: 1 post, 0 changed, 1 failed"], r.err
    assert _snapshot(root) == before


def test_rebuild_refuses_a_folder_without_an_archive(run_cli, tmp_path: Path) -> None:
    r = run_cli("rebuild", "--out", tmp_path / "typo")
    assert r.code == 2 and "holds no wxarchive archive" in r.err
    assert not (tmp_path / "typo").exists()
    (tmp_path / "empty").mkdir()
    r = run_cli("rebuild", "--out", tmp_path / "empty")
    assert r.code == 2 and list((tmp_path / "empty").iterdir()) == []


def test_rebuild_takes_the_lock(run_cli, tmp_path: Path) -> None:
    root = tmp_path / "a"
    assert run_cli("get", MODERN, "--out", root, "--no-images").code == 0
    before = _snapshot(root)
    lock = ArchiveLock(root / ".wxarchive", "import").acquire()
    try:
        r = run_cli("rebuild", "--out", root)
    finally:
        lock.release()
    assert r.code == 3 and "another wxarchive run" in r.err
    assert _snapshot(root) == before
