"""Command line: argparse -> Options -> pipeline; exit codes; progress on stderr; JSON lines on stdout.

Exit status: 0 every source archived or skipped; 1 any failed; 2 usage error;
3 WeChat asked for verification / rate limit, or another run holds the lock.
"""
from __future__ import annotations

import argparse
import os
import sys

from wxarchive import __version__
from wxarchive.cli import show as showcmd
from wxarchive.cli.common import (ARCHIVING, PROXY_ENV, add_options, archive_dir, locked_archiver, options_from,
                                  require_archive)
from wxarchive.errors import ArchiveError, RateLimited, UsageError, WxError

TYPE_CHECKING = False  # typing itself costs ~8 ms of start-up
if TYPE_CHECKING:
    from pathlib import Path
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn
    from threading import Thread

    from wxarchive.jobs.harvest import HarvestResult
    from wxarchive.jobs.pipeline import Archiver, Options, Outcome, Reported
    from wxarchive.cli.report import Tally
    from wxarchive.archive.site import Site

# Only argparse and the error classes load at start: ``--help`` and ``--version`` must cost about
# what the interpreter does. Each command imports what it uses (the HTTP stack only when a request
# is due, the HTML stack only when a page is read).

__all__ = ["main"]



def _log():  # logging (with threading, traceback) loads once a command runs, not for --help
    import logging

    return logging.getLogger("wxarchive")


def _examples(text: str) -> str:
    return "examples:\n" + text.strip("\n")


class _Unused:
    """Stands in for the parser of a command that is not being run: takes any call, builds nothing."""

    def __getattr__(self, name: str) -> Callable[..., _Unused]:
        return lambda *a, **k: self


def _columns() -> int:
    """``shutil.get_terminal_size().columns``, which argparse asks for, without importing shutil (and its
    bz2 and lzma, ~4 ms) into every run."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


class _Help(argparse.HelpFormatter):
    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)


class _RawHelp(_Help, argparse.RawDescriptionHelpFormatter):
    pass


class _Commands:
    """The subcommands action, registering only the command being run (``only``; None: all of them):
    building all eight parsers cost every run ~8 ms of start-up, for help text it never shows."""

    def __init__(self, sub: argparse._SubParsersAction, only: str | None) -> None:
        self.sub, self.only = sub, only

    def add_parser(self, name: str, **kw: Any) -> argparse.ArgumentParser | _Unused:
        if self.only is not None and name != self.only:
            return _Unused()
        raw = kw.get("formatter_class") is argparse.RawDescriptionHelpFormatter
        kw.setdefault("allow_abbrev", False)  # `--max 3` must not silently mean --max-attempts 3
        kw["formatter_class"] = _RawHelp if raw else kw.get("formatter_class", _Help)
        return self.sub.add_parser(name, **kw)


def command_of(argv: Sequence[str]) -> str | None:
    """The command an argument list runs (its first word), or None (help, a typo, no command)."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in COMMANDS else None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``only``, the top level and that command's parser alone."""
    ap = argparse.ArgumentParser(prog="wxarchive", description="Archive WeChat articles into a Jekyll Markdown archive.",
                                 formatter_class=_Help, allow_abbrev=False)
    ap.add_argument("--version", action="version", version=f"wxarchive {__version__}")
    ap.add_argument("--config", metavar="FILE",
                    help="read option defaults from FILE instead of ~/.config/wxarchive/config.toml (any position)")
    ap.add_argument("--ignore-config", action="store_true",
                    help="read no config file (neither yours nor the archive's [options])")
    sub: Any = _Commands(ap.add_subparsers(dest="command", metavar="COMMAND"), only)
    _add_get(sub)
    _add_site_commands(sub)
    _add_batch_commands(sub)
    if only in (None, "check"):
        from wxarchive.cli.checkcmd import add_parser as add_check

        add_check(sub)
    _add_status(sub)
    showcmd.add_parser(sub, _examples)
    if only in (None, "login"):
        from wxarchive.cli.login import add_parser as add_login

        add_login(sub)
    if only in (None, "accounts"):
        from wxarchive.cli.accounts import add_parser as add_accounts

        add_accounts(sub)
    if only in (None, "ls"):
        from wxarchive.cli.listing import add_parser as add_ls

        add_ls(sub)
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
    import logging

    from wxarchive.trust import VisibleFormatter  # titles and WeChat's words reach the log: controls shown, not obeyed

    root = logging.getLogger()
    root.handlers.clear()
    level = logging.ERROR if quiet else logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    h = logging.StreamHandler(sys.stderr)
    h.setLevel(level)
    h.setFormatter(VisibleFormatter("wxarchive: %(message)s"))
    root.addHandler(h)
    root.setLevel(min(level, logging.INFO) if log_file else level)
    if log_file:
        from pathlib import Path

        if Path(log_file).is_dir():
            raise UsageError(f"--log {log_file} is a folder; give a file name, like --log {Path(log_file) / 'wxarchive.log'}")
        try:
            Path(log_file).parent.mkdir(parents=True, exist_ok=True)  # `--log .wxarchive/harvest.log` on a first run
            fh = _log_file_handler()(log_file, encoding="utf-8")
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


