"""`wxarchive check` against a local fake WeChat: fates recorded once, posts' text untouched, Jekyll shows them."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from batch_fake import (
    FakeWeChat,
    connect_args,
    make_articles,
    partial_files,
    posts,
    run_cli,
    server,
)
from lxml import html as lxml_html
from werkzeug.wrappers import Request, Response

from wxarchive.jobs.check import post_text_after_head
from wxarchive.write.render import split_post
from wxarchive.archive.store import Store
from conftest import REPO

FIX = REPO / "fixtures"
DELETED = (FIX / "error-deleted-zh" / "page.html").read_text(encoding="utf-8")
REMOVED = (FIX / "error-removed-violation" / "page.html").read_text(encoding="utf-8")
JEKYLL = shutil.which("jekyll")
REQUIRE_JEKYLL = os.environ.get("WXARCHIVE_REQUIRE_JEKYLL", "") not in ("", "0")


class FateWeChat(FakeWeChat):
    """Each article answers as ``mode[mid]`` says: alive (default), deleted, removed, verify, 502, edited, stall."""

    def __init__(self, server, articles) -> None:  # type: ignore[no-untyped-def]
        super().__init__(server, articles)
        self.mode: dict[int, str] = {}
        self.stalled, self.release = threading.Event(), threading.Event()

    def _article(self, request: Request) -> Response:
        mid = int(request.args.get("mid", "0") or 0)
        mode = self.mode.get(mid, "alive")
        if mode == "deleted":
            return Response(DELETED, content_type="text/html; charset=utf-8")
        if mode == "removed":
            return Response(REMOVED, content_type="text/html; charset=utf-8")
        if mode == "502":
            return Response("bad gateway", status=502)
        if mode == "verify":
            self.verify_all = True
            try:
                return super()._article(request)
            finally:
                self.verify_all = False
        if mode == "stall":
            self.stalled.set()
            self.release.wait(60)
        if mode == "flagged":  # same title and digest, but WeChat says the title was modified
            art = next(a for a in self.articles if a.mid == mid)
            return Response(art.html().replace("var ct =", 'var is_title_modified = "1" * 1;\nvar ct ='),
                            content_type="text/html; charset=utf-8")
        if mode == "punct":  # a new title that makes the same file name
            art = next(a for a in self.articles if a.mid == mid)
            return Response(art.html().replace(art.title, art.title + "！"), content_type="text/html; charset=utf-8")
        if mode == "edited":
            art = next(a for a in self.articles if a.mid == mid)
            return Response(art.html().replace(art.title, art.title + "（修订）"), content_type="text/html; charset=utf-8")
        return super()._article(request)


def check(root: Path, srv, *extra: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return run_cli("check", "--out", str(root), "--delay", "0", *connect_args(srv), *extra)


def jlines(r: subprocess.CompletedProcess[str]) -> dict[str, dict]:
    return {d["key"]: d for d in map(json.loads, r.stdout.splitlines())}


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in posts(root)}


def by_key(root: Path) -> dict[str, tuple[dict, str, str]]:
    """key -> (front matter, text after front matter, the article text after the attribution quote)."""
    out = {}
    for p in posts(root):
        text = p.read_text(encoding="utf-8")
        fm, rest = split_post(text)
        out[f"{fm['biz']}:{fm['mid']}:{fm['idx']}"] = (fm, rest, post_text_after_head(text))
    return out


def state(root: Path) -> tuple[list, list]:
    db = sqlite3.connect(root / ".wxarchive" / "state.sqlite3")
    try:
        fates = db.execute("SELECT key, status, since, checked_at, gone_at, reason FROM fates ORDER BY key").fetchall()
        changes = db.execute("SELECT key, at, seen, previous FROM checks WHERE changed=1 ORDER BY at, id").fetchall()
    finally:
        db.close()
    return fates, changes


def archive_order(root: Path) -> list[str]:
    """Keys in the order they were archived: the order a first check takes them (images finish in parallel)."""
    db = sqlite3.connect(root / ".wxarchive" / "state.sqlite3")
    try:
        return [k for (k,) in db.execute("SELECT key FROM articles ORDER BY archived_at, key")]
    finally:
        db.close()


@pytest.fixture
def archived3(tmp_path: Path, server):  # type: ignore[no-untyped-def]
    arts = make_articles(3)
    fake = FateWeChat(server, arts).install()
    lst = tmp_path / "l.txt"
    lst.write_text("\n".join(a.url() for a in arts))
    root = tmp_path / "arch"
    r = run_cli("import", str(lst), "--out", str(root), "--delay", "0", *connect_args(server))
    assert r.returncode == 0, r.stderr
    return root, arts, fake


def test_alive_deleted_removed_then_verify_and_502_change_nothing(archived3, server) -> None:  # type: ignore[no-untyped-def]
    root, (a, b, c), fake = archived3
    texts = {k: v[2] for k, v in by_key(root).items()}

    r = check(root, server, "--json")
    assert r.returncode == 0, r.stderr
    first = jlines(r)
    assert {k: (d["previous"], d["state"], d["changed"]) for k, d in first.items()} == \
        {x.key: ("alive", "alive", False) for x in (a, b, c)}
    assert all(fm["source_status"] == "alive" and "source_gone_at" not in fm for fm, _, _ in by_key(root).values())

    fake.mode[a.mid] = "deleted"
    t0 = time.time()
    r = check(root, server, "--json")
    t1 = time.time()
    assert r.returncode == 0, r.stderr
    out = jlines(r)
    assert (out[a.key]["previous"], out[a.key]["state"], out[a.key]["changed"]) == ("alive", "deleted", True)
    assert not out[b.key]["changed"] and not out[c.key]["changed"]

    fake.mode[b.mid] = "removed"
    t2 = time.time()
    r = check(root, server, "--json")
    t3 = time.time()
    out = jlines(r)
    assert (out[b.key]["previous"], out[b.key]["state"], out[b.key]["changed"]) == ("alive", "removed", True)
    assert "此内容因违规无法查看" in out[b.key]["reason"]
    assert (out[a.key]["previous"], out[a.key]["state"], out[a.key]["changed"]) == ("deleted", "deleted", False)

    # verification: the run stops at once (exit 3), no fate, no post touched
    before_files, before_state = snapshot(root), state(root)
    fake.mode[a.mid] = fake.mode[b.mid] = fake.mode[c.mid] = "verify"
    n = len(fake.article_requests())
    r = check(root, server, "--json")
    assert r.returncode == 3 and "stopped" in r.stderr
    assert len(fake.article_requests()) == n + 1  # the first verification page stops every request
    assert snapshot(root) == before_files and state(root) == before_state

    # a 502 (after the back-off): reported as a failure, changes nothing
    with Store(root / ".wxarchive" / "state.sqlite3") as st:
        st.set_kv("backoff", {**st.get_kv("backoff"), "until": time.time() - 1})
    fake.mode[c.mid] = "502"
    r = check(root, server, "--json", c.url())
    assert r.returncode == 1, r.stderr
    assert jlines(r)[c.key]["state"] is None and jlines(r)[c.key]["http"] == 502
    assert snapshot(root) == before_files
    fates, changes = state(root)
    assert fates == before_state[0]

    # exactly the two real changes, each with the time it was first seen
    assert [(k, seen, prev) for k, _, seen, prev in changes] == [(a.key, "deleted", "alive"), (b.key, "removed", "alive")]
    assert t0 - 1 <= changes[0][1] <= t1 and t2 - 1 <= changes[1][1] <= t3
    fate = {k: (st, since, gone) for k, st, since, _, gone, _ in fates}
    assert fate[a.key] == ("deleted", changes[0][1], changes[0][1])
    assert fate[b.key] == ("removed", changes[1][1], changes[1][1])
    assert fate[c.key][0] == "alive"

    # the posts: text byte-identical, front matter and attribution updated
    now = by_key(root)
    assert {k: v[2] for k, v in now.items()} == texts
    fm_a, rest_a, _ = now[a.key]
    assert fm_a["source_status"] == "deleted" and fm_a["source_gone_at"] and fm_a["source_checked_at"]
    day = time.strftime("%Y-%m-%d", time.gmtime(changes[0][1] + 8 * 3600))
    assert f"~~[原文链接]({fm_a['source_url']})~~（原文已于 {day} 被发布者删除）" in rest_a
    fm_b, rest_b, _ = now[b.key]
    assert fm_b["source_status"] == "removed" and "此内容因违规无法查看" in fm_b["source_reason"]
    assert "~~[原文链接]" in rest_b and "被微信删除：此内容因违规无法查看" in rest_b
    fm_c, rest_c, _ = now[c.key]
    assert fm_c["source_status"] == "alive" and "~~" not in rest_c

    # ls --gone lists the two, with their fate
    r = run_cli("ls", "--out", str(root), "--gone", "--json")
    gone = [json.loads(x) for x in r.stdout.splitlines()]
    assert sorted((g["key"], g["source_status"]) for g in gone) == sorted([(a.key, "deleted"), (b.key, "removed")])
    r = run_cli("ls", "--out", str(root), "--gone")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 2 and "deleted" in r.stdout

    # rebuild re-renders from the raw pages and keeps the check fields
    r = run_cli("rebuild", "--out", str(root))
    assert r.returncode == 0, r.stderr
    after = by_key(root)
    for k in (a.key, b.key, c.key):
        assert {x: y for x, y in after[k][0].items() if x.startswith("source_")} == \
            {x: y for x, y in now[k][0].items() if x.startswith("source_")}
    assert "~~[原文链接]" in after[a.key][1] and after[a.key][2] == texts[a.key]

    if JEKYLL or REQUIRE_JEKYLL:
        _jekyll_shows_the_fates(root, a, b, c, day)


def _jekyll_shows_the_fates(root: Path, a, b, c, day: str) -> None:  # type: ignore[no-untyped-def]
    assert JEKYLL, "jekyll not on PATH but WXARCHIVE_REQUIRE_JEKYLL is set"
    site = root.parent / "site"
    proc = subprocess.run([JEKYLL, "build", "--source", str(root), "--destination", str(site)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pages = {}
    for p in site.rglob("index.html"):
        doc = lxml_html.fromstring(p.read_bytes())
        pages[" ".join(doc.xpath("string(//h1[1])").split())] = doc
    titles = {x.key: x.title for x in (a, b, c)}
    page_a = pages[titles[a.key]]
    struck = page_a.xpath("//blockquote//del//a | //blockquote//s//a")
    assert [x.text_content() for x in struck] == ["原文链接"]
    assert f"原文已于 {day} 被发布者删除" in page_a.xpath("string(//blockquote)")
    assert not pages[titles[c.key]].xpath("//blockquote//del | //blockquote//s")
    assert pages[titles[c.key]].xpath("//blockquote//a[text()='原文链接']")
    gone = lxml_html.fromstring((site / "gone" / "index.html").read_bytes())
    rows = gone.xpath("//table[contains(@class,'gone')]/tbody/tr")
    listed = {" ".join(r.xpath("string(td[3])").split()): " ".join(r.xpath("string(td[4])").split()) for r in rows}
    assert set(listed) == {titles[a.key], titles[b.key]}
    assert listed[titles[a.key]] == "被发布者删除"
    assert listed[titles[b.key]].startswith("被微信删除：") and "此内容因违规无法查看" in listed[titles[b.key]]
    assert {" ".join(r.xpath("string(td[5])").split()) for r in rows} == {day}


def test_selection_order_and_options(archived3, server) -> None:  # type: ignore[no-untyped-def]
    root, (a, b, c), fake = archived3
    order = archive_order(root)
    r = check(root, server, "--json", "--max", "2")
    assert [d["key"] for d in map(json.loads, r.stdout.splitlines())] == order[:2]  # never checked: oldest first
    r = check(root, server, "--json", "--max", "2")
    assert [d["key"] for d in map(json.loads, r.stdout.splitlines())] == [order[2], order[0]]  # least recently checked
    r = check(root, server, "--json", "--older-than", "1d")
    assert r.returncode == 0 and r.stdout == ""  # all checked just now
    r = check(root, server, "--json", "--account", "别的公众号")
    assert r.stdout == ""
    r = check(root, server, "--json", "--account", "测试公众号", b.key)
    assert [d["key"] for d in map(json.loads, r.stdout.splitlines())] == [b.key]
    r = check(root, server, "https://mp.weixin.qq.com/s?__biz=MzA5NjQ0MjY2Mw==&mid=1&idx=1&sn=x")
    assert r.returncode == 2 and "not an archived article" in r.stderr
    r = check(root, server, "--older-than", "soon")
    assert r.returncode == 2


def test_edited_keeps_the_archived_version_and_refetch_keeps_both(archived3, server) -> None:  # type: ignore[no-untyped-def]
    root, (a, b, c), fake = archived3
    texts = snapshot(root)
    fake.mode[a.mid] = "edited"
    r = check(root, server, "--json", a.key)
    out = jlines(r)[a.key]
    assert (out["state"], out["changed"], out["new_title"]) == ("edited", True, a.title + "（修订）")
    fm, rest, body = by_key(root)[a.key]
    assert fm["title"] == a.title and fm["source_title"] == a.title + "（修订）"
    assert "~~" not in rest and "原文已于" in rest and "被修改" in rest
    assert len(posts(root)) == 3

    fake.mode[b.mid] = "flagged"
    out_b = jlines(check(root, server, "--json", b.key))[b.key]
    assert (out_b["state"], out_b["changed"]) == ("edited", True) and "modified" in out_b["reason"]

    r = check(root, server, "--json", "--refetch-edited", a.key)
    out = jlines(r)[a.key]
    assert out["changed"] is False and out["refetched"]
    assert len(posts(root)) == 4
    new = root / out["refetched"] if not Path(out["refetched"]).is_absolute() else Path(out["refetched"])
    fm_new, _ = split_post(new.read_text(encoding="utf-8"))
    assert fm_new["title"] == a.title + "（修订）"
    for name, data in texts.items():  # the old posts keep their text
        assert post_text_after_head((root / "_posts" / name).read_text(encoding="utf-8")) == \
            post_text_after_head(data.decode())
    r = check(root, server, "--json", "--refetch-edited", a.key)  # the same version is not archived twice
    assert len(posts(root)) == 4
    r = run_cli("rebuild", "--out", str(root))
    assert r.returncode == 0 and len(posts(root)) == 4
    assert split_post(new.read_text(encoding="utf-8"))[0]["title"] == a.title + "（修订）"
    assert by_key(root)  # every post still parses


def test_killed_check_then_rerun_loses_nothing(archived3, server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root, arts, fake = archived3
    order = archive_order(root)
    a, b, c = sorted(arts, key=lambda x: order.index(x.key))  # in the order check takes them
    texts = {k: v[2] for k, v in by_key(root).items()}
    fake.mode[a.mid] = "deleted"
    fake.mode[b.mid] = "stall"  # the run hangs on the second article: kill it there
    env = {k: v for k, v in os.environ.items() if k != "WXARCHIVE_CONNECT_TO"}
    p = subprocess.Popen([sys.executable, "-m", "wxarchive", "check", "--out", str(root), "--delay", "0",
                          *connect_args(server)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        assert fake.stalled.wait(60)
        p.send_signal(signal.SIGKILL)
        assert p.wait(30) == -signal.SIGKILL
    finally:
        fake.release.set()
        if p.poll() is None:
            p.kill()
    _, changes = state(root)
    assert [(k, s) for k, _, s, _ in changes] == [(a.key, "deleted")]
    assert by_key(root)[a.key][0]["source_status"] == "deleted"
    assert partial_files(root) == []
    assert {k: v[2] for k, v in by_key(root).items()} == texts  # every post whole, its text untouched

    # as if killed after the state recorded a fate but before the post was renamed into place
    with Store(root / ".wxarchive" / "state.sqlite3") as st:
        st.db.execute("UPDATE fates SET written=0 WHERE key=?", (a.key,))
    post_a = root / Store(root / ".wxarchive" / "state.sqlite3").get(a.key).post_path
    fm, rest = split_post(post_a.read_text(encoding="utf-8"))
    stale = post_a.read_text(encoding="utf-8").replace("source_status: deleted", "source_status: alive")
    post_a.write_text(stale, encoding="utf-8")

    fake.mode[b.mid] = "alive"
    r = check(root, server, "--json", "--max", "0")  # nothing to check; the unwritten fate is written first
    assert r.returncode == 0, r.stderr
    assert by_key(root)[a.key][0]["source_status"] == "deleted"
    r = check(root, server, "--json")
    assert r.returncode == 0, r.stderr
    _, changes = state(root)
    assert [(k, s) for k, _, s, _ in changes] == [(a.key, "deleted")]  # history intact, nothing recorded twice
    assert {k: v[2] for k, v in by_key(root).items()} == texts
    assert partial_files(root) == []


def test_harvest_checks_a_slice_quietly_unless_a_fate_changed(archived3, server) -> None:  # type: ignore[no-untyped-def]
    root, arts, fake = archived3
    order = archive_order(root)
    c = next(x for x in arts if x.key == order[2])  # not in the first slice
    cfg = root / "wxarchive.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + '\n[check]\nmax = 2\nolder_than = "0s"\n', encoding="utf-8")

    def harvest() -> subprocess.CompletedProcess[str]:
        return run_cli("harvest", "--out", str(root), "--delay", "0", *connect_args(server))

    r = harvest()  # two alive articles checked: nothing to say
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    n = len(fake.article_requests())
    fake.mode[c.mid] = "deleted"
    r = harvest()  # the next slice: c (never checked) and the first one again
    assert r.returncode == 0 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("wxarchive: check: deleted") and "(was alive)" in lines[0]
    assert c.title in lines[0]
    assert len(fake.article_requests()) == n + 2
    r = harvest()
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    with Store(root / ".wxarchive" / "state.sqlite3") as st:
        assert st.fate(c.key).status.value == "deleted"


@pytest.mark.parametrize("args", [["check", "--help"], ["ls", "--help"]])
def test_check_and_ls_help_load_no_heavy_stack(args: list[str], tmp_path: Path) -> None:
    from test_startup import HTML, HTTP, _loaded

    rc, mods = _loaded(*args, cwd=tmp_path)
    assert rc == 0
    assert not mods & (HTTP | HTML | {"sqlite3", "logging"}), sorted(mods & (HTTP | HTML | {"sqlite3", "logging"}))


def test_network_down_is_no_verdict_and_stops_the_run(archived3, server) -> None:  # type: ignore[no-untyped-def]
    root, _arts, _fake = archived3
    before = snapshot(root)
    r = run_cli("check", "--out", str(root), "--delay", "0", "--timeout", "2", "--json",
                "--connect-to", "mp.weixin.qq.com=http://127.0.0.1:9")  # nothing listens there
    assert r.returncode == 1 and "no server answered 3 checks in a row" in r.stderr
    assert [d["state"] for d in map(json.loads, r.stdout.splitlines())] == [None, None, None]
    assert snapshot(root) == before
    fates, changes = state(root)
    assert changes == [] and all(st is None for _, st, *_ in fates)


def test_refetch_never_writes_over_another_post(archived3, server) -> None:  # type: ignore[no-untyped-def]
    import hashlib

    root, (a, _b, _c), fake = archived3
    with Store(root / ".wxarchive" / "state.sqlite3") as st:
        plain = Path(st.get(a.key).post_path)
        hashed = plain.with_name(f"{plain.stem}-{hashlib.sha1(a.key.encode()).hexdigest()[:8]}.md")
        st.record_archived("someone:else:1", [], url="https://mp.weixin.qq.com/s/else", post_path=str(hashed))
    (root / hashed).write_text("---\ntitle: another post\n---\n\nits text\n", encoding="utf-8")
    before = snapshot(root)
    fake.mode[a.mid] = "punct"  # the edited title slugs to the name the original has; the other name is taken
    out = jlines(check(root, server, "--json", "--refetch-edited", a.key))[a.key]
    assert out["state"] == "edited" and "refetched" not in out
    assert (root / hashed).read_text(encoding="utf-8") == "---\ntitle: another post\n---\n\nits text\n"
    after = snapshot(root)
    assert set(after) == set(before)
    assert post_text_after_head(after[plain.name].decode()) == post_text_after_head(before[plain.name].decode())
