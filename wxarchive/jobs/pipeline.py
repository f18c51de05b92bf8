"""``archive_one`` / ``archive_many``: the only place that catches per-article errors.

Order for one article (gallery-dl's): check the state (no request for a known
long URL) -> fetch -> parse -> clean -> images -> render -> write raw page and
post atomically -> record in the state. Page requests are sequential and paced;
image downloads of one article overlap the fetch of the next.
"""
from __future__ import annotations

import collections
import concurrent.futures as cf
import dataclasses
import datetime as dt
import errno
import functools
import hashlib
import itertools
import json
import logging
import os
import re
import sqlite3
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import unquote, urlsplit

from wxarchive import layout
from wxarchive.interrupt import Interrupt, StopRequested
from wxarchive.errors import ErrorCode, ArchiveError, FetchError, InternalError, LayoutChanged, RateLimited, StateDamaged, Unavailable, UsageError, WxError
from wxarchive.archive.lock import WriteLock
from wxarchive.models import SHANGHAI, Article, Choices, Image, Page
from wxarchive.archive.site import Site, atomic_write, read_post_front_matter
from wxarchive.archive.store import ArticleRow, Status, Store, is_damage
from wxarchive.urls import article_key, decode_amp, find_article_urls, is_article_url, normalize_article_url, url_ids

# Imported where used, not here: the HTTP stack (net.fetch, net.images: httpx, an SSL context) when a
# request is due, and the page-reading and post-writing modules (extract.parse and clean, write.render,
# archive.rawpage: ~32 ms) when a page is read: a re-run of archived links (`get`, `import` with nothing
# new) needs neither.
if TYPE_CHECKING:
    from wxarchive.net.fetch import Fetcher
    from wxarchive.net.images import ImageSaver

__all__ = ["Archiver", "Options", "Outcome", "Reported", "Result", "check_source", "said"]

T = TypeVar("T")

log = logging.getLogger(__name__)
_STOP_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS)
_SQLITE_STOPS = {13: errno.ENOSPC, 8: errno.EROFS}  # SQLITE_FULL, SQLITE_READONLY: the same disk, seen by SQLite


def _stop_reason(e: OSError | sqlite3.Error) -> str:
    """Why no later article can be written either ("" when this failure is the article's own), in the
    system's words whichever writer met it first: a post's file or the state database."""
    if isinstance(e, OSError) and e.errno in _STOP_ERRNOS:
        return e.strerror or str(e)
    code = getattr(e, "sqlite_errorcode", 0) & 0xFF if isinstance(e, sqlite3.OperationalError) else 0
    return os.strerror(_SQLITE_STOPS[code]) if code in _SQLITE_STOPS else ""


