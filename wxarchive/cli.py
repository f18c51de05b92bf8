"""Command line: argparse -> Options -> pipeline; exit codes; progress on stderr; JSON lines on stdout.

Exit status: 0 every source archived or skipped; 1 any failed; 2 usage error;
3 WeChat asked for verification / rate limit, or another run holds the lock.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Sequence

from . import __version__
from .errors import RateLimited, UsageError, WxError
from .fetch import parse_connect_to
from .pipeline import Archiver, Options, Outcome

__all__ = ["main"]

log = logging.getLogger("wxarchive")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", "-o", default="archive", metavar="DIR", help="archive root (default: ./archive)")
    p.add_argument("--connect-to", action="append", metavar="HOST=BASE_URL",
                   help="send requests for HOST to BASE_URL (repeatable; env WXARCHIVE_CONNECT_TO)")
    p.add_argument("--no-images", action="store_true", help="keep remote image URLs, download nothing")
    p.add_argument("--json", action="store_true", help="one JSON object per source on stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    p.add_argument("--force", action="store_true", help="archive again even if already archived")
    p.add_argument("--delay", type=float, default=None, metavar="SECONDS",
                   help="minimum seconds between article pages (default 2, plus up to 1 s jitter)")
    p.add_argument("--concurrency", type=int, default=4, metavar="N", help="parallel image downloads (default 4)")
    p.add_argument("--timeout", type=float, default=20.0, metavar="SECONDS", help="per-request timeout (default 20)")
    p.add_argument("--media", action="store_true", help="also note audio/video files for download where exposed")
    p.add_argument("--keep-footers", action="store_true", help="keep account footers and boilerplate")
    p.add_argument("--max-attempts", type=int, default=3, metavar="N", help="give up an article after N failures")
    p.add_argument("--retry-failed", action="store_true", help="try given-up articles again")
    p.add_argument("--log", metavar="FILE", help="write a full log to FILE")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="wxarchive", description="Archive WeChat articles into a Jekyll Markdown archive.")
    ap.add_argument("--version", action="version", version=f"wxarchive {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("get", help="archive article URLs or saved .html pages")
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="article URL or saved page")
    _common(p)

    p = sub.add_parser("init", help="lay down a minimal Jekyll site in DIR (never overwrites)")
    p.add_argument("dir", nargs="?", default="archive")

    p = sub.add_parser("rebuild", help="re-render every post from the raw pages kept in the archive (offline)")
    _common(p)

    p = sub.add_parser("status", help="counts, failures, back-off and sources of an archive")
    p.add_argument("--out", "-o", default="archive", metavar="DIR")
    p.add_argument("--json", action="store_true")
    return ap


def _setup_logging(verbose: int, quiet: bool, log_file: str | None) -> None:
    root = logging.getLogger()
    root.handlers.clear()
    level = logging.ERROR if quiet else logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    h = logging.StreamHandler(sys.stderr)
    h.setLevel(level)
    h.setFormatter(logging.Formatter("wxarchive: %(message)s"))
    root.addHandler(h)
    root.setLevel(min(level, logging.INFO) if log_file else level)
    if log_file:
        fh = logging.FileHandler(log_file, encoding="utf-8")
        fh.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(fh)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def options_from(args: argparse.Namespace) -> Options:
    routes = parse_connect_to(args.connect_to, os.environ.get("WXARCHIVE_CONNECT_TO"))
    delay = (2.0, 3.0) if args.delay is None else (max(0.0, args.delay), max(0.0, args.delay) * 1.5)
    if args.concurrency < 1 or args.max_attempts < 1:
        raise UsageError("--concurrency and --max-attempts must be at least 1")
    return Options(out=Path(args.out), no_images=args.no_images, force=args.force, media=args.media,
                   keep_footers=args.keep_footers, max_attempts=args.max_attempts, retry_failed=args.retry_failed,
                   concurrency=args.concurrency, delay=delay, timeout=args.timeout, connect_to=routes)


def _printer(as_json: bool, quiet: bool):
    def show(o: Outcome) -> None:
        if as_json:
            print(json.dumps(o.as_json(), ensure_ascii=False), flush=True)
        elif o.status != "failed" and not quiet:
            imgs = o.images
            extra = f"  [images {imgs['saved']}/{imgs['found']}]" if imgs.get("found") else ""
            print(f"{o.status:9} {o.post or ''}  {o.title or ''}{extra}", flush=True)
    return show


def exit_code(outcomes: list[Outcome], blocked: bool) -> int:
    if blocked:
        return 3
    return 1 if any(o.status == "failed" for o in outcomes) else 0


def cmd_get(args: argparse.Namespace) -> int:
    opts = options_from(args)
    show = _printer(args.json, args.quiet)
    with Archiver(opts) as arch:
        outs = arch.archive_many(args.sources, on_outcome=show)
        if arch.blocked is not None:
            done = {o.source for o in outs}
            for s in args.sources:
                if s not in done:
                    show(Outcome(s, "failed", error="verify", message="not tried: WeChat asked for verification"))
            print(f"wxarchive: stopped: {arch.blocked.message}. Try again later.", file=sys.stderr)
        return exit_code(outs, arch.blocked is not None)


def cmd_init(args: argparse.Namespace) -> int:
    from .site import Site

    made = Site.open(args.dir).init()
    for p in made:
        print(p)
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    opts = options_from(args)
    show = _printer(args.json, args.quiet)
    with Archiver(opts) as arch:
        outs = arch.rebuild(on_outcome=show)
    return 1 if any(o.status == "failed" for o in outs) else 0


def cmd_status(args: argparse.Namespace) -> int:
    from .site import Site
    from .store import Store

    site = Site.open(args.out)
    db = site.state_dir / "state.sqlite3"
    if not db.exists():
        raise UsageError(f"{args.out} holds no wxarchive state (nothing archived yet)")
    with Store(db) as st:
        info = {"counts": st.counts(), "failures": st.failures(), "backoff": st.get_kv("backoff"),
                "sources": st.sources()}
    if args.json:
        print(json.dumps(info, ensure_ascii=False, default=str))
        return 0
    counts = info["counts"]
    print("articles: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"))
    if info["backoff"]:
        print(f"back-off: no WeChat requests before {info['backoff'].get('until_text', info['backoff'])}")
    for f in info["failures"]:
        print(f"{f['status']:8} {f['error_code'] or '':14} attempts {f['attempts']}  {f['url']}  {f['error_msg'] or ''}")
    for s in info["sources"]:
        import datetime as dt

        when = dt.datetime.fromtimestamp(s["last_run"]).strftime("%Y-%m-%d %H:%M") if s["last_run"] else "never"
        print(f"source {s['source']}: last run {when}, {s['last_status']}, found {s['found']}, new {s['new']}")
    return 0


COMMANDS = {"get": cmd_get, "init": cmd_init, "rebuild": cmd_rebuild, "status": cmd_status}


def main(argv: Sequence[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if not args.command:
        ap.print_help(sys.stderr)
        return 2
    _setup_logging(getattr(args, "verbose", 0), getattr(args, "quiet", False), getattr(args, "log", None))
    try:
        return COMMANDS[args.command](args)
    except UsageError as e:
        print(f"wxarchive: {e.message}", file=sys.stderr)
        return 2
    except RateLimited as e:
        print(f"wxarchive: {e.message}", file=sys.stderr)
        return 3
    except WxError as e:
        print(f"wxarchive: {e.message}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("wxarchive: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
