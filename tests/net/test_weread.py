"""Following an account through WeRead (微信读书): a local server speaks ``/web/mp/articles`` in the shapes
the public clients and their issues report; the tool reaches it through ``--connect-to``, so every URL it
records stays a real ``weread.qq.com`` / ``mp.weixin.qq.com`` one.

Everything here is written by hand (no third-party page or answer is copied)."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from batch_fake import BIZ, FakeWeChat, connect_args, make_articles, posts, run_cli, server  # noqa: F401
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from wxarchive.errors import UsageError
from wxarchive.net.fetch import Routing
from wxarchive.jobs.sources import SourceSpec
from wxarchive.net.weread import COOKIES_FILE, TICKET_FILE, Channel, ChannelBroken, SessionExpired, Throttled, book_id_of, list_account

BOOK = "MP_WXS_3096442663"  # what BIZ ("MzA5NjQ0MjY2Mw==") decodes to
OTHER_BIZ, OTHER_BOOK = "MzA5NjQ0MjY2NA==", "MP_WXS_3096442664"
SKEY, VID, RT, TICKET = "SkEy-secret-4242", "31415926", "Rt-secret-2718", "TiCkEt-secret-1618"
COOKIES = ("# Netscape HTTP Cookie File\n"
           f".weread.qq.com\tTRUE\t/\tTRUE\t0\twr_vid\t{VID}\n"
           f".weread.qq.com\tTRUE\t/\tTRUE\t0\twr_skey\t{SKEY}\n"
           f".weread.qq.com\tTRUE\t/\tTRUE\t0\twr_rt\t{RT}\n"
           ".mp.weixin.qq.com\tTRUE\t/\tTRUE\t0\tpass_ticket\tNotForWeRead\n")
SECRETS = (SKEY, RT, TICKET)


def token_of(mid: int) -> str:
    """A 22-character base64url short-link token; every third one holds '_' (which WeRead may write '~')."""
    base = f"Tk{mid:012d}"
    return (base + ("_AbCdEfG" if mid % 3 == 0 else "xAbCdEfG"))[:22]


@dataclass
class FakeWeRead:
    """``/web/mp/articles`` over ``sends`` (newest first), ``per_page`` sends a page, in one of the reported shapes."""

    server: HTTPServer
    sends: list[list[Any]] = field(default_factory=list)
    per_page: int = 2
    nested: bool = False  # subReviews[].review.mpInfo (koplugin's doc) rather than subReviews[].mpInfo
    tilde: bool = True  # originalId spells '_' as '~'
    need_ticket: bool = False
    fail: tuple[int, Any] | None = None  # (HTTP status, body) answered instead of the list
    off_shelf: set[str] = field(default_factory=set)  # books answered -2041 (not on the user's shelf)

    def install(self) -> FakeWeRead:
        self.server.expect_request("/web/mp/articles").respond_with_handler(self._list)
        for send in self.sends:
            self.serve(send)
        return self

    def serve(self, send: list[Any]) -> None:
        for a in send:
            self.server.expect_request(f"/s/{token_of(a.mid)}").respond_with_data(
                a.html(), content_type="text/html; charset=utf-8")

    def publish(self, *arts: Any) -> None:
        self.sends.insert(0, list(arts))
        self.serve(list(arts))

    def _sub(self, a: Any) -> dict[str, Any]:
        oid = token_of(a.mid).replace("_", "~") if self.tilde else token_of(a.mid)
        mp = {"title": a.title, "originalId": oid, "time": a.ct, "pic_url": "https://mmbiz.qpic.cn/x/0",
              "content": "摘要", "mp_name": "测试公众号"}
        rid = f"{BOOK}_{oid}"
        if self.nested:
            return {"reviewId": rid, "review": {"reviewId": rid, "type": 16, "createTime": a.ct,
                                                "belongBookId": BOOK, "mpInfo": mp}}
        return {"reviewId": rid, "mpInfo": mp, "createTime": a.ct}

    def _list(self, request: Request) -> Response:
        cookie = request.headers.get("Cookie", "")
        if f"wr_skey={SKEY}" not in cookie or f"wr_vid={VID}" not in cookie:
            return Response(json.dumps({"errCode": -2012, "errMsg": "登录超时"}), status=401,
                            content_type="application/json")
        if self.fail is not None:
            status, body = self.fail
            return Response(body if isinstance(body, str) else json.dumps(body, ensure_ascii=False), status=status,
                            content_type="application/json")
        if self.need_ticket and request.headers.get("x-wr-ticket") != TICKET:
            return Response(json.dumps({"errCode": -2041, "errMsg": "need refresh"}), content_type="application/json")
        if request.args["bookId"] in self.off_shelf:
            return Response(json.dumps({"errCode": -2041, "errMsg": "无权限"}), content_type="application/json")
        assert request.args["bookId"] in (BOOK, OTHER_BOOK)
        offset = int(request.args.get("offset", "0"))
        page = self.sends[offset:offset + self.per_page]
        reviews = [{"createTime": s[0].ct, "subCount": len(s), "subReviews": [self._sub(a) for a in s]} for s in page]
        return Response(json.dumps({"reviews": reviews, "clearAll": 0, "synckey": 1}, ensure_ascii=False),
                        content_type="application/json")

    def offsets(self) -> list[int]:
        return [int(r.args.get("offset", "0")) for r, _ in self.server.log if r.path == "/web/mp/articles"]


def sends_of(n: int, start: int = 2247480001) -> list[list[Any]]:
    """``n`` single-post sends, newest first, one day apart."""
    arts = make_articles(n, start=start)
    for i, a in enumerate(arts):
        a.ct = 1_700_000_000 + i * 86400
    return [[a] for a in reversed(arts)]


def write_session(xdg: Path, ticket: bool = False) -> None:
    d = xdg / "wxarchive"
    d.mkdir(parents=True, exist_ok=True)
    (d / COOKIES_FILE).write_text(COOKIES, encoding="utf-8")
    (d / COOKIES_FILE).chmod(0o600)
    if ticket:
        (d / TICKET_FILE).write_text(TICKET + "\n", encoding="utf-8")


class _Kv:
    def __init__(self) -> None:
        self.kv: dict[str, Any] = {}

    def get_kv(self, k: str) -> Any:
        return self.kv.get(k)

    def set_kv(self, k: str, v: Any) -> None:
        self.kv[k] = v


def channel(srv: HTTPServer, store: _Kv | None = None) -> Channel:
    base = f"http://127.0.0.1:{srv.port}"
    return Channel(transport=Routing({"weread.qq.com": base}, ""), timeout={"connect": 5, "read": 5, "write": 5,
                                                                              "pool": 5},
                   store=store or _Kv(), state_dir=None, write=True, user_agent="")


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    write_session(xdg)
    return xdg


def never(_url: str) -> bool:
    return False


# ---------------------------------------------------------------- the account's book id
def test_book_id_from_biz_link_or_book() -> None:
    assert book_id_of(BIZ) == BOOK
    assert book_id_of(BIZ.rstrip("=")) == BOOK
    assert book_id_of(f"https://mp.weixin.qq.com/s?__biz={BIZ.replace('=', '%3D')}&mid=1&idx=1&sn=ab") == BOOK
    assert book_id_of(BOOK) == BOOK
    for bad in ("南宁市反诈骗", "https://mp.weixin.qq.com/s/Xq3bR7mK2pLs9TvA0cZy1w", "aGVsbG8=", "MP_WXS_x"):
        with pytest.raises(UsageError):
            book_id_of(bad)


def test_account_source_refuses_a_session_in_the_archive_config() -> None:
    spec = SourceSpec.from_config({"account": BIZ, "name": "测试", "since": "2024-01-01"}, 1)
    assert (spec.kind, spec.account, spec.ident, spec.since) == ("account", BOOK, f"weread:{BOOK}", "2024-01-01")
    for key in ("cookies", "wr_skey", "ticket", "session"):
        with pytest.raises(UsageError, match="own config folder"):
            SourceSpec.from_config({"account": BIZ, key: "x"}, 1)
    with pytest.raises(UsageError):
        SourceSpec.from_config({"account": BIZ, "url": "https://x.example/feed"}, 1)
    with pytest.raises(UsageError):
        SourceSpec.from_config({"account": BIZ, "since": "last year"}, 1)


# ---------------------------------------------------------------- the channel against a real server
@pytest.mark.parametrize("nested", [False, True])
def test_paging_counts_sends_and_ends_at_an_empty_page(server: HTTPServer, session: Path, nested: bool) -> None:  # noqa: F811
    sends = sends_of(5)
    sends[1] = sends[1] + make_articles(1, start=2247490000)  # a send of two posts
    FakeWeRead(server, sends, per_page=2, nested=nested).install()
    state: dict[str, Any] = {}
    got = list_account(channel(server), BOOK, never, state, list_delay=0, max_pages=10)
    want = [f"https://mp.weixin.qq.com/s/{token_of(a.mid)}" for s in sends for a in s]
    assert got.urls == want  # '~' read as '_', newest first, every post of a send
    assert [r.args["offset"] for r, _ in server.log if r.path == "/web/mp/articles"] == ["0", "2", "4", "5"]
    assert state == {"cursor": None, "done": True} and got.complete


def test_stops_at_the_first_archived_send(server: HTTPServer, session: Path) -> None:  # noqa: F811
    sends = sends_of(6)
    fake = FakeWeRead(server, sends).install()
    archived = {f"https://mp.weixin.qq.com/s/{token_of(a.mid)}" for s in sends[3:] for a in s}
    got = list_account(channel(server), BOOK, archived.__contains__, {}, list_delay=0)
    assert len(got.urls) == 3 and fake.offsets() == [0, 2]


def test_a_long_history_goes_on_next_run_from_where_it_stopped(server: HTTPServer, session: Path) -> None:  # noqa: F811
    sends = sends_of(9)
    fake = FakeWeRead(server, sends).install()
    known: set[str] = set()
    state: dict[str, Any] = {}
    got = list_account(channel(server), BOOK, known.__contains__, state, list_delay=0, max_pages=2)
    assert len(got.urls) == 4 and state["cursor"] == 4 and not got.complete
    known.update(got.urls)
    later = make_articles(1, start=2247500000)
    fake.publish(*later)  # a new post: every send moves down by one
    got = list_account(channel(server), BOOK, known.__contains__, state, list_delay=0, max_pages=3)
    # the top (the new post, then the archived newest), then on from the old cursor moved by one
    assert fake.offsets()[2:] == [0, 5, 7]
    assert got.urls[0].endswith(token_of(later[0].mid)) and len(got.urls) == 1 + 4
    assert state["cursor"] == 9
    known.update(got.urls)
    got = list_account(channel(server), BOOK, known.__contains__, state, list_delay=0, max_pages=3)
    assert [u.endswith(token_of(sends[-1][0].mid)) for u in got.urls] == [True] and state == {"cursor": None,
                                                                                               "done": True}


def test_a_post_published_mid_listing_is_listed_once(server: HTTPServer, session: Path) -> None:  # noqa: F811
    sends = sends_of(4)
    fake = FakeWeRead(server, sends).install()
    ch = channel(server)
    first = ch.page(BOOK, 0, 0)[0]
    fake.publish(*make_articles(1, start=2247600000))  # the pages shift: page 2 starts with page 1's last send
    got = list_account(ch, BOOK, never, {}, list_delay=0)
    assert len(got.urls) == len(set(got.urls)) == 5 and len(first) == 2


def test_since_bounds_the_walk(server: HTTPServer, session: Path) -> None:  # noqa: F811
    sends = sends_of(6)  # one a day from 2023-11-15 06:13 CST (1_700_000_000)
    fake = FakeWeRead(server, sends).install()
    state: dict[str, Any] = {}
    got = list_account(channel(server), BOOK, never, state, list_delay=0, since="2023-11-17")
    assert len(got.urls) == 4 and state["done"] and fake.offsets() == [0, 2, 4]


@pytest.mark.parametrize("status,body", [
    (200, {"errCode": -2012, "errMsg": "登录超时"}),
    (200, {"errcode": -2012, "errmsg": "登录超时"}),
    (401, {"errcode": -2012, "errmsg": "登录超时"}),
    (401, ""),
    (200, {"errCode": -2041, "errMsg": "need refresh"}),
    (200, {"errCode": -2013, "errMsg": "鉴权失败"}),
])
def test_session_errors_say_refresh_the_session(server: HTTPServer, session: Path, status: int, body: Any) -> None:  # noqa: F811
    fake = FakeWeRead(server, sends_of(2), fail=(status, body)).install()
    ch = channel(server)
    with pytest.raises(SessionExpired, match="refresh the WeRead session") as e:
        list_account(ch, BOOK, never, {}, list_delay=0)
    assert not any(s in e.value.message for s in SECRETS)
    with pytest.raises(SessionExpired):  # a second account of the run asks nothing (but after -2041, one
        list_account(ch, BOOK, never, {}, list_delay=0)  # account's answer: it may be off the user's shelf)
    assert fake.offsets() == ([0, 0] if e.value.errcode == -2041 else [0])


def test_429_benches_the_account_until_midnight(server: HTTPServer, session: Path) -> None:  # noqa: F811
    fake = FakeWeRead(server, sends_of(2), fail=(429, "")).install()
    store = _Kv()
    with pytest.raises(Throttled) as e:
        list_account(channel(server, store), BOOK, never, {}, list_delay=0)
    assert e.value.until > time.time() and store.kv["weread"]["benched_until"] == e.value.until
    fake.fail = None
    with pytest.raises(Throttled):  # a later run: no request before the bench ends
        list_account(channel(server, store), BOOK, never, {}, list_delay=0)
    assert fake.offsets() == [0]


@pytest.mark.parametrize("body", ['{"books": []}', "<html>维护中</html>", '[1, 2]', '{"reviews": [{"x": 1}]}',
                                  '{"errCode": -9999, "errMsg": "新错误"}',
                                  '{"reviews": [{"subReviews": [{"mpInfo": {"title": "无链接"}}]}]}'])
def test_an_unknown_shape_is_a_broken_channel(server: HTTPServer, session: Path, body: str) -> None:  # noqa: F811
    FakeWeRead(server, sends_of(1), fail=(200, body)).install()
    with pytest.raises(ChannelBroken):
        list_account(channel(server), BOOK, never, {}, list_delay=0)


@pytest.mark.parametrize("need,saved,ok", [(False, False, True), (False, True, True), (True, True, True),
                                           (True, False, False)])
def test_x_wr_ticket_sent_when_saved(server: HTTPServer, session: Path, need: bool, saved: bool, ok: bool) -> None:  # noqa: F811
    FakeWeRead(server, sends_of(1), need_ticket=need).install()
    write_session(session, ticket=saved)
    if ok:
        assert len(list_account(channel(server), BOOK, never, {}, list_delay=0).urls) == 1
    else:
        with pytest.raises(SessionExpired, match="x-wr-ticket"):
            list_account(channel(server), BOOK, never, {}, list_delay=0)
    sent = [r.headers.get("x-wr-ticket") for r, _ in server.log if r.path == "/web/mp/articles"]
    assert set(sent) == {TICKET if saved else None}


def test_no_session_is_a_session_error(server: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    fake = FakeWeRead(server, sends_of(1)).install()
    with pytest.raises(SessionExpired, match="no WeRead session"):
        list_account(channel(server), BOOK, never, {}, list_delay=0)
    assert fake.offsets() == []


def test_listing_is_paced(server: HTTPServer, session: Path) -> None:  # noqa: F811
    FakeWeRead(server, sends_of(4)).install()
    t0 = time.monotonic()
    list_account(channel(server), BOOK, never, {}, list_delay=0.3)
    assert time.monotonic() - t0 >= 0.6  # three pages, two gaps


# ---------------------------------------------------------------- harvest, as cron runs it
def _config(root: Path, extra: str = "") -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "wxarchive.toml").write_text(f'[site]\ntags = ["测试"]\n\n[[sources]]\nname = "测试公众号"\naccount = "{BIZ}"\n'
                                         f"list_delay = 0\n{extra}", encoding="utf-8")


def _harvest(root: Path, srv: HTTPServer, *extra: str):  # type: ignore[no-untyped-def]
    base = f"http://127.0.0.1:{srv.port}"
    return run_cli("harvest", "--out", str(root), "--delay", "0", *connect_args(srv),
                   "--connect-to", f"weread.qq.com={base}", "--connect-to", f"evil.example.org={base}", *extra)


def _no_secret_anywhere(root: Path, srv: HTTPServer, *outputs: str) -> None:
    """The session reached weread.qq.com's listing only: no other request, output, log or archive file holds it."""
    listed = 0
    for req, _ in srv.log:
        carried = str(req.headers) + req.full_path
        if req.path == "/web/mp/articles":
            listed += 1
            assert req.headers.get("Host") == "weread.qq.com" and SKEY in carried  # (the check can see it)
            assert "NotForWeRead" not in carried  # a cookie of another domain in the same file stays home
        else:
            assert not any(s in carried for s in SECRETS), req.path
    assert listed
    for text in outputs:
        assert not any(s in text for s in SECRETS)
    for p in root.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            assert not any(s.encode() in data for s in SECRETS), p


