"""Edited articles: keep the new version beside the archived one (``check --refetch-edited``), never over it.

A version is an archived article of its own, keyed ``<key>#v<n>`` (n from 2), with its own post
and raw page and no aliases, so every link to the article still finds the version first archived.
"""
from __future__ import annotations

import logging
from typing import Any

from wxarchive.models import Page
from wxarchive.extract.parse import parse
from wxarchive.jobs.pipeline import Archiver
from wxarchive.archive.store import ArticleRow

__all__ = ["archive_version", "versions_of"]

log = logging.getLogger(__name__)


def versions_of(arch: Archiver, key: str) -> list[dict[str, Any]]:
    """The kept later versions of an article, oldest first."""
    return [dict(zip(("key", "title", "post_path"), r, strict=True)) for r in arch.store.versions_of(key)]


def archive_version(arch: Archiver, rec: ArticleRow, page: Page) -> str | None:
    """Archive ``page`` (the edited original) as a new version of ``rec``; the post of the version with this
    title (``--out`` joined, as every command names a post), or None when it is the title first archived."""
    article = arch._clean(parse(page))
    kept = versions_of(arch, rec.key)
    if article.title == rec.title or any(v["title"] == article.title for v in kept):
        same = next((v for v in kept if v["title"] == article.title), None)
        return str(arch.site.root / same["post_path"]) if same else None  # this title is archived already
    key = f"{rec.key}#v{len(kept) + 2}"
    root = arch.site.root

    def owner(p: object) -> str | None:
        return arch.store.post_owner(str(p.relative_to(root)))  # type: ignore[attr-defined]

    where = arch.site.post_path(article, taken=lambda p: owner(p) not in (None, key))
    if owner(where) not in (None, key):  # both names the article could take belong to other posts: never over one
        log.error("check: %s: no free post name for the edited version (%s is %s's); not archived",
                  rec.key, where.name, owner(where))
        return None
    futures = [] if arch.opts.no_images else arch.saver.submit(article)
    out = arch._finish(rec.url, article, page, futures, key=key)
    log.info("check: kept the edited version of %s as %s", rec.key, out.post)
    return out.post
