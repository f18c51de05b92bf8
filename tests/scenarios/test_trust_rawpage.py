"""A kept raw page is checked against its record before `rebuild` uses it (issue 25, items 9 and 12):
two swapped raw pages never give two posts each other's text, and a damaged one is named as a damaged
file, not as a network failure."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from conftest import FIXTURES, posts
from wxarchive.archive import rawpage

PAGES = [FIXTURES / "article-2024-modern" / "page.html", FIXTURES / "article-2017-legacy" / "page.html"]


def _archive(run_cli, out: Path) -> list[Path]:  # type: ignore[no-untyped-def]
    assert run_cli("get", *PAGES, "--out", out, "--no-images", "-q").code == 0
    with sqlite3.connect(out / ".wxarchive" / "state.sqlite3") as c:
        return [out / r[0] for r in c.execute("SELECT raw_path FROM articles ORDER BY key")]


@pytest.mark.parametrize("short", [False, True])
def test_swapped_raw_pages_are_never_used(run_cli, tmp_path: Path, short: bool) -> None:
    """Also for articles archived from a short link (/s/Token), whose URL holds no ids to compare."""
    out = tmp_path / "a"
    a, b = _archive(run_cli, out)
    if short:
        with sqlite3.connect(out / ".wxarchive" / "state.sqlite3") as c:
            for n, (key,) in enumerate(c.execute("SELECT key FROM articles ORDER BY key").fetchall()):
                url = f"https://mp.weixin.qq.com/s/ShortLink{n}AAAAAAAAAAAAA"
                c.execute("UPDATE articles SET url = ?, canonical_url = ? WHERE key = ?", (url, url, key))
    before = {p.name: p.read_bytes() for p in posts(out)}
    da, db = a.read_bytes(), b.read_bytes()
    a.write_bytes(db)
    b.write_bytes(da)
    r = run_cli("rebuild", "--out", out, "--json")
    assert r.code == 1
    outs = [json.loads(ln) for ln in r.out.splitlines()]
    assert [o["status"] for o in outs] == ["failed", "failed"] and all("kept raw page" in o["message"] for o in outs), outs
    assert {p.name: p.read_bytes() for p in posts(out)} == before


def test_a_truncated_raw_page_is_a_damaged_file_not_the_network(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "a"
    a, _ = _archive(run_cli, out)
    page = rawpage.unpack(a.read_bytes())
    a.write_bytes(rawpage.pack(page[: len(page) // 2])[1])
    r = run_cli("rebuild", "--out", out, "--json")
    failed = [o for o in map(json.loads, r.out.splitlines()) if o["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["error"] == "io", failed
    assert "kept raw page" in failed[0]["message"] and str(a.name) in failed[0]["message"]
