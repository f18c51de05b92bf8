"""Command line: the parser; then, once a command is named, :mod:`running` and the command's own module.

Each command runs in a module of its own (:data:`running.COMMANDS`: ``archiving``, ``status``, ``checkcmd``,
``listing``, …), imported when that command runs: ``--help`` and ``--version`` load only the parser
(no logging, no archive, HTTP or HTML code). Progress and logs on stderr; results (and ``--json``
lines) on stdout.

Exit status: 0 every source archived or skipped; 1 any failed; 2 usage error;
3 WeChat asked for verification / rate limit, or another run holds the lock.
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
from collections.abc import Sequence
from typing import Any, NoReturn

from wxarchive import __version__
from wxarchive.cli import accounts, checkcmd, listing, login, show
from wxarchive.cli.common import ARCHIVING, add_options, silence_stdout
from wxarchive.config import split_config_flags
from wxarchive.errors import UsageError

__all__ = ["build_parser", "main", "run"]


def _examples(text: str) -> str:
    return "examples:\n" + text.strip("\n")


class _Parser(argparse.ArgumentParser):
    """A command's parser: no abbreviated options (`--max 3` must not silently mean --max-attempts 3)."""

    def __init__(self, **kw: Any) -> None:  # (argparse makes each command's parser with keywords only)
        kw.setdefault("allow_abbrev", False)
        super().__init__(**kw)


def build_parser() -> argparse.ArgumentParser:
    """The whole parser: the top level and every command's."""
    ap = argparse.ArgumentParser(prog="wxarchive", description="Archive WeChat articles into a Jekyll Markdown archive.",
                                 allow_abbrev=False)
    ap.add_argument("--version", action="version", version=f"wxarchive {__version__}")
    ap.add_argument("--config", metavar="FILE",
                    help="read option defaults from FILE instead of ~/.config/wxarchive/config.toml (any position)")
    ap.add_argument("--ignore-config", action="store_true",
                    help="read no config file (neither yours nor the archive's [options])")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_get(sub)
    _add_site_commands(sub)
    _add_batch_commands(sub)
    checkcmd.add_parser(sub)
    _add_status(sub)
    show.add_parser(sub, _examples)
    login.add_parser(sub)
    accounts.add_parser(sub)
    listing.add_parser(sub)
    return ap


