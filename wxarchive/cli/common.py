"""What the commands share: each option declared once, read into the pipeline's ``Options``; the archive
folder checks; the archive opened under its lock.

An option is declared once in :data:`OPTIONS` (its flags, type, default, metavar and one help text) and
attached by name to each command that takes it (:func:`add_options`), so ``--proxy`` says the same in
``get --help`` as in ``check --help``, and a default cannot differ from one command to the next. An option
that only one command has, or that means something else there (``login --cookies`` is the WeRead session,
not WeChat's cookies), is declared by that command.

This module is loaded by every run (the parser is built from it): the pipeline and the archive's modules
(sqlite3, lxml) are imported when a command reads the options or opens the archive.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wxarchive.errors import ArchiveError, UsageError
from wxarchive.net.routing import check_ca_cert, check_proxy, load_cookies, parse_connect_to

if TYPE_CHECKING:
    from wxarchive.archive.lock import ArchiveLock
    from wxarchive.jobs.pipeline import Archiver, Options

__all__ = ["ARCHIVING", "FILE_ONLY", "OPTIONS", "PROXY_ENV", "add_options", "archive_dir", "locked_archiver", "options_from",
           "require_archive", "silence_stdout"]

_PROXY_HELP = ("http://, https:// or socks5://HOST:PORT for every request ('' for none; default: "
               "HTTPS_PROXY/HTTP_PROXY/ALL_PROXY, minus NO_PROXY); --connect-to routes still go direct")

# dest -> (flags, add_argument keywords). Keyed by dest, the name a config file uses for the option.
OPTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "out": (("--out", "-o"), {"default": "archive", "metavar": "DIR", "help": "archive root (default: ./archive)"}),
    "connect_to": (("--connect-to",), {"action": "append", "metavar": "HOST=BASE_URL",
                                       "help": "send requests for HOST to BASE_URL (repeatable; env WXARCHIVE_CONNECT_TO)"}),
    "no_images": (("--no-images",), {"action": "store_true", "help": "keep remote image URLs, download nothing"}),
    "json": (("--json",), {"action": "store_true", "help": "JSON on stdout instead of text, one object per line"}),
    "quiet": (("-q", "--quiet"), {"action": "store_true", "help": "only errors on stderr"}),
    "verbose": (("-v", "--verbose"), {"action": "count", "default": 0, "help": "more log output (-vv for debug)"}),
    "force": (("--force",), {"action": "store_true", "help": "archive again even if already archived"}),
    "delay": (("--delay",), {"type": float, "default": None, "metavar": "SECONDS",
                             "help": "minimum seconds between article pages (default 2, plus up to 1 s jitter)"}),
    "concurrency": (("--concurrency",), {"type": int, "default": 4, "metavar": "N",
                                         "help": "parallel image downloads (default 4)"}),
    "timeout": (("--timeout",), {"type": float, "default": 20.0, "metavar": "SECONDS",
                                 "help": "per-request timeout (default 20)"}),
    "media": (("--media",), {"action": "store_true",
                             "help": "also save audio and video files where the page exposes them"}),
    "keep_footers": (("--keep-footers",), {"action": "store_true", "help": "keep account footers and boilerplate"}),
    "learn": (("--no-learn",), {"dest": "learn", "action": "store_false",
                                "help": "on first meeting an account, do not read two of its linked articles to "
                                        "learn its footer"}),
    "max_attempts": (("--max-attempts",), {"type": int, "default": 3, "metavar": "N",
                                           "help": "give up an article after N failures"}),
    "retry_failed": (("--retry-failed",), {"action": "store_true", "help": "try given-up articles again"}),
    "attempt_gap": (("--attempt-gap",), {"type": float, "default": 3600.0, "metavar": "SECONDS",
                                         "help": "failures closer together than this count as one attempt "
                                                 "(default 3600)"}),
    "log": (("--log",), {"metavar": "FILE", "help": "write a full log to FILE"}),
    "proxy": (("--proxy",), {"metavar": "URL", "help": _PROXY_HELP}),
    "cookies": (("--cookies",), {"metavar": "FILE",
                                 "help": "send the cookies of a Netscape cookies.txt (as yt-dlp takes)"}),
    "user_agent": (("--user-agent",), {"metavar": "UA", "help": "the User-Agent header (default: a desktop Chrome)"}),
    "ca_cert": (("--ca-cert",), {"metavar": "FILE",
                                 "help": "also trust the CA certificates in FILE (PEM), as a company's "
                                         "TLS-inspecting proxy needs (SSL_CERT_FILE replaces the store)"}),
    "dry_run": (("--dry-run",), {"action": "store_true",
                                 "help": "say what would be fetched or checked, and change nothing: no article "
                                         "page is requested, nothing is written"}),
    "ignore_backoff": (("--ignore-backoff",), {"action": "store_true",
                                               "help": "run even while a WeChat back-off is in force"}),
    "exec": (("--exec",), {"metavar": "CMD", "help": "run CMD after each archived post, without a shell; {archive}, "
                           "{post}, {title}, {url}, {key}, {account} are put into its words"}),
    "exec_after": (("--exec-after",), {"metavar": "CMD", "help": "run CMD once after a run that archived anything "
                                       "(e.g. 'jekyll build -s {archive}')"}),
}

# the options of every command that archives (get, rebuild, import, harvest), in their --help order
ARCHIVING = ("out", "connect_to", "no_images", "json", "quiet", "verbose", "force", "delay", "concurrency", "timeout",
             "media", "keep_footers", "learn", "max_attempts", "retry_failed", "attempt_gap", "log", "proxy",
             "cookies", "user_agent", "ca_cert")


def add_options(p: argparse.ArgumentParser, *names: str, **defaults: Any) -> None:
    """Attach the options ``names`` (keys of :data:`OPTIONS`) to a command's parser, in that order.
    ``defaults`` changes an option's default for this command (``init``'s ``--out`` falls back to its DIR)."""
    for name in names:
        flags, spec = OPTIONS[name]
        p.add_argument(*flags, **({**spec, "default": defaults[name]} if name in defaults else spec))


def archive_dir(out: str) -> Path:
    """The archive folder named by ``--out``/``init``; a file there is a usage error, not a traceback."""
    if "%(" in out:
        raise UsageError(f"-o/--out is the archive's folder, not a file name template (as yt-dlp's -o is): {out!r}; "
                         "posts are named by date and title inside it")
    p = Path(out).expanduser()
    if p.exists() and not p.is_dir():
        raise UsageError(f"{out} is a file, not a folder; give the archive's folder (--out DIR)")
    return p


def require_archive(out: str, what: str) -> None:
    """Refuse a folder that holds no archive (neither wxarchive.toml nor a state): a typo in ``--out``
    must not become a new site, nor be blamed on a missing ``[[sources]]``."""
    from wxarchive.layout import CONFIG_NAME, STATE_DB, STATE_DIR, state_db

    root = archive_dir(out)
    if (root / CONFIG_NAME).is_file() or state_db(root).is_file():
        return
    made = "" if root.is_dir() else " (no such folder)"
    raise UsageError(f"{out} holds no wxarchive archive{made}: no {CONFIG_NAME}, no {STATE_DIR}/{STATE_DB}; "
                     f"nothing to {what} (`wxarchive init {out}` makes one; --out names the archive's folder)")


# ``extra=`` of a log record meant for the --log file only: the same words are printed to stderr as
# they are (a run's report), and at -v the stderr handler would say them twice
FILE_ONLY = {"file_only": True}
PROXY_ENV = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy")


def _from_command_line(args: argparse.Namespace, dest: str) -> Any:
    """The value the command line itself gave ``dest`` (None: not given there, only by a config file).
    Without a record of the command line (a Namespace built by hand), every value counts as given."""
    given = getattr(args, "_command_line", None)
    return getattr(args, dest, None) if given is None else given.get(dest)


def _connect_routes(args: argparse.Namespace, parse: Callable[..., dict[str, str]]) -> dict[str, str]:
    """``--connect-to`` routes, host by host: the command line over WXARCHIVE_CONNECT_TO over the config
    files (argparse appends the command line's pairs to the ones a config file gave)."""
    every = list(args.connect_to or [])
    typed = list(_from_command_line(args, "connect_to") or [])
    configured = every[:len(every) - len(typed)]
    return {**parse(configured), **parse(None, os.environ.get("WXARCHIVE_CONNECT_TO")), **parse(typed)}


def _proxy_setting(args: argparse.Namespace) -> str | None:
    """``--proxy``: the command line over the *_PROXY environment over the config files (None: the
    environment's, "": none)."""
    typed = _from_command_line(args, "proxy")
    if typed is not None:
        return str(typed)
    if args.proxy is not None and any(os.environ.get(v) for v in PROXY_ENV):
        return None  # a proxy only a config file names gives way to the environment's
    return str(args.proxy) if args.proxy is not None else None


def options_from(args: argparse.Namespace) -> Options:
    """The pipeline's :class:`Options` from a command's parsed options, each checked (a bad value, file or
    proxy is a usage error now, not a failure at the first request)."""
    from wxarchive.jobs.pipeline import Options

    if not args.timeout > 0:
        raise UsageError(f"--timeout must be more than 0 seconds, got {args.timeout:g}")
    for flag, value, most in (("--timeout", args.timeout, 86400), ("--delay", args.delay, 86400),
                              ("--attempt-gap", args.attempt_gap, 10 * 365 * 86400)):
        if value is not None and not value <= most:  # inf, nan, 1e308: overflow where time is computed
            raise UsageError(f"{flag} must be at most {most} seconds, got {value:g}")
    if args.delay is not None and not args.delay >= 0:
        raise UsageError(f"--delay must be 0 seconds or more, got {args.delay:g}")
    if args.user_agent is not None and not args.user_agent.strip():
        raise UsageError("--user-agent must not be empty (leave it out for the default)")
    if args.ca_cert:
        args.ca_cert = check_ca_cert(os.path.expanduser(args.ca_cert))  # a bad file: a usage error now
    proxy = _proxy_setting(args)
    if proxy:
        check_proxy(proxy)
    if args.cookies:
        load_cookies(args.cookies)  # a bad file is a usage error now, not at the first request
    routes = _connect_routes(args, parse_connect_to)
    delay = (2.0, 3.0) if args.delay is None else (max(0.0, args.delay), max(0.0, args.delay) * 1.5)
    if args.concurrency < 1 or args.max_attempts < 1:
        raise UsageError("--concurrency and --max-attempts must be at least 1")
    return Options(out=archive_dir(args.out), no_images=args.no_images, force=args.force, media=args.media,
                   keep_footers=args.keep_footers, learn=getattr(args, "learn", True), max_attempts=args.max_attempts,
                   retry_failed=args.retry_failed,
                   concurrency=args.concurrency, delay=delay, timeout=args.timeout, connect_to=routes,
                   attempt_gap=max(0.0, args.attempt_gap), proxy=proxy, cookies=args.cookies,
                   user_agent=args.user_agent, ca_cert=args.ca_cert)


def locked_archiver(opts: Options, what: str) -> tuple[ArchiveLock, Archiver]:
    """Take the archive's lock first, then sweep what a killed run left, then open the archive."""
    from wxarchive.archive.lock import ArchiveLock, sweep_partials
    from wxarchive.archive.site import Site
    from wxarchive.jobs.pipeline import Archiver
    from wxarchive.layout import LAYOUT_DIR, RAW_DIR

    site = Site.open(opts.out)
    try:
        lock = ArchiveLock(site.state_dir, what).acquire()
    except OSError as e:  # a read-only filesystem, a full disk, a file where the folder goes
        raise ArchiveError(f"cannot write the archive at {site.root}: {e.strerror or e}") from None
    try:
        sweep_partials([site.posts_dir, site.image_dir, site.state_dir / RAW_DIR, site.state_dir / LAYOUT_DIR,
                        site.state_dir, site.root])
        return lock, Archiver(opts)
    except BaseException:
        lock.release()
        raise


def silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot raise again (the reader has gone)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
