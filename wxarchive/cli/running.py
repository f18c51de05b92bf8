"""A parsed command line, run: the config files' values, logging, the command's own module, and every
error turned into one line and an exit status.

``cli.main`` imports this module once the command line names a command: ``--help`` and ``--version``
load none of it (logging, the config reader, the log formatter: ~12 ms).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wxarchive import __version__
from wxarchive.cli.common import FILE_ONLY, PROXY_ENV, silence_stdout
from wxarchive.config import apply_config
from wxarchive.errors import RateLimited, StateDamaged, UsageError, WxError
from wxarchive.trust import VisibleFormatter  # titles and WeChat's words reach the log: controls shown, not obeyed

__all__ = ["COMMANDS", "command", "run_command"]

log = logging.getLogger("wxarchive")


# the command -> the module that runs it, imported only when that command runs: --help and --version
# load no archive, HTTP or HTML code (``python -m bench startup``)
COMMANDS: dict[str, tuple[str, str]] = {
    "get": ("archiving", "cmd_get"), "init": ("archiving", "cmd_init"), "rebuild": ("rebuild", "cmd_rebuild"),
    "import": ("archiving", "cmd_import"), "harvest": ("harvest", "cmd_harvest"), "status": ("status", "cmd_status"),
    "ls": ("listing", "cmd_ls"), "check": ("checkcmd", "cmd_check"), "show": ("show", "cmd_show"),
    "login": ("login", "cmd_login"), "accounts": ("accounts", "cmd_accounts")}


def run_command(ap: argparse.ArgumentParser, argv: list[str], args: argparse.Namespace, config_file: str | None,
                ignore_config: bool) -> int:
    """Run the command ``args`` names (``argv`` as given, less the config flags): its exit status."""
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
        silence_stdout()
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



def command(name: str) -> Callable[[argparse.Namespace], int]:
    """The function that runs command ``name``, its module imported now."""
    module, function = COMMANDS[name]
    return getattr(importlib.import_module(f"wxarchive.cli.{module}"), function)  # type: ignore[no-any-return]


def _setup_logging(verbose: int, quiet: bool, log_file: str | None) -> None:
    root = logging.getLogger()
    root.handlers.clear()
    level = logging.ERROR if quiet else logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    h = logging.StreamHandler(sys.stderr)
    h.setLevel(level)
    h.addFilter(lambda r: not any(getattr(r, k, False) for k in FILE_ONLY))
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
    db = Site.open(getattr(args, "out", None) or getattr(args, "dir", None) or "archive").state_db
    return StateDamaged(db, str(e)).message
