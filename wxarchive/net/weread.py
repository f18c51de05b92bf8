"""Follow a whole public account through 微信读书 (WeRead), the listing channel that still lives.

WeChat closed the admin-site listing (``cgi-bin/appmsgpublish``) on 2026-07-30; it is not used.
WeRead shows an account as the "book" ``MP_WXS_<n>``, where ``n`` is the number its base64
``__biz`` decodes to, and lists its mass-sent (群发) posts to a logged-in WeRead web session:

    GET https://weread.qq.com/web/mp/articles?bookId=MP_WXS_<n>&offset=<k>

What the public clients (we-mp-rss, wewe-rss, weread.koplugin) and their issues report, and what
this module does with each report, including where they disagree:

* the answer is ``reviews[]``, one per send, whose ``subReviews[]`` are its posts; the post's fields
  (``reviewId``, ``mpInfo.title/originalId/time/pic_url/content``) sit on the sub-review itself or in
  a nested ``review`` object: both are read;
* the only link is ``https://mp.weixin.qq.com/s/<originalId>``; ``originalId`` may spell base64url's
  ``_`` as ``~`` (:func:`wxarchive.urls.short_token` reads both as one article); when it is missing,
  the ``reviewId`` ``MP_WXS_<n>_<originalId>`` names it;
* ``offset`` counts sends; the page size is the server's; the end is an empty ``reviews``;
* ``errCode``/``errcode`` -2012 (登录超时, HTTP 401 or 200), -2010/-2013 (no such user, session
  replaced) and -2041 (needs a refresh, a missing ``x-wr-ticket``, or an account not on the user's
  shelf) all mean "the session must be refreshed": :class:`SessionExpired`, never a verdict on
  articles; all but -2041 stop every account source of the run, -2041 that account only;
* HTTP 429 benches the WeRead account for the day (until midnight, China time): :class:`Throttled`;
* ``x-wr-ticket`` is required by some reports and optional by others: it is sent when the user
  saved one, and its absence is named in the -2041 message;
* any other shape is :class:`ChannelBroken`, its answer kept for a bug report, never guessed around.

The session is the user's own: Netscape ``cookies.txt`` at ``~/.config/wxarchive/weread-cookies.txt``
(only ``weread.qq.com`` cookies are read from it) and an optional ``weread-ticket.txt``, both in the
user's config folder, never in an archive (whose ``wxarchive.toml`` may come from someone else). It
is sent only to ``weread.qq.com``, with no redirect followed, and never printed, logged or saved.
The article pages themselves are public and fetched as always, without it.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import os
import random
import re
import time
import weakref
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Callable

from wxarchive.archive.site import atomic_write
from wxarchive.archive.store import StateKey
from wxarchive.config import user_config_path
from wxarchive.errors import FetchError, UsageError, WxError
from wxarchive.layout import LAYOUT_DIR
from wxarchive.net.routing import load_cookies
from wxarchive.urls import ARTICLE_HOST, article_key, is_article_url, short_token, url_ids

if TYPE_CHECKING:
    import httpx

__all__ = ["ChannelBroken", "Listing", "Post", "SessionExpired", "State", "Throttled", "book_id_of",
           "channel_for", "list_account", "parse_articles"]

log = logging.getLogger(__name__)

WEREAD_HOST = "weread.qq.com"
LIST_PATH = "/web/mp/articles"
COOKIES_FILE = "weread-cookies.txt"
TICKET_FILE = "weread-ticket.txt"
# Seconds between two WeRead listing requests (times 1 to 1.5): the anchors' users were benched
# (小黑屋) for a day after bursts of a few accounts; the clients that last wait 5-25 s a page.
DEFAULT_LIST_DELAY = 15.0
DEFAULT_MAX_PAGES = 5  # listing pages per account and run; a longer history goes on next run
MAX_ANSWER_BYTES = 8 << 20
SESSION_CODES = {-2010: "用户不存在", -2012: "登录超时", -2013: "鉴权失败", -2041: "needs a refresh"}
_CST = dt.timezone(dt.timedelta(hours=8))
_DIGITS = re.compile(r"[1-9][0-9]{0,19}")
_COOKIE_OK = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")  # RFC 6265 cookie-octets


class State(StrEnum):
    """How one account listing ended (``wxarchive status`` shows it)."""

    OK = "ok"
    THROTTLED = "throttled"
    SESSION_EXPIRED = "session_expired"
    CHANNEL_BROKEN = "channel_broken"


class SessionExpired(WxError):
    """The WeRead session must be refreshed: stops account sources only, says nothing of articles."""

    code = State.SESSION_EXPIRED.value
    exit_code = 5

    def __init__(self, message: str, *, url: str = "", errcode: int = 0) -> None:
        super().__init__(message, url=url)
        self.errcode = errcode

    @property
    def whole_session(self) -> bool:
        """-2041 may be one account's (not on the user's shelf): the others are still asked."""
        return self.errcode != -2041


class Throttled(WxError):
    """WeRead benched the account (HTTP 429): no WeRead request until ``until`` (unix time)."""

    code = State.THROTTLED.value

    def __init__(self, message: str, *, until: float, url: str = "") -> None:
        super().__init__(message, url=url)
        self.until = until


class ChannelBroken(WxError):
    """WeRead answered in a shape nobody reported: kept for a bug report, never guessed around."""

    code = State.CHANNEL_BROKEN.value

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message, url=url)
        self.reason = message  # the message without where the answer is kept (reported once per reason)


# ---------------------------------------------------------------- the account's book id
def _biz_number(biz: str) -> str | None:
    """The decimal account number a base64 ``__biz`` holds (``MzA5NjQ0MjY2Mw==`` -> ``3096442663``)."""
    text = biz.strip()
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    n = raw.decode("ascii", "replace")
    return n if _DIGITS.fullmatch(n) else None


def book_id_of(account: str) -> str:
    """``MP_WXS_<n>`` for an account given as its ``__biz``, an article link carrying one, or the book id.

    No search is made: a name is refused (two accounts can share one)."""
    a = account.strip()
    if a.startswith("MP_WXS_") and _DIGITS.fullmatch(a[7:]):
        return a
    if a.startswith(("http://", "https://")):
        biz = url_ids(a).get("biz", "") if is_article_url(a) else ""
        if not biz:
            raise UsageError(f"account {account!r}: the link carries no __biz; give the account's __biz or a "
                             "long article link (mp.weixin.qq.com/s?__biz=…)")
        a = biz
    n = _biz_number(a)
    if n is None:
        raise UsageError(f"account {account!r} is not a __biz (base64 of the account's number), an article link "
                         "with one, or MP_WXS_<number>")
    return f"MP_WXS_{n}"


# ---------------------------------------------------------------- one answer
@dataclass(frozen=True)
class Post:
    url: str
    title: str
    published: int  # unix time; 0 when the answer gave none


def _field(name: str, *places: Any) -> Any:
    for p in places:
        if isinstance(p, dict) and p.get(name) not in (None, ""):
            return p[name]
    return None


def _int(v: Any) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


def session_error(code: int, message: str, ticket: bool, book: str = "") -> SessionExpired:
    """The one line that tells the user what to do; -2041 has several reported causes, all named."""
    of = f" of {book}" if code == -2041 and book else ""
    what = f"WeRead refused the listing{of} (errCode {code}{': ' + message if message else ''})"
    hint = ("refresh the WeRead session: log in at https://weread.qq.com, export its cookies and run "
            "'wxarchive login weread --cookies FILE' again")
    if code == -2041:
        hint += ("; if your browser sends an x-wr-ticket header to /web/mp/articles, give it too (--ticket FILE)"
                 + (" (the kept one may be stale)" if ticket else "")
                 + "; and check the account is on your WeRead shelf")
    return SessionExpired(f"{what} — {hint}", errcode=code)


def parse_articles(text: str, book: str, *, ticket: bool = False) -> tuple[list[list[Post]], int]:
    """The sends of one answer (each a list of posts, newest first) and how many posts had no usable link."""
    try:
        doc = json.loads(text)
    except ValueError:
        raise ChannelBroken(f"WeRead's answer for {book} is not JSON ({text[:60]!r})") from None
    if not isinstance(doc, dict):
        raise ChannelBroken(f"WeRead's answer for {book} is a JSON {type(doc).__name__}, not an object")
    code = _int(_field("errCode", doc) or _field("errcode", doc))
    if code:
        msg = str(_field("errMsg", doc) or _field("errmsg", doc) or "")[:120]
        if code in SESSION_CODES:
            raise session_error(code, msg, ticket, book)
        raise ChannelBroken(f"WeRead answered errCode {code} for {book}{': ' + msg if msg else ''}")
    reviews = doc.get("reviews")
    if not isinstance(reviews, list):
        raise ChannelBroken(f"WeRead's answer for {book} has no reviews list (keys: {', '.join(sorted(doc)[:12])})")
    sends: list[list[Post]] = []
    unusable = 0
    for review in reviews:
        subs = review.get("subReviews") if isinstance(review, dict) else None
        if not isinstance(subs, list):
            raise ChannelBroken(f"WeRead's answer for {book}: a send without a subReviews list")
        posts = []
        for sub in subs:
            inner = sub.get("review") if isinstance(sub, dict) else None
            mp = _field("mpInfo", inner, sub)
            oid = str(_field("originalId", mp, inner, sub) or "")
            if not oid:
                rid = str(_field("reviewId", inner, sub) or "")
                oid = rid[len(book) + 1:] if rid.startswith(book + "_") else ""
            oid = oid.replace("%7E", "~").replace("%7e", "~")
            token = short_token(oid)
            if not token or len(token) != len(oid):
                unusable += 1
                log.warning("WeRead listed a post of %s with no usable link (originalId %r)", book, oid[:40])
                continue
            posts.append(Post(f"https://{ARTICLE_HOST}/s/{token}", str(_field("title", mp) or "")[:300],
                              _int(_field("time", mp) or _field("createTime", inner, sub, review))))
        sends.append(posts)
    if reviews and unusable and not any(sends):
        raise ChannelBroken(f"WeRead listed {unusable} post(s) of {book} and none has a link (originalId)")
    return sends, unusable


# ---------------------------------------------------------------- the user's session
@dataclass
class Session:
    cookies: dict[str, str]
    ticket: str

    def header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def secrets(self) -> list[str]:
        return [v for v in [*self.cookies.values(), self.ticket] if len(v) >= 4]


def session_dir() -> Path:

    return user_config_path().parent


def for_weread(domain: str) -> bool:
    """A cookie a browser would send to weread.qq.com (``weread.qq.com``, ``.weread.qq.com``, ``.qq.com``)."""
    d = domain.lstrip(".").lower()
    return d == WEREAD_HOST or ("." in d and WEREAD_HOST.endswith("." + d))


def load_session(folder: Path | None = None) -> Session:
    """The user's WeRead session, from their own config folder only (never from an archive)."""

    folder = folder or session_dir()
    path = folder / COOKIES_FILE
    if not path.is_file():
        raise SessionExpired("no WeRead session: log in at https://weread.qq.com, export its cookies (Netscape "
                             f"cookies.txt) and run 'wxarchive login weread --cookies FILE' (it keeps them in {path})")
    try:
        jar = load_cookies(str(path))
    except UsageError as e:
        raise SessionExpired(f"the WeRead session cannot be read: {e.message}") from None
    cookies = {c.name: c.value or "" for c in jar if for_weread(c.domain)}
    for k in [k for k, v in cookies.items() if not _COOKIE_OK.fullmatch(k) or not _COOKIE_OK.fullmatch(v)]:
        # a cookie a header cannot carry is left out (sent, it would fail the request with its value in the
        # error message); it is named, never shown
        log.warning("WeRead session: the cookie %r has characters a Cookie header cannot carry; left out", k[:40])
        del cookies[k]
    if not cookies.get("wr_skey") or not cookies.get("wr_vid"):
        raise SessionExpired(f"the WeRead session in {path} has no wr_vid/wr_skey cookie for weread.qq.com; "
                             "export the cookies again from a browser logged in at https://weread.qq.com")
    if os.name == "posix" and path.stat().st_mode & 0o077:
        log.warning("%s can be read by other users; chmod 600 it", path)
    ticket = ""
    tpath = folder / TICKET_FILE
    if tpath.is_file():
        ticket = tpath.read_text(encoding="utf-8", errors="replace").strip().removeprefix("x-wr-ticket:").strip()
        if not re.fullmatch(r"[\x21-\x7e]{1,4096}", ticket):
            raise SessionExpired(f"{tpath} does not hold an x-wr-ticket value (one line of plain characters)")
    return Session(cookies, ticket)


