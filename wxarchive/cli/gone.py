"""``wxarchive ls --gone``: the articles whose original `wxarchive check` found gone (see :mod:`listing`)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from collections.abc import Iterator

from wxarchive.archive.store import ArticleRow, Store
from wxarchive.errors import UsageError
from wxarchive.layout import STATE_DB, STATE_DIR, state_db
from wxarchive.models import SHANGHAI
from wxarchive.write.original import Fate

__all__ = ["gone_line", "gone_rows"]


def _iso(ts: float | None) -> str | None:
    return dt.datetime.fromtimestamp(ts, SHANGHAI).isoformat() if ts else None


def _row(root: Path, rec: ArticleRow, fate: Fate) -> dict[str, Any]:
    d: dict[str, Any] = {"key": rec.key, "date": (rec.published or "")[:10] or None,
                         "account": rec.account or None, "title": rec.title or None,
                         "post": str(root / rec.post_path) if rec.post_path else None,
                         "url": rec.canonical_url or rec.url or None,
                         "source_status": fate.status.value, "source_checked_at": _iso(fate.checked_at),
                         "source_gone_at": _iso(fate.gone_at)}
    for k, v in (("source_reason", fate.reason), ("source_title", fate.title), ("source_target", fate.target)):
        if v:
            d[k] = v
    return d


def gone_rows(root: Path) -> Iterator[dict[str, Any]]:
    db = state_db(root)
    if not db.is_file():
        raise UsageError(f"{root} holds no wxarchive archive (no {STATE_DIR}/{STATE_DB})")
    with Store(db, readonly=True) as st:
        for rec, fate in st.fates(gone_only=True):
            yield _row(root, rec, fate)


def gone_line(g: dict[str, Any]) -> str:
    when = (g.get("source_gone_at") or "")[:10]
    return f"{g['date'] or '-'}  {g['account'] or '-'}  {g['title'] or g['key']}  [{g['source_status']} {when}]  " \
           f"{g['post'] or g['url'] or ''}"
