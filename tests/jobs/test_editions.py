"""Kept versions of edited articles in-process (jobs/editions.py, ``check --refetch-edited``): a new title is
archived beside the old post as ``<key>#v2``, ``#v3``…, never over it; a title kept already is not
archived twice; an article's versions are its own, whatever its key holds (``%``, ``_``, case)."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from batch_fake import server  # noqa: F401  (the threaded local server fixture)
from fate_server import Origin, Original, archive

from wxarchive.jobs.check import post_text_after_head
from wxarchive.layout import state_db

MID = 2247480001
X = Original(MID, "一篇", 1700000000, biz="MzAxNjQ0MjY2Mw==")
# keys a LIKE pattern would confuse with X's: `_` and `%` are its wildcards, and it ignores ASCII case
UNDERSCORE = Original(MID, "二篇", 1700003600, biz="MzA_NjQ0MjY2Mw==")
PERCENT = Original(MID, "三篇", 1700007200, biz="MzA%NjQ0MjY2Mw==")
UPPER = Original(MID, "四篇", 1700010800, biz="MZAXNJQ0MJY2MW==")


def versions(root: Path) -> dict[str, tuple[str, str]]:
    """key -> (title, post) of every kept version (read straight from the state)."""
    db = sqlite3.connect(state_db(root))
    try:
        return {k: (t, p) for k, t, p in db.execute(
            "SELECT key, title, post_path FROM articles WHERE instr(key, '#v') > 0 AND status = 'archived'")}
    finally:
        db.close()


def texts(root: Path) -> dict[str, str]:
    """post file -> its article text (what follows the front matter and attribution, which a check updates)."""
    return {p.name: post_text_after_head(p.read_text(encoding="utf-8")) for p in sorted((root / "_posts").glob("*.md"))}


def refetch(run_cli, root: Path, origin: Origin) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    r = run_cli("check", "--out", root, "--delay", "0", "--json", "--refetch-edited", *origin.args)
    assert r.code == 0, r.err
    return {d["key"]: d for d in r.lines}


def test_each_new_title_is_a_new_version_beside_the_old(tmp_path: Path, server, run_cli) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    origin = Origin(server, [X])
    root = tmp_path / "blog"
    archive(run_cli, root, origin)
    first = texts(root)
    origin.mode[X.key] = "edited:一篇（修订）"
    out = refetch(run_cli, root, origin)[X.key]
    assert out["state"] == "edited" and out["refetched"]
    assert versions(root) == {f"{X.key}#v2": ("一篇（修订）", str(Path(out["refetched"]).relative_to(root)))}
    assert Path(out["refetched"]).is_file() and len(texts(root)) == 2
    assert {k: v for k, v in texts(root).items() if k in first} == first  # the archived post's text is kept
    again = refetch(run_cli, root, origin)[X.key]  # the same edit seen again: nothing new to keep
    assert again["refetched"] == out["refetched"] and len(versions(root)) == 1 and len(texts(root)) == 2
    origin.mode[X.key] = "edited:一篇（再修订）"
    third = refetch(run_cli, root, origin)[X.key]
    assert sorted(versions(root)) == [f"{X.key}#v2", f"{X.key}#v3"]
    assert versions(root)[f"{X.key}#v3"][0] == "一篇（再修订）" and third["refetched"] != out["refetched"]
    assert len(texts(root)) == 3


@pytest.mark.parametrize("other", [UNDERSCORE, PERCENT, UPPER], ids=["underscore", "percent", "case"])
def test_versions_are_the_articles_own_whatever_its_key_holds(tmp_path: Path, server, run_cli,  # noqa: F811
                                                              other: Original) -> None:
    origin = Origin(server, [X, other])
    root = tmp_path / "blog"
    archive(run_cli, root, origin)
    origin.mode[X.key] = "edited:改过的标题"
    refetch(run_cli, root, origin)
    kept = texts(root)
    del origin.mode[X.key]  # (X as archived again: no new edit to keep)
    origin.mode[other.key] = "edited:改过的标题"  # the very title X's version has
    out = refetch(run_cli, root, origin)[other.key]
    assert sorted(versions(root)) == sorted([f"{X.key}#v2", f"{other.key}#v2"])
    mine = versions(root)[f"{other.key}#v2"][1]
    assert out["refetched"] == str(root / mine) and mine != versions(root)[f"{X.key}#v2"][1]
    assert {k: v for k, v in texts(root).items() if k in kept} == kept  # X's posts keep their text
