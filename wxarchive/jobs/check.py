"""`wxarchive check`: re-visit archived articles and record what WeChat says of each original today.

One paced page request per article, no images. What is seen becomes a :class:`~wxarchive.write.original.Fate`
only when it is a verdict (the article page, or WeChat's own "deleted / removed / closed / ..."
page); a network error, a 5xx, a page we cannot read or a verification page is kept in the
history and changes nothing. A verification page (or 429) stops the run like it stops `import`.

Order of writes for one article: the state (history row + new fate, marked unwritten) in one
transaction, then the post (temp file + rename), then the mark. A run killed in between leaves
an unwritten fate that the next run writes first, so no observation is lost and no post is
half-updated. Only the post's front matter and its attribution source line change; the text
of the article is never touched.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import time

from dataclasses import dataclass
from typing import Any
from collections.abc import Callable, Iterable

from wxarchive.archive import rawpage
from wxarchive.errors import ErrorCode, FetchError, LayoutChanged, NotAnArticle, RateLimited, Unavailable, UsageError, WxError
from wxarchive.models import SHANGHAI
from wxarchive.write.original import FM_KEYS, GONE, Fate, SourceStatus
from wxarchive.models import Article, Page
from wxarchive.extract.parse import parse
from wxarchive.interrupt import StopRequested
from wxarchive.jobs.editions import archive_version
from wxarchive.jobs.pipeline import Archiver
from wxarchive.write.frontmatter import FrontMatterError, fenced, read_front_matter
from wxarchive.write.render import dump_yaml, source_line
from wxarchive.settings import Settings
from wxarchive.archive.site import atomic_write
from wxarchive.archive.store import ArticleRow, Status
from wxarchive.urls import article_key, is_article_url, normalize_article_url

__all__ = ["CheckOutcome", "Checker", "Observation", "apply_fate", "next_fate", "parse_age"]

log = logging.getLogger(__name__)

# WeChat's own error codes that say something about the original (expired / invalid links read as unavailable)
_VERDICT = {"deleted": SourceStatus.DELETED, "removed": SourceStatus.REMOVED,
            "unavailable": SourceStatus.UNAVAILABLE, "expired": SourceStatus.UNAVAILABLE,
            "invalid": SourceStatus.UNAVAILABLE, "account_closed": SourceStatus.ACCOUNT_CLOSED,
            "migrated": SourceStatus.MIGRATED}
_TITLE_MODIFIED = re.compile(rb"""(?:is_title_modified|isTitleModified)["']?\s*[:=]\s*["']?1\b""")


@dataclass(frozen=True)
class Observation:
    """What one request for the original gave: a verdict (``status``) or a transient outcome (``seen``)."""

    seen: str  # a SourceStatus value, or network | http | verify | layout | not_article | mismatch | error
    status: SourceStatus | None = None
    http_status: int | None = None
    reason: str = ""
    target: str = ""
    title: str = ""
    message: str = ""


def next_fate(old: Fate | None, obs: Observation, now: float, archived_at: float | None = None
              ) -> tuple[Fate | None, bool, SourceStatus]:
    """(the new fate, whether it is a change, the status before). An archived article was alive when archived."""
    before = old.status if old else SourceStatus.ALIVE
    if obs.status is None:
        return old, False, before
    status = obs.status
    changed = status is not before or (status is SourceStatus.EDITED and old is not None and obs.title != old.title)
    if changed:
        since = now
    else:
        since = old.since if old else (archived_at or now)
    gone_at = None
    if status in GONE:
        gone_at = old.gone_at if old and old.gone and old.gone_at else now
    return Fate(status, checked_at=now, since=since, gone_at=gone_at, reason=obs.reason, target=obs.target,
                title=obs.title if status is SourceStatus.EDITED else ""), changed, before


def parse_age(text: str) -> float:
    """``30d``, ``12h``, ``2w``, ``90m``, ``45s`` -> seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text or "")
    if not m:
        raise UsageError(f"--older-than wants a duration like 30d, 12h or 2w, got {text!r}")
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "": 86400}[m.group(2)]
    return float(m.group(1)) * unit


def apply_fate(text: str, fate: Fate, site: Settings) -> str:
    """The post with the fate in its front matter and attribution line; everything else byte for byte."""
    try:
        read = read_front_matter(text)
    except FrontMatterError as e:  # (a hand-edited post): the fate goes in, its source line is left alone
        log.warning("check: a post's front matter cannot be read (%s); its source line is left as it is", e)
        read, head = None, fenced(text)
    else:
        head = (read.lines, read.end) if read else None
    if head is None:
        return text
    lines, end = head
    fm = "".join(_drop_keys(lines.splitlines(keepends=True))) + dump_yaml(fate.front_matter())
    rest = text[end:]
    line = re.search(r"\A\n(?:>[^\n]*\n)*?> (来源：微信公众号 [^\n]*?)(\\?)\n", rest)
    if read and read.source_url and line:  # the attribution's source line, as render writes it (a trailing \ breaks)
        liquid = site.liquid and read.liquid  # (a post Jekyll renders no Liquid in)
        new_line = source_line(read.source_url, fate, liquid)
        rest = rest[:line.start(1)] + new_line + rest[line.end(1):]
    return "---\n" + fm + "---\n" + rest


def _drop_keys(lines: list[str]) -> Iterable[str]:
    """Front matter lines without the fate keys (and their continuation lines)."""
    skipping = False
    for ln in lines:
        key = re.match(r"([A-Za-z_][\w-]*):", ln)
        if key is not None:
            skipping = key.group(1) in FM_KEYS
        elif not ln[:1].isspace() and not ln.startswith("- "):
            skipping = False
        if not skipping:
            yield ln


@dataclass
class CheckOutcome:
    """One article's check, as ``--json`` prints it."""

    key: str
    source: str  # the URL asked for
    post: str | None
    title: str | None
    previous: str | None  # status before this check
    state: str | None  # status after (None: no verdict this time)
    seen: str  # what this check saw (a status, or the transient outcome)
    changed: bool = False
    http_status: int | None = None
    checked_at: float | None = None
    reason: str = ""
    target: str = ""
    new_title: str = ""
    error: str | None = None
    message: str = ""
    refetched: str | None = None  # the post of the new version (--refetch-edited)

    @property
    def status(self) -> str:  # for the progress bar
        return self.state or f"failed {self.seen}"

    def as_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"key": self.key, "url": self.source, "post": self.post, "title": self.title,
                             "previous": self.previous, "state": self.state, "seen": self.seen,
                             "changed": self.changed, "http": self.http_status,
                             "checked_at": _iso(self.checked_at) if self.checked_at else None}
        for k in ("reason", "target", "new_title", "error", "message", "refetched"):
            if getattr(self, k):
                d[k] = getattr(self, k)
        return d


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, SHANGHAI).isoformat()


