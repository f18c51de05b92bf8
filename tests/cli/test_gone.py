"""`wxarchive ls --gone` in-process (cli/gone.py): the archived articles whose original a check found gone,
oldest publication first, each with when it went and why; alive and edited originals are not listed."""
from __future__ import annotations

from pathlib import Path

import pytest
from batch_fake import server  # noqa: F401  (the threaded local server fixture)
from fate_server import Origin, Original, archived_site, set_clock

from wxarchive.urls import normalize_article_url
from wxarchive.write.render import split_post

T0 = 1_760_000_000  # 2025-10-09 16:53:20 in Shanghai
DAY = 86400
# mids (hence keys) in one order, publication in another: the list follows publication
ORIGINALS = [Original(2247480001, "甲篇", 1700000000),   # 2023-11-15 06:13:20 +08:00
             Original(2247480002, "乙篇", 1690000000),   # 2023-07-22 12:26:40 +08:00
             Original(2247480003, "丙篇", 1695000000),   # 2023-09-18 09:20:00 +08:00
             Original(2247480004, "丁篇", 1680000000)]   # 2023-03-28 18:40:00 +08:00
A, B, C, D = (o.key for o in ORIGINALS)


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    return set_clock(monkeypatch, T0)


@pytest.fixture
def site(tmp_path: Path, server, run_cli, clock):  # type: ignore[no-untyped-def]  # noqa: F811
    return archived_site(tmp_path, server, run_cli, ORIGINALS)


def check(run_cli, root: Path, origin: Origin) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("check", "--out", root, "--delay", "0", "-q", *origin.args)
    assert r.code == 0, r.err


def post_of(root: Path, key: str) -> str:
    """The post of ``key`` as every command names it (``--out`` joined)."""
    for p in (root / "_posts").glob("*.md"):
        fm, _ = split_post(p.read_text(encoding="utf-8"))
        if f"{fm['biz']}:{fm['mid']}:{fm['idx']}" == key:
            return str(root / "_posts" / p.name)
    raise AssertionError(key)


def test_gone_lists_the_gone_in_publication_order_with_when_and_why(site, run_cli, clock) -> None:  # type: ignore[no-untyped-def]
    root, origin = site
    origin.mode.update({A: "deleted", B: "removed", D: "edited:丁篇（修订）"})
    check(run_cli, root, origin)
    clock.now = T0 + DAY  # seen gone again a day later: still gone since the first day
    check(run_cli, root, origin)
    r = run_cli("ls", "--out", root, "--gone")
    assert r.code == 0, r.err
    assert r.out.splitlines() == [
        f"2023-07-22  测试公众号  乙篇  [removed 2025-10-09]  {post_of(root, B)}",
        f"2023-11-15  测试公众号  甲篇  [deleted 2025-10-09]  {post_of(root, A)}"]
    r = run_cli("ls", "--out", root, "--gone", "--json")
    assert [d["key"] for d in r.lines] == [B, A]
    b, a = r.lines
    assert {k: v for k, v in a.items() if k != "source_reason"} == {
        "key": A, "date": "2023-11-15", "account": "测试公众号", "title": "甲篇", "post": post_of(root, A),
        "url": normalize_article_url(ORIGINALS[0].url()), "source_status": "deleted", "source_checked_at": "2025-10-10T16:53:20+08:00",
        "source_gone_at": "2025-10-09T16:53:20+08:00"}
    assert a["source_reason"] and b["source_reason"] and a["source_reason"] != b["source_reason"]  # WeChat's words
    assert b["source_status"] == "removed" and Path(b["post"]).is_file()


def test_an_original_back_again_leaves_the_list(site, run_cli, clock) -> None:  # type: ignore[no-untyped-def]
    root, origin = site
    origin.mode.update({A: "deleted", C: "deleted"})
    check(run_cli, root, origin)
    r = run_cli("ls", "--out", root)
    gone = [ln for ln in r.out.splitlines() if ln.endswith("[original gone: deleted]")]
    assert [ln.split("  ")[3] for ln in gone] == ["丙篇", "甲篇"]  # (ls lists by publication too)
    del origin.mode[C]  # WeChat serves it again
    clock.now = T0 + DAY
    check(run_cli, root, origin)
    r = run_cli("ls", "--out", root, "--gone", "--json")
    assert [d["key"] for d in r.lines] == [A]


def test_gone_on_an_archive_nothing_was_checked_in_and_on_no_archive(site, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root, _ = site
    r = run_cli("ls", "--out", root, "--gone")
    assert (r.code, r.out) == (0, "")
    r = run_cli("ls", "--out", tmp_path / "nothing", "--gone")
    assert r.code == 2 and "holds no wxarchive archive" in r.err and r.out == ""