MAX_IMAGE_TRIES = 5  # a failed image is tried again on later runs, this many times in all
_IMG_TAG = re.compile(r"<img\b[^>]*>", re.I)
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(["'])(.*?)\2""", re.S)


@dataclass
class Options:
    out: Path = Path("archive")
    no_images: bool = False
    force: bool = False
    media: bool = False
    keep_footers: bool = False
    max_attempts: int = 3
    retry_failed: bool = False
    concurrency: int = 4
    delay: tuple[float, float] = (2.0, 3.0)
    timeout: float = 20.0
    retries: int = 3
    backoff: float = 1.0
    connect_to: dict[str, str] = field(default_factory=dict)
    in_flight: int = 8
    outage_after: int = 3  # this many article pages in a row failing for transport reasons: the network is down
    attempt_gap: float = 3600.0  # failures closer together than this count as one attempt
    proxy: str | None = None  # None: HTTPS_PROXY/HTTP_PROXY/ALL_PROXY/NO_PROXY; "": none
    cookies: str | None = None  # a Netscape cookies.txt
    user_agent: str | None = None
    learn: bool = False  # on first meeting an account, read up to two of its linked articles to learn its footer (the CLI: on)
    ca_cert: str | None = None  # a PEM file of CA certificates trusted besides the default store


class Result(StrEnum):
    """What happened to one source (``Outcome.status``): the ``status`` of a ``--json`` line, as its value."""

    ARCHIVED = "archived"
    SKIPPED = "skipped"  # already archived: nothing fetched
    FAILED = "failed"
    REBUILT = "rebuilt"  # `rebuild` rendered the post again from its raw page
    HEALED = "healed"  # images an archived post lacked were fetched and the post rewritten


@dataclass
class Outcome:
    """What happened to one source: one JSON line under ``--json``.

    Every line has the same keys whatever the status (``null`` when unknown); ``post`` is the
    post's path as reachable from the current directory (``--out`` joined), for every status.
    """

    source: str
    status: Result
    error: str | None = None
    message: str | None = None
    post: str | None = None
    title: str | None = None
    key: str | None = None
    images: dict[str, int] = field(default_factory=lambda: {"found": 0, "saved": 0, "failed": 0})
    gave_up: bool = False  # failed for the last time: no later run tries again without --retry-failed
    url: str | None = None
    account: str | None = None
    published: str | None = None
    removed: list[dict[str, str]] = field(default_factory=list)  # the boilerplate blocks taken out, with why
    changed: bool | None = None  # `rebuild`: whether the post's bytes (or its name) changed

    def as_json(self) -> dict[str, Any]:
        url = self.url
        if url is None and is_article_url(self.source):
            url = normalize_article_url(self.source)
        d: dict[str, Any] = {"source": self.source, "status": str(self.status), "error": self.error, "url": url, "key": self.key,
             "account": self.account, "title": self.title, "published": self.published, "post": self.post,
             "images": self.images, "removed": self.removed}
        if self.message:
            d["message"] = self.message
        if self.gave_up:
            d["gave_up"] = True
        if self.changed is not None:
            d["changed"] = self.changed
        return d


def _removed(article: Article) -> list[dict[str, str]]:
    """What the cleaner took out of the body, as the state and ``--json`` keep it."""
    return [{"reason": r, "text": t} for r, t in article.stripped]


def _recorded_removed(stripped: str | None) -> list[dict[str, str]]:
    """The removed blocks a state row holds (a row of an older version, or a damaged one, holds none)."""
    try:
        items = json.loads(stripped or "[]")
    except ValueError:
        return []
    if not isinstance(items, list):
        return []
    return [{"reason": str(i.get("reason", "")), "text": str(i.get("text", ""))} for i in items if isinstance(i, dict)]


_GIVEN_UP = "  [given up: not asked for again; --retry-failed tries it]"
_URL_IN_ERROR = re.compile(r"(?:\s*\b(?:fetching|reading|for|from)\b)?\s*https?://\S+?(?=:\s|\s|$)")


def _say_images_failed(source: str, images: tuple[Image, ...]) -> None:
    """One line for an article's images that could not be saved this run (each URL only at -v): what a
    person needs is how many, why, and that nothing is lost."""
    from wxarchive.net.allowlist import REFUSED

    failed = [i for i in images if not i.local and i.error and i.error not in (REFUSED, "given up")]
    if not failed:
        return
    reasons = collections.Counter(" ".join(_URL_IN_ERROR.sub("", i.error or "").split()) or "error" for i in failed)
    why = ", ".join(r if n == len(failed) else f"{r} ×{n}" for r, n in reasons.most_common(2))
    if len(reasons) > 2:
        why += ", …"
    n = len(failed)
    log.warning("%s: %d image%s not saved (%s); the post keeps %s remote URL%s and the next run tries again",
                source, n, "s" if n != 1 else "", why, "their" if n != 1 else "its", "s" if n != 1 else "")


def _read_or_none(path: Path | None) -> bytes | None:
    try:
        return path.read_bytes() if path is not None else None
    except OSError:
        return None


def _written_for(post: Path, article: Article) -> bool:
    """Whether an unrecorded post file holds this article (its front matter names the same source)."""
    from wxarchive.write.frontmatter import FrontMatterError

    try:
        fm = read_post_front_matter(post, errors="replace")
    except (OSError, FrontMatterError):
        return False
    return fm is not None and fm.source_url in {article.canonical_url, article.url} - {""}


def _aliases(source: str, article: Article) -> list[str]:
    """Every key the article may be asked for by later: the source's, the short link's, the canonical URL."""
    keys = {article_key(source) if "://" in source else None, article_key(article.url),
            article.canonical_url, article_key(article.canonical_url)}
    return sorted(k for k in keys if k)


def check_source(source: str) -> str:
    """``"file"`` or ``"url"``; a UsageError for anything else (before any file or request)."""
    path = Path(source) if "://" not in source else None  # a URL list of 10,000 need not build 10,000 Paths
    if path is not None and (path.exists() or source.endswith((".html", ".htm"))):
        if path.is_dir():
            raise UsageError(f"{source} is a folder; give a saved .html page (or a link list to `wxarchive import`)")
        if not path.is_file():
            raise UsageError(f"cannot read {source}: no such file")
        return "file"
    if not source.startswith(("http://", "https://")):
        raise UsageError(f"not an http(s) URL or a readable file: {source}")
    if not is_article_url(source):
        raise UsageError(f"not a WeChat article URL: {source}")
    return "url"


_LEADING_URL = re.compile(r"((?:https?|file)://\S+?): (.*)", re.S)


def _said(source: str, message: str) -> str:
    """``source: message``, the source named once: most messages start with their own URL, often in
    another form of the same article (``%3D`` for ``=``, a ``file://`` URI for a saved page)."""
    m = _LEADING_URL.match(message)
    if m:
        first, rest = m.groups()
        same = first == source or (first.startswith("file:") and "://" not in source
                                   and Path(source).resolve().as_uri() == first)
        if not same and "://" in source:
            key = article_key(first)
            same = key is not None and key == article_key(source)
        if same:
            return f"{source}: {rest}"
    return message if source in message else f"{source}: {message}"


said = _said


@dataclass(frozen=True)
class _Redo:
    """How a rebuild makes a post again: the choices it was first made with, and its first archived_at."""

    keep_footers: bool = False
    no_images: bool = False
    archived_at: dt.datetime | None = None


def _holds(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def _same(image: Image) -> Image:
    """An image kept as it is (given up earlier), handed back through the pool like a download."""
    return image


def _archived_at(post: Path | None) -> dt.datetime | None:
    """The ``archived_at`` written in a post's front matter (a rebuild keeps it)."""
    from wxarchive.write.frontmatter import FrontMatterError

    if post is None:
        return None
    try:
        fm = read_post_front_matter(post, errors="replace")
    except (OSError, FrontMatterError):
        return None
    when = fm.time("archived_at") if fm else None
    return when.astimezone(SHANGHAI) if when else None


def _is_transport(e: FetchError) -> bool:
    """No HTTP answer at all (refused, reset, DNS, timeout): says nothing about the article."""
    return e.transport


def _read_file(path: Path) -> Page:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from None
    now = dt.datetime.now(dt.UTC)
    url = path.resolve().as_uri()
    return Page(url=url, final_url=url, status=200, content=data, fetched_at=now)


class Reported:
    """What a long run keeps of its outcomes once each was reported (:meth:`Archiver.archive_long`): a
    bit per input saying it was reported, and the facts the exit status is made of. Not the outcomes
    themselves (~1.5 KB each: 15 MB held by the end of a 10,000-article import, issue 24)."""

    __slots__ = ("_bits", "failed", "images_failed", "usage", "verify")

    def __init__(self) -> None:
        self._bits = bytearray()
        self.verify = self.usage = self.failed = self.images_failed = False

    @classmethod
    def of(cls, outcomes: Iterable[Outcome]) -> Reported:
        r = cls()
        for o in outcomes:
            r.note(o)
        return r

    def add(self, index: int, o: Outcome) -> None:
        """The outcome of the ``index``-th input."""
        if index >> 3 >= len(self._bits):
            self._bits.extend(bytes((index >> 3) - len(self._bits) + 1))
        self._bits[index >> 3] |= 1 << (index & 7)
        self.note(o)

    def note(self, o: Outcome) -> None:
        self.verify |= o.error == ErrorCode.VERIFY
        self.usage |= o.error == ErrorCode.USAGE
        self.failed |= o.status == Result.FAILED
        self.images_failed |= bool(o.images.get("failed")) and o.status in (Result.ARCHIVED, Result.HEALED,
                                                                              Result.REBUILT)

    def done(self, sources: list[str]) -> set[str]:
        """The sources (of the list the run was given) whose outcome was reported."""
        bits = self._bits
        return {s for i, s in enumerate(sources[:len(bits) * 8]) if bits[i >> 3] >> (i & 7) & 1}


class _InOrder:
    """Outcomes reported in input order while up to ``in_flight`` articles are still being written;
    kept as a list, or (``keep=False``) only as :class:`Reported`."""

    __slots__ = ("in_flight", "on_outcome", "outcomes", "pending", "reported", "settled")

    def __init__(self, in_flight: int, settled: Callable[[str, cf.Future[Outcome]], Outcome],
                 on_outcome: Callable[[Outcome], None] | None, keep: bool = True) -> None:
        self.in_flight, self.settled, self.on_outcome = in_flight, settled, on_outcome
        self.pending: collections.deque[tuple[int, str, cf.Future[Outcome] | Outcome]] = collections.deque()
        self.outcomes: list[Outcome] = []
        self.reported: Reported | None = None if keep else Reported()

    def add(self, index: int, source: str, item: cf.Future[Outcome] | Outcome) -> None:
        self.pending.append((index, source, item))
        self.emit()

    def _report(self, index: int, item: Outcome) -> None:
        if self.reported is None:
            self.outcomes.append(item)
        else:
            self.reported.add(index, item)
        if self.on_outcome:
            self.on_outcome(item)

    def emit_completed(self) -> None:
        """After a stop: report the outcomes that are there (an article finished, or one that failed
        before its images), in order; the articles the stop cut short are left out."""
        for index, _source, item in self.pending:
            if isinstance(item, cf.Future):
                if not item.done() or item.cancelled() or item.exception() is not None:
                    continue
                item = item.result()
            self._report(index, item)
        self.pending.clear()

    def emit(self, block: bool = False) -> None:
        """Report every outcome at the head that is ready; ``block``: wait for all of them."""
        while self.pending:
            index, source, item = self.pending[0]
            if isinstance(item, cf.Future):
                if not block and not item.done() and len(self.pending) < self.in_flight:
                    return
                item = self.settled(source, item)
            self.pending.popleft()
            self._report(index, item)


class Archiver:
    """One archive, one HTTP client, one image pool; use as a context manager."""

    def __init__(self, opts: Options, *, fetcher: Fetcher | None = None) -> None:
        self.opts = opts
        self.site = Site.open(opts.out)
        self._root = os.fspath(self.site.root)
        try:
            self.site.init()  # (a settings file it lays down is this run's settings)
            # serialises write-and-record between processes sharing the archive, and the
            # creation of the state database (switching it to WAL needs it alone)
            self._write_lock = WriteLock(self.site.state_dir)
            with self._write_lock.held():
                self.store = Store(self.site.state_db)
        except (OSError, sqlite3.Error) as e:
            raise ArchiveError(f"cannot write the archive at {self.site.root}: {e}") from None
        if fetcher is not None:
            self.__dict__["fetcher"] = fetcher
        self.blocked: RateLimited | None = None
        self.offline: FetchError | None = None  # set when the network looks down: the run stops, nothing counted
        self._deferred: list[tuple[str, FetchError]] = []  # transport failures not yet known to be the article's
        self._network_ok = False
        self._ahead: dict[str, ArticleRow] = {}  # see _looking_ahead
        self.stopped: ArchiveError | None = None  # the disk is full or read-only: no point fetching more
        self._images_asked: set[str] = set()  # articles whose images this run already asked for (see heal_images)
        # accounts whose footer this run learned more of, and when a post was last written with less of it
        # than the account's footer came to be (see _count_tail, _clean_again)
        self._learned_now: dict[str, float] = {}
        self.interrupt = Interrupt()  # Ctrl-C: the CLI's handler sets it (see interrupt.two_step_ctrl_c)

    @functools.cached_property
    def fetcher(self) -> Fetcher:
        """The HTTP client, made on first use: a saved page or a re-run of archived URLs needs none."""
        from wxarchive.net.fetch import Fetcher

        o = self.opts
        fetcher = Fetcher(connect_to=o.connect_to, timeout=o.timeout, retries=o.retries, backoff=o.backoff,
                          delay=o.delay, proxy=o.proxy, cookies=o.cookies, user_agent=o.user_agent,
                          ca_cert=o.ca_cert)
        fetcher.interrupt = self.interrupt
        return fetcher

    @functools.cached_property
    def saver(self) -> ImageSaver:
        from wxarchive.net.images import ImageSaver

        saver = ImageSaver(self.fetcher, self.site.image_dir, concurrency=self.opts.concurrency)
        saver.interrupt = self.interrupt
        return saver

    def close(self) -> None:
        if self.interrupt.hard.is_set():
            # the second Ctrl-C: downloads still waiting on a slow server are left (their temp files
            # removed now), not waited for; the client is not closed under them
            if "saver" in self.__dict__:
                self.saver.abandon()
        else:
            if "saver" in self.__dict__:
                self.saver.close()
            if "fetcher" in self.__dict__:
                self.fetcher.close()
        self.store.close()
        self._write_lock.close()

    def __enter__(self) -> Archiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- stage 1: everything up to the images (sequential, paced)
    def _prepare(self, source: str) -> tuple[Article, Page] | Outcome:
        if check_source(source) == "file":
            page = _read_file(Path(source))
        else:
            url = normalize_article_url(source)
            key = article_key(url)
            ahead = self._ahead.pop(key, None) if key else None  # archived, read with its neighbours
            if ahead is not None and ahead.post_path:
                post = os.path.join(self._root, ahead.post_path)
                if os.path.isfile(post):
                    return self._skipped(source, ahead, post)
            rec = self.store.get(key) if key and not self.opts.force else None  # one lookup, no request
            if rec and rec.status == Status.ARCHIVED and rec.post_path:
                post = os.path.join(self._root, rec.post_path)  # (strings, no Path per URL: re-runs)
                if os.path.isfile(post):
                    return self._skipped(source, rec, post)
            if rec and not self.opts.retry_failed:  # noqa: SIM102 (one case of several to come)
                if rec.status == Status.GAVE_UP and (rec.permanent or rec.attempts >= self.opts.max_attempts):
                    return self._given_up_earlier(source, rec)
            if self.blocked is not None:
                raise self.blocked
            try:
                page = self.fetcher.page(url)
            except FetchError as e:
                if not _is_transport(e):
                    self._answered()
                raise
            self._answered()
        try:
            return self._understand(source, page)
        except (WxError, OSError, sqlite3.Error):
            raise
        except Exception as e:
            raise self._crashed(source, page, e, "reading") from None

    def _crashed(self, source: str, page: Page | None, e: Exception, stage: str) -> InternalError:
        """A bug met on one article: keep its page, log the traceback (-v), fail only this article."""
        log.info("%s: unexpected %s while %s it", source, type(e).__name__, stage, exc_info=e)
        saved = ""
        if page is not None:
            try:
                saved = str(self._keep_layout_page(page))
            except OSError:
                saved = ""
        where = f"; raw page kept at {saved}" if saved else ""
        return InternalError(f"internal error while {stage} the page: {type(e).__name__}: {e}{where} "
                             "(a bug: please report it with the page; -v shows the traceback)",
                             url=page.url if page is not None and page.url.startswith("http") else "",
                             saved_to=saved)

    def _understand(self, source: str, page: Page) -> tuple[Article, Page] | Outcome:
        """parse -> (follow a migration) -> skip if known -> clean."""
        from wxarchive.extract.parse import parse

        try:
            article = parse(page)
        except Unavailable as e:
            if e.code == ErrorCode.MIGRATED and e.target and is_article_url(e.target) and page.url.startswith("http"):
                log.info("%s migrated; following to %s", page.url, e.target)
                page = self.fetcher.page(normalize_article_url(e.target))
                article = parse(page)
            else:
                raise
        except LayoutChanged as e:
            saved = self._keep_layout_page(page)
            raise LayoutChanged(f"{e.message}; raw page kept at {saved}", url=page.url, saved_to=str(saved)) from None
        if page.url.startswith("file:") and article.canonical_url:
            article = dataclasses.replace(article, url=article.canonical_url)
        if not self.opts.force and self.store.is_archived(article.key, self.site.root):
            rec = self.store.get(article.key)
            if rec is not None:  # (is_archived has just read it)
                self._add_aliases(article, source)
                return self._skipped(source, rec)
        if self.opts.learn and page.url.startswith("http") and not self.opts.keep_footers:
            self._learn_first(article)
        article = self._clean(article)
        return article, page

    def _learn_first(self, article: Article) -> None:
        """First meeting with an account: read up to two of its articles the page links to (paced, as any
        page) and count their tails with this one's, so a footer the three share is known before this
        post is written rather than after the account's third post. Only links naming the same ``__biz``
        are read; a link that fails teaches nothing and fails nothing (a block still stops the run)."""
        from wxarchive.extract.clean import clean as clean_article
        from wxarchive.extract.parse import parse

        if not (article.account and article.biz) or self.store.knows_account(article.account):
            return
        self.store.count_tail_blocks(article.account, article.key, clean_article(article).tail_blocks)
        for url in _siblings(article, limit=2):
            try:
                other = parse(self.fetcher.page(url))
            except RateLimited:
                raise
            except WxError as e:
                log.info("learning %s's footer: %s taught nothing (%s)", article.account, url, e.code)
                continue
            if other.account == article.account and other.key != article.key:
                self.store.count_tail_blocks(article.account, other.key, clean_article(other).tail_blocks)

    def _given_up_earlier(self, source: str, rec: ArticleRow) -> Outcome:
        """A link given up in an earlier run: skipped, not failed again (a list holding deleted articles
        must not fail every cron run); said once, when it was given up, and again here only at -v."""
        why = rec.error_msg or rec.error_code or "failed"
        msg = (f"given up earlier after {rec.attempts} attempt(s): {why}; "
               "nothing fetched (use --retry-failed to try it again)")
        log.info("%s: skipped (given up earlier: %s)", source, rec.error_code or "failed")
        return Outcome(source, Result.SKIPPED, error=rec.error_code or "failed", key=rec.key, gave_up=True,
                       message=msg)

    def _skipped(self, source: str, rec: ArticleRow, post: str | None = None) -> Outcome:
        """An article already archived, reported from its record: the same fields as when it was archived."""
        found, saved = int(rec.images_found or 0), int(rec.images_saved or 0)
        if post is None and rec.post_path:
            post = os.path.join(self._root, rec.post_path)  # no Path per URL
        return Outcome(source, Result.SKIPPED, post=post, title=rec.title, key=rec.key,
                       url=rec.canonical_url or rec.url or None, account=rec.account or None,
                       published=rec.published or None,
                       images={"found": found, "saved": saved, "failed": max(0, found - saved)},
                       removed=_recorded_removed(rec.stripped))

    def _clean(self, article: Article, keep_footers: bool | None = None) -> Article:
        from wxarchive.extract import clean as clean_mod
        from wxarchive.net.allowlist import drop_foreign_images

        keep = self.opts.keep_footers if keep_footers is None else keep_footers
        learned = frozenset() if keep else self.store.footer_blocks(article.account)
        return drop_foreign_images(clean_mod.clean(article, learned=learned, keep_footers=keep))

    def _keep_layout_page(self, page: Page) -> Path:
        h = hashlib.sha1(page.content).hexdigest()[:12]
        p = self.site.state_dir / layout.LAYOUT_DIR / f"{h}.html"
        atomic_write(p, page.content)
        return p

    def _add_aliases(self, article: Article, source: str) -> None:
        self.store.add_aliases(article.key, _aliases(source, article))

    # ---- stage 2: wait for images, render, write, record (may run in a worker)
    def _finish(self, source: str, article: Article, page: Page, futures: list[cf.Future[Any]],
                redo: _Redo | None = None, key: str | None = None, packed: tuple[str, bytes] | None = None) -> Outcome:
        """``key``: record under this key instead of the article's (a kept version of an edited article);
        ``packed``: the page's raw copy, packed already (``page.content`` is then empty)."""
        try:
            return self._finish_unguarded(source, article, page, futures, redo, key, packed)
        except (WxError, OSError, sqlite3.Error):
            raise
        except Exception as e:
            if packed is not None:
                from wxarchive.archive import rawpage

                page = dataclasses.replace(page, content=rawpage.unpack(packed[1]))  # kept whole for the report
            raise self._crashed(source, page, e, "writing") from None

    def _finish_unguarded(self, source: str, article: Article, page: Page, futures: list[cf.Future[Any]],
                          redo: _Redo | None = None, key: str | None = None,
                          packed: tuple[str, bytes] | None = None) -> Outcome:
        from wxarchive.archive import rawpage
        from wxarchive.write.render import render

        no_images = redo.no_images if redo else self.opts.no_images
        keep_footers = redo.keep_footers if redo else self.opts.keep_footers
        if futures:
            from wxarchive.net.images import gather, sync_files

            article = gather(article, futures, self.interrupt)
            sync_files(self.site.image_dir, [i.local for i in article.images if i.local])
            _say_images_failed(source, article.images)
        if self.opts.media and not no_images and article.media and redo is None:
            article = dataclasses.replace(article, media=tuple(self.saver.save_media(m) for m in article.media))
        self.interrupt.check_hard()  # the second Ctrl-C: no post is begun after it
        now = (redo.archived_at if redo and redo.archived_at else None) or dt.datetime.now(SHANGHAI).replace(microsecond=0)
        article = dataclasses.replace(article, archived_at=now)
        key = key or article.key
        if futures and redo is None and any(not i.local for i in article.images):
            self._images_asked.add(key)  # (a post with every image saved is never the heal's)
        fate = self.store.fate(key)  # what `check` saw of the original stays on a re-rendered post
        text = render(article, self.site.settings, fate, Choices(keep_footers=keep_footers, no_images=no_images))
        suffix, raw_packed = packed or rawpage.pack(page.content)
        raw_rel = layout.raw_rel(rawpage.raw_name(key, suffix))
        saved = sum(1 for i in article.images if i.local)
        failed = [i for i in article.images if not i.local]
        if not no_images and article.images:
            # images are files of their own: record them first, so the step between the post
            # reaching the disk and the state recording it stays as short as it can be
            self.store.record_images([(i.url, i.name, i.local, i.error) for i in article.images])
        aliases = _aliases(source, article) if key == article.key else []
        with self._write_lock.held():
            rec = self.store.get(key)
            old = self.site.inside(rec.post_path) if rec else None
            post = self.site.post_path(article, taken=self._taken(article, key))
            if not _holds(self.site.root / raw_rel, raw_packed):
                atomic_write(self.site.root / raw_rel, raw_packed)
            if not _holds(post, text.encode("utf-8")):  # an unchanged post keeps its bytes and its mtime
                atomic_write(post, text.encode("utf-8"))
            self.store.record_archived(
                key, aliases, url=article.url, canonical_url=article.canonical_url, title=article.title,
                account=article.account, published=article.published.isoformat() if article.published else "",
                post_path=str(post.relative_to(self.site.root)), raw_path=str(raw_rel),
                images_found=len(article.images), images_saved=saved,
                stripped=json.dumps(_removed(article), ensure_ascii=False))
            if old is not None and old != post and old.exists():
                old.unlink()  # the title changed: the new name replaces the old file
            old_raw = self.site.inside(rec.raw_path) if rec and rec.raw_path != str(raw_rel) else None
            if old_raw is not None:
                old_raw.unlink(missing_ok=True)  # a .html.gz of an older run, now kept as .zst
            if fate is not None:
                self.store.mark_written(key, fate.checked_at)
        self._count_tail(article, key, learning=redo is None)
        if redo is None:  # what this post was made with, so a rebuild makes it the same way
            self.store.record_choices(key, keep_footers=keep_footers, no_images=no_images)
        for reason, what in article.stripped:  # nothing removed silently: -v names each block and why
            log.info("%s: removed %s: %s", key, reason, what if len(what) <= 120 else what[:119] + "…")
        return Outcome(source, Result.ARCHIVED, post=str(post), title=article.title, key=key,
                       url=article.canonical_url or article.url, account=article.account or None,
                       published=article.published.isoformat() if article.published else None,
                       images={"found": len(article.images), "saved": saved,
                               "failed": 0 if no_images else len(failed)},
                       removed=_removed(article))

    def _count_tail(self, article: Article, key: str, learning: bool) -> None:
        """Count a post's tail toward its account's learned footer. When that grew, or when this post was
        cleaned with less than the footer has grown to (another post taught more while it was being
        made), note the time: every post written until then is cleaned again at the run's end. Counted
        when written, not when cleaned (which would spare the posts cleaned ahead a second pass): an
        article whose post could not be written teaches nothing, so it changes no other post."""
        account = article.account
        before = self.store.footer_blocks(account) if learning and account else None
        self.store.count_tail_blocks(account, key, article.tail_blocks)
        if before is None:
            return
        now = self.store.footer_blocks(account)
        if now - before or (account in self._learned_now and now != article.learned):
            self._learned_now[account] = max(time.time(), self._learned_now.get(account, 0.0))

    def _clean_again(self) -> None:
        """The account footers this run learned reach the account's earlier posts now, from their raw pages.

        Without this, the posts that taught a footer (and any archived before it) kept it until the user
        thought of ``rebuild``; now the run that learns it cleans them, offline, as ``rebuild`` would (each
        with the choices it was made with: a ``--keep-footers`` post keeps its footer)."""
        learned_at, self._learned_now = self._learned_now, {}
        for account, last_stale in sorted(learned_at.items()):
            changed = again = 0
            for rec in self.store.archived_of(account):
                if rec.updated_at > last_stale:
                    continue  # written after the footer stopped growing, with all of it: nothing to take out
                again += 1
                before = _read_or_none(self.site.root / rec.post_path) if rec.post_path else None
                try:
                    out = self._rebuild_one(rec)
                except (OSError, WxError) as e:
                    log.warning("%s: not cleaned again with its account's learned footer: %s", rec.url, e)
                    continue
                changed += out.status == Result.REBUILT and _read_or_none(Path(out.post or "")) != before
            log.info("learned more of %s's footer; %d of its archived posts were cleaned again (%d changed)",
                     account, again, changed)

    def _taken(self, article: Article, key: str) -> Callable[[Path], bool]:
        """Whether a post file name is another article's (for ``Site.post_path`` to pick another)."""
        def taken(p: Path) -> bool:
            owner = self.store.post_owner(str(p.relative_to(self.site.root)))
            if owner is not None:
                return owner != key
            # a file nobody owns may be this very post, written by a run killed before it recorded it
            return p.exists() and not _written_for(p, article)
        return taken

    # ---- an outage is not a verdict
    def _answered(self) -> None:
        """A server answered: the network works, so transport failures so far were the articles' own."""
        self._network_ok = True
        deferred, self._deferred = self._deferred, []
        for source, e in deferred:
            _key, gave_up = self._count_failure(source, e)
            log.error("%s%s", _said(source, e.message), _GIVEN_UP if gave_up else "")

    def _count_failure(self, source: str, e: WxError) -> tuple[str | None, bool]:
        key = article_key(e.url or source) if (e.url or source).startswith("http") else None
        if not key:
            return None, False
        attempts = self.store.record_failure(key, e.url or source, e.code, e.message, e.permanent,
                                             self.opts.max_attempts, self.opts.attempt_gap)
        return key, e.permanent or attempts >= self.opts.max_attempts

    def settle(self) -> None:
        """End of a batch: transport failures count only if the network was seen working this run."""
        if self._network_ok and self.offline is None:
            self._answered()
            return
        if self.offline is None:
            for source, e in self._deferred:
                log.error("%s (not counted against the article: no server answered this run)",
                          _said(source, e.message))
        self._deferred = []

    def _io_failure(self, source: str, e: OSError | sqlite3.Error) -> Outcome:
        """One article could not be written; a full or read-only disk stops the run (see ``stopped``)."""
        if is_damage(e):
            raise StateDamaged(self.store.path, str(e)) from None
        out = Outcome(source, Result.FAILED, error="io", message=f"cannot write the archive: {e}")
        log.error("%s: %s", source, out.message)
        why = _stop_reason(e)
        if why and self.stopped is None:
            self.stopped = ArchiveError(f"stopped: cannot write the archive at {self.site.root}: {why}; "
                                        "free space (or make it writable) and run the same command again to carry on")
        return out

    def _fail(self, source: str, e: WxError) -> Outcome:
        if isinstance(e, StateDamaged):
            raise e  # every later article would fail the same way: stop, naming the file
        msg = e.message
        key, gave_up = None, False
        if isinstance(e, FetchError) and _is_transport(e) and (e.url or source).startswith("http"):
            # counted later, once a server has answered; several in a row and the network is down
            self._deferred.append((source, e))
            if len(self._deferred) >= self.opts.outage_after:
                self.offline = e
            log.info("%s", _said(source, msg))  # an error only once a server has answered (see _answered)
            return Outcome(source, Result.FAILED, error=e.code, message=msg, key=article_key(e.url or source))
        if isinstance(e, RateLimited):
            if (e.url or source).startswith(("http://", "https://")):
                self.blocked = e  # a live verification page: no more page requests this run
            # a saved verification page is just a file that is not an article
        elif not isinstance(e, UsageError):
            key, gave_up = self._count_failure(source, e)
        if self.blocked is not e:  # a live block is reported once, by the command that stops; a saved
            log.error("%s%s", _said(source, msg), _GIVEN_UP if gave_up else "")  # verification page: one file's failure
        return Outcome(source, Result.FAILED, error=e.code, message=msg, key=key, gave_up=gave_up)

    def archive_many(self, sources: Iterable[str], on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
        """Archive each source; outcomes are reported in input order."""
        queue = _InOrder(self.opts.in_flight, self._settled, on_outcome)
        self._archive(sources, queue)
        return queue.outcomes

    def archive_long(self, sources: list[str], on_outcome: Callable[[Outcome], None]) -> Reported:
        """:meth:`archive_many` for a long list: each outcome goes to ``on_outcome`` and is then let go,
        so what the run holds does not grow with its length."""
        from wxarchive.jobs.heap import settle, trimmer

        settle(len(sources))
        tick = trimmer()

        def report(o: Outcome) -> None:
            on_outcome(o)
            tick()
        queue = _InOrder(self.opts.in_flight, self._settled, report, keep=False)
        self._archive(sources, queue)
        assert queue.reported is not None
        return queue.reported

    def _archive(self, sources: Iterable[str], queue: _InOrder) -> None:
        finisher = cf.ThreadPoolExecutor(max_workers=max(2, self.opts.in_flight), thread_name_prefix="finish")
        try:
            for index, source in enumerate(self._looking_ahead(sources)):
                if self.blocked is not None or self.offline is not None or self.stopped is not None:
                    break
                if self.interrupt.soft.is_set():
                    break  # the first Ctrl-C: what is under way is finished below, nothing new begun
                try:
                    item = self._start(source, finisher)
                except StopRequested:
                    break  # (Ctrl-C during the wait before a page request: that page is not asked for)
                queue.add(index, source, item)
            queue.emit(block=True)
        except KeyboardInterrupt:
            self.interrupt.hard.set()  # the second Ctrl-C: workers stop before writing anything more
            finisher.shutdown(wait=True, cancel_futures=True)
            queue.emit_completed()  # every article finished before it is still reported
            raise
        finally:
            finisher.shutdown(wait=True)
        if self._learned_now and self.stopped is None:
            self._clean_again()
        self.settle()
        if self.stopped is not None:
            raise self.stopped  # one line from the CLI; what was finished is already reported

    def _looking_ahead(self, sources: Iterable[str]) -> Iterator[str]:
        """The sources, with the archived records of each next 256 read in one query (``_ahead``): a
        re-run of a long list skips most of its links, and one query per link cost more than the rest
        of a skip. Only the skip uses such a record; anything else asks the state again."""
        it = iter(sources)
        while chunk := list(itertools.islice(it, 256)):
            keys = [] if self.opts.force else [k for s in chunk if s.startswith(("http://", "https://"))
                                               and is_article_url(s) and (k := article_key(normalize_article_url(s)))]
            self._ahead = self.store.archived_records(keys) if keys else {}
            yield from chunk
        self._ahead = {}

    def _start(self, source: str, finisher: cf.Executor) -> cf.Future[Outcome] | Outcome:
        """Stage 1 here (paced), stage 2 handed to ``finisher``; what fails before that is the outcome."""
        prepared = self._guarded(source, "fetching", lambda: self._prepare(source))
        if isinstance(prepared, Outcome):
            return prepared
        article, page = prepared
        if page.url.startswith("file:") and not self.opts.no_images and article.images:
            self._take_saved_images(article, page)  # a browser's "Save page complete" X_files/
        futures = [] if self.opts.no_images else self.saver.submit(article)
        from wxarchive.archive import rawpage  # (loaded with the first page: a re-run of archived links needs none)

        # the page waits for its images as its compressed copy, ~1/5 of its size: up to `in_flight` of them
        # wait at once, and whole 2-4 MB pages made the peak of a long run depend on how many
        packed = rawpage.pack(page.content)
        page = dataclasses.replace(page, content=b"")
        return finisher.submit(self._finish, source, article, page, futures, packed=packed)

    def _settled(self, source: str, done: cf.Future[Outcome]) -> Outcome:
        """The outcome of a finished stage 2; whatever it raised fails that one article."""
        return self._guarded(source, "archiving", done.result)

    def _guarded(self, source: str, stage: str, step: Callable[[], T]) -> T | Outcome:
        """``step()``, or the failed outcome of ``source``: a typed error as itself, a disk or state
        error as ``io``, anything else as a bug met while ``stage`` (one article fails, never the run)."""
        try:
            return step()
        except WxError as e:
            return self._fail(source, e)
        except (OSError, sqlite3.Error) as e:
            return self._io_failure(source, e)
        except Exception as e:  # last resort
            return self._fail(source, self._crashed(source, None, e, stage))

    def archive_one(self, source: str) -> Outcome:
        return self.archive_many([source])[0]

    def _take_saved_images(self, article: Article, page: Page) -> None:
        """Images a browser saved beside the page (``X.html`` + ``X_files/``) are used before the network:
        each ``<img>`` whose ``src`` is a local file and whose ``data-src`` is the remote image."""
        from wxarchive.extract.clean import image_name
        from wxarchive.net.images import sniff

        folder = Path(unquote(urlsplit(page.url).path)).parent
        wanted = {i.name for i in article.images if not self.saver.existing(i.name)}
        html = page.content.decode("utf-8", "replace")
        for tag in _IMG_TAG.findall(html):
            attrs = {k.lower(): v for k, _q, v in _ATTR.findall(tag)}
            remote, local = decode_amp(attrs.get("data-src", "")), attrs.get("src", "")
            if not remote.startswith("http") or not local or "://" in local or local.startswith(("data:", "/")):
                continue
            name = image_name(remote)
            path = (folder / unquote(decode_amp(local))).resolve()
            if name not in wanted or not path.is_file() or folder.resolve() not in path.parents:
                continue
            try:
                data = path.read_bytes()
            except OSError:
                continue
            ext = sniff(data[:4096])
            if ext is None:
                continue  # a placeholder or an HTML error page saved by the browser
            atomic_write(self.site.image_dir / f"{name}.{ext}", data)
            wanted.discard(name)
            log.info("image %s taken from the saved page (%s)", name, path.name)

    # ---- images heal: posts whose images failed get them on a later run
    def heal_images(self, on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
        """Fetch the images archived posts are missing and write those posts with local paths again.

        Each image is tried at most ``MAX_IMAGE_TRIES`` times over all runs, once a run: a post this run
        archived has just asked for its images (asking again at once would spend a second try and say
        the same warning twice). A post is rewritten only when an image it lacked is now on disk."""
        outs: list[Outcome] = []
        if self.opts.no_images:
            return outs
        for rec in self.store.missing_images():
            if self.blocked is not None or self.offline is not None or self.interrupt.soft.is_set():
                break
            if rec.key in self._images_asked:
                continue
            if rec.no_images:
                continue
            try:
                out = self._heal_one(rec, bool(rec.keep_footers))
            except (OSError, WxError) as e:
                log.info("%s: images not healed: %s", rec.url, e)
                continue
            except Exception as e:  # last resort: never let a heal break the run
                self._crashed(rec.url, None, e, "healing images of")
                continue
            if out is not None:
                outs.append(out)
                if on_outcome:
                    on_outcome(out)
        return outs

    def _heal_one(self, rec: ArticleRow, keep_footers: bool) -> Outcome | None:
        from wxarchive.archive import rawpage

        raw_path = self.site.inside(rec.raw_path)
        if raw_path is None or not raw_path.is_file():
            return None
        post = self.site.inside(rec.post_path)
        page = Page(url=rec.url, final_url=rec.url, status=200, content=rawpage.unpack(raw_path.read_bytes()),
                    fetched_at=dt.datetime.now(dt.UTC))
        article = self._clean(self._parse_kept(page, raw_path, rec), keep_footers=keep_footers)
        lacking = [i for i in article.images if not self.saver.existing(i.name)]
        tries = {i.url: int((self.store.image(i.url) or {}).get("attempts") or 0) for i in lacking}
        if lacking and all(n >= MAX_IMAGE_TRIES for n in tries.values()):
            self.store.give_up_images(rec.key)  # (later heals skip it: no reading its page every run)
            return None  # given up on those images: the post keeps their remote URLs
        keep = [i for i in lacking if tries[i.url] >= MAX_IMAGE_TRIES]
        article = dataclasses.replace(article, images=tuple(
            dataclasses.replace(i, local=None, error="given up") if i in keep else i for i in article.images))
        futures = [self.saver.pool.submit(_same, i) if i in keep else self.saver.pool.submit(self.saver.save_one, i)
                   for i in article.images]
        out = self._finish(rec.url, article, page, futures,
                           _Redo(keep_footers=keep_footers, no_images=False, archived_at=_archived_at(post)))
        if out.images["saved"] <= int(rec.images_saved or 0):
            return None
        out.status = Result.HEALED
        log.info("%s: images healed (%d/%d saved)", out.post, out.images["saved"], out.images["found"])
        return out

    # ---- rebuild: re-render every post from its kept raw page, offline
    def rebuild(self, on_outcome: Callable[[Outcome], None] | None = None, keys: Iterable[str] | None = None,
                keep_footers: bool = False) -> list[Outcome]:
        """Every post (or those of ``keys``: keys or any URL of each) again from its raw page, with the
        choices it was made with; an unchanged post is not rewritten, so running it twice changes no byte.

        ``keep_footers`` makes the posts again with what cleaning removed, and records that choice, so a
        later rebuild keeps it (the way back from a footer wrongly removed)."""
        outs = []
        for rec in self._records(keys):
            src = rec.url
            try:
                out = self._rebuild_one(rec, keep_footers=keep_footers)
            except (OSError, WxError) as e:
                out = Outcome(src, Result.FAILED, error=getattr(e, "code", "io"), message=_said(src, str(e)),
                              key=rec.key)
            except Exception as e:  # last resort: one post fails, the rebuild goes on
                err = self._crashed(src, None, e, "rebuilding")
                out = Outcome(src, Result.FAILED, error=err.code, message=err.message, key=rec.key)
            if out.status == Result.FAILED:
                log.error("%s", _said(src, out.message or ""))
            outs.append(out)
            if on_outcome:
                on_outcome(out)
        return outs

    def _records(self, keys: Iterable[str] | None) -> list[ArticleRow]:
        """The archived records to rebuild: every one, or those named (a name the state lacks is a usage error)."""
        if keys is None:
            return list(self.store.archived())
        found = []
        for name in keys:
            url = normalize_article_url(name) if is_article_url(name) else name
            rec = self.store.get(article_key(url) or url) if is_article_url(name) else self.store.get(name)
            if rec is None or rec.status != Status.ARCHIVED:
                raise UsageError(f"{name}: no archived article with this key or URL")
            found.append(rec)
        return found

    def _parse_kept(self, page: Page, raw_path: Path, rec: ArticleRow) -> Article:
        """A kept raw page read for ``rec``, checked against it: a page cut short or not WeChat's is a damaged
        file (not "network"), and a page whose own ids are another article's is never used for this one
        (two swapped raw pages gave two posts each other's text; issue 25)."""
        from wxarchive.extract.parse import parse

        try:
            article = parse(page)
        except FetchError as e:  # truncated, "not a WeChat page": said of a file on disk, not of the network
            raise ArchiveError(f"the kept raw page {raw_path} cannot be used ({e.message}); the post is left as "
                               "it is") from None
        base = str(rec.key).split("#v")[0]  # a kept version reads its article's page
        owner = self.store.get(article.key) if article.key != base else rec
        if (owner is not None and owner.key.split("#v")[0] != base) or (owner is None and base.count(":") == 2):
            raise ArchiveError(f"the kept raw page {raw_path} is the page of {article.key}, not of {base}; "
                               "the post is left as it is")
        return article

    def _rebuild_one(self, rec: ArticleRow, keep_footers: bool = False) -> Outcome:
        from wxarchive.archive import rawpage

        src = rec.url
        raw_path = self.site.inside(rec.raw_path)
        post = self.site.inside(rec.post_path)
        if raw_path is None or not raw_path.is_file():
            return Outcome(src, Result.FAILED, error="io", key=rec.key, post=str(post) if post else None,
                           message=f"raw page missing ({raw_path or 'never kept'}); the post is left as it is")
        redo = _Redo(keep_footers=bool(rec.keep_footers) or keep_footers, no_images=bool(rec.no_images),
                     archived_at=_archived_at(post))
        if keep_footers and not rec.keep_footers:  # `rebuild --keep-footers` means it, from now on
            self.store.record_choices(rec.key, keep_footers=True, no_images=bool(rec.no_images))
        raw = rawpage.unpack(raw_path.read_bytes())
        page = Page(url=rec.url, final_url=rec.url, status=200, content=raw,
                    fetched_at=dt.datetime.now(dt.UTC))
        article = self._clean(self._parse_kept(page, raw_path, rec), keep_footers=redo.keep_footers)
        imgs = [dataclasses.replace(img, local=None if redo.no_images else self.saver.existing(img.name))
                for img in article.images]
        article = dataclasses.replace(article, images=tuple(imgs))
        before = _read_or_none(post)
        out = self._finish(src, article, page, [], redo, key=rec.key)  # a kept version keeps its own key
        out.status = Result.REBUILT
        out.changed = out.post != str(post) or _read_or_none(Path(out.post or "")) != before
        return out


def _siblings(article: Article, limit: int) -> list[str]:
    """Up to ``limit`` other articles of the same account that the body links to (long links naming its biz)."""
    out = []
    for url in find_article_urls(article.body_html):
        if url_ids(url).get("biz") == article.biz and article_key(url) not in (article.key, None) and url not in out:
            out.append(url)
            if len(out) == limit:
                break
    return out
