"""``wxarchive accounts add|ls``: follow a whole account (a ``[[sources]]`` entry listed through WeRead), and
see how each followed account stands: last listing, articles archived, the history walk, the session."""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

from wxarchive.cli.common import add_options
from wxarchive.errors import UsageError
from wxarchive.layout import CONFIG_NAME, state_db

__all__ = ["add_parser", "cmd_accounts"]

EXAMPLES = """examples:
  wxarchive accounts add 'https://mp.weixin.qq.com/s?__biz=MzA5NjQ0MjY2Mw==&mid=1&idx=1&sn=…' --name 南宁市反诈骗
  wxarchive accounts add MzA5NjQ0MjY2Mw== --since 2024-01-01 --out ~/blog
  wxarchive accounts ls --out ~/blog"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser("accounts", help="follow a whole account through WeRead (add), or list the followed ones (ls)",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["add", "ls"])
    p.add_argument("account", nargs="?", metavar="ARTICLE_URL|BIZ", help="add: a long article link or the __biz")
    p.add_argument("--name", metavar="NAME", help="add: the label shown in reports (default: the account)")
    p.add_argument("--since", metavar="DATE", help="add: list nothing published before DATE (2024-01-01)")
    add_options(p, "out", "json", "verbose")


def _toml_string(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a JSON string is a TOML basic string (escapes included)


def add(root: Path, account: str, name: str | None, since: str | None) -> str:
    """Append a ``[[sources]]`` account entry to ``root/wxarchive.toml`` (temp file + rename); the line to say."""
    from wxarchive.archive.site import Site, atomic_write
    from wxarchive.jobs.sources import SourceSpec

    entry: dict[str, Any] = {"name": name or account, "account": account}
    if since:
        entry["since"] = since
    spec = SourceSpec.from_config(entry, 0)  # the same checks harvest makes, before anything is written
    cfg = root / CONFIG_NAME
    old = cfg.read_text(encoding="utf-8") if cfg.is_file() else ""
    for n, e in enumerate(Site.open(root).sources if cfg.is_file() else [], 1):
        if isinstance(e, dict) and "account" in e and SourceSpec.from_config(e, n).account == spec.account:
            raise UsageError(f"{spec.account} is followed already ([[sources]] entry {n} of {cfg})")
    block = (f"\n[[sources]]\nname = {_toml_string(spec.name)}\naccount = {_toml_string(account.strip())}\n"
             + (f"since = {_toml_string(spec.since)}\n" if spec.since else ""))
    root.mkdir(parents=True, exist_ok=True)
    atomic_write(cfg, (old + ("\n" if old and not old.endswith("\n") else "") + block).encode("utf-8"))
    return (f"wxarchive: following {spec.name} ({spec.account}) in {cfg}; `wxarchive harvest` lists it "
            "(with the session of `wxarchive login weread`)")


def _biz(book: str) -> str:
    return base64.b64encode(book.removeprefix("MP_WXS_").encode()).decode()


def rows(root: Path) -> list[dict[str, Any]]:
    """One row per followed account, from the archive's config and state (no request)."""
    from wxarchive.archive.site import Site
    from wxarchive.jobs.sources import SourceSpec
    from wxarchive.archive.store import StateKey, Store
    from wxarchive.net.weread import COOKIES_FILE, session_dir

    specs = [SourceSpec.from_config(e, n) for n, e in enumerate(Site.open(root).sources, 1)
             if isinstance(e, dict) and "account" in e]
    db = state_db(root)
    st = Store(db) if db.is_file() else None
    try:
        runs = {s["source"]: s for s in st.sources()} if st else {}
        weread = (st.get_kv(StateKey.WEREAD) if st else None) or {}
        out = []
        for spec in specs:
            run = runs.get(spec.ident, {})
            walk = st.source_state(spec.ident).walk if st else {}
            counts = st.counts_of_biz(_biz(spec.account)) if st is not None else {}
            out.append({"name": spec.name, "account": spec.account, "biz": _biz(spec.account),
                        "last_listed": run.get("last_run"), "last_status": run.get("last_status", ""),
                        "found": run.get("found", 0), "new": run.get("new", 0),
                        "archived": counts.get("archived", 0), "failed": counts.get("failed", 0) + counts.get(
                            "gave_up", 0), "history": "complete" if walk.get("done") else (
                            f"goes on from send {walk['cursor']}" if walk.get("cursor") is not None else "to its first archived post"),
                        "session": "kept" if (session_dir() / COOKIES_FILE).is_file() else "none",
                        "benched_until": weread.get("benched_until") if (weread.get("benched_until") or 0) > time.time()
                        else None})
        return out
    finally:
        if st is not None:
            st.close()


def _when(t: float | None) -> str:
    if not t:
        return "never"
    return dt.datetime.fromtimestamp(t, dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M CST")


def cmd_accounts(args: argparse.Namespace) -> int:
    root = Path(args.out).expanduser()
    if args.action == "add":
        if not args.account:
            raise UsageError("accounts add wants an article link or the account's __biz")
        print(add(root, args.account, args.name, args.since), file=sys.stderr)
        return 0
    if args.account or args.name or args.since:
        raise UsageError("accounts ls takes no account, --name or --since")
    if not (root / CONFIG_NAME).is_file():
        raise UsageError(f"no archive at {args.out} (no wxarchive.toml); see `wxarchive init`")
    for r in rows(root):
        if args.json:
            print(json.dumps(r, ensure_ascii=False))
            continue
        bench = f"; benched until {_when(r['benched_until'])}" if r["benched_until"] else ""
        print(f"{r['name']} ({r['account']}): last listed {_when(r['last_listed'])}"
              f"{', ' + r['last_status'][:120] if r['last_status'] else ''}; archived {r['archived']}, failed "
              f"{r['failed']}; history {r['history']}; session {r['session']}{bench}")
    return 0
