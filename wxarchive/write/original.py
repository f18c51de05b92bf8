"""What became of an archived article's original: the states `wxarchive check` records, and how a post shows them.

Pure: the front-matter fields and the attribution line come from a :class:`Fate` alone,
so `render` (archive, rebuild) and `check` (rewriting only the head of a post) agree
byte for byte.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable

from wxarchive.write.markdown import escape_text, escape_url
from wxarchive.models import SHANGHAI
from wxarchive.trust import safe_url

__all__ = ["GONE", "Fate", "SourceStatus", "mark_source"]


class SourceStatus(str, enum.Enum):
    """What WeChat says of an archived article's original today."""

    ALIVE = "alive"
    EDITED = "edited"  # the title or digest changed (or WeChat flags a modified title)
    DELETED = "deleted"  # deleted by the author
    REMOVED = "removed"  # removed by WeChat; the reason is kept
    UNAVAILABLE = "unavailable"
    ACCOUNT_CLOSED = "account_closed"
    MIGRATED = "migrated"  # the account moved; the target is kept

    def __str__(self) -> str:
        return self.value


GONE = frozenset({SourceStatus.DELETED, SourceStatus.REMOVED, SourceStatus.UNAVAILABLE,
                  SourceStatus.ACCOUNT_CLOSED, SourceStatus.MIGRATED})

# how the attribution line tells a reader what happened (after "原文已于 DATE")
_PHRASE = {
    SourceStatus.DELETED: "原文已于 {d} 被发布者删除",
    SourceStatus.REMOVED: "原文已于 {d} 被微信删除",
    SourceStatus.UNAVAILABLE: "原文自 {d} 起无法查看",
    SourceStatus.ACCOUNT_CLOSED: "原文所在帐号已于 {d} 注销或被封",
    SourceStatus.MIGRATED: "原文所在帐号已于 {d} 迁移",
    SourceStatus.EDITED: "原文已于 {d} 被修改",
}


def _ts(when: float) -> str:
    return dt.datetime.fromtimestamp(when, SHANGHAI).strftime("%Y-%m-%d %H:%M:%S %z")


@dataclass(frozen=True, slots=True)
class Fate:
    """The current state of an article's original, as the last check with a verdict saw it."""

    status: SourceStatus
    checked_at: float  # unix time of the last check that gave a verdict
    since: float  # when this status was first seen
    gone_at: float | None = None  # when the original was first seen gone (kept while it stays gone)
    reason: str = ""  # WeChat's words (removed, unavailable, account_closed, ...)
    target: str = ""  # migration target
    title: str = ""  # the new title of an edited article

    @property
    def gone(self) -> bool:
        return self.status in GONE

    def front_matter(self) -> dict[str, Any]:
        """``source_status``, ``source_checked_at``, ``source_gone_at``, ``source_reason`` (+ title/target)."""
        fm: dict[str, Any] = {"source_status": self.status.value, "source_checked_at": _ts(self.checked_at)}
        if self.gone_at is not None and self.gone:
            fm["source_gone_at"] = _ts(self.gone_at)
        if self.reason:
            fm["source_reason"] = self.reason
        if self.status is SourceStatus.EDITED and self.title:
            fm["source_title"] = self.title
        if self.status is SourceStatus.MIGRATED and self.target:
            fm["source_target"] = self.target
        return fm

    def note(self) -> str:
        """``原文已于 2026-12-03 被发布者删除`` -- empty for an original that is alive."""
        phrase = _PHRASE.get(self.status)
        if phrase is None:
            return ""
        when = self.gone_at if self.gone and self.gone_at is not None else self.since
        text = phrase.format(d=dt.datetime.fromtimestamp(when, SHANGHAI).strftime("%Y-%m-%d"))
        if self.status is SourceStatus.REMOVED and self.reason:
            text += "：" + _md_plain(self.reason)
        if self.status is SourceStatus.EDITED and self.title:
            text += "，新标题：" + _md_plain(self.title)
        if self.status is SourceStatus.MIGRATED and self.target:
            target = " ".join(self.target.split())[:500]
            text += f"，新地址：[链接]({escape_url(target)})" if safe_url(target) else "，新地址：" + _md_plain(target)
        return text


FM_KEYS = ("source_status", "source_checked_at", "source_gone_at", "source_reason", "source_title", "source_target")


def _md_plain(text: str) -> str:
    """Text set in a Markdown line without becoming markup: the body writer's own escaping (``{::`` too)."""
    return escape_text(" ".join(str(text).split())[:200]).replace("]", "\\]")


def mark_source(link: str, fate: Fate | None, lit: Callable[[str], str] = lambda s: s) -> str:
    """The source link as is while the original lives; struck through, with what happened, once it is gone."""
    if fate is None or fate.status is SourceStatus.ALIVE:
        return link
    note = lit(fate.note())
    return f"~~{link}~~（{note}）" if fate.gone else f"{link}（{note}）"
