"""``wxarchive ls``: the archive's index for people and scripts (one line, or one JSON object, per article).

Kept in a module of its own so that further views (``--gone``, filters) can be added here.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wxarchive.cli.common import add_options
from wxarchive.errors import UsageError

# What the command uses (the state: sqlite3; the log formatter) is imported when it runs: this module
# also declares the command's options, which every run's parser (--help included) reads.

__all__ = ["add_parser", "cmd_ls", "rows"]

EXAMPLES = """examples:
  wxarchive ls                              # date, status, account, title, post
  wxarchive ls --json | jq -r 'select(.images.missing > 0) | .post'
  wxarchive ls --gone                       # originals `wxarchive check` found gone, with their fate
"""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser("ls", help="list what the archive holds (key, date, account, title, post, status, images)",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(p, "out", "json")
    p.add_argument("--gone", action="store_true", help="only articles whose original was found deleted, removed, ...")
    add_options(p, "verbose")
    return p


def rows(root: Path) -> Iterator[dict[str, Any]]:
    """One record per article in the state, with its post's path from the current directory."""
    from wxarchive.layout import STATE_DB, STATE_DIR, state_db
    from wxarchive.archive.store import Status, Store

    db = state_db(root)
    if not db.is_file():
        raise UsageError(f"{root} holds no wxarchive archive (no {STATE_DIR}/{STATE_DB})")
    top = str(root)  # (os.path.join: pathlib would intern every post's name, a table that grows with the archive)
    with Store(db, readonly=True) as st:  # (ls reads: it works on a read-only archive)
        gone = {r.key: f.status.value for r, f in st.fates(gone_only=True)}  # one query, not one per article
        for rec in st.articles():  # read as they are printed: memory stays flat however many there are
            found, saved = int(rec.images_found or 0), int(rec.images_saved or 0)
            archived = rec.status == Status.ARCHIVED
            yield {"key": rec.key, "published": rec.published or None, "account": rec.account or None,
                   "title": rec.title or None, "status": rec.status,
                   "post": os.path.join(top, rec.post_path) if archived and rec.post_path else None,
                   "url": rec.canonical_url or rec.url or None,
                   "error": None if archived else rec.error_code,
                   "gone": gone.get(rec.key),  # what `check` found of the original: deleted, removed, …
                   "images": {"found": found, "saved": saved,
                              "missing": max(0, found - saved) if archived and not rec.no_images else 0}}


def cmd_ls(args: argparse.Namespace) -> int:
    from wxarchive.archive.store import Status
    from wxarchive.trust import visible  # titles and accounts are others' text: controls shown, not obeyed

    if getattr(args, "gone", False):
        from wxarchive.cli.gone import gone_rows, gone_line

        for g in gone_rows(Path(args.out)):
            print(json.dumps(g, ensure_ascii=False) if args.json else visible(gone_line(g)))
        sys.stdout.flush()
        return 0

    for r in rows(Path(args.out)):
        if args.json:
            print(json.dumps(r, ensure_ascii=False))
            continue
        day = (r["published"] or "")[:10] or "-"
        missing = f"  [{r['images']['missing']} image(s) missing]" if r["images"]["missing"] else ""
        missing += f"  [original gone: {r['gone']}]" if r.get("gone") else ""
        where = r["post"] or r["url"] or ""
        what = r["status"] if r["status"] == Status.ARCHIVED else f"{r['status']}:{r['error'] or '?'}"
        print(visible(f"{day}  {what:10} {r['account'] or '-'}  {r['title'] or r['key']}  {where}{missing}"))
    sys.stdout.flush()
    return 0