def _log_file_handler() -> type:
    """A ``--log`` file handler that, when a write fails (a full disk), says so in one line on stderr
    and writes no more, instead of logging's traceback for every later record; the run goes on."""
    import logging

    class LogFile(logging.FileHandler):
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

    return LogFile


def _builtin_defaults(ap: argparse.ArgumentParser, command: str) -> dict[str, Any]:
    """The command's own defaults, before a config file changes them (for -v's account of the settings)."""
    subs = next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction)).choices
    return {a.dest: a.default for a in subs[command]._actions if a.option_strings}


def _say_setup(args: argparse.Namespace, typed: dict[str, Any], builtin: dict[str, Any]) -> None:
    """``-v`` begins with the versions that matter to a bug report and where each setting that is not
    the default came from (command line, environment, config file)."""
    from importlib.metadata import PackageNotFoundError, version

    def ver(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "?"

    log = _log()
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


def _printer(as_json: bool, quiet: bool):
    import json
    import time

    from wxarchive.jobs.pipeline import Result
    from wxarchive.trust import visible

    last = [0.0]
    encode = json.JSONEncoder(ensure_ascii=False).encode  # one encoder: json.dumps makes one per call

    def flush(o: Outcome) -> bool:
        """Each line reaches a pipe at once, but a re-run's thousands of "skipped" lines go out in
        batches (at most 0.2 s late): a write per line was a fifth of what a skipped URL cost."""
        now = time.monotonic()
        if o.status != Result.SKIPPED or now - last[0] >= 0.2:
            last[0] = now
            return True
        return False

    def emit(line: str, o: Outcome) -> None:
        out = sys.stdout
        out.write(line + "\n")  # one write, also when stdout is unbuffered (PYTHONUNBUFFERED)
        if flush(o):
            out.flush()

    def show(o: Outcome) -> None:
        if as_json:
            emit(encode(o.as_json()), o)
        elif o.status != Result.FAILED and not quiet and not o.gave_up:  # (given up earlier: -v says so)
            imgs = o.images
            extra = f"  [images {imgs['saved']}/{imgs['found']}]" if imgs.get("found") else ""
            emit(f"{o.status:9} {o.post or ''}  {visible(o.title or '')}{extra}", o)
    return show


def exit_code(outcomes: list[Outcome] | Reported, blocked: bool) -> int:
    from wxarchive.jobs.pipeline import Reported  # loaded already: these outcomes came from it

    r = outcomes if isinstance(outcomes, Reported) else Reported.of(outcomes)
    if blocked or r.verify:
        return 3
    if r.usage:
        return 2
    if r.failed:
        return 1
    # 4: every article is archived, but some images could not be saved (the posts keep their remote
    # URLs; later runs try them again)
    return 4 if r.images_failed else 0


def _done(sources: list[str], outs: list[Outcome] | Reported) -> set[str]:
    """The sources whose outcome was reported."""
    return {o.source for o in outs} if isinstance(outs, list) else outs.done(sources)


def _get_as_import(args: argparse.Namespace) -> int | None:
    """``get -a FILE`` and ``get -`` are ``import``, as yt-dlp's ``-a`` is."""
    if args.batch_file is None and args.sources != ["-"]:
        if not args.sources:
            raise UsageError("get wants an article URL or a saved page (or -a FILE / - for a list of links)")
        return None
    if args.batch_file is not None and args.sources:
        raise UsageError("give either links or -a FILE, not both")
    args.file = args.batch_file if args.batch_file is not None else "-"
    args.ignore_backoff = False
    return cmd_import(args)


def _not_for_get(src: str) -> str | None:
    """A one-line pointer when a source belongs to another command."""
    from pathlib import Path

    if "appmsgalbum" in src:  # (the sources module is not imported for every article)
        from wxarchive.jobs.sources import parse_album_url

        if parse_album_url(src):
            return (f"{src} is an album (合集), not an article: add it to [[sources]] in wxarchive.toml "
                    "(url = \"…\") and run `wxarchive harvest`")
    p = Path(src)
    if "://" not in src and p.is_file() and not src.lower().endswith((".html", ".htm", ".mhtml", ".xhtml")):
        try:
            data = p.read_bytes()
        except OSError:
            return None
        if not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            return _what_file(src, data)
    return None


def _what_file(src: str, data: bytes) -> str:
    """What a file given to ``get`` is, when it is no saved page: a list of links, or what else it is."""
    from wxarchive.jobs.sources import reading_of

    reading = reading_of(data)
    if reading.what:
        return f"{src} is {reading.what}, not a saved page or a list of links"
    if not reading.urls:
        return f"{src} is a text file with no WeChat article link in it ({reading.summary()})"
    return f"{src} looks like a list of links: use `wxarchive import {src}` (or `get -a {src}`)"


def cmd_get(args: argparse.Namespace) -> int:
    from wxarchive.jobs.pipeline import Archiver, Outcome, Result, check_source

    as_import = _get_as_import(args)
    if as_import is not None:
        return as_import
    opts = options_from(args)
    if args.dry_run:
        return _get_dry_run(args, opts)
    hooks = _RunHooks(args, opts.out)
    show = _printer(args.json, args.quiet)
    bad = []
    for src in args.sources:
        try:
            hint = _not_for_get(src)
            if hint:
                raise UsageError(hint)
            check_source(src)
        except UsageError as e:
            bad.append(Outcome(src, Result.FAILED, error=e.code, message=e.message))
    if len(bad) == len(args.sources):
        # nothing to do: say so without laying down an archive for a typo
        for o in bad:
            print(f"wxarchive: {o.message}", file=sys.stderr)
            if args.json:
                show(o)
        return 2
    from wxarchive.archive.backoff import Backoff

    with Archiver(opts) as arch:
        backoff = Backoff(arch.store)
        held = backoff.in_force()
        if held and not args.quiet:
            # an explicit `get` still runs, but says that WeChat blocked this archive recently
            print(f"wxarchive: note: WeChat asked for verification earlier; harvest waits until "
                  f"{held['until_text']}", file=sys.stderr)
        from wxarchive.cli.report import chain, log_outcome

        from wxarchive.interrupt import two_step_ctrl_c

        with two_step_ctrl_c(arch.interrupt, args.quiet):
            outs = arch.archive_many(args.sources, on_outcome=chain(show, log_outcome, _given_up_note(args),
                                                                    hooks.each_post))
            if arch.blocked is None and arch.offline is None:
                arch.heal_images(on_outcome=chain(show, log_outcome))
        if arch.interrupt.soft.is_set():
            return _interrupted("get", args.sources, outs, show if args.json else None)
        if arch.blocked is not None:
            rec = backoff.hit(arch.blocked)  # so a cron harvest on this archive waits too
            done = {o.source for o in outs}
            for s in args.sources:
                if s not in done:
                    show(Outcome(s, Result.FAILED, error="verify", message="not tried: WeChat asked for verification"))
            print(f"wxarchive: stopped: {arch.blocked.message}. Try again after {rec['until_text']}.",
                  file=sys.stderr)
        if arch.offline is not None:
            left = _not_tried(args.sources, outs, show if args.json else None)
            print(f"wxarchive: {_offline_line(arch, left)}", file=sys.stderr)
        hooks.after_run()
        return exit_code(outs, arch.blocked is not None)


def _given_up_note(args: argparse.Namespace) -> Callable[[Outcome], None] | None:
    """``get`` names its articles one by one: one given up earlier says why on stderr (``import`` only at -v)."""
    if args.quiet or args.verbose:
        return None

    def note(o: Outcome) -> None:
        if o.gave_up and o.status != "failed":
            from wxarchive.jobs.pipeline import said

            print(f"wxarchive: {said(o.source, o.message or '')}", file=sys.stderr)
    return note


def _get_dry_run(args: argparse.Namespace, opts: Options) -> int:
    """``get --dry-run``: each source new, known or given up, as ``import --dry-run`` says it; a source
    that is not an article (a typo, an album) is refused as a real run would refuse it."""
    from wxarchive.jobs.dryrun import classify, report
    from wxarchive.jobs.pipeline import check_source
    from wxarchive.urls import is_article_url, normalize_article_url

    for src in args.sources:
        hint = _not_for_get(src)
        if hint:
            raise UsageError(hint)
        check_source(src)
    urls = [normalize_article_url(s) if is_article_url(s) else s for s in args.sources]
    return report(classify(urls, opts.out, opts.max_attempts, opts.retry_failed), args.json, "get")


class _RunHooks:
    """``--exec`` after each archived post, ``--exec-after`` once after a run that archived any (both checked
    before the run starts: a typo in the command is a usage error, not a failure after every article)."""

    def __init__(self, args: argparse.Namespace, root: Path) -> None:
        from wxarchive.jobs.hooks import Hook

        self.root = os.path.abspath(root)  # absolute: `git -C {archive} add {post}` works from any folder
        self.each = Hook(args.exec, "--exec") if getattr(args, "exec", None) else None
        self.after = Hook(args.exec_after, "--exec-after") if getattr(args, "exec_after", None) else None
        self.archived = 0

    def each_post(self, o: Outcome) -> None:
        if o.status != "archived":
            return
        self.archived += 1
        if self.each is not None:
            post = os.path.abspath(o.post) if o.post else None
            self.each.run({"archive": self.root, "post": post, "title": o.title, "url": o.url or o.source,
                           "key": o.key, "account": o.account})

    def after_run(self) -> None:
        if self.after is not None and self.archived:
            self.after.run({"archive": self.root})


def _not_tried(sources: list[str], outs: list[Outcome] | Reported, show) -> int:  # type: ignore[no-untyped-def]
    """Sources a stopped run never reached; each gets a ``not tried`` JSON line under --json."""
    from wxarchive.jobs.pipeline import Outcome, Result

    done = _done(sources, outs)
    left = [s for s in sources if s not in done]
    if show is not None:
        for s in left:
            show(Outcome(s, Result.FAILED, error="network", message="not tried: the network looks down"))
    return len(left)


def _offline_line(arch: Archiver, left: int) -> str:
    err = arch.offline
    return (f"stopped: the network looks down ({arch.opts.outage_after} pages in a row got no answer; last: "
            f"{err.message if err else ''}). Nothing was counted against the articles; {left} link(s) not "
            "tried; run the same command again when the network is back.")


def cmd_init(args: argparse.Namespace) -> int:
    from wxarchive.archive.site import Site

    if args.dir is not None and args.out is not None and args.dir != args.out:
        raise UsageError(f"give the folder once: {args.dir} or --out {args.out}")
    args.dir = args.dir or args.out or "archive"
    site = Site.open(archive_dir(args.dir))
    try:
        made = site.init()
    except OSError as e:
        raise ArchiveError(f"cannot lay down a site in {args.dir}: {e.strerror or e}") from None
    for p in made:
        print(p)
    return 0


def cmd_rebuild_state(args: argparse.Namespace) -> int:
    """``rebuild --from-posts``: a new state from the posts on disk; a damaged one is kept aside."""
    from wxarchive.errors import ArchiveError
    from wxarchive.archive.lock import ArchiveLock
    from wxarchive.archive.recover import rebuild_state
    from wxarchive.archive.site import Site

    site = Site.open(args.out)
    if not site.posts_dir.is_dir():
        raise UsageError(f"{site.posts_dir} does not exist: no posts to rebuild the state from")
    try:
        lock = ArchiveLock(site.state_dir, "rebuild --from-posts").acquire()
    except OSError as e:
        raise ArchiveError(f"cannot write the archive at {site.root}: {e.strerror or e}") from None
    try:
        res = rebuild_state(site)
    finally:
        lock.release()
    if res.kept_damaged:
        print(f"wxarchive: the damaged state was moved to {res.kept_damaged}", file=sys.stderr)
    print(f"state rebuilt from {site.posts_dir}: {res.posts} post(s) recorded, {res.known} already known, "
          f"{res.without_raw} without a kept raw page, {res.not_ours} other file(s) left alone")
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    """Offline, under the archive's lock; a folder with no archive is refused, not made into one."""
    from wxarchive.jobs.pipeline import Result
    from wxarchive.layout import STATE_DB, STATE_DIR, state_db

    if getattr(args, "from_posts", False):
        return cmd_rebuild_state(args)
    opts = options_from(args)
    if not state_db(opts.out).is_file():
        raise UsageError(f"{args.out} holds no wxarchive archive (no {STATE_DIR}/{STATE_DB}); nothing to rebuild")
    show = _printer(args.json, args.quiet)
    lock, arch = locked_archiver(opts, "rebuild")
    try:
        outs = arch.rebuild(on_outcome=show, keys=args.keys or None, keep_footers=opts.keep_footers)
        healed = [] if opts.no_images else arch.heal_images(on_outcome=show)  # the one step that asks the network
    finally:
        arch.close()
        lock.release()
    if not args.quiet:
        print(f"wxarchive: rebuild: {_rebuild_line(outs, len(healed))}", file=sys.stderr)
    return 1 if any(o.status == Result.FAILED for o in outs) else 0


def _rebuild_line(outs: list[Outcome], healed: int) -> str:
    """``33 posts, 0 changed`` (and what failed, what images were healed): whether a settings change took."""
    from wxarchive.jobs.pipeline import Result

    failed = sum(1 for o in outs if o.status == Result.FAILED)
    done = [o for o in outs if o.status == Result.REBUILT]
    line = f"{len(outs)} post{'s' if len(outs) != 1 else ''}, {sum(1 for o in done if o.changed)} changed"
    if failed:
        line += f", {failed} failed"
    if healed:
        line += f", {healed} healed (missing images saved)"
    return line


def _failure_line(o: Outcome) -> str:
    """``  failed CODE  URL: why``; the URL once, though most error messages already carry it."""
    from wxarchive.jobs.pipeline import said

    from wxarchive.trust import visible

    text = visible(said(o.source, o.message or ""))
    return f"  failed {o.error or 'error':12} {text}" + ("  [given up]" if o.gave_up else "")


def _say_skipped(reading: Any, verbose: int) -> None:
    """At -v, each line of a list that gave no article, with why (the summary line counts them)."""
    if verbose:
        for line in reading.skipped:
            print(f"wxarchive:   {line.describe()}", file=sys.stderr)


def _interrupted(what: str, sources: list[str], outs: list[Outcome] | Reported, show, tally: Tally | None = None) -> int:  # type: ignore[no-untyped-def]
    """The end of a run stopped by a first Ctrl-C once the articles under way were finished: what was
    done, how many links were not tried (each a ``not tried`` JSON line under --json); exit 130."""
    from wxarchive.jobs.pipeline import Outcome, Result

    done = _done(sources, outs)
    left = [s for s in sources if s not in done]
    if show is not None:
        for s in left:
            show(Outcome(s, Result.FAILED, error="interrupted", message="not tried: stopped by Ctrl-C"))
    summary = f"{tally.line()}; " if tally is not None else ""
    print(f"wxarchive: {what} stopped by Ctrl-C: {summary}{len(left)} link(s) not tried; run the same command "
          "again to carry on", file=sys.stderr)
    return 130


def cmd_import(args: argparse.Namespace) -> int:
    from wxarchive.archive.backoff import Backoff
    from wxarchive.interrupt import two_step_ctrl_c
    from wxarchive.jobs.pipeline import Outcome, Result
    from wxarchive.cli.report import Progress, Tally, chain, log_outcome
    from wxarchive.jobs.sources import read_list_report

    name = args.command  # `get -` and `get -a FILE` run this and say `get`
    opts = options_from(args)
    reading = read_list_report(args.file)
    urls = reading.urls
    if not urls:
        what = f"{args.file} is {reading.what}, not a list of links" if reading.what else \
            f"no WeChat article links found in {args.file} ({reading.summary()})"
        _say_skipped(reading, args.verbose)
        print(f"wxarchive: {what}", file=sys.stderr)
        return 2
    if not args.quiet and (reading.skipped or args.verbose):  # (a clean list: the run's own tally says it)
        _say_skipped(reading, args.verbose)
        print(f"wxarchive: {args.file}: {reading.summary()}", file=sys.stderr)
    if args.dry_run:
        from wxarchive.jobs.dryrun import classify, report

        return report(classify(urls, opts.out, opts.max_attempts, opts.retry_failed), args.json, name)
    hooks = _RunHooks(args, opts.out)
    show = _printer(args.json, args.quiet)
    tally = Tally()
    lock, arch = locked_archiver(opts, name)
    try:
        backoff = Backoff(arch.store)
        held = backoff.in_force()
        if held and not args.ignore_backoff:
            print(f"wxarchive: WeChat asked for verification earlier; run again after {held['until_text']} "
                  "(or use --ignore-backoff)", file=sys.stderr)
            return 3
        _log().info("%s: %d article link(s) from %s", name, len(urls), args.file)
        with two_step_ctrl_c(arch.interrupt, args.quiet):
            with Progress(len(urls), enabled=not args.quiet, label=name) as prog:
                # (each outcome is let go once reported: a long list holds no more than a short one)
                outs = arch.archive_long(urls, on_outcome=chain(prog.before, show, tally.add, prog.update, log_outcome,
                                                                hooks.each_post))
            if arch.blocked is None and arch.offline is None:
                arch.heal_images(on_outcome=chain(show, tally.add, log_outcome))
        if arch.interrupt.soft.is_set():
            return _interrupted(name, urls, outs, show if args.json else None, tally)
        if arch.blocked is not None:
            rec = backoff.hit(arch.blocked)
            done = _done(urls, outs)
            for u in urls:
                if u not in done:
                    tally.not_tried += 1  # (the link that met the block is counted by the tally)
                    if args.json:
                        show(Outcome(u, Result.FAILED, error="verify", message="not tried: WeChat asked for verification"))
            print(f"wxarchive: stopped: {arch.blocked.message}. {tally.not_tried} link(s) left; "
                  f"run the same command again after {rec['until_text']} to resume.", file=sys.stderr)
        elif arch.offline is None:
            backoff.clear()
        if arch.offline is not None:
            left = _not_tried(urls, outs, show if args.json else None)
            print(f"wxarchive: {name} {_offline_line(arch, left)}", file=sys.stderr)
            return 1
    finally:
        arch.close()
        lock.release()
    if not args.quiet:
        # each failure was said once, as it happened (stderr, -q included); `status` lists them again
        more = " (each said above; `wxarchive status` lists them)" if tally.failures else ""
        print(f"wxarchive: {name}: {tally.line()}{more}", file=sys.stderr)
    hooks.after_run()
    return exit_code(outs, arch.blocked is not None)


def cmd_harvest(args: argparse.Namespace) -> int:
    """Silent when all went well (cron mails any output); one report when something needs a person."""
    import logging

    from wxarchive.archive.backoff import Backoff
    from wxarchive.jobs.harvest import harvest, load_specs
    from wxarchive.cli.report import Tally, chain, log_outcome
    from wxarchive.archive.site import Site

    require_archive(args.out, "harvest")
    opts = options_from(args)
    site = Site.open(opts.out)
    specs = load_specs(site.sources) if site.sources or site.check is None else []
    if args.dry_run:
        from wxarchive.jobs.dryrun import classify, harvest_urls, report

        urls = harvest_urls(opts, specs)
        return report(classify(urls, opts.out, opts.max_attempts, opts.retry_failed), args.json, "harvest")
    if not args.verbose:
        for h in logging.getLogger().handlers:  # problems go into the one report below (and --log)
            if type(h) is logging.StreamHandler:
                h.setLevel(logging.CRITICAL + 1)
    tally = Tally()
    show = _printer(args.json, False) if (args.json or args.verbose) else None
    hooks = _RunHooks(args, opts.out)
    lock, arch = locked_archiver(opts, "harvest")
    try:
        from wxarchive.interrupt import two_step_ctrl_c

        with two_step_ctrl_c(arch.interrupt, args.quiet):
            res = harvest(arch, specs, backoff=Backoff(arch.store),
                          on_outcome=chain(show, tally.add, log_outcome, hooks.each_post),
                          ignore_backoff=args.ignore_backoff)
            if not res.waited and res.blocked is None and arch.offline is None:
                arch.heal_images(on_outcome=chain(show, tally.add, log_outcome))
            stopped = arch.interrupt.soft.is_set()
            checked = _harvest_check(arch, site.check, res) if site.check is not None and not stopped else []
    finally:
        arch.close()
        lock.release()
    if stopped:
        tally.not_tried += sum(r.not_tried for r in res.runs)
        print(f"wxarchive: harvest stopped by Ctrl-C: {tally.line()}; run it again to carry on", file=sys.stderr)
        return 130
    tally.not_tried += sum(r.not_tried for r in res.runs)
    hooks.after_run()
    source_errors = [r for r in res.runs if r.error is not None and r.error is not res.blocked]
    if res.waited:
        _log().info("harvest: back-off in force until %s; nothing done", res.backoff and res.backoff.get("until_text"))
        return 0
    for line in checked:  # fates that changed: one line each, even when all else went well
        print(line, file=sys.stderr)
    if arch.offline is not None:
        line = f"wxarchive: harvest {_offline_line(arch, tally.not_tried)}"
        _log().info("%s", line.removeprefix("wxarchive: "))
        print(line, file=sys.stderr)
        return 1
    problem = bool(tally.failures or source_errors or res.blocked)
    if problem or args.verbose:
        lines = _harvest_report(tally, res, source_errors)
        for ln in lines:
            _log().info("%s", ln.removeprefix("wxarchive: "))
        print("\n".join(lines), file=sys.stderr)
    if res.blocked is not None:
        return 3
    if res.session_expired is not None:
        return 5  # the WeRead session must be refreshed; said once a day, the status every run
    return 1 if problem else 4 if tally.images_failed else 0


def _harvest_report(tally: Tally, res: HarvestResult, source_errors: list) -> list[str]:
    """The one report a harvest gives when something needs a person (or with -v)."""
    lines = [f"wxarchive: harvest: {tally.line()}"]
    if res.blocked is not None and res.backoff:
        lines.append(f"  stopped: {res.blocked.message}; no WeChat requests before {res.backoff['until_text']}")
    for r in source_errors:
        lines.append(f"  source {r.spec.name}: {r.error.message if r.error else ''}")
    for o in tally.failures[:20]:
        lines.append(_failure_line(o))
    if len(tally.failures) > 20:
        lines.append(f"  … and {len(tally.failures) - 20} more (wxarchive status)")
    return lines


def _harvest_check(arch: Archiver, cfg: dict, res: HarvestResult) -> list[str]:
    """Check the ``[check]`` slice after the sources (unless WeChat blocked); the lines for changed fates."""
    from wxarchive.cli.checkcmd import change_line, check_slice

    if res.blocked is not None or res.waited:
        return []
    outs, blocked = check_slice(arch, cfg)
    if blocked is not None:
        from wxarchive.archive.backoff import Backoff

        res.blocked, res.backoff = blocked, Backoff(arch.store).hit(blocked)
    for o in outs:
        _log().info("check: %s", change_line(o))
    return [f"wxarchive: check: {change_line(o)}" for o in outs if o.changed]


def cmd_status(args: argparse.Namespace) -> int:
    from wxarchive.archive.site import Site

    site = Site.open(args.out)
    db = site.state_db
    if not db.exists():
        raise UsageError(f"{args.out} holds no wxarchive state (nothing archived yet)")
    info = _status_info(site, db)
    if args.json:
        import json

        print(json.dumps(info, ensure_ascii=False, default=str))
        return 0
    _print_status(info)
    return 0


def _status_info(site: Site, db: Path) -> dict:
    """What ``status`` says, read from the state (read-only) and the sources' names in wxarchive.toml."""
    import time

    from wxarchive.archive.store import Store

    names = {}
    try:
        from wxarchive.jobs.sources import SourceSpec

        for n, e in enumerate(site.sources):
            spec = SourceSpec.from_config(e, n + 1)
            names[spec.ident] = spec.name
    except UsageError:
        pass
    with Store(db, readonly=True) as st:
        from wxarchive.archive.backoff import Backoff

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


def _print_status(info: dict) -> None:
    import datetime as dt

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


def _cmd_ls(args: argparse.Namespace) -> int:
    from wxarchive.cli.listing import cmd_ls

    return cmd_ls(args)


def cmd_check(args: argparse.Namespace) -> int:
    from wxarchive.cli.checkcmd import cmd_check as run

    return run(args)


def _cmd_login(args: argparse.Namespace) -> int:
    from wxarchive.cli.login import cmd_login

    return cmd_login(args)


def _cmd_accounts(args: argparse.Namespace) -> int:
    from wxarchive.cli.accounts import cmd_accounts

    return cmd_accounts(args)


COMMANDS = {"get": cmd_get, "init": cmd_init, "rebuild": cmd_rebuild, "status": cmd_status,
            "import": cmd_import, "harvest": cmd_harvest, "ls": _cmd_ls, "check": cmd_check,
            "show": showcmd.cmd_show, "login": _cmd_login, "accounts": _cmd_accounts}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        from wxarchive.config import split_config_flags

        argv, config_file, ignore_config = split_config_flags(argv)
    except UsageError as e:
        print(f"wxarchive: {e.message}", file=sys.stderr)
        return 2
    ap = build_parser(only=command_of(argv))
    args = ap.parse_args(argv)
    if not args.command:
        ap.print_help(sys.stderr)
        return 2
    try:
        from wxarchive.config import apply_config

        typed = dict(vars(args))  # what the command line itself said (see _from_command_line)
        builtin = _builtin_defaults(ap, args.command)
        args = apply_config(ap, argv, args, config_file, ignore_config, everything=build_parser)
        args._command_line = typed
        _setup_logging(getattr(args, "verbose", 0), getattr(args, "quiet", False), getattr(args, "log", None))
        if getattr(args, "verbose", 0):
            _say_setup(args, typed, builtin)
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
    except BrokenPipeError:
        # `wxarchive … --json | head -1`: the reader has gone; say nothing (as `yes | head` does)
        _silence_stdout()
        return 141
    except OSError as e:
        _log().info("error", exc_info=True)
        where = f": {e.filename}" if e.filename else ""
        print(f"wxarchive: {e.strerror or e}{where}", file=sys.stderr)
        return 1
    except Exception as e:  # last resort: one line, the traceback at -v
        state = _state_damage(e, args)
        if state:
            print(f"wxarchive: {state}", file=sys.stderr)
            return 1
        _log().info("unexpected error", exc_info=True)
        print(f"wxarchive: internal error: {type(e).__name__}: {e} (run with -v for the traceback)", file=sys.stderr)
        return 1


def run() -> NoReturn:
    """The console script and ``python -m wxarchive``: :func:`main`, then leave at once.

    The interpreter's own teardown frees every module's objects one by one: ~90 ms after each
    command once httpx, lxml and yaml are loaded (``python -m bench``), longer than some whole
    commands. By the time ``main`` returns, every file is written and closed, the state is
    committed and the worker threads have ended; what is left is to flush the logs and the
    standard streams. Another thread still running (none should be) gets the ordinary exit.
    """
    try:
        code = main()
    except SystemExit as e:  # argparse's own exits: --help, --version, usage errors
        code = _status(e.code)
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.shutdown()  # (what its atexit hook would do: flush and close every handler)
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        _silence_stdout()  # (the reader has gone: as `yes | head` does, say nothing)
    except OSError:
        code = code or 120  # the interpreter's own status for output it could not write
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    if code != 130 and any(t.is_alive() and not t.daemon for t in _threads()):
        sys.exit(code)  # (after Ctrl-C twice, downloads left on a slow server are not waited for)
    os._exit(code)


def _status(code: object) -> int:
    """``SystemExit.code`` as the interpreter turns it into an exit status (a message: printed, 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _threads() -> list[Thread]:
    """Threads other than this one (threading is imported only if something started one)."""
    threading = sys.modules.get("threading")
    if threading is None:
        return []
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
    from wxarchive.errors import StateDamaged
    from wxarchive.archive.site import Site
    from wxarchive.archive.store import is_damage

    if not is_damage(e):
        return ""
    db = Site.open(getattr(args, "out", None) or getattr(args, "dir", None) or "archive").state_db
    return StateDamaged(db, str(e)).message


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
