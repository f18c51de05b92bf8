"""`wxarchive harvest` against a local fake WeChat: albums, feeds, lists, back-off, quiet cron output, the lock."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from batch_fake import (keys_on_disk, FakeWeChat, album_url, atom, connect_args, make_articles, partial_files, posts, rss,
                        run_cli, serve_album, server)  # noqa: F401  (fixture)
from werkzeug.wrappers import Request, Response

from wxarchive.errors import RateLimited
from wxarchive.archive.backoff import BACKOFF_BASE, BACKOFF_CAP, Backoff
from wxarchive.archive.store import Store


def write_config(root: Path, body: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "wxarchive.toml").write_text('[site]\ntags = ["测试"]\n\n' + body, encoding="utf-8")


def harvest(root: Path, srv, *extra: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return run_cli("harvest", "--out", str(root), "--delay", "0", *connect_args(srv), *extra)


def store_of(root: Path) -> Store:
    return Store(root / ".wxarchive" / "state.sqlite3")


def front_keys(root: Path) -> list[str]:
    return sorted(keys_on_disk(root))


@pytest.fixture
def site(tmp_path: Path, server):  # type: ignore[no-untyped-def]
    """An album of 5 (pages 2 / 1-as-object / 2 / empty end), an RSS feed and an Atom feed, and a list file."""
    arts = make_articles(9)
    newest = arts[:5][::-1]
    serve_album(server, "777", [(newest[:2], True, False), (newest[2:3], True, True), (newest[3:], True, False),
                                (None, False, False)])
    server.expect_request("/wechat/mp/rss").respond_with_data(rss(arts[5:7]), content_type="application/rss+xml")
    server.expect_request("/wechat/mp/atom").respond_with_data(atom([arts[7], arts[0]]),
                                                               content_type="application/atom+xml")
    fake = FakeWeChat(server, list(arts)).install()
    root = tmp_path / "arch"
    write_config(root, f"""
[[sources]]
name = "测试合集"
url = "{album_url('777')}"

[[sources]]
url = "https://rsshub.example.org/wechat/mp/rss"

[[sources]]
name = "atom"
url = "https://rsshub.example.org/wechat/mp/atom"
kind = "feed"