class Checker:
    """Checks articles of an open :class:`Archiver` (its fetcher's pacing, its store, its write lock)."""

    def __init__(self, arch: Archiver, *, refetch_edited: bool = False, clock: Callable[[], float] = time.time):
        self.arch = arch
        self.store = arch.store
        self.refetch_edited = refetch_edited
        self.clock = clock
        self.blocked: RateLimited | None = None
        self.offline: str | None = None  # set when several checks in a row got no answer at all: the run stops
        self.offline_after = int(getattr(arch.opts, "outage_after", 3) or 3)

    # ---- choosing
    def select(self, targets: list[str] | None = None, *, max_n: int | None = None, older_than: float | None = None,
               account: str | None = None) -> list[ArticleRow]:
        keys = None
        if targets:
            keys = [self._resolve(t) for t in targets]
        cutoff = self.clock() - older_than if older_than is not None else None
        return self.store.check_queue(limit=max_n, tried_before=cutoff, account=account, keys=keys)

    def _resolve(self, target: str) -> str:
        cands = [target]
        if "://" in target and is_article_url(target):
            url = normalize_article_url(target)
            cands += [url, article_key(url) or ""]
        for c in filter(None, cands):
            rec = self.store.get(c)
            if rec and rec.status == Status.ARCHIVED:
                return str(rec.key)
        raise UsageError(f"not an archived article of this archive: {target}")

    # ---- writing what was seen
    def repair(self) -> int:
        """Write the fates a killed run recorded but did not get into the post."""
        keys = self.store.unwritten_fates()
        for key in keys:
            rec, fate = self.store.get(key), self.store.fate(key)
            if rec and fate:
                self._write(rec, fate)
        if keys:
            log.info("check: wrote %d fate(s) a killed run left unwritten", len(keys))
        return len(keys)

    def _write(self, rec: ArticleRow, fate: Fate) -> None:
        post = self.arch.site.inside(rec.post_path)
        with self.arch._write_lock.held():
            if post is not None and post.is_file():
                text = post.read_text(encoding="utf-8")
                new = apply_fate(text, fate, self.arch.site.settings)
                if new != text:
                    atomic_write(post, new.encode("utf-8"))
            else:
                log.warning("check: %s: the post %s is missing; its fate is kept in the state", rec.key, post)
            self.store.mark_written(rec.key, fate.checked_at)

    # ---- checking
    def check_many(self, recs: Iterable[ArticleRow],
                   on_outcome: Callable[[CheckOutcome], None] | None = None) -> list[CheckOutcome]:
        outs: list[CheckOutcome] = []
        silent = 0  # checks in a row that no server answered (the network may be down: not the articles')

        stop = getattr(self.arch, "interrupt", None)
        for rec in recs:
            if self.blocked is not None or self.offline is not None:
                break
            if stop is not None and stop.soft.is_set():
                break  # the first Ctrl-C: the check under way was finished, no new one begins
            try:
                out = self.check_one(rec)
            except StopRequested:
                break  # (Ctrl-C during the wait before the page request: not asked for)
            outs.append(out)
            silent = silent + 1 if out.seen == ErrorCode.NETWORK else 0
            if silent >= self.offline_after:
                self.offline = out.message
            if on_outcome:
                on_outcome(out)
        return outs

    def check_one(self, rec: ArticleRow) -> CheckOutcome:
        key, url = str(rec.key), rec.canonical_url or rec.url
        page: Page | None = None
        try:
            page = self.arch.fetcher.page(url)
            obs = self._observe(rec, page)
        except RateLimited as e:
            self.blocked = e
            obs = Observation("verify", message=e.message)
        except WxError as e:
            obs = _transient(e, page)
        except Exception as e:
            log.exception("check: %s: unexpected error", url)
            obs = Observation("error", message=f"{type(e).__name__}: {e}")
        now = float(int(self.clock()))
        old = self.store.fate(key)
        fate, changed, before = next_fate(old, obs, now, rec.archived_at)
        if obs.status is None:
            log.error("check: %s: %s", url, obs.message or obs.seen)
        self.store.record_check(key, at=now, seen=obs.seen, http_status=obs.http_status,
                                detail=obs.reason or obs.title or obs.target or obs.message,
                                fate=fate if obs.status is not None else None, changed=changed,
                                previous=before.value if changed else None, tried=obs.seen != ErrorCode.VERIFY)
        # the post as every command names it: reachable from the current directory (--out joined)
        post = str(self.arch.site.root / rec.post_path) if rec.post_path else None
        out = CheckOutcome(key=key, source=url, post=post, title=rec.title,
                           previous=(old.status if old else SourceStatus.ALIVE).value,
                           state=fate.status.value if fate and obs.status else None, seen=obs.seen, changed=changed,
                           http_status=obs.http_status, checked_at=now if obs.status else None, reason=obs.reason,
                           target=obs.target, new_title=obs.title,
                           error=None if obs.status else obs.seen, message=obs.message)
        if fate is not None and obs.status is not None:
            self._write(rec, fate)
            if changed:
                log.info("check: %s %s -> %s %s", key, before.value, fate.status.value, obs.reason or obs.title)
            if self.refetch_edited and fate.status is SourceStatus.EDITED and page is not None:
                out.refetched = self._refetch(rec, page)
        return out

    def _observe(self, rec: ArticleRow, page: Page) -> Observation:
        try:
            now = parse(page)
        except Unavailable as e:
            status = _VERDICT.get(e.code, SourceStatus.UNAVAILABLE)
            reason = e.message.removeprefix(f"{e.url}: ") if e.url else e.message
            return Observation(status.value, status, http_status=page.status, reason=reason, target=e.target)
        if ":" in str(rec.key) and now.key != rec.key and not str(rec.key).startswith("http"):
            # WeChat served some other article for this one's link: no verdict on this one (issue 12)
            return Observation("mismatch", http_status=page.status,
                               message=f"the page is {now.key}, not {rec.key}")
        base = self._archived_version(rec)
        then_title = base.title if base else (rec.title or "")
        then_digest = base.digest if base else now.digest
        flagged = bool(_TITLE_MODIFIED.search(page.content)) and not self._raw_flagged(rec)
        if now.title != then_title or now.digest != then_digest or flagged:
            return Observation(SourceStatus.EDITED.value, SourceStatus.EDITED, http_status=page.status, title=now.title,
                               reason="" if now.title != then_title or now.digest != then_digest
                               else "WeChat flags the title as modified")
        return Observation(SourceStatus.ALIVE.value, SourceStatus.ALIVE, http_status=page.status)

    def _raw(self, rec: ArticleRow) -> bytes | None:
        if not rec.raw_path:
            return None
        try:
            raw = self.arch.site.inside(rec.raw_path)
            return rawpage.unpack(raw.read_bytes()) if raw is not None else None
        except (OSError, WxError):
            return None

    def _archived_version(self, rec: ArticleRow) -> Article | None:
        """The article as archived, read by today's parser (so a parser change is never an edit)."""
        raw = self._raw(rec)
        if raw is None:
            return None
        try:
            return parse(Page(url=rec.url, final_url=rec.url, status=200, content=raw,
                              fetched_at=dt.datetime.now(dt.UTC)))
        except WxError:
            return None

    def _raw_flagged(self, rec: ArticleRow) -> bool:
        raw = self._raw(rec)
        return bool(raw and _TITLE_MODIFIED.search(raw))

    def _refetch(self, rec: ArticleRow, page: Page) -> str | None:
        """Archive the edited version beside the archived one (never over it)."""

        try:
            return archive_version(self.arch, rec, page)
        except (WxError, OSError) as e:
            log.error("check: %s: could not archive the edited version: %s", rec.key, e)
            return None


def _transient(e: WxError, page: Page | None) -> Observation:
    """A result that says nothing of the original's fate."""
    if isinstance(e, FetchError):
        return Observation(e.code, http_status=e.status, message=e.message)
    if isinstance(e, (LayoutChanged, NotAnArticle)):
        return Observation(e.code, http_status=page.status if page else None, message=e.message)
    return Observation(e.code or "error", message=e.message)


def post_text_after_head(text: str) -> str:
    """The article text of a post: what follows the front matter and the attribution quote (tests, bench)."""
    head = fenced(text)
    if head is None:
        return text
    m = re.match(r"\n(?:>[^\n]*\n)*\n?", text[head[1]:])
    return text[head[1] + m.end():] if m else text

