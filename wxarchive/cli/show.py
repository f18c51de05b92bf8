"""``wxarchive show KEY``: one archived article as the state knows it, and (``--removed``) every block the
cleaner took out of its post, with the reason, so nothing is removed without a way to see it.

``rebuild KEY --keep-footers`` puts the removed blocks back (see :meth:`pipeline.Archiver.rebuild`).
"""
from __future__ import annotations

import argparse
import json
from typing import Any

from wxarchive.cli.common import add_options
from wxarchive.errors import UsageError

# What the command uses (the state: sqlite3; the log formatter) is imported when it runs: this module
# also declares the command's options, which every run's parser (--help included) reads.

__all__ = ["add_parser", "cmd_show", "removed_blocks"]


def add_parser(sub: Any, examples: Any) -> None:
    p = sub.add_parser("show", help="one archived article: its record, and with --removed what cleaning took out",
                       epilog=examples("""
  wxarchive show 'MzA…==:2650…:1'                    # by key
  wxarchive show https://mp.weixin.qq.com/s/XXXXXXXX --removed   # by any URL: each removed block and why
  wxarchive rebuild 'MzA…==:2650…:1' --keep-footers  # put them back in the post"""),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("key", metavar="KEY|URL", help="the article's key (biz:mid:idx) or any URL of it")
    add_options(p, "out")
    p.add_argument("--removed", action="store_true", help="list each block cleaning removed from the post, with why")
    add_options(p, "json", "verbose")


def removed_blocks(stripped: str | None) -> list[dict[str, str]]:
    """The state's record of what was removed (``articles.stripped``) as ``{reason, text}`` items."""
    try:
        items = json.loads(stripped or "[]")
    except ValueError:
        return []
    return [{"reason": str(i.get("reason", "")), "text": str(i.get("text", ""))}
            for i in items if isinstance(i, dict)]


def cmd_show(args: argparse.Namespace) -> int:
    from wxarchive.trust import visible  # a title or a removed block may hold terminal escapes: shown, not acted on
    from wxarchive.urls import article_key, is_article_url, normalize_article_url
    from wxarchive.archive.site import Site
    from wxarchive.layout import STATE_DB, STATE_DIR
    from wxarchive.archive.store import Store

    site = Site.open(args.out)
    db = site.state_db
    if not db.is_file():
        raise UsageError(f"{args.out} holds no wxarchive archive (no {STATE_DIR}/{STATE_DB})")
    want = args.key
    if is_article_url(want):
        want = article_key(normalize_article_url(want)) or normalize_article_url(want)
    with Store(db) as store:
        rec = store.get(want)
        if rec is None:
            raise UsageError(f"{args.key}: not in the archive at {args.out} (`wxarchive ls` lists what is)")
    info: dict[str, Any] = {"key": rec.key, "title": rec.title, "account": rec.account, "published": rec.published or None,
            "status": rec.status, "post": str(site.root / rec.post_path) if rec.post_path else None,
            "url": rec.canonical_url or rec.url, "keep_footers": bool(rec.keep_footers),
            "no_images": bool(rec.no_images), "removed": removed_blocks(rec.stripped)}
    if args.json:
        print(json.dumps(info, ensure_ascii=False))
        return 0
    for name in ("key", "title", "account", "published", "status", "post", "url"):
        print(f"{name:<10}{visible(str(info[name] or ''))}")
    kept = "kept (--keep-footers)" if info["keep_footers"] else f"{len(info['removed'])} block(s) removed"
    print(f"{'cleaning':<10}{kept}")
    if args.removed:
        for item in info["removed"]:
            print(f"  {visible(item['reason'])}: {visible(item['text'])}")
    elif info["removed"]:
        print(f"{'':<10}(--removed lists them; `wxarchive rebuild {rec.key} --keep-footers` puts them back)")
    return 0
