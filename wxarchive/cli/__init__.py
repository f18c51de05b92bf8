"""Command line: the parser, config files and logging, then the command's own module (:data:`COMMANDS`).

Each command runs in a module of its own (``archiving``, ``status``, ``checkcmd``, ``listing``, …),
imported when that command runs: ``--help`` and ``--version`` load no archive, HTTP or HTML code.
Progress and logs on stderr; results (and ``--json`` lines) on stdout.

Exit status: 0 every source archived or skipped; 1 any failed; 2 usage error;
3 WeChat asked for verification / rate limit, or another run holds the lock.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from wxarchive import __version__
from wxarchive.cli import accounts, checkcmd, listing, login, show
from wxarchive.cli.common import ARCHIVING, PROXY_ENV, add_options
from wxarchive.config import apply_config, split_config_flags
from wxarchive.errors import RateLimited, StateDamaged, UsageError, WxError
from wxarchive.trust import VisibleFormatter  # titles and WeChat's words reach the log: controls shown, not obeyed

__all__ = ["COMMANDS", "build_parser", "main", "run"]

log = logging.getLogger("wxarchive")


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


def _add_get(sub: argparse._SubParsersAction) -> None:
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


def _add_site_commands(sub: argparse._SubParsersAction) -> None:
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


def _add_batch_commands(sub: argparse._SubParsersAction) -> None:
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


def _add_status(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="counts, failures, back-off and sources of an archive", epilog=_examples("""
  wxarchive status --out ~/blog          # counts, missing images, failures, back-off, sources
  wxarchive status --out ~/blog --json"""),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_options(p, "out", "json", "verbose")


def _setup_logging(verbose: int, quiet: bool, log_file: str | None) -> None:
    root = logging.getLogger()
    root.handlers.clear()
    level = logging.ERROR if quiet else logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    h = logging.StreamHandler(sys.stderr)
    h.setLevel(level)
    h.setFormatter(VisibleFormatter("wxarchive: %(message)s"))
    root.addHandler(h)
    root.setLevel(min(level, logging.INFO) if log_file else level)
    if log_file:
        if Path(log_file).is_dir():
            raise UsageError(f"--log {log_file} is a folder; give a file name, like --log {Path(log_file) / 'wxarchive.log'}")
        try:
            Path(log_file).parent.mkdir(parents=True, exist_ok=True)  # `--log .wxarchive/harvest.log` on a first run
            fh = _LogFile(log_file, encoding="utf-8")
        except (FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError) as e:  # a path that cannot be
            raise UsageError(f"cannot write the log file {log_file}: {e.strerror or e}") from None
        except OSError as e:  # a full disk, a read-only one, no permission: the run is worth more than its log
            print(f"wxarchive: cannot write the log file {log_file}: {e.strerror or e}; going on without it",
                  file=sys.stderr)
            return
        fh.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
        fh.setFormatter(VisibleFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(fh)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _LogFile(logging.FileHandler):
    """A ``--log`` file handler that, when a write fails (a full disk), says so in one line on stderr
    and writes no more, instead of logging's traceback for every later record; the run goes on."""

    failed = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.failed:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        self._failed(sys.exc_info()[1])

    def _failed(self, e: BaseException | None) -> None:
        if not self.failed:
            self.failed = True
            print(f"wxarchive: cannot write the log file {self.baseFilename}: "
                  f"{getattr(e, 'strerror', None) or e}; going on without it", file=sys.stderr)

    def flush(self) -> None:
        try:
            super().flush()
        except OSError as e:  # (a buffered write fails at its flush: ENOSPC arrives here)
            self._failed(e)

    def close(self) -> None:
        try:
            super().close()
        except OSError:
            pass


def _builtin_defaults(ap: argparse.ArgumentParser, command: str) -> dict[str, Any]:
    """The command's own defaults, before a config file changes them (for -v's account of the settings)."""
    subs = next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction)).choices
    return {a.dest: a.default for a in subs[command]._actions if a.option_strings}


