"""The `wxarchive check` command and the `[check]` slice a harvest runs: lock, back-off, output."""
from __future__ import annotations

import argparse
import collections
import json
import sys
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from collections.abc import Callable

from wxarchive.cli.common import add_options, locked_archiver, options_from, require_archive
from wxarchive.errors import ErrorCode, UsageError

# What a check uses (the checking machinery, the state: sqlite3, lxml; the log formatter) is imported when
# it runs: this module also declares the command's options, which every run's parser (--help included) reads.
if TYPE_CHECKING:
    from wxarchive.jobs.check import CheckOutcome

__all__ = ["add_parser", "change_line", "check_slice", "cmd_check"]

EXAMPLES = """examples:
  wxarchive check --out ~/blog --max 50             # the 50 least recently checked articles
  wxarchive check --out ~/blog --older-than 30d     # those not checked for 30 days
  wxarchive check --out ~/blog --json KEY_OR_URL    # one article; one JSON line with previous and new state
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser("check", help="re-visit archived articles and record whether each original is still there",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("targets", nargs="*", metavar="KEY|URL", help="check only these articles (key or any URL of one)")
    add_options(p, "out")
    p.add_argument("--max", type=int, default=None, metavar="N", help="check at most N articles")
    p.add_argument("--older-than", metavar="AGE", help="only articles not checked for AGE (30d, 12h, 2w)")
    p.add_argument("--account", metavar="NAME", help="only this account's articles")
    p.add_argument("--refetch-edited", action="store_true",
                   help="archive the new version of an edited article beside the old one")
    add_options(p, "json", "connect_to", "delay", "timeout", "ignore_backoff", "dry_run", "quiet", "verbose", "log",
                "proxy", "cookies", "user_agent", "ca_cert")
    # what options_from reads for the archiving commands; a check archives nothing (but --refetch-edited)
    p.set_defaults(no_images=False, force=False, media=False, keep_footers=False, max_attempts=3,
                   retry_failed=False, concurrency=4, attempt_gap=3600.0)


def change_line(o: CheckOutcome) -> str:
    """``deleted  (was alive)  _posts/….md  title: reason`` -- one line per article."""
    from wxarchive.trust import visible  # a title, reason or target is WeChat's (or anyone's) text: controls shown
    from wxarchive.write.original import SourceStatus

    if o.state is None:
        return visible(f"failed   {o.seen:12} {o.source}  {o.message}".rstrip())
    was = f"(was {o.previous})" if o.changed else ""
    extra = o.reason or (f"new title: {o.new_title}" if o.new_title and o.state == SourceStatus.EDITED else "") or o.target
    return visible(f"{o.state:14} {was:20} {o.post or ''}  {o.title or ''}" + (f": {extra}" if extra else ""))


def printer(as_json: bool, quiet: bool) -> Callable[[CheckOutcome], None]:
    def show(o: CheckOutcome) -> None:
        if as_json:
            print(json.dumps(o.as_json(), ensure_ascii=False), flush=True)
        elif not quiet and o.state is not None:
            print(change_line(o), flush=True)
    return show


def summary(outs: list[CheckOutcome]) -> str:
    changed = collections.Counter(o.state for o in outs if o.changed)
    failed = collections.Counter(o.seen for o in outs if o.state is None and o.seen != ErrorCode.VERIFY)
    parts = [f"{sum(1 for o in outs if o.state)} checked"]
    parts.append(f"{sum(changed.values())} changed" + (f" ({', '.join(f'{k} {v}' for k, v in changed.items())})"
                                                       if changed else ""))
    if failed:
        parts.append(f"{sum(failed.values())} failed ({', '.join(f'{k} {v}' for k, v in failed.items())})")
    return "; ".join(parts)


def cmd_check(args: argparse.Namespace) -> int:
    from wxarchive.jobs.check import Checker, parse_age
    from wxarchive.archive.backoff import Backoff
    from wxarchive.cli.report import Progress, chain
    from wxarchive.interrupt import two_step_ctrl_c

    if args.max is not None and args.max < 0:
        raise UsageError("--max must be 0 or more")
    older = parse_age(args.older_than) if args.older_than else None
    require_archive(args.out, "check")
    if args.dry_run:
        return _dry_run(args, older)
    opts = options_from(args)
    show = printer(args.json, args.quiet)
    lock, arch = locked_archiver(opts, "check")
    try:
        checker = Checker(arch, refetch_edited=args.refetch_edited)
        checker.repair()
        recs = checker.select(args.targets or None, max_n=args.max, older_than=older, account=args.account)
        backoff = Backoff(arch.store)
        held = backoff.in_force()
        if held and not args.ignore_backoff and recs:
            print(f"wxarchive: WeChat asked for verification earlier; run again after {held['until_text']} "
                  "(or use --ignore-backoff)", file=sys.stderr)
            return 3
        with two_step_ctrl_c(arch.interrupt, args.quiet), \
                Progress(len(recs), enabled=not args.quiet, label="check") as prog:
            outs = checker.check_many(recs, on_outcome=chain(show, prog.update))  # type: ignore[arg-type]
        if arch.interrupt.soft.is_set():
            print(f"wxarchive: check stopped by Ctrl-C: {summary(outs)}; {len(recs) - len(outs)} article(s) not "
                  "checked; run it again to carry on", file=sys.stderr)
            return 130
        if checker.offline is not None:
            print(f"wxarchive: stopped: no server answered {checker.offline_after} checks in a row "
                  f"({checker.offline}); nothing was recorded as a fate. Run again when the network is back.",
                  file=sys.stderr)
        if checker.blocked is not None:
            rec = backoff.hit(checker.blocked)
            print(f"wxarchive: stopped: {checker.blocked.message}. {len(recs) - len(outs) + 1} article(s) left "
                  f"unchecked; run again after {rec['until_text']}.", file=sys.stderr)
        elif outs and checker.offline is None:
            backoff.clear()
    finally:
        arch.close()
        lock.release()
    if not args.quiet:
        print(f"wxarchive: check: {summary(outs)}", file=sys.stderr)
    if checker.blocked is not None:
        return 3
    return 1 if any(o.state is None for o in outs) else 0


def _dry_run(args: argparse.Namespace, older: float | None) -> int:
    """``check --dry-run``: the articles a check would ask about, read from the state opened read-only
    (no lock, no request, nothing written: it works on a read-only archive)."""
    from wxarchive.jobs.check import Checker
    from wxarchive.archive.site import Site
    from wxarchive.archive.store import Store

    db = Site.open(args.out).state_db
    if not db.is_file():
        raise UsageError(f"{args.out} holds no wxarchive state (nothing archived yet)")
    with Store(db, readonly=True) as st:
        checker = Checker(SimpleNamespace(store=st, opts=None))  # type: ignore[arg-type]
        recs = checker.select(args.targets or None, max_n=args.max, older_than=older, account=args.account)
    for rec in recs:
        if args.json:
            print(json.dumps({"key": rec.key, "url": rec.canonical_url or rec.url, "title": rec.title,
                              "post": rec.post_path, "dry_run": True}, ensure_ascii=False))
        else:
            print(f"would check  {rec.canonical_url or rec.url}  {rec.title or ''}")
    if not args.quiet:
        print(f"wxarchive: check --dry-run: {len(recs)} article(s) would be checked; nothing asked or written",
              file=sys.stderr)
    return 0


def check_slice(arch: Any, cfg: dict[str, Any]) -> tuple[list[CheckOutcome], Any]:
    """The ``[check]`` part of a harvest: (outcomes, the verification error that stopped it or None)."""
    from wxarchive.jobs.check import Checker, parse_age

    try:
        max_n = int(cfg.get("max", 50))
        older = parse_age(str(cfg["older_than"])) if cfg.get("older_than") not in (None, "") else None
    except (TypeError, ValueError):
        raise UsageError("[check] in wxarchive.toml: max must be a number, older_than a duration like \"14d\"") from None
    checker = Checker(arch, refetch_edited=bool(cfg.get("refetch_edited", False)))
    checker.repair()
    recs = checker.select(max_n=max_n, older_than=older, account=cfg.get("account") or None)
    outs = checker.check_many(recs)
    return outs, checker.blocked
