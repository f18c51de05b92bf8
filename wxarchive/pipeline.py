"""``archive_one`` / ``archive_many``: the only place that catches per-article errors.

Order for one article (gallery-dl's): check the state (no request for a known
long URL) -> fetch -> parse -> clean -> images -> render -> write raw page and
post atomically -> record in the state. Page requests are sequential and paced;
image downloads of one article overlap the fetch of the next.
"""
from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import dataclasses
import datetime as dt
import fcntl
import functools
import hashlib
import json
import logging
import os
import re
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from . import clean as clean_mod
from . import rawpage
from .errors import ArchiveError, LayoutChanged, RateLimited, Unavailable, UsageError, WxError
from .models import Article, Page
from .parse import SHANGHAI, parse
from .render import render
from .site import Site, atomic_write
from .store import Store
from .urls import article_key, is_article_url, normalize_article_url

if TYPE_CHECKING:  # the HTTP stack (httpx, an SSL context) loads only when a request is due
    from .fetch import Fetcher
    from .images import ImageSaver

__all__ = ["Archiver", "Options", "Outcome", "check_source"]

log = logging.getLogger(__name__)


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
    connect_to: dict = field(default_factory=dict)
    in_flight: int = 8


@dataclass
class Outcome:
    """What happened to one source: one JSON line under ``--json``."""

    source: str
    status: str  # archived | skipped | failed
    error: str | None = None
    message: str | None = None
    post: str | None = None
    title: str | None = None
    key: str | None = None
    images: dict = field(default_factory=lambda: {"found": 0, "saved": 0, "failed": 0})
    gave_up: bool = False  # failed for the last time: no later run tries again without --retry-failed

    def as_json(self) -> dict:
        d = {"source": self.source, "status": self.status, "error": self.error, "post": self.post,
             "title": self.title, "images": self.images}
        if self.message:
            d["message"] = self.message
        if self.key:
            d["key"] = self.key
        if self.gave_up:
            d["gave_up"] = True
        return d


def _written_for(post: Path, article: Article) -> bool:
    """Whether an unrecorded post file holds this article (its front matter names the same source)."""
    try:
        with post.open("r", encoding="utf-8", errors="replace") as f:
            head = f.read(16384)
    except OSError:
        return False
    m = re.search(r"(?m)^source_url:[ \t]*['\"]?(\S+?)['\"]?[ \t]*$", head.split("\n---", 1)[0])
    return bool(m) and m.group(1) in {article.canonical_url, article.url} - {""}


def _aliases(source: str, article: Article) -> list[str]:
    """Every key the article may be asked for by later: the source's, the short link's, the canonical URL."""
    keys = {article_key(source) if "://" in source else None, article_key(article.url),
            article.canonical_url, article_key(article.canonical_url)}
    return sorted(k for k in keys if k)


def check_source(source: str) -> str:
    """``"file"`` or ``"url"``; a UsageError for anything else (before any file or request)."""
    path = Path(source)
    if "://" not in source and (path.exists() or source.endswith((".html", ".htm"))):
        if not path.is_file():
            raise UsageError(f"cannot read {source}: no such file")
        return "file"
    if not source.startswith(("http://", "https://")):
        raise UsageError(f"not an http(s) URL or a readable file: {source}")
    if not is_article_url(source):
        raise UsageError(f"not a WeChat article URL: {source}")
    return "url"


def _read_file(path: Path) -> Page:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from None
    now = dt.datetime.now(dt.timezone.utc)
    url = path.resolve().as_uri()
    return Page(url=url, final_url=url, status=200, content=data, fetched_at=now)


