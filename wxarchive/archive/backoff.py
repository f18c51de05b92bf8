"""The archive-wide pause after WeChat asked for verification, kept in the state so runs months apart agree.

``kv["backoff"]`` holds a :class:`~wxarchive.archive.store.BackoffRecord`
(``{until, until_text, level, delay, reason, since}``); while
``until`` is in the future no run touches WeChat. Each block doubles the delay
(15 min, 30 min, ... capped at 6 h); a run that finishes unblocked forgets it.
``get``, ``import`` and ``harvest`` all use it.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from wxarchive.errors import RateLimited
from wxarchive.archive.store import BackoffRecord, Store

__all__ = ["BACKOFF_BASE", "BACKOFF_CAP", "Backoff"]

log = logging.getLogger(__name__)

BACKOFF_BASE = 15 * 60
BACKOFF_CAP = 6 * 3600


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()


class Backoff:
    """The archive-wide pause after WeChat asked for verification; shared by import and harvest.
    Its records are :class:`~wxarchive.archive.store.BackoffRecord`, handed out as plain mappings
    (what ``status --json`` prints)."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def _record(self) -> BackoffRecord | None:
        return self.store.backoff()  # (a foreign or hand-edited record is None, with a line, not a crash)

    def current(self) -> dict[str, Any] | None:
        """The record, or None when there is none or it is not one this code wrote (a foreign or
        hand-edited state: ``until = "abc"``), which is then ignored with a line, not a crash."""
        rec = self._record()
        if rec is None:
            return None
        return {**rec.to_json(), "until_text": rec.until_text or _when(rec.until)}

    def in_force(self) -> dict[str, Any] | None:
        """The back-off record while its ``until`` is in the future, else None."""
        cur = self.current()
        if cur and float(cur.get("until", 0)) > self.clock():
            return cur
        return None

    def hit(self, err: RateLimited) -> dict[str, Any]:
        """Record one more block: the next delay is twice the last (from 15 min, at most 6 h)."""
        prev = self._record()
        level = prev.level + 1 if prev else 0
        delay = min(BACKOFF_BASE * 2 ** min(level, 20), BACKOFF_CAP)
        if err.retry_after:
            delay = max(delay, min(float(err.retry_after), BACKOFF_CAP))
        now = self.clock()
        rec = BackoffRecord(until=now + delay, until_text=_when(now + delay), level=level, delay=delay,
                            reason=err.message[:300], since=now)
        self.store.set_backoff(rec)
        log.info("WeChat asked for verification; no requests before %s", rec.until_text)
        return rec.to_json()

    def clear(self) -> None:
        """A run that WeChat served to the end: start again from 15 minutes next time."""
        if self._record() is not None:
            self.store.set_backoff(None)
