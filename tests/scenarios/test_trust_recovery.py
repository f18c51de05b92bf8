"""Recovery (`rebuild --from-posts`) never leaves less than it found (issue 25, data loss 5).

A post it cannot read is skipped with a line and the recovery finishes; a damaged state is replaced
only at the end (a kill before leaves it where it was; a kill between the renames leaves no stale
WAL beside a new file); a user's own post is not adopted; an existing alias is never re-pointed.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from conftest import FIXTURES, posts
from wxarchive.archive import recover
from wxarchive.archive.site import Site
from wxarchive.archive.store import Store

PAGES = [FIXTURES / "article-2024-modern" / "page.html", FIXTURES / "article-2017-legacy" / "page.html"]


def _archive(run_cli, out: Path) -> Path:  # type: ignore[no-untyped-def]
    res = run_cli("get", *PAGES, "--out", out, "-q", "--no-images")
    assert res.code == 0, res.err
    return out / ".wxarchive" / "state.sqlite3"


def _damage(db: Path) -> None:
    db.write_bytes(b"this is no SQLite file " * 400)


def _keys(db: Path) -> set[str]:
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {r[0] for r in c.execute("SELECT key FROM articles WHERE status = 'archived'")}


@pytest.mark.parametrize("front", ["title: a: b\n", "- a\n- b\n", "x: !!python/object/apply:os.system ['true']\n",
                                   "title: [unclosed\n", "a: &a [x, x]\nb: &b [*a, *a]\n",
                                   "x: y\n" * 300_000])
def test_an_unreadable_post_is_skipped_and_the_recovery_finishes(run_cli, tmp_path: Path, front: str) -> None:
    out = tmp_path / "a"
    db = _archive(run_cli, out)
    want = _keys(db)
    (out / "_posts" / "2020-01-01-bad.md").write_text(f"---\n{front}---\n\n正文\n", encoding="utf-8")
    _damage(db)
    r = run_cli("rebuild", "--from-posts", "--out", out)
    assert r.code == 0, r.err
    assert "2020-01-01-bad.md" in r.err and "internal error" not in r.err
    assert _keys(db) == want


def test_a_users_own_post_is_not_adopted(run_cli, tmp_path: Path) -> None:
    """A hand-written post quoting an article (source_url, no raw page, no archiver keys) stays the user's."""
    out = tmp_path / "a"
    db = _archive(run_cli, out)
    mine = out / "_posts" / "2020-01-01-my-notes.md"
    mine.write_text("---\ntitle: 我的笔记\nsource_url: https://mp.weixin.qq.com/s/MyOwnNotesAAAAAAAAAAAAA\n---\n\n笔记\n",
                    encoding="utf-8")
    _damage(db)
    assert run_cli("rebuild", "--from-posts", "--out", out).code == 0
    assert len(_keys(db)) == 2
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT count(*) FROM articles WHERE post_path LIKE '%my-notes%'").fetchone()[0] == 0