# ---------------------------------------------------------------- the channel (one per run)
def _midnight_after(t: float) -> float:
    day = dt.datetime.fromtimestamp(t, _CST).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(), _CST).timestamp()


def _when(t: float) -> str:
    return dt.datetime.fromtimestamp(t, _CST).strftime("%Y-%m-%d %H:%M CST")


@dataclass
class Channel:
    """The WeRead requests of one run: the session, pacing across accounts, and what is reported once.

    ``kv`` is the archive's state (global key ``weread``): the bench, and which problem was last
    reported and when, so that cron mails a problem once (an expiry once a day), not every run."""

    transport: httpx.BaseTransport
    timeout: dict[str, Any]
    store: Any
    state_dir: Path | None
    write: bool
    user_agent: str
    session: Session | None = None
    stopped: WxError | None = None  # a session or bench problem met this run: later accounts do not ask
    _last: float = 0.0
    kv: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.kv = dict(self.store.get_kv(StateKey.WEREAD) or {})

    def _save(self) -> None:
        if self.write:
            self.store.set_kv(StateKey.WEREAD, self.kv)

    def _pace(self, delay: float) -> None:
        if delay > 0 and self._last:
            wait = self._last + delay * random.uniform(1.0, 1.5) - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        self._last = time.monotonic()

    def quiet(self, e: WxError, book: str) -> bool:
        """Was this problem reported already (an expiry today, the same broken shape, a bench)?

        What was said is kept per account (``book``), or for the whole session."""
        if isinstance(e, Throttled):
            return bool(getattr(e, "_known", False))
        today = dt.datetime.now(_CST).strftime("%Y-%m-%d")
        whole = isinstance(e, SessionExpired) and e.whole_session
        mark = f"{today} {e.message}" if isinstance(e, SessionExpired) else str(getattr(e, "reason", e.message))
        said = self.kv.setdefault("reported", {})
        if said.get("session" if whole else book) == mark:
            return True
        said["session" if whole else book] = mark
        self._save()
        return False

    def ok(self, book: str) -> None:
        """A listing of ``book`` went through: the session's problems and this account's are over."""
        said = self.kv.get("reported") or {}
        if "benched_until" in self.kv or "session" in said or book in said:
            self.kv.pop("benched_until", None)
            said.pop("session", None)
            said.pop(book, None)
            self._save()

    def page(self, book: str, offset: int, delay: float) -> tuple[list[list[Post]], int]:
        """One listing page; every failure is a typed error (see the module's docstring)."""
        if self.stopped is not None:
            raise self.stopped
        until = float(self.kv.get("benched_until") or 0)
        if until > time.time():
            e = Throttled(f"WeRead benched this WeRead account (429); no listing before {_when(until)}", until=until)
            e._known = True  # type: ignore[attr-defined]
            self.stopped = e
            raise e
        if self.session is None:
            try:
                self.session = load_session()
            except SessionExpired as e:
                self.stopped = e
                raise
        self._pace(delay)
        try:
            status, text = self._get(book, offset)
        except (SessionExpired, Throttled) as e:
            if not isinstance(e, SessionExpired) or e.whole_session:
                self.stopped = e
            raise
        try:
            return parse_articles(text, book, ticket=bool(self.session.ticket))
        except SessionExpired as e:
            if e.whole_session:
                self.stopped = e
            raise
        except ChannelBroken as e:
            self._keep(book, offset, status, text, e)
            raise

    def _get(self, book: str, offset: int) -> tuple[int, str]:
        import httpx

        from wxarchive.net.fetch import USER_AGENT

        assert self.session is not None
        url = f"https://{WEREAD_HOST}{LIST_PATH}?bookId={book}&offset={offset}"
        headers = {"User-Agent": self.user_agent or USER_AGENT, "Accept": "application/json, text/plain, */*",
                   "Accept-Encoding": "gzip", "Accept-Language": "zh-CN,zh;q=0.9",
                   "Referer": f"https://{WEREAD_HOST}/", "Cookie": self.session.header()}
        if self.session.ticket:
            headers["x-wr-ticket"] = self.session.ticket
        req = httpx.Request("GET", url, headers=headers, extensions={"timeout": self.timeout})
        if req.url.host != WEREAD_HOST:  # pragma: no cover - the URL is built above
            raise AssertionError("the WeRead session goes to weread.qq.com only")
        t0 = time.monotonic()
        try:
            resp = self.transport.handle_request(req)
            resp.request = req
            try:
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES:
                        raise ChannelBroken(f"WeRead's answer for {book} is over {MAX_ANSWER_BYTES >> 20} MB")
            finally:
                resp.close()
        except httpx.HTTPError as e:
            log.info("GET %s -> %s (%.2f s)", url, type(e).__name__, time.monotonic() - t0)
            raise FetchError(f"WeRead listing of {book} failed: {type(e).__name__}", url=url,
                             transport=isinstance(e, httpx.TransportError)) from None
        status = resp.status_code
        log.info("GET %s -> %d (%.2f s)", url, status, time.monotonic() - t0)
        text = bytes(body).decode("utf-8", "replace")
        if status == 429:
            until = max(_midnight_after(time.time()), time.time() + _retry_after(resp.headers.get("retry-after")))
            self.kv["benched_until"] = until
            self._save()
            raise Throttled(f"WeRead answered 429 Too Many Requests: the WeRead account is benched for the day; "
                            f"account sources wait until {_when(until)} (the other sources go on)", until=until)
        if status == 401:
            code = -2012
            try:
                code = _int(json.loads(text).get("errCode") or json.loads(text).get("errcode")) or -2012
            except (ValueError, AttributeError):
                pass
            raise session_error(code, f"HTTP 401{', 登录超时' if code == -2012 else ''}", bool(self.session.ticket),
                                book)
        if 300 <= status < 400:
            to = resp.headers.get("location", "").split("?")[0][:200]
            raise self._broken(book, offset, status, text, f"WeRead redirected the listing of {book} (HTTP {status}"
                               f"{' to ' + to if to else ''}); not followed")
        if status >= 500:
            raise FetchError(f"WeRead answered HTTP {status} listing {book}", url=url, status=status)
        if status != 200:
            raise self._broken(book, offset, status, text, f"WeRead answered HTTP {status} listing {book}")
        return status, text

    def _broken(self, book: str, offset: int, status: int, text: str, message: str) -> ChannelBroken:
        e = ChannelBroken(message)
        self._keep(book, offset, status, text, e)
        return e

    def _keep(self, book: str, offset: int, status: int, text: str, e: ChannelBroken) -> None:
        """Keep an unknown answer for a bug report (any session value in it blanked); name it in the message."""
        if not self.write or self.state_dir is None or e.reason in (self.kv.get("reported") or {}).values():
            return  # (an answer already kept and reported is not kept again on every cron run)

        for secret in self.session.secrets() if self.session else []:
            text = text.replace(secret, "<session>")
        path = self.state_dir / LAYOUT_DIR / f"weread-{book}-{time.strftime('%Y%m%d-%H%M%S')}.json"
        try:
            atomic_write(path, json.dumps({"request": f"{LIST_PATH}?bookId={book}&offset={offset}", "status": status,
                                           "answer": text[:200_000]}, ensure_ascii=False, indent=1).encode())
        except OSError:
            return
        e.args = (f"{e.message}; the answer is kept at {path}",)


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value or 0))
    except ValueError:
        return 0.0


