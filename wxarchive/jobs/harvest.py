"""Cron harvesting: list every configured source, archive what is new, back off when WeChat objects.

State lives in the archive's SQLite store so that runs months apart agree:

* ``kv["backoff"]`` -- the archive-wide pause after a block (:mod:`wxarchive.archive.backoff`).
* ``kv["source:<url-or-path>"]`` -- a :class:`~wxarchive.archive.store.SourceState`: articles a source
  listed that are not archived yet (a block or a failure cut the run short) and whether
  its last listing reached the end. Album listings stop at the first archived
  article, so without ``pending`` an interrupted run would lose the older ones.
* ``sources`` table -- last run, status, found and new per source (``wxarchive status``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable
from urllib.parse import urlsplit

from wxarchive.archive.backoff import Backoff
from wxarchive.errors import ErrorCode, FetchError, RateLimited, UsageError, WxError
from wxarchive.jobs.pipeline import Archiver, Outcome, Result
from wxarchive.jobs.sources import SourceSpec, dedupe, extract_urls, guess_kind, list_album, looks_like_feed, parse_album_url, parse_feed, read_list
from wxarchive.archive.store import SourceKind, SourceState, Status
from wxarchive.net.weread import DEFAULT_LIST_DELAY, DEFAULT_MAX_PAGES, channel_for, list_account
from wxarchive.urls import ARTICLE_HOST, article_key, is_article_url, normalize_article_url

__all__ = ["HarvestResult", "SourceRun", "harvest", "list_source", "load_specs"]

log = logging.getLogger(__name__)


def load_specs(sources: list[Any]) -> list[SourceSpec]:
    if not sources:
        raise UsageError("no [[sources]] in wxarchive.toml; add album, feed or list entries (see docs/guide.md, `wxarchive harvest`)")
    return [SourceSpec.from_config(e, n + 1) for n, e in enumerate(sources)]


@dataclass
class SourceRun:
    """What one source gave in one run: counts and the links to keep pending, not its outcomes (each is
    let go once reported: a source of 10,000 articles held 15 MB of them to the end of the run, issue 24)."""

    spec: SourceSpec
    kind: str = ""
    found: int = 0
    new: int = 0  # archived this run
    n_failed: int = 0
    error: WxError | None = None
    not_tried: int = 0
    note: str = ""  # a listing problem already reported (WeRead: an expiry once a day, a bench once)
    retry: list[str] = field(default_factory=list)  # failed, to be tried again by the next run
    verify: list[str] = field(default_factory=list)  # met WeChat's verification page: tried again on resume

    def add(self, o: Outcome) -> None:
        """Count one reported outcome and keep its link if the next run must try it again."""
        if o.status == Result.ARCHIVED:
            self.new += 1
        elif o.status == Result.FAILED:
            self.n_failed += 1
            if not o.gave_up and o.error not in ("usage", "verify"):
                self.retry.append(o.source)
        if o.error == ErrorCode.VERIFY:
            self.verify.append(o.source)

    @property
    def status(self) -> str:
        if self.note:
            return self.note[:300]
        if isinstance(self.error, RateLimited):
            return "blocked"
        if self.error is not None:
            return f"error: {self.error.message}"[:300]
        if self.not_tried:
            return f"stopped ({self.not_tried} not tried)"
        if self.n_failed:
            return f"ok, {self.n_failed} failed"
        return "ok"


@dataclass
class HarvestResult:
    runs: list[SourceRun] = field(default_factory=list)
    blocked: RateLimited | None = None
    backoff: dict[str, Any] | None = None  # the back-off this run started or found
    waited: bool = False  # a back-off was already in force: nothing was asked of WeChat
    session_expired: WxError | None = None  # the WeRead session must be refreshed (account sources stopped)


def list_source(arch: Archiver, spec: SourceSpec, state: SourceState) -> tuple[str, list[str], bool]:
    """(kind, article URLs newest first, listing complete)."""
    kind = guess_kind(spec)
    if spec.account:
        return SourceKind.ACCOUNT, *_list_account(arch, spec, state)
    if spec.path:
        p = Path(spec.path).expanduser()
        if not p.is_absolute():
            p = arch.site.root / p
        return SourceKind.LIST, read_list(p), True
    if kind == SourceKind.ALBUM:
        ref = parse_album_url(spec.url)
        if ref is None:
            raise UsageError(f"source {spec.name}: not an album link (mp.weixin.qq.com/mp/appmsgalbum?__biz=…&album_id=…)")

        def known(url: str) -> bool:
            key = article_key(url)
            return key is not None and bool(key) and arch.store.is_archived(key, arch.site.root)

        urls, complete = list_album(arch.fetcher, ref, known, stop_at_known=state.complete)
        return kind, urls, complete
    if is_article_url(spec.url):
        return SourceKind.LIST, [normalize_article_url(spec.url)], True
    try:
        text = arch.fetcher.text(spec.url)
    except RateLimited as e:
        if (urlsplit(spec.url).hostname or "").lower() == ARTICLE_HOST:
            raise
        # a feed server saying "slow down" is that server's business, not a reason to stop asking WeChat
        raise FetchError(f"{spec.url}: {e.message}", url=spec.url) from None
    if kind == SourceKind.FEED or (not kind and looks_like_feed(text)):
        return SourceKind.FEED, parse_feed(text), True
    return SourceKind.LIST, extract_urls(text), True


def _list_account(arch: Archiver, spec: SourceSpec, state: SourceState) -> tuple[list[str], bool]:
    """An account's new posts through WeRead; where its history walk stands goes into ``state.walk``."""

    def known(url: str) -> bool:
        key = article_key(url)
        return bool(key) and arch.store.is_archived(key or "", arch.site.root)

    got = list_account(channel_for(arch), spec.account, known, state.walk, since=spec.since, full=spec.full,
                       max_pages=spec.max_pages or DEFAULT_MAX_PAGES,
                       list_delay=spec.list_delay if spec.list_delay >= 0 else DEFAULT_LIST_DELAY)
    log.info("source %s: WeRead listed %d new in %d page(s)%s", spec.name, len(got.urls), got.pages,
             "" if got.complete else "; the history goes on next run")
    return got.urls, True