@pytest.mark.slow
def test_cron_sequence(server: HTTPServer, session: Path, tmp_path: Path) -> None:  # noqa: F811
    sends = sends_of(3)
    fake = FakeWeRead(server, sends).install()
    FakeWeChat(server, [a for s in sends for a in s]).install()  # the images
    root = tmp_path / "blog"
    _config(root)
    outputs: list[str] = []

    r = _harvest(root, server, "--log", str(root / ".wxarchive" / "harvest.log"), "-vv")  # the session is not logged, even at -vv
    outputs += [r.stdout, r.stderr]
    assert r.returncode == 0, r.stderr
    assert len(posts(root)) == 3
    asked = [req.path for req, _ in server.log if req.path.startswith("/s/")]
    assert sorted(asked) == sorted(f"/s/{token_of(s[0].mid)}" for s in sends)  # the '_' spelling WeChat accepts

    n = len(server.log)
    r = _harvest(root, server)  # nothing new: one listing request, no article request, silent
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert [req.path for req, _ in server.log[n:]] == ["/web/mp/articles"]

    two = make_articles(2, start=2247700000)
    FakeWeChat(server, two).install()
    fake.publish(two[1])
    fake.publish(two[0])
    r = _harvest(root, server)
    outputs += [r.stdout, r.stderr]
    assert (r.returncode, r.stderr) == (0, "") and len(posts(root)) == 5

    fake.fail = (401, json.dumps({"errCode": -2012, "errMsg": "登录超时"}))
    r = _harvest(root, server)
    outputs += [r.stdout, r.stderr]
    assert r.returncode == 5 and r.stdout == ""
    assert r.stderr.count("refresh the WeRead session") == 1
    r = _harvest(root, server)  # the same day: said once already
    assert (r.returncode, r.stdout, r.stderr) == (5, "", "")
    st = run_cli("status", "--out", str(root))
    assert "session_expired" in st.stdout

    fake.fail = None  # the user logged in again
    r = _harvest(root, server)
    assert (r.returncode, r.stderr) == (0, "")

    fake.fail = (429, "")
    r = _harvest(root, server)
    outputs += [r.stdout, r.stderr]
    assert r.returncode == 1 and "429" in r.stderr and "benched" in r.stderr
    n = len(server.log)
    r = _harvest(root, server)
    assert (r.returncode, r.stderr) == (0, "")
    assert [req for req, _ in server.log[n:] if req.path == "/web/mp/articles"] == []
    assert len(posts(root)) == 5
    _no_secret_anywhere(root, server, *outputs)


