"""`wxarchive check` in-process (jobs/check.py, cli/checkcmd.py): what is a verdict on an original and what
is not. A deleted or removed page, an edit, an unchanged article each become a fate; a 5xx, a network
outage or a verification page is no verdict: the state's fate and the post stay as they were.

(tests/jobs/test_check.py runs the same command as a subprocess, for kills, Jekyll and harvest.)"""
from __future__ import annotations

from pathlib import Path

import pytest
from batch_fake import server  # noqa: F401  (the threaded local server fixture)
from fate_server import Origin, Original, archived_site, fates, post_bytes, set_clock

from wxarchive.jobs.check import post_text_after_head
from wxarchive.write.render import split_post

T0 = 1_760_000_000  # the check's clock: 2025-10-09 16:53:20 in Shanghai
ORIGINALS = [Original(2247480001, "甲篇", 1700000000), Original(2247480002, "乙篇", 1700003600),
             Original(2247480003, "丙篇", 1700007200), Original(2247480004, "丁篇", 1700010800)]
A, B, C, D = (o.key for o in ORIGINALS)


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    return set_clock(monkeypatch, T0)


@pytest.fixture
def site(tmp_path: Path, server, run_cli, clock):  # type: ignore[no-untyped-def]  # noqa: F811
    return archived_site(tmp_path, server, run_cli, ORIGINALS)


def check(run_cli, root: Path, origin: Origin, *extra: str):  # type: ignore[no-untyped-def]
    return run_cli("check", "--out", root, "--delay", "0", "--json", *origin.args, *extra)


def by_key(r) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {d["key"]: d for d in r.lines}


def front_matter(root: Path, key: str) -> tuple[dict, str]:
    """(front matter, article text) of the post of ``key``."""
    for p in (root / "_posts").glob("*.md"):
        text = p.read_text(encoding="utf-8")
        fm, _ = split_post(text)
        if f"{fm['biz']}:{fm['mid']}:{fm['idx']}" == key:
            return fm, post_text_after_head(text)
    raise AssertionError(f"no post for {key}")


def test_deleted_removed_edited_and_alive_are_verdicts(site, run_cli, clock) -> None:  # type: ignore[no-untyped-def]
    root, origin = site
    texts = {k: front_matter(root, k)[1] for k in (A, B, C, D)}
    origin.mode.update({B: "deleted", C: "removed", D: "edited:丁篇（修订）"})
    r = check(run_cli, root, origin)
    assert r.code == 0, r.err
    out = by_key(r)
    assert [(out[k]["previous"], out[k]["state"], out[k]["changed"]) for k in (A, B, C, D)] == [
        ("alive", "alive", False), ("alive", "deleted", True), ("alive", "removed", True), ("alive", "edited", True)]
    assert out[D]["new_title"] == "丁篇（修订）"
    assert all(d["checked_at"] == "2025-10-09T16:53:20+08:00" and d["http"] == 200 for d in out.values())
    summary = next(ln for ln in r.err.splitlines() if ln.startswith("wxarchive: check: 4 checked"))
    head, _, counts = summary.partition(" (")  # (counted in the order the checks ran)
    assert head == "wxarchive: check: 4 checked; 3 changed"
    assert sorted(counts.rstrip(")").split(", ")) == ["deleted 1", "edited 1", "removed 1"]
    state = fates(root)
    assert state[B] == ["deleted", T0, T0, T0] and state[C] == ["removed", T0, T0, T0]
    assert state[A][0] == "alive" and state[A][3] is None  # alive since it was archived, never gone
    fm, _ = front_matter(root, B)
    assert (fm["source_status"], fm["source_gone_at"]) == ("deleted", "2025-10-09 16:53:20 +0800")
    assert front_matter(root, D)[0]["source_title"] == "丁篇（修订）"
    assert "source_gone_at" not in front_matter(root, A)[0]
    assert {k: front_matter(root, k)[1] for k in texts} == texts  # the article text is never touched