_CHANNELS: weakref.WeakKeyDictionary[Any, Channel] = weakref.WeakKeyDictionary()


def channel_for(arch: Any) -> Channel:
    """The run's channel: made on the first account source of ``arch`` (an Archiver, or a dry run's view,
    which writes nothing), with its routes and proxy but none of its cookies."""
    ch = _CHANNELS.get(arch)
    if ch is None:
        from wxarchive.net.fetch import Routing

        routing = arch.fetcher._routing
        write = hasattr(arch, "archive_many")
        ch = Channel(transport=Routing(routing.routes, routing.proxy),
                     timeout=arch.fetcher.client.timeout.as_dict(), store=arch.store,
                     state_dir=getattr(arch.site, "state_dir", None) if write else None, write=write,
                     user_agent=str(arch.fetcher.client.headers.get("user-agent", "")))
        _CHANNELS[arch] = ch
    return ch


# ---------------------------------------------------------------- listing an account
@dataclass
class Listing:
    urls: list[str] = field(default_factory=list)
    pages: int = 0
    complete: bool = True  # the history is walked to its end (or to ``since``)
    unusable: int = 0


def _since(since: str) -> float:
    if not since:
        return 0.0
    try:
        day = dt.date.fromisoformat(since)
    except ValueError:
        raise UsageError(f"since = {since!r} is not a date like \"2024-01-01\"") from None
    return dt.datetime.combine(day, dt.time(), _CST).timestamp()


