"""The raw page kept for ``rebuild``: zstandard now, gzip pages of older archives still read (issue 13)."""
from __future__ import annotations

import gzip
import sqlite3
import sys
from pathlib import Path

import zstandard

from wxarchive.archive import rawpage
from wxarchive.write.render import split_post
from conftest import REPO

sys.path.insert(0, str(REPO))
from bench.realpage import real_page  # noqa: E402  (a page generator, not the bench)

PAGES = [REPO / "fixtures" / n / "page.html" for n in ("article-2024-modern", "reprint-2025-banner")]


def _state(root: Path) -> sqlite3.Connection:
    return sqlite3.connect(root / ".wxarchive" / "state.sqlite3")


def _body(post: Path) -> str:
    return split_post(post.read_text(encoding="utf-8"))[1]


def test_raw_page_is_kept_as_zstandard(archive: Path, run_cli) -> None:
    assert run_cli("get", PAGES[0], "--out", archive, "--no-images", "-q").code == 0
    raws = [p for p in (archive / ".wxarchive" / "raw").iterdir() if p.is_file()]
    assert [p.suffixes for p in raws] == [[".html", ".zst"]]
    data = raws[0].read_bytes()
    assert zstandard.ZstdDecompressor().decompress(data) == PAGES[0].read_bytes()
    with _state(archive) as db:
        assert db.execute("SELECT raw_path FROM articles").fetchone()[0] == str(raws[0].relative_to(archive))


def test_a_real_size_page_packs_no_larger_than_gzip() -> None:
    """On the 2-4 MB pages WeChat serves (the size that matters), zstd -1 beats gzip -6 (and is ~10x faster)."""
    page = real_page(7)
    assert len(page) > 2 * 2**20
    suffix, packed = rawpage.pack(page)
    assert suffix == ".html.zst"
    assert len(packed) <= len(gzip.compress(page, 6))
    assert rawpage.unpack(packed) == page
    assert rawpage.unpack(gzip.compress(page, 6)) == page


def test_a_page_under_1_mb_packs_no_larger_than_gzip() -> None:
    """An older, smaller page (no 1.4 MB bundles to find again) is packed harder: zstd -1 kept 1.13x
    gzip -6's size on the corpus's pages under 1 MB (issue 24); this generated 175 KB one, 1.17x."""
    page = real_page(7, size=200 * 1024, images=5)
    assert len(page) < 2**20
    suffix, packed = rawpage.pack(page)
    assert suffix == ".html.zst"
    assert len(packed) <= len(gzip.compress(page, 6))
    assert rawpage.unpack(packed) == page


def test_rebuild_reads_old_gzip_raw_pages_and_new_ones(archive: Path, run_cli) -> None:
    for p in PAGES:
        assert run_cli("get", p, "--out", archive, "--no-images", "-q").code == 0
    with _state(archive) as db:
        rows = db.execute("SELECT key, raw_path, post_path FROM articles ORDER BY key").fetchall()
    assert len(rows) == 2
    bodies = {key: _body(archive / post) for key, _, post in rows}
    # the first article as an archive made before zstandard holds it: .html.gz, named so in the state
    key, zst_rel, _ = rows[0]
    gz_rel = zst_rel.removesuffix(".zst") + ".gz"
    page = zstandard.ZstdDecompressor().decompress((archive / zst_rel).read_bytes())
    (archive / gz_rel).write_bytes(gzip.compress(page, 6, mtime=0))
    (archive / zst_rel).unlink()
    with _state(archive) as db:
        db.execute("UPDATE articles SET raw_path=? WHERE key=?", (gz_rel, key))
    for _, _, post in rows:  # so the rebuild has to write every post from its raw page
        (archive / post).write_text("---\ntitle: stale\n---\nstale\n", encoding="utf-8")

    res = run_cli("rebuild", "--out", archive, "--json")
    assert res.code == 0, res.err
    assert sorted(o["status"] for o in res.lines) == ["rebuilt", "rebuilt"]
    with _state(archive) as db:
        after = db.execute("SELECT key, raw_path, post_path FROM articles ORDER BY key").fetchall()
    for key, raw_rel, post in after:
        assert _body(archive / post) == bodies[key]
        assert raw_rel.endswith(".html.zst") and (archive / raw_rel).is_file()
    assert not (archive / gz_rel).exists(), "the old gzip page is replaced by the zstandard one"
    assert sorted(p.name for p in (archive / ".wxarchive" / "raw").iterdir() if p.is_file()) == sorted(Path(r).name for _, r, _ in after)


def test_a_damaged_raw_page_fails_only_its_post(archive: Path, run_cli) -> None:
    for p in PAGES:
        assert run_cli("get", p, "--out", archive, "--no-images", "-q").code == 0
    with _state(archive) as db:
        raw_rel = db.execute("SELECT raw_path FROM articles ORDER BY key").fetchone()[0]
    (archive / raw_rel).write_bytes(b"\x28\xb5\x2f\xfd" + b"\x00garbage" * 10)
    res = run_cli("rebuild", "--out", archive, "--json")
    assert res.code == 1
    assert sorted(o["status"] for o in res.lines) == ["failed", "rebuilt"]
    assert next(o for o in res.lines if o["status"] == "failed")["error"] == "io"