def test_an_unchanged_fate_is_no_change_and_keeps_its_since(site, run_cli, clock) -> None:  # type: ignore[no-untyped-def]
    root, origin = site
    origin.mode.update({B: "deleted"})
    check(run_cli, root, origin)
    clock.now = T0 + 86400
    r = check(run_cli, root, origin)
    assert r.code == 0, r.err
    out = by_key(r)
    assert [(out[k]["previous"], out[k]["state"], out[k]["changed"]) for k in (A, B)] == [
        ("alive", "alive", False), ("deleted", "deleted", False)]
    assert "4 checked; 0 changed" in r.err
    assert fates(root)[B] == ["deleted", T0, T0 + 86400, T0]  # since and gone_at: the first time it was seen gone
    origin.mode[B] = "removed"  # still gone, now for another reason: a change, gone since the first day
    clock.now = T0 + 2 * 86400
    r = check(run_cli, root, origin)
    assert by_key(r)[B]["changed"] and fates(root)[B] == ["removed", T0 + 2 * 86400, T0 + 2 * 86400, T0]


@pytest.mark.parametrize("mode, seen", [("502", "http"), ("verify", "verify")])
def test_a_server_error_or_verification_is_no_verdict(site, run_cli, clock, mode: str, seen: str) -> None:  # type: ignore[no-untyped-def]
    root, origin = site
    origin.mode.update({B: "deleted"})
    check(run_cli, root, origin)
    failing = (A, B) if mode == "502" else (A, B, C, D)
    before_state, before_posts = fates(root), {k: front_matter(root, k) for k in failing}
    origin.mode.update({k: mode for k in failing})
    clock.now = T0 + 3600
    r = check(run_cli, root, origin)
    out = by_key(r)
    assert all(out[k]["state"] is None and out[k]["seen"] == seen and not out[k]["changed"] for k in out if k in failing)
    if mode == "verify":  # the run stops at the first one, as import does, and says when to come back
        assert r.code == 3 and len(out) == 1 and "article(s) left unchecked" in r.err
    else:  # the others are checked: still alive, no change
        assert r.code == 1 and [(out[k]["state"], out[k]["changed"]) for k in (C, D)] == [("alive", False)] * 2
        assert "2 checked; 0 changed; 2 failed (http 2)" in r.err
    now = fates(root)
    assert {k: now[k] for k in failing} == {k: before_state[k] for k in failing}  # B still deleted since T0
    assert {k: front_matter(root, k) for k in failing} == before_posts  # (A still alive): nothing was decided


def test_a_network_outage_stops_the_run_and_is_no_verdict(site, run_cli, clock) -> None:  # type: ignore[no-untyped-def]
    root, origin = site
    origin.mode.update({B: "deleted"})
    check(run_cli, root, origin)
    before_state, before_posts = fates(root), post_bytes(root)
    clock.now = T0 + 3600
    r = run_cli("check", "--out", root, "--delay", "0", "--json", "--timeout", "2",
                "--connect-to", "mp.weixin.qq.com=http://127.0.0.1:9")  # (the discard port: nothing answers)
    assert r.code == 1
    assert [d["seen"] for d in r.lines] == ["network"] * 3  # three in a row with no answer: the 4th is not asked
    assert "nothing was recorded as a fate" in r.err
    assert fates(root) == before_state and post_bytes(root) == before_posts


def test_check_of_one_article_by_url_leaves_the_others(site, run_cli, clock) -> None:  # type: ignore[no-untyped-def]
    root, origin = site
    origin.mode.update({B: "deleted", C: "deleted"})
    r = check(run_cli, root, origin, ORIGINALS[1].url())
    assert r.code == 0 and list(by_key(r)) == [B]
    assert set(fates(root)) == {B}
    r = check(run_cli, root, origin, "https://mp.weixin.qq.com/s?__biz=X&mid=1&idx=1&sn=0")
    assert r.code == 2 and "not an archived article of this archive" in r.err