def list_account(channel: Channel, book: str, is_known: Callable[[str], bool], state: dict[str, Any], *,
                 since: str = "", max_pages: int = DEFAULT_MAX_PAGES, full: bool = False,
                 list_delay: float = DEFAULT_LIST_DELAY) -> Listing:
    """New post URLs of an account, newest first, within ``max_pages`` requests.

    The top is read until the first send already archived (the new posts since the last run). A
    history longer than one run can take (a first run, ``full``) goes on next run from ``state``'s
    ``cursor``, moved down by the sends published since. ``since`` ends the walk at that day. A send
    repeated because a post was published mid-listing (the pages shift) is listed once. ``state`` is
    changed in place; the caller saves it with the articles it lists."""
    floor = _since(since)
    out = Listing()
    seen: set[str] = set()
    budget = max(1, max_pages)
    cursor = state.get("cursor")
    walk_all = full and not state.get("done") and cursor is None

    def read(offset: int, stop_at_known: bool) -> tuple[str, int, int]:
        """Pages from ``offset``: (why it stopped, next offset, sends before the first known one)."""
        nonlocal budget
        fresh = 0
        while budget > 0:
            sends, bad = channel.page(book, offset, list_delay)
            budget -= 1
            out.pages += 1
            out.unusable += bad
            if not sends:
                return "end", offset, fresh
            for send in sends:
                if floor and send and all(0 < p.published < floor for p in send):
                    return "since", offset, fresh
                known = [p for p in send if is_known(p.url)]
                for p in send:
                    key = article_key(p.url) or p.url
                    if key not in seen and p not in known:
                        seen.add(key)
                        out.urls.append(p.url)
                if known and stop_at_known:
                    return "known", offset, fresh
                fresh += 1
            offset += len(sends)
        return "cap", offset, fresh

    why, offset, fresh = read(0, stop_at_known=not walk_all)
    if why in ("end", "since"):
        state.update(cursor=None, done=True)
    elif why == "cap":
        state.update(cursor=max(offset, int(cursor or 0) + fresh), done=False)
    elif cursor is not None:  # the top is known: go on down the history where the last run stopped
        why, offset, _ = read(int(cursor) + fresh, stop_at_known=False)
        state.update(cursor=offset if why == "cap" else None, done=why != "cap")
    out.complete = state.get("cursor") is None
    channel.ok(book)
    return out