def _say_setup(args: argparse.Namespace, typed: dict[str, Any], builtin: dict[str, Any]) -> None:
    """``-v`` begins with the versions that matter to a bug report and where each setting that is not
    the default came from (command line, environment, config file)."""
    from importlib.metadata import PackageNotFoundError, version  # -v only: ~20 ms of imports (email, zipfile, csv)

    def ver(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "?"

    log.info("wxarchive %s, Python %s, httpx %s, lxml %s", __version__, sys.version.split()[0], ver("httpx"),
             ver("lxml"))
    said = []
    for dest, default in builtin.items():
        if dest in ("help", "verbose", "version"):
            continue
        value = getattr(args, dest, default)
        where = "command line" if typed.get(dest) != default else "config file" if value != default else ""
        if where:
            said.append(f"{dest.replace('_', '-')}={value!r} ({where})")
    if os.environ.get("WXARCHIVE_CONNECT_TO") and "connect_to" in builtin:
        said.append(f"connect-to={os.environ['WXARCHIVE_CONNECT_TO']!r} (environment WXARCHIVE_CONNECT_TO)")
    env_proxy = next((v for v in PROXY_ENV if os.environ.get(v)), None)
    if env_proxy and "proxy" in builtin and typed.get("proxy") is None:
        said.append(f"proxy={os.environ[env_proxy]!r} (environment {env_proxy})")
    log.info("settings: %s", "; ".join(said) if said else "all defaults")


# the command -> the module that runs it, imported only when that command runs: --help and --version
# load no archive, HTTP or HTML code (``python -m bench startup``)
COMMANDS: dict[str, tuple[str, str]] = {
    "get": ("archiving", "cmd_get"), "init": ("archiving", "cmd_init"), "rebuild": ("archiving", "cmd_rebuild"),
    "import": ("archiving", "cmd_import"), "harvest": ("archiving", "cmd_harvest"), "status": ("status", "cmd_status"),
    "ls": ("listing", "cmd_ls"), "check": ("checkcmd", "cmd_check"), "show": ("show", "cmd_show"),
    "login": ("login", "cmd_login"), "accounts": ("accounts", "cmd_accounts")}


def command(name: str) -> Callable[[argparse.Namespace], int]:
    """The function that runs command ``name``, its module imported now."""
    module, function = COMMANDS[name]
    return getattr(importlib.import_module(f"wxarchive.cli.{module}"), function)  # type: ignore[no-any-return]


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
    try:
        typed = dict(vars(args))  # what the command line itself said (see _from_command_line)
        builtin = _builtin_defaults(ap, args.command)
        args = apply_config(ap, argv, args, config_file, ignore_config)
        args._command_line = typed
        _setup_logging(getattr(args, "verbose", 0), getattr(args, "quiet", False), getattr(args, "log", None))
        if getattr(args, "verbose", 0):
            _say_setup(args, typed, builtin)
        return command(args.command)(args)
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
    except BrokenPipeError:
        # `wxarchive … --json | head -1`: the reader has gone; say nothing (as `yes | head` does)
        _silence_stdout()
        return 141
    except OSError as e:
        log.info("error", exc_info=True)
        where = f": {e.filename}" if e.filename else ""
        print(f"wxarchive: {e.strerror or e}{where}", file=sys.stderr)
        return 1
    except Exception as e:  # last resort: one line, the traceback at -v
        state = _state_damage(e, args)
        if state:
            print(f"wxarchive: {state}", file=sys.stderr)
            return 1
        log.info("unexpected error", exc_info=True)
        print(f"wxarchive: internal error: {type(e).__name__}: {e} (run with -v for the traceback)", file=sys.stderr)
        return 1


def run() -> NoReturn:
    """The console script and ``python -m wxarchive``: :func:`main`, its output flushed, its status.

    A reader that has gone (``wxarchive … | head -1``) is not an error: nothing more is said. After
    a second Ctrl-C, downloads stuck on a slow server are not waited for (the interpreter would
    join their threads): the logs and streams are flushed and the process leaves at once.
    """
    try:
        code: str | int | None = main()
    except SystemExit as e:  # argparse's own exits: --help, --version, usage errors
        code = e.code
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        _silence_stdout()  # (the reader has gone: as `yes | head` does, say nothing)
    except OSError:
        code = code or 120  # the interpreter's own status for output it could not write
    if code == 130 and any(t.is_alive() and not t.daemon for t in _threads()):
        logging.shutdown()  # (what its exit hook would do: flush and close every handler)
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os._exit(130)
    sys.exit(code)


def _threads() -> list[threading.Thread]:
    """Threads other than this one."""
    me = threading.current_thread()
    return [t for t in threading.enumerate() if t is not me]


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _state_damage(e: BaseException, args: argparse.Namespace) -> str:
    """The one line for a damaged state database met outside the Store's own checks (sqlite3 is
    not imported up front: --help must stay light)."""
    sqlite3 = sys.modules.get("sqlite3")
    if sqlite3 is None or not isinstance(e, sqlite3.DatabaseError):
        return ""
    from wxarchive.archive.site import Site  # (loaded already: the command that met the error opened the state)
    from wxarchive.archive.store import is_damage

    if not is_damage(e):
        return ""
    db = Site.open(getattr(args, "out", None) or getattr(args, "dir", None) or "archive").state_dir / "state.sqlite3"
    return StateDamaged(db, str(e)).message


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