def test_a_redirect_is_not_followed_with_the_session(server: HTTPServer, session: Path, tmp_path: Path) -> None:  # noqa: F811
    server.expect_request("/web/mp/articles").respond_with_data(
        "", status=302, headers={"Location": "https://evil.example.org/steal"})
    root = tmp_path / "blog"
    _config(root)
    r = _harvest(root, server, "-v")
    assert r.returncode == 1 and "redirected" in r.stderr
    assert [req.path for req, _ in server.log] == ["/web/mp/articles"]
    kept = list((root / ".wxarchive" / "layout").glob("weread-*.json"))
    assert len(kept) == 1 and str(kept[0]) in r.stderr
    _no_secret_anywhere(root, server, r.stdout, r.stderr)
    time.sleep(1.1)  # (a kept answer's name has the second in it)
    r = _harvest(root, server)  # the same broken shape is neither mailed nor kept twice
    assert (r.returncode, r.stderr) == (0, "")
    assert len(list((root / ".wxarchive" / "layout").glob("weread-*.json"))) == 1


def test_a_session_in_the_archive_config_is_refused(server: HTTPServer, session: Path, tmp_path: Path) -> None:  # noqa: F811
    root = tmp_path / "blog"
    _config(root, f'cookies = "wr_skey={SKEY}"\n')
    r = _harvest(root, server)
    assert r.returncode == 2 and "own config folder" in r.stderr
    assert list(server.log) == []