def _add_get(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("get", help="archive article URLs or saved .html pages", epilog=_examples("""
  wxarchive get https://mp.weixin.qq.com/s/XXXXXXXX          # one article into ./archive
  wxarchive get saved-page.html --out ~/blog                 # a page saved from a browser
  wxarchive get URL1 URL2 --json | jq .post                  # one JSON line per source
  wxarchive get URL --proxy http://127.0.0.1:3128 --cookies cookies.txt
  wxarchive get -a links.txt                                 # same as: wxarchive import links.txt"""),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sources", nargs="*", metavar="SOURCE", help="article URL or saved page; - reads links from stdin")
    p.add_argument("-a", "--batch-file", metavar="FILE",
                   help="archive every link in FILE (- for stdin), as `wxarchive import FILE` does")
    add_options(p, *ARCHIVING)
    add_options(p, "dry_run", "exec", "exec_after")


def _add_site_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    """``init`` and ``rebuild``: the archive itself, no article page asked for."""
    p = sub.add_parser("init", help="lay down a minimal Jekyll site in DIR (never overwrites)", epilog=_examples("""
  wxarchive init ~/blog          # _config.yml, layouts, index, wxarchive.toml (existing files kept)
  wxarchive init myblog          # an existing Jekyll site: only wxarchive.toml and folders are added"""),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", nargs="?", default=None, help="the site's folder (default: --out, else ./archive)")
    add_options(p, "out", "verbose", out=None)

    p = sub.add_parser("rebuild", help="re-render every post from the raw pages kept in the archive (offline but for missing images)", epilog=_examples("""
  wxarchive rebuild --out ~/blog             # every post again from its kept raw page
  wxarchive rebuild --out ~/blog --no-images # offline: do not fetch missing images
  wxarchive rebuild KEY --keep-footers       # one post again, with what cleaning removed put back"""),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("keys", nargs="*", metavar="KEY|URL",
                   help="only these articles (key or any URL of each); default: every post")
    add_options(p, *ARCHIVING)
    p.add_argument("--from-posts", action="store_true",
                   help="rebuild the state database from the posts' front matter (after it was damaged or lost)")


def _add_batch_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    """``import`` and ``harvest``: many articles, with a back-off and a dry run."""
    p = sub.add_parser("import", help="archive every article link in a list, CSV, JSON or bookmarks file", epilog=_examples("""
  wxarchive import links.txt                          # a list; progress bar on a terminal
  wxarchive import export.csv --out ~/blog --delay 5  # slower pacing for a long list
  pbpaste | wxarchive import -                        # from the clipboard
  wxarchive import bookmarks.html --dry-run           # what would be fetched, no request"""),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", metavar="FILE|-", help="text list (# comments), CSV, JSON or HTML bookmarks; - for stdin")
    add_options(p, *ARCHIVING)
    add_options(p, "ignore_backoff", "dry_run", "exec", "exec_after")

    p = sub.add_parser("harvest", help="archive what is new in the [[sources]] of wxarchive.toml (for cron)", epilog=_examples("""
  wxarchive harvest --out ~/blog --log ~/blog/.wxarchive/harvest.log   # from cron: silent when all is well
  wxarchive harvest --out ~/blog --dry-run                              # what the sources list now"""),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(p, *ARCHIVING)
    add_options(p, "ignore_backoff", "dry_run", "exec", "exec_after")


def _add_status(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("status", help="counts, failures, back-off and sources of an archive", epilog=_examples("""
  wxarchive status --out ~/blog          # counts, missing images, failures, back-off, sources
  wxarchive status --out ~/blog --json"""),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(p, "out", "json", "verbose")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        argv, config_file, ignore_config = split_config_flags(argv)
    except UsageError as e:
        print(f"wxarchive: {e.message}", file=sys.stderr)
        return 2
    ap = build_parser()
    args = ap.parse_args(argv)
    if not args.command:
        ap.print_help(sys.stderr)
        return 2
    from wxarchive.cli.running import run_command  # the dispatch point: then the command's own module

    return run_command(ap, argv, args, config_file, ignore_config)


def run() -> NoReturn:
    """The console script and ``python -m wxarchive``: :func:`main`, its output flushed, then leave at once.

    Kept after measuring (docs/PERFORMANCE.md, item 13): the interpreter's teardown frees every
    module's objects one by one, 12-17 ms of CPU after a ``get``, which turned three of ``python -m
    bench whole``'s targets from met to missed. By the time ``main`` returns, every file is written and
    closed and the state committed; what is left is to flush the logs and the standard streams. A
    thread still running (none should be) gets the ordinary exit, except after a second Ctrl-C:
    downloads stuck on a slow server are not waited for. A reader that has gone (``… | head -1``) is
    not an error: nothing more is said.
    """
    try:
        code = main()
    except SystemExit as e:  # argparse's own exits: --help, --version, usage errors
        code = _status(e.code)
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        silence_stdout()  # (the reader has gone: as `yes | head` does, say nothing)
    except OSError:
        code = code or 120  # the interpreter's own status for output it could not write
    if code != 130 and any(t.is_alive() and not t.daemon for t in _threads()):
        sys.exit(code)
    logging = sys.modules.get("logging")  # (loaded when a command ran; --help loads none)
    if logging is not None:
        logging.shutdown()  # (what its exit hook would do: flush and close every handler)
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)


def _status(code: object) -> int:
    """``SystemExit.code`` as the interpreter turns it into an exit status (a message: printed, 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _threads() -> list[threading.Thread]:
    """Threads other than this one."""
    me = threading.current_thread()
    return [t for t in threading.enumerate() if t is not me]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