def _reported_before(arch: Archiver, spec: SourceSpec, e: WxError) -> bool:
    """A WeRead problem cron already mailed (see ``weread.Channel.quiet``)."""
    if not spec.account or e.code not in ("session_expired", "throttled", "channel_broken"):
        return False

    return channel_for(arch).quiet(e, spec.account)


def _counted(run: SourceRun, on_outcome: Callable[[Outcome], None] | None) -> Callable[[Outcome], None]:
    """Each outcome counted into ``run``, then passed on."""

    def report(o: Outcome) -> None:
        run.add(o)
        if on_outcome is not None:
            on_outcome(o)
    return report


def harvest(arch: Archiver, specs: list[SourceSpec], *, backoff: Backoff,
            on_outcome: Callable[[Outcome], None] | None = None, ignore_backoff: bool = False) -> HarvestResult:
    """One harvest over every source, in config order; stops everything at the first block."""
    result = HarvestResult()
    held = backoff.in_force()
    if held and not ignore_backoff:
        log.info("back-off in force until %s; not contacting WeChat", held.get("until_text"))
        result.backoff, result.waited = held, True
        return result
    store, opts = arch.store, arch.opts
    for spec in specs:
        if arch.interrupt.soft.is_set():
            break  # Ctrl-C: the sources not reached are listed by the next run
        run = SourceRun(spec)
        result.runs.append(run)
        state = store.source_state(spec.ident)
        try:
            run.kind, listed, complete = list_source(arch, spec, state)
        except RateLimited as e:
            run.error = result.blocked = e
            store.record_source(spec.ident, run.status, 0, 0)
            break
        except WxError as e:
            if e.code == "session_expired":
                result.session_expired = e
            if _reported_before(arch, spec, e):
                run.note = f"{e.code}: {e.message}"
                log.info("source %s: %s (reported before)", spec.name, e.message)
            else:
                run.error = e
                log.error("source %s: %s", spec.name, e.message)
            store.record_source(spec.ident, run.status, 0, 0)
            continue
        run.found = len(listed)
        todo = []
        for url in dedupe(listed + state.pending):
            rec = store.get(article_key(url) or url)
            if (rec and rec.status == Status.GAVE_UP and not opts.retry_failed and not opts.force
                    and (rec.permanent or rec.attempts >= opts.max_attempts)):
                continue  # reported once, when it was given up
            todo.append(url)
        log.info("source %s (%s): %d listed, %d to check", spec.name, run.kind, len(listed), len(todo))
        state.complete, state.kind = complete, run.kind
        if run.kind in (SourceKind.ALBUM, SourceKind.ACCOUNT):
            # what was listed is pending until archived: a run killed now loses nothing (these listings stop at
            # the first archived article, so would not list the older ones again; lists and feeds list all)
            state.pending = dedupe(todo)
            store.set_source_state(spec.ident, state)
        reported = arch.archive_long(todo, on_outcome=_counted(run, on_outcome))
        done = reported.done(todo)
        pending = [u for u in todo if u not in done]
        run.not_tried = len(pending)
        pending += run.retry + run.verify
        state.pending = dedupe(pending)
        store.set_source_state(spec.ident, state)
        store.record_source(spec.ident, run.status if arch.blocked is None else "blocked", run.found, run.new)
        if arch.blocked is not None:
            run.error = result.blocked = arch.blocked
            break
        if arch.offline is not None:
            break  # the network is down: what is left stays pending for the next run
    if result.blocked is not None:
        result.backoff = backoff.hit(result.blocked)
    elif arch.offline is None:
        backoff.clear()
    return result
