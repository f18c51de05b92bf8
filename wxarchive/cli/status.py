"""status: counts, failures, back-off and sources of an archive, read without changing it."""
from __future__ import annotations

import argparse
from typing import Any
import datetime as dt
import json
import time
from pathlib import Path

from wxarchive.archive.backoff import Backoff
from wxarchive.archive.site import Site
from wxarchive.archive.store import Store
from wxarchive.errors import UsageError
from wxarchive.jobs.sources import SourceSpec

__all__ = ["cmd_status"]


def cmd_status(args: argparse.Namespace) -> int:
    site = Site.open(args.out)
    db = site.state_db
    if not db.exists():
        raise UsageError(f"{args.out} holds no wxarchive state (nothing archived yet)")
    info = _status_info(site, db)
    if args.json:
        print(json.dumps(info, ensure_ascii=False, default=str))
        return 0
    _print_status(info)
    return 0


def _status_info(site: Site, db: Path) -> dict[str, Any]:
    """What ``status`` says, read from the state (read-only) and the sources' names in wxarchive.toml."""
    names = {}
    try:
        for n, e in enumerate(site.sources):
            spec = SourceSpec.from_config(e, n + 1)
            names[spec.ident] = spec.name
    except UsageError:
        pass
    with Store(db, readonly=True) as st:
        backoff = Backoff(st).current()  # (a record this code cannot read is left out, with a line)
        if backoff is not None:
            backoff = {**backoff, "in_force": float(backoff.get("until", 0)) > time.time()}
        sources = []
        for s in st.sources():
            sources.append({**s, "name": names.get(s["source"], s["source"]),
                            "pending": len(st.source_state(s["source"]).pending)})
        missing, in_posts = st.images_missing_total()
        return {"counts": st.counts(), "failures": st.failures(), "backoff": backoff, "sources": sources,
                "images_missing": {"images": missing, "posts": in_posts}}


def _print_status(info: dict[str, Any]) -> None:
    counts = info["counts"]
    print("articles: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"))
    im = info["images_missing"]
    print(f"images: {im['images']} missing in {im['posts']} post(s) (tried again by the next get, import, harvest "
          "or rebuild)" if im["images"] else "images: none missing")
    bo = info["backoff"]
    if bo and bo.get("in_force"):
        print(f"back-off: no WeChat requests before {bo.get('until_text')} (level {bo.get('level', 0)}: "
              f"{int(bo.get('delay', 0)) // 60} min; {bo.get('reason', '')})")
    elif bo:
        print(f"back-off: none in force (last one ended {bo.get('until_text')}; the next block waits longer)")
    else:
        print("back-off: none")
    for f in info["failures"]:
        msg = f["error_msg"] or ""
        where = msg if f["url"] and f["url"] in msg else f"{f['url']}  {msg}"
        print(f"{f['status']:8} {f['error_code'] or '':14} attempts {f['attempts']}  {where}")
    for s in info["sources"]:
        when = dt.datetime.fromtimestamp(s["last_run"]).strftime("%Y-%m-%d %H:%M") if s["last_run"] else "never"
        label = s["name"] if s["name"] == s["source"] else f"{s['name']} <{s['source']}>"
        pend = f", {s['pending']} pending" if s.get("pending") else ""
        print(f"source {label}: last harvest {when}, {s['last_status']}, found {s['found']}, new {s['new']}{pend}")