class Archiver:
    """One archive, one HTTP client, one image pool; use as a context manager."""

    def __init__(self, opts: Options, *, fetcher: Fetcher | None = None) -> None:
        self.opts = opts
        self.site = Site.open(opts.out)
        try:
            self.site.init()
            # serialises write-and-record between processes sharing the archive, and the
            # creation of the state database (switching it to WAL needs it alone)
            self._lock_fd = os.open(self.site.state_dir / "write.lock", os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                self.store = Store(self.site.state_dir / "state.sqlite3")
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        except (OSError, sqlite3.Error) as e:
            raise ArchiveError(f"cannot write the archive at {self.site.root}: {e}") from None
        if fetcher is not None:
            self.__dict__["fetcher"] = fetcher
        self.blocked: RateLimited | None = None
        self._write_lock = threading.Lock()

    @functools.cached_property
    def fetcher(self) -> Fetcher:
        """The HTTP client, made on first use: a saved page or a re-run of archived URLs needs none."""
        from .fetch import Fetcher

        o = self.opts
        return Fetcher(connect_to=o.connect_to, timeout=o.timeout, retries=o.retries, backoff=o.backoff, delay=o.delay)

    @functools.cached_property
    def saver(self) -> ImageSaver:
        from .images import ImageSaver

        return ImageSaver(self.fetcher, self.site.image_dir, concurrency=self.opts.concurrency)

    def close(self) -> None:
        if "saver" in self.__dict__:
            self.saver.close()
        if "fetcher" in self.__dict__:
            self.fetcher.close()
        self.store.close()
        os.close(self._lock_fd)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One writer at a time: threads of this run, and other processes on the same archive."""
        with self._write_lock:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def __enter__(self) -> "Archiver":
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
            rec = self.store.get(key) if key and not self.opts.force else None  # one lookup, no request
            if rec and rec["status"] == "archived" and (self.site.root / (rec["post_path"] or "")).is_file():
                return Outcome(source, "skipped", post=rec["post_path"], title=rec["title"], key=rec["key"])
            if rec and not self.opts.retry_failed:
                if rec["status"] == "gave_up" and (rec["permanent"] or rec["attempts"] >= self.opts.max_attempts):
                    return Outcome(source, "failed", error=rec["error_code"], key=rec["key"], gave_up=True,
                                   message=f"gave up earlier: {rec['error_msg']} (use --retry-failed)")
            if self.blocked is not None:
                raise self.blocked
            page = self.fetcher.page(url)
        try:
            article = parse(page)
        except Unavailable as e:
            if e.code == "migrated" and e.target and is_article_url(e.target) and page.url.startswith("http"):
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
            rec = self.store.get(article.key) or {}
            self._add_aliases(article, source)
            return Outcome(source, "skipped", post=rec.get("post_path"), title=rec.get("title"), key=article.key)
        article = self._clean(article)
        return article, page

    def _clean(self, article: Article) -> Article:
        learned = frozenset() if self.opts.keep_footers else self.store.footer_blocks(article.account)
        return clean_mod.clean(article, learned=learned, keep_footers=self.opts.keep_footers)

    def _keep_layout_page(self, page: Page) -> Path:
        h = hashlib.sha1(page.content).hexdigest()[:12]
        p = self.site.state_dir / "layout" / f"{h}.html"
        atomic_write(p, page.content)
        return p

    def _add_aliases(self, article: Article, source: str) -> None:
        self.store.add_aliases(article.key, _aliases(source, article))

    # ---- stage 2: wait for images, render, write, record (may run in a worker)
    def _finish(self, source: str, article: Article, page: Page, futures: list[cf.Future]) -> Outcome:
        if futures:
            from .images import gather, sync_files

            article = gather(article, futures)
            sync_files(self.site.image_dir, [i.local for i in article.images if i.local])
        if self.opts.media and not self.opts.no_images and article.media:
            article = dataclasses.replace(article, media=tuple(self.saver.save_media(m) for m in article.media))
        now = dt.datetime.now(SHANGHAI).replace(microsecond=0)
        article = dataclasses.replace(article, archived_at=now)
        text = render(article, self.site.settings)
        key = article.key
        suffix, raw_packed = rawpage.pack(page.content)
        raw_rel = Path(".wxarchive") / "raw" / rawpage.raw_name(key, suffix)
        saved = sum(1 for i in article.images if i.local)
        failed = [i for i in article.images if not i.local]
        if not self.opts.no_images and article.images:
            # images are files of their own: record them first, so the step between the post
            # reaching the disk and the state recording it stays as short as it can be
            self.store.record_images([(i.url, i.name, i.local, i.error) for i in article.images])
        aliases = _aliases(source, article)
        with self._writing():
            rec = self.store.get(key)
            old = self.site.root / rec["post_path"] if rec and rec.get("post_path") else None

            def taken(p: Path) -> bool:
                owner = self.store.post_owner(str(p.relative_to(self.site.root)))
                if owner is not None:
                    return owner != key
                # a file nobody owns may be this very post, written by a run killed before it recorded it
                return p.exists() and not _written_for(p, article)

            post = self.site.post_path(article, taken=taken)
            atomic_write(self.site.root / raw_rel, raw_packed)
            atomic_write(post, text.encode("utf-8"))
            self.store.record_archived(
                key, aliases, url=article.url, canonical_url=article.canonical_url, title=article.title,
                account=article.account, published=article.published.isoformat() if article.published else "",
                post_path=str(post.relative_to(self.site.root)), raw_path=str(raw_rel),
                images_found=len(article.images), images_saved=saved,
                stripped=json.dumps([{"reason": r, "text": t} for r, t in article.stripped], ensure_ascii=False))
            if old is not None and old != post and old.exists():
                old.unlink()  # the title changed: the new name replaces the old file
            old_raw = rec.get("raw_path") if rec else None
            if old_raw and old_raw != str(raw_rel):
                (self.site.root / old_raw).unlink(missing_ok=True)  # a .html.gz of an older run, now kept as .zst
        self.store.count_tail_blocks(article.account, key, article.tail_blocks)
        return Outcome(source, "archived", post=str(post), title=article.title, key=key,
                       images={"found": len(article.images), "saved": saved,
                               "failed": 0 if self.opts.no_images else len(failed)})

    def _fail(self, source: str, e: WxError) -> Outcome:
        msg = e.message
        key, gave_up = None, False
        if isinstance(e, RateLimited):
            if (e.url or source).startswith(("http://", "https://")):
                self.blocked = e  # a live verification page: no more page requests this run
            # a saved verification page is just a file that is not an article
        elif not isinstance(e, UsageError):
            key = article_key(e.url or source) if (e.url or source).startswith("http") else None
            if key:
                attempts = self.store.record_failure(key, e.url or source, e.code, msg, e.permanent,
                                                     self.opts.max_attempts)
                gave_up = e.permanent or attempts >= self.opts.max_attempts
        log.error("%s: %s", source, msg)
        return Outcome(source, "failed", error=e.code, message=msg, key=key, gave_up=gave_up)

    def archive_many(self, sources: Iterable[str], on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
        """Archive each source; outcomes are reported in input order."""
        outcomes: list[Outcome] = []
        pending: collections.deque[tuple[str, cf.Future[Outcome] | Outcome]] = collections.deque()
        finisher = cf.ThreadPoolExecutor(max_workers=max(2, self.opts.in_flight), thread_name_prefix="finish")

        def emit_ready(block: bool = False) -> None:
            while pending:
                src, item = pending[0]
                if isinstance(item, cf.Future):
                    if not block and not item.done() and len(pending) < self.opts.in_flight:
                        return
                    try:
                        out = item.result()
                    except WxError as e:
                        out = self._fail(src, e)
                    except (OSError, sqlite3.Error) as e:
                        out = Outcome(src, "failed", error="io", message=f"cannot write the archive: {e}")
                        log.error("%s: %s", src, out.message)
                else:
                    out = item
                pending.popleft()
                outcomes.append(out)
                if on_outcome:
                    on_outcome(out)

        try:
            for source in sources:
                if self.blocked is not None:
                    break
                try:
                    prepared = self._prepare(source)
                except WxError as e:
                    pending.append((source, self._fail(source, e)))
                    emit_ready()
                    continue
                if isinstance(prepared, Outcome):
                    pending.append((source, prepared))
                    emit_ready()
                    continue
                article, page = prepared
                futures = [] if self.opts.no_images else self.saver.submit(article)
                pending.append((source, finisher.submit(self._finish, source, article, page, futures)))
                emit_ready()
            emit_ready(block=True)
        finally:
            finisher.shutdown(wait=True)
        return outcomes

    def archive_one(self, source: str) -> Outcome:
        return self.archive_many([source])[0]

    # ---- rebuild: re-render every post from its kept raw page, offline
    def rebuild(self, on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
        outs = []
        for rec in list(self.store.archived()):
            src = rec["url"]
            try:
                raw = rawpage.unpack((self.site.root / rec["raw_path"]).read_bytes())
                page = Page(url=rec["url"], final_url=rec["url"], status=200, content=raw,
                            fetched_at=dt.datetime.now(dt.timezone.utc))
                article = self._clean(parse(page))
                imgs = []
                for img in article.images:
                    local = self.saver.existing(img.name)
                    imgs.append(dataclasses.replace(img, local=local))
                article = dataclasses.replace(article, images=tuple(imgs))
                out = self._finish(src, article, page, [])
                out.status = "rebuilt"
            except (OSError, WxError) as e:
                out = Outcome(src, "failed", error=getattr(e, "code", "io"), message=str(e))
            outs.append(out)
            if on_outcome:
                on_outcome(out)
        return outs


