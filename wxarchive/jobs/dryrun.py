"""``--dry-run`` for ``import`` and ``harvest``: what a run would fetch, new against known, with no
article page requested and nothing written (a harvest still lists its sources, which needs requests)."""
from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Any
from collections.abc import Iterable

from wxarchive.archive.site import Site
from wxarchive.archive.store import SourceState, Status, Store
from wxarchive.errors import UsageError, WxError
from wxarchive.jobs.sources import dedupe
from wxarchive.layout import state_db
from wxarchive.urls import article_key

__all__ = ["Plan", "classify", "report"]


class Plan(StrEnum):
    """What a run would do with one link (the ``status`` of a ``--dry-run`` line)."""

    NEW = "new"  # would be fetched
    KNOWN = "known"  # archived, no request
    GIVEN_UP = "given_up"  # not asked for again without --retry-failed


def classify(urls: Iterable[str], root: Any, max_attempts: int, retry_failed: bool) -> list[dict[str, Any]]:
    """``new`` (would be fetched), ``known`` (archived, no request) or ``given_up`` per link."""
    db = state_db(root)
    st = Store(db) if db.is_file() else None
    out: list[dict[str, Any]] = []
    try:
        for url in urls:
            key = article_key(url)
            rec = st.get(key) if st is not None and key else None
            if rec and rec.status == Status.ARCHIVED and (root / (rec.post_path or "")).is_file():
                out.append({"source": url, "status": Plan.KNOWN, "key": rec.key, "post": str(root / rec.post_path)})
            elif (rec and rec.status == Status.GAVE_UP and not retry_failed
                  and (rec.permanent or rec.attempts >= max_attempts)):
                out.append({"source": url, "status": Plan.GIVEN_UP, "key": rec.key, "post": None})
            else:
                out.append({"source": url, "status": Plan.NEW, "key": key, "post": None})
    finally:
        if st is not None:
            st.close()
    return out


def report(rows: list[dict[str, Any]], as_json: bool, label: str) -> int:
    for r in rows:
        if as_json:
            print(json.dumps({**r, "dry_run": True}, ensure_ascii=False))
        else:
            print(f"{r['status']:9} {r['source']}" + (f"  {r['post']}" if r.get("post") else ""))
    n = {s: sum(1 for r in rows if r["status"] == s) for s in Plan}
    print(f"wxarchive: {label} --dry-run: {n[Plan.NEW]} would be fetched, {n[Plan.KNOWN]} already archived, "
          f"{n[Plan.GIVEN_UP]} given up; nothing fetched or written", file=sys.stderr)
    return 0


def harvest_urls(opts: Any, specs: list[Any]) -> list[str]:
    """Every article link the sources list now (listing asks the sources; no article page is fetched)."""
    # (a harvest's dry run only: get and import load neither the sources' readers nor httpx)
    from wxarchive.jobs.harvest import list_source
    from wxarchive.net.fetch import Fetcher

    class _View:  # what list_source reads of an Archiver, without laying down or locking anything
        def __init__(self) -> None:
            self.site = Site.open(opts.out)
            db = self.site.state_db
            self.store: Any = Store(db) if db.is_file() else _NoState()
            self.fetcher = Fetcher(connect_to=opts.connect_to, timeout=opts.timeout, retries=opts.retries,
                                   backoff=opts.backoff, delay=opts.delay, proxy=opts.proxy, cookies=opts.cookies,
                                   user_agent=opts.user_agent, ca_cert=opts.ca_cert)

    view = _View()
    urls: list[str] = []
    try:
        for spec in specs:
            state = view.store.source_state(spec.ident)
            try:
                _kind, listed, _complete = list_source(view, spec, state)  # type: ignore[arg-type]
            except UsageError:
                raise
            except WxError as e:
                print(f"wxarchive: source {spec.name}: {e.message}", file=sys.stderr)
                continue
            urls += listed + state.pending
    finally:
        view.fetcher.close()
        view.store.close()
    return dedupe(urls)


class _NoState:
    """An archive with no state yet: nothing is known."""

    def is_archived(self, *_a: Any) -> bool:
        return False

    def get_kv(self, _k: str) -> Any:
        return None

    def source_state(self, _ident: str) -> SourceState:
        from wxarchive.archive.store import SourceState

        return SourceState()

    def close(self) -> None:
        pass