@pytest.mark.slow
def test_killed_mid_run_the_next_run_loses_nothing(server: HTTPServer, session: Path, tmp_path: Path) -> None:  # noqa: F811
    """The listing stops at the first archived post: what a killed run listed but did not archive must be
    remembered (pending) before the first article is fetched, or the next run would never list it again."""
    import os
    import signal
    import subprocess
    import sys
    import threading

    sends = sends_of(3)
    arts = [a for s in sends for a in s]
    entered, release = threading.Event(), threading.Event()
    middle = arts[1]

    def slow(request: Request) -> Response:
        entered.set()
        release.wait(30)
        return Response(middle.html(), content_type="text/html; charset=utf-8")

    server.expect_request(f"/s/{token_of(middle.mid)}").respond_with_handler(slow)
    FakeWeRead(server, sends).install()
    FakeWeChat(server, arts).install()
    root = tmp_path / "blog"
    _config(root)
    base = f"http://127.0.0.1:{server.port}"
    cmd = [sys.executable, "-m", "wxarchive", "harvest", "--out", str(root), "--delay", "0", *connect_args(server),
           "--connect-to", f"weread.qq.com={base}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert entered.wait(60)
        deadline = time.monotonic() + 60
        while not posts(root) and time.monotonic() < deadline:  # the newest is written; the middle one hangs
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        release.set()
    assert len(posts(root)) == 1  # the newest only
    r = _harvest(root, server)
    assert (r.returncode, r.stderr) == (0, "")
    assert len(posts(root)) == 3
    asked = [req.path for req, _ in server.log if req.path.startswith("/s/")]
    assert asked.count(f"/s/{token_of(arts[0].mid)}") == 1  # nothing fetched twice
    _no_secret_anywhere(root, server, r.stdout, r.stderr)  # nor left by the killed run


# ---------------------------------------------------------------- wxarchive login weread
def test_login_keeps_only_weread_cookies_private_and_checks_them(server: HTTPServer, tmp_path: Path,  # noqa: F811
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    exported = tmp_path / "weread.txt"
    exported.write_text(COOKIES, encoding="utf-8")
    (tmp_path / "t.txt").write_text(f"x-wr-ticket: {TICKET}\n", encoding="utf-8")
    r = run_cli("login", "weread", "--cookies", str(exported), "--ticket", str(tmp_path / "t.txt"))
    assert r.returncode == 0 and r.stdout == "" and "kept" in r.stderr
    kept = xdg / "wxarchive" / COOKIES_FILE
    assert kept.stat().st_mode & 0o777 == 0o600 and (xdg / "wxarchive" / TICKET_FILE).stat().st_mode & 0o777 == 0o600
    assert SKEY in kept.read_text() and "NotForWeRead" not in kept.read_text()

    fake = FakeWeRead(server, sends_of(3), need_ticket=True).install()
    root = tmp_path / "blog"
    _config(root)
    base = f"http://127.0.0.1:{server.port}"
    r = run_cli("login", "weread", "--status", "--out", str(root), "--connect-to", f"weread.qq.com={base}")
    assert (r.returncode, r.stdout) == (0, "weread session works: 2 post(s) in the newest 2 send(s) of 测试公众号\n")
    fake.fail = (200, {"errcode": -2012, "errmsg": "登录超时"})
    r2 = run_cli("login", "weread", "--status", "--account", BIZ, "--connect-to", f"weread.qq.com={base}")
    assert r2.returncode == 5 and "refresh the WeRead session" in r2.stderr
    _no_secret_anywhere(root, server, r.stdout, r.stderr, r2.stdout, r2.stderr)

    bad = tmp_path / "other.txt"
    bad.write_text(".mp.weixin.qq.com\tTRUE\t/\tTRUE\t0\tpass_ticket\tx\n", encoding="utf-8")
    r = run_cli("login", "weread", "--cookies", str(bad))
    assert r.returncode == 2 and "wr_skey" in r.stderr and SKEY in kept.read_text()  # the kept one stays


def test_login_ignores_a_cookies_default_meant_for_wechat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``cookies = …`` in a config file (the user's, or an archive's [options]) is for WeChat's pages: ``login``
    does not take it as the WeRead session."""
    xdg = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    (xdg / "wxarchive").mkdir(parents=True)
    other = tmp_path / "wechat.txt"
    other.write_text(COOKIES, encoding="utf-8")
    (xdg / "wxarchive" / "config.toml").write_text(f'cookies = "{other}"\n', encoding="utf-8")
    r = run_cli("login", "weread")
    assert r.returncode == 2 and "--cookies FILE" in r.stderr
    assert not (xdg / "wxarchive" / COOKIES_FILE).exists()
    r = run_cli("login", "weread", "--status", "--account", BIZ)  # no session kept: said before any request
    assert r.returncode == 5 and "no WeRead session" in r.stderr


def test_dry_run_lists_the_account_and_writes_nothing(server: HTTPServer, session: Path, tmp_path: Path) -> None:  # noqa: F811
    FakeWeRead(server, sends_of(3)).install()
    root = tmp_path / "blog"
    _config(root, "max_pages = 1\n")
    before = sorted(p.name for p in root.rglob("*"))
    r = _harvest(root, server, "--dry-run")
    assert r.returncode == 0, r.stderr
    assert [ln.split()[0] for ln in r.stdout.splitlines()] == ["new", "new"]
    assert sorted(p.name for p in root.rglob("*")) == before
    assert [req.path for req, _ in server.log] == ["/web/mp/articles"]


def test_an_account_off_the_shelf_does_not_stop_the_others(server: HTTPServer, session: Path, tmp_path: Path) -> None:  # noqa: F811
    """-2041 may be one account's (not on the user's WeRead shelf): that account is reported (once a day),
    the next account is still listed and archived."""
    sends = sends_of(2)
    FakeWeRead(server, sends, off_shelf={BOOK}).install()
    FakeWeChat(server, [a for s in sends for a in s]).install()
    root = tmp_path / "blog"
    _config(root, f'\n[[sources]]\nname = "另一个号"\naccount = "{OTHER_BIZ}"\nlist_delay = 0\n')
    r = _harvest(root, server)
    assert r.returncode == 5 and r.stderr.count("-2041") == 1 and "on your WeRead shelf" in r.stderr
    assert f"of {BOOK}" in r.stderr and len(posts(root)) == 2
    books = [req.args["bookId"] for req, _ in server.log if req.path == "/web/mp/articles"]
    assert books[0] == BOOK and set(books[1:]) == {OTHER_BOOK}
    r = _harvest(root, server)
    assert (r.returncode, r.stderr) == (5, "")


# ---------------------------------------------------------------- wxarchive accounts add | ls
def test_accounts_add_from_an_article_link_then_harvest_and_ls(server: HTTPServer, session: Path,  # noqa: F811
                                                               tmp_path: Path) -> None:
    import tomllib

    root = tmp_path / "blog"
    root.mkdir()
    (root / "wxarchive.toml").write_text('[site]\ntags = ["测试"]\n\n[check]\nmax = 5', encoding="utf-8")
    link = f"https://mp.weixin.qq.com/s?__biz={BIZ.replace('=', '%3D')}&mid=2247480001&idx=1&sn=ab#rd"
    r = run_cli("accounts", "add", link, "--name", "测试 \"公众号\"", "--out", str(root))
    assert r.returncode == 0 and BOOK in r.stderr
    cfg = tomllib.loads((root / "wxarchive.toml").read_text(encoding="utf-8"))
    assert cfg["check"] == {"max": 5} and cfg["sources"] == [{"name": "测试 \"公众号\"", "account": link}]
    r = run_cli("accounts", "add", BIZ, "--out", str(root))  # the same account, spelled as its __biz
    assert r.returncode == 2 and "followed already" in r.stderr
    assert run_cli("accounts", "add", "南宁市反诈骗", "--out", str(root)).returncode == 2  # a name: no search

    sends = sends_of(2)
    FakeWeRead(server, sends).install()
    FakeWeChat(server, [a for s in sends for a in s]).install()
    cfg_text = (root / "wxarchive.toml").read_text(encoding="utf-8")
    (root / "wxarchive.toml").write_text(cfg_text + "list_delay = 0\n", encoding="utf-8")
    assert _harvest(root, server).returncode == 0
    r = run_cli("accounts", "ls", "--out", str(root), "--json")
    row = json.loads(r.stdout)
    assert (row["account"], row["archived"], row["history"], row["session"]) == (BOOK, 2, "complete", "kept")
    r = run_cli("accounts", "ls", "--out", str(root))
    assert r.stdout.startswith(f"测试 \"公众号\" ({BOOK}): last listed 20") and "archived 2" in r.stdout


def test_a_cookie_a_header_cannot_carry_is_left_out_never_shown(server: HTTPServer, session: Path) -> None:  # noqa: F811
    fake = FakeWeRead(server, sends_of(1)).install()
    (session / "wxarchive" / COOKIES_FILE).write_text(COOKIES.replace(f"\t{SKEY}\n", f"\t{SKEY} 中\x7f\n"),
                                                      encoding="utf-8")
    with pytest.raises(SessionExpired, match="cannot carry") as e:
        list_account(channel(server), BOOK, never, {}, list_delay=0)
    assert SKEY not in e.value.message and fake.offsets() == []


def _firefox_profile(home: Path, cookies: list[tuple[str, str, str]]) -> None:
    """A Firefox profile as Firefox lays it out (profiles.ini + cookies.sqlite), holding these cookies."""
    import sqlite3

    root = home / ".mozilla" / "firefox"
    (root / "abcd1234.default-release").mkdir(parents=True)
    (root / "profiles.ini").write_text("[Profile0]\nName=default-release\nIsRelative=1\n"
                                       "Path=abcd1234.default-release\nDefault=1\n", encoding="utf-8")
    db = sqlite3.connect(root / "abcd1234.default-release" / "cookies.sqlite")
    db.execute("CREATE TABLE moz_cookies (id INTEGER PRIMARY KEY, name TEXT, value TEXT, host TEXT, path TEXT, "
               "expiry INTEGER, isSecure INTEGER, isHttpOnly INTEGER)")
    db.executemany("INSERT INTO moz_cookies (name, value, host, path, expiry, isSecure, isHttpOnly) "
                   "VALUES (?, ?, ?, '/', 4102444800, 1, 1)", cookies)
    db.commit()
    db.close()


def test_login_reads_the_session_from_the_browser_s_own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 26: `login weread --cookies-from-browser firefox` keeps the weread.qq.com cookies of the
    browser's own store (browser-cookie3), 0600, none of another site's, none printed."""
    pytest.importorskip("browser_cookie3")
    home, xdg = tmp_path / "home", tmp_path / "xdg"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    _firefox_profile(home, [("wr_vid", VID, ".weread.qq.com"), ("wr_skey", SKEY, ".weread.qq.com"),
                            ("wr_rt", RT, ".weread.qq.com"), ("NotForWeRead", "x", ".mp.weixin.qq.com")])
    r = run_cli("login", "weread", "--cookies-from-browser", "firefox")
    assert r.returncode == 0 and r.stdout == "" and "kept" in r.stderr, r.stderr
    kept = xdg / "wxarchive" / COOKIES_FILE
    assert kept.stat().st_mode & 0o777 == 0o600
    assert SKEY in kept.read_text() and VID in kept.read_text() and "NotForWeRead" not in kept.read_text()
    assert SKEY not in r.stderr

    r = run_cli("login", "weread", "--cookies-from-browser", "chrome")  # no Chrome here: one line, exit 2
    assert r.returncode == 2 and "chrome" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert SKEY in kept.read_text(), "the kept session stays"