def test_recovery_never_repoints_an_alias(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "a"
    db = _archive(run_cli, out)
    with sqlite3.connect(db) as c:
        before = dict(c.execute("SELECT alias, key FROM aliases"))
    victim = posts(out)[0].read_text(encoding="utf-8")
    src = next(ln for ln in victim.splitlines() if ln.startswith("source_url:"))
    raw = out / ".wxarchive" / "raw"
    (out / "_posts" / "2020-01-01-impostor.md").write_text(
        f"---\ntitle: 冒名\n{src}\nbiz: IMPOSTOR\nmid: 1\nidx: 1\nkind: article\narchived_at: 2020-01-01 00:00:00 +0800\n"
        "---\n\n冒名正文\n", encoding="utf-8")
    assert raw.is_dir()
    assert run_cli("rebuild", "--from-posts", "--out", out).code == 0  # on a healthy state
    with sqlite3.connect(db) as c:
        after = dict(c.execute("SELECT alias, key FROM aliases"))
    assert {a: k for a, k in after.items() if a in before} == before


def test_a_kill_before_the_swap_leaves_the_old_state(run_cli, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "a"
    db = _archive(run_cli, out)
    want = _keys(db)
    _damage(db)
    damaged = db.read_bytes()

    def killed(*a, **k):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(recover, "_adopt", killed)
    with pytest.raises(KeyboardInterrupt):
        recover.rebuild_state(Site.open(out))
    assert db.read_bytes() == damaged  # not swapped for an empty state
    monkeypatch.undo()
    recover.rebuild_state(Site.open(out))
    assert _keys(db) == want


@pytest.mark.parametrize("nth", [1, 2, 3])
def test_a_kill_between_the_renames_leaves_no_stale_wal(run_cli, tmp_path: Path, monkeypatch, nth: int) -> None:  # type: ignore[no-untyped-def]
    """Killed at any rename of the swap: never a WAL without its database (SQLite would replay it into the
    next file made there), and the next recovery ends with a whole state."""
    out = tmp_path / "a"
    db = _archive(run_cli, out)
    want = _keys(db)
    _damage(db)
    Path(str(db) + "-wal").write_bytes(b"\x37\x7f\x06\x82" + b"\x00" * 60)  # the damaged file's WAL and SHM
    Path(str(db) + "-shm").write_bytes(b"\x00" * 64)
    real = recover.os.replace
    calls: list = []

    def replace(src, dst):  # type: ignore[no-untyped-def]
        if str(src).startswith(str(db)) and ".rebuilding" not in str(src) or Path(dst) == db:
            calls.append(src)
            if len(calls) == nth:
                raise KeyboardInterrupt  # killed at this rename
        return real(src, dst)

    monkeypatch.setattr(recover.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        recover.rebuild_state(Site.open(out))
    monkeypatch.undo()
    for extra in ("-wal", "-shm"):
        assert db.exists() or not Path(str(db) + extra).exists(), f"{extra} left without its database"
    recover.rebuild_state(Site.open(out))
    assert _keys(db) == want
    with Store(db) as st:
        assert st.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_per_post_choices_survive_a_recovery(run_cli, tmp_path: Path) -> None:
    """A post made with --keep-footers says so in its front matter; recovery gives the choice back,
    so a later `rebuild` does not strip its footers."""
    out = tmp_path / "a"
    assert run_cli("get", PAGES[0], "--out", out, "-q", "--no-images", "--keep-footers").code == 0
    post = posts(out)[0]
    kept = post.read_text(encoding="utf-8")
    assert "\nkeep_footers: true\n" in kept
    _damage(out / ".wxarchive" / "state.sqlite3")
    assert run_cli("rebuild", "--from-posts", "--out", out).code == 0
    assert run_cli("rebuild", "--out", out, "-q").code == 0
    assert post.read_text(encoding="utf-8") == kept


def test_no_images_survives_a_recovery(run_cli, tmp_path: Path) -> None:
    """A post made with --no-images says so too; after a recovery the state knows it, so no later run
    fetches the images the user chose not to keep."""
    from wxarchive.archive.store import Store

    out = tmp_path / "a"
    assert run_cli("get", PAGES[0], "--out", out, "-q", "--no-images").code == 0
    assert "\nno_images: true\n" in posts(out)[0].read_text(encoding="utf-8")
    _damage(out / ".wxarchive" / "state.sqlite3")
    assert run_cli("rebuild", "--from-posts", "--out", out).code == 0
    with Store(out / ".wxarchive" / "state.sqlite3") as st:
        assert [bool(r.no_images) for r in st.archived()] == [True]


def test_rebuild_keep_footers_means_it(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "a"
    assert run_cli("get", PAGES[0], "--out", out, "-q", "--no-images").code == 0
    post = posts(out)[0]
    plain = post.read_text(encoding="utf-8")
    assert run_cli("rebuild", "--out", out, "-q", "--keep-footers").code == 0
    kept = post.read_text(encoding="utf-8")
    assert len(kept) > len(plain) and "keep_footers: true" in kept
    assert run_cli("rebuild", "--out", out, "-q").code == 0  # and stays so
    assert post.read_text(encoding="utf-8") == kept