[[sources]]
path = "links.txt"
""")
    (root / "links.txt").write_text(f"# extra\n{arts[8].url(tracking=True)}\n{arts[6].url()}\n", encoding="utf-8")
    return root, fake, arts


@pytest.mark.slow
def test_harvest_all_sources_then_second_run_is_free_and_silent(site) -> None:  # type: ignore[no-untyped-def]
    root, fake, arts = site
    r = harvest(root, fake.server)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert front_keys(root) == sorted(a.key for a in arts)
    assert len(fake.article_requests()) == 9
    assert len([p for p in (root / "postimg").iterdir() if p.is_file()]) == 9
    n_before = len(fake.server.log)

    r = harvest(root, fake.server)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    second = fake.server.log[n_before:]
    assert [req.path for req, _ in second if req.path == "/s"] == []  # zero article requests
    assert [req.path for req, _ in second if "mmbiz" in req.path] == []
    assert sum(1 for req, _ in second if req.path == "/mp/appmsgalbum") == 1  # stopped at the newest, archived

    st = run_cli("status", "--out", str(root))
    assert st.returncode == 0
    assert "archived 9" in st.stdout and "back-off: none" in st.stdout
    assert "source 测试合集 <" in st.stdout and "source atom <" in st.stdout and "source links.txt:" in st.stdout
    js = json.loads(run_cli("status", "--out", str(root), "--json").stdout)
    assert {s["source"] for s in js["sources"]} == {album_url("777"), "https://rsshub.example.org/wechat/mp/rss",
                                                    "https://rsshub.example.org/wechat/mp/atom", "links.txt"}


def test_harvest_verbose_and_json(site) -> None:  # type: ignore[no-untyped-def]
    root, fake, arts = site
    r = harvest(root, fake.server, "--json")
    assert r.returncode == 0 and r.stderr == ""
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert sum(1 for x in lines if x["status"] == "archived") == 9
    r = harvest(root, fake.server, "-v")
    assert r.returncode == 0 and "harvest: 0 archived" in r.stderr


@pytest.mark.slow
def test_harvest_verify_mid_batch_backs_off_then_resumes(site) -> None:  # type: ignore[no-untyped-def]
    root, fake, arts = site
    newest = arts[:5][::-1]
    fake.verify_mids = {newest[2].mid}  # the third album article answers with the captcha redirect
    r = harvest(root, fake.server, "--log", str(root / "harvest.log"))
    assert r.returncode == 3 and r.stdout == ""
    assert "verification" in r.stderr and "no WeChat requests before" in r.stderr and "3 left for the next run" in r.stderr
    assert len(r.stderr.strip().splitlines()) <= 4  # one concise report
    asked = [req.args["mid"] for req, _ in fake.server.log if req.path == "/s"]
    assert asked == [str(newest[0].mid), str(newest[1].mid), str(newest[2].mid)]  # nothing after the block
    assert fake.requests("/wechat/mp/rss") == []  # later sources untouched
    assert "verification" in (root / "harvest.log").read_text(encoding="utf-8")
    with store_of(root) as st:
        bo = st.get_kv("backoff")
        assert bo["level"] == 0 and bo["delay"] == BACKOFF_BASE and bo["until"] > time.time() + 600
        assert bo["until_text"]
    st_out = run_cli("status", "--out", str(root)).stdout
    assert "back-off: no WeChat requests before" in st_out and "blocked" in st_out

    # before the back-off ends: not a single request, and nothing to say
    fake.verify_mids = set()
    n = len(fake.server.log)
    r = harvest(root, fake.server)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert len(fake.server.log) == n

    # after it ends: resumes where it stopped (the album's newest two are archived, so listing stops there)
    with store_of(root) as st:
        bo = st.get_kv("backoff")
        st.set_kv("backoff", {**bo, "until": time.time() - 1})
    r = harvest(root, fake.server)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert front_keys(root) == sorted(a.key for a in arts)
    asked = [req.args["mid"] for req, _ in fake.server.log[n:] if req.path == "/s"]
    assert sorted(asked) == sorted(str(a.mid) for a in arts[:3] + arts[5:])  # each remaining article once
    with store_of(root) as st:
        assert st.get_kv("backoff") is None  # a clean run forgets the back-off
    assert partial_files(root) == []


def test_harvest_failure_report_is_concise(site) -> None:  # type: ignore[no-untyped-def]
    root, fake, arts = site
    fake.articles.remove(arts[6])  # the RSS feed and the list name an article that WeChat calls invalid
    r = harvest(root, fake.server)
    assert r.returncode == 1 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("wxarchive: harvest: 8 archived") and "invalid 1" in lines[0]
    assert len(lines) == 2 and str(arts[6].mid) in lines[1] and "[given up]" in lines[1]
    # given up: later runs stay quiet about it and do not ask again
    n = len(fake.article_requests())
    r = harvest(root, fake.server)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert len(fake.article_requests()) == n


def test_backoff_doubles_from_15_minutes_to_6_hours(tmp_path: Path) -> None:
    now = [1_000_000.0]
    with Store(tmp_path / "s.sqlite3") as st:
        bo = Backoff(st, clock=lambda: now[0])
        delays = []
        for _ in range(7):
            rec = bo.hit(RateLimited("verify"))
            delays.append(rec["delay"])
            assert bo.in_force() is not None
            now[0] = rec["until"] + 1
            assert bo.in_force() is None
        assert delays == [900, 1800, 3600, 7200, 14400, 21600, 21600] and delays[-1] == BACKOFF_CAP
        assert bo.hit(RateLimited("429", retry_after=7 * 3600))["delay"] == BACKOFF_CAP
        bo.clear()
        assert bo.hit(RateLimited("verify"))["delay"] == BACKOFF_BASE


def test_album_ret_error_backs_off(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    server.expect_request("/mp/appmsgalbum").respond_with_json({"base_resp": {"ret": 200013, "errmsg": "freq control"}})
    root = tmp_path / "arch"
    write_config(root, f'[[sources]]\nurl = "{album_url("9")}"\n')
    r = harvest(root, server)
    assert r.returncode == 3 and "200013" in r.stderr
    with store_of(root) as st:
        assert st.get_kv("backoff")["until"] > time.time()


def test_url_list_source_and_missing_config(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    arts = make_articles(2)
    fake = FakeWeChat(server, arts).install()
    server.expect_request("/list.txt").respond_with_data("\n".join(a.url() for a in arts), content_type="text/plain")
    root = tmp_path / "arch"
    r = harvest(root, server)
    assert r.returncode == 2 and "holds no wxarchive archive" in r.stderr  # no folder: not an archive at all
    write_config(root, "")
    r = harvest(root, server)
    assert r.returncode == 2 and "[[sources]]" in r.stderr
    write_config(root, '[[sources]]\nurl = "https://lists.example.org/list.txt"\n')
    r = harvest(root, server)
    assert (r.returncode, r.stderr) == (0, "")
    assert front_keys(root) == sorted(a.key for a in arts)
    assert len(fake.article_requests()) == 2


def test_two_harvests_at_once_one_runs_one_exits_3(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    arts = make_articles(2)
    FakeWeChat(server, arts).install()
    entered, release = threading.Event(), threading.Event()

    def slow_feed(request: Request) -> Response:
        entered.set()
        release.wait(60)
        return Response(rss(arts), content_type="application/rss+xml")

    server.expect_request("/feed").respond_with_handler(slow_feed)
    root = tmp_path / "arch"
    write_config(root, '[[sources]]\nurl = "https://rsshub.example.org/feed"\n')
    cmd = [sys.executable, "-m", "wxarchive", "harvest", "--out", str(root), "--delay", "0", *connect_args(server)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        # whichever got the lock is parked in the feed request; the other must give up on its own
        assert entered.wait(60)
        deadline = time.monotonic() + 60
        while all(p.poll() is None for p in procs) and time.monotonic() < deadline:
            time.sleep(0.05)
        loser = next(p for p in procs if p.poll() is not None)
        out, err = loser.communicate()
        assert loser.returncode == 3 and out == ""
        assert len(err.strip().splitlines()) == 1 and "another wxarchive run" in err
    finally:
        release.set()
    winner = next(p for p in procs if p is not loser)
    out, err = winner.communicate(timeout=60)
    assert (winner.returncode, out, err) == (0, "", "")
    assert len(posts(root)) == 2


def test_status_before_anything(tmp_path: Path) -> None:
    r = run_cli("status", "--out", str(tmp_path / "none"))
    assert r.returncode == 2


def test_feed_entry_pointing_to_known_article_costs_nothing(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    arts = make_articles(3)
    fake = FakeWeChat(server, arts).install()
    server.expect_request("/f.atom").respond_with_data(atom(arts), content_type="application/atom+xml")
    root = tmp_path / "arch"
    write_config(root, '[[sources]]\nurl = "https://rsshub.example.org/f.atom"\n')
    assert harvest(root, server).returncode == 0
    db = sqlite3.connect(root / ".wxarchive" / "state.sqlite3")
    assert db.execute("SELECT COUNT(*) FROM articles WHERE status='archived'").fetchone()[0] == 3
    db.close()
    n = len(fake.article_requests())
    assert harvest(root, server).returncode == 0
    assert len(fake.article_requests()) == n


def test_feed_host_429_is_a_source_error_not_a_wechat_backoff(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    arts = make_articles(1)
    fake = FakeWeChat(server, arts).install()
    server.expect_request("/busy").respond_with_data("slow down", status=429, headers={"Retry-After": "0"})
    server.expect_request("/ok.xml").respond_with_data(rss(arts), content_type="application/rss+xml")
    root = tmp_path / "arch"
    write_config(root, '[[sources]]\nurl = "https://rsshub.example.org/busy"\n'
                       '[[sources]]\nurl = "https://rsshub.example.org/ok.xml"\n')
    log_file = tmp_path / "h.log"
    r = harvest(root, server, "--log", str(log_file))
    assert r.returncode == 1 and r.stdout == ""
    assert "source https://rsshub.example.org/busy:" in r.stderr and "429" in r.stderr
    assert len(fake.article_requests()) == 1  # the next source still ran
    with store_of(root) as st:
        assert st.get_kv("backoff") is None
    log_text = log_file.read_text(encoding="utf-8")
    assert "archived https://mp.weixin.qq.com/s?" in log_text and arts[0].title in log_text


def test_status_counts_no_pending_from_a_junk_source_state(tmp_path: Path) -> None:
    """A state is anyone's: a ``pending`` that is one string is no list of 29 links (issue 21: one typed accessor)."""
    root = tmp_path / "arch"
    write_config(root, '[[sources]]\npath = "links.txt"\n')
    (root / ".wxarchive").mkdir()
    with store_of(root) as st:
        st.record_source("links.txt", "ok", 1, 0)
        st.set_kv("source:links.txt", {"pending": "https://mp.weixin.qq.com/s/A", "complete": True})
    r = run_cli("status", "--out", str(root), "--json")
    assert r.returncode == 0, r.stderr
    assert [s["pending"] for s in json.loads(r.stdout)["sources"]] == [0]
