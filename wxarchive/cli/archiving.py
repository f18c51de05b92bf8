"""get, import, init: the commands that archive links and pages, with what they say and their exit status.

``harvest`` (:mod:`wxarchive.cli.harvest`) and ``rebuild`` (:mod:`wxarchive.cli.rebuild`) use the same output.

Exit status: 0 every source archived or skipped; 1 any failed; 2 usage error; 3 WeChat asked for
verification / rate limit, or another run holds the lock; 4 archived, some images not saved.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wxarchive.archive.backoff import Backoff
from wxarchive.archive.site import Site
from wxarchive.cli.common import archive_dir, locked_archiver, options_from
from wxarchive.cli.report import Progress, Tally, chain, log_outcome
from wxarchive.errors import ArchiveError, UsageError
from wxarchive.interrupt import two_step_ctrl_c
from wxarchive.jobs.hooks import Hook
from wxarchive.jobs.pipeline import Archiver, Options, Outcome, Reported, Result, check_source, said
from wxarchive.trust import visible
from wxarchive.urls import is_article_url, normalize_article_url

__all__ = ["RunHooks", "cmd_get", "cmd_import", "cmd_init", "exit_code", "failure_line", "offline_line", "printer"]

log = logging.getLogger("wxarchive")


def printer(as_json: bool, quiet: bool) -> Callable[[Outcome], None]:
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


def _album(src: str) -> bool:
    # the source listers (~2.5 ms to load) only for what may be an album: a `get` of an article pays nothing
    from wxarchive.jobs.sources import parse_album_url

    return parse_album_url(src) is not None


def _not_for_get(src: str) -> str | None:
    """A one-line pointer when a source belongs to another command."""
    if "appmsgalbum" in src and _album(src):
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
    from wxarchive.jobs.sources import reading_of  # (see _album)

    reading = reading_of(data)
    if reading.what:
        return f"{src} is {reading.what}, not a saved page or a list of links"
    if not reading.urls:
        return f"{src} is a text file with no WeChat article link in it ({reading.summary()})"
    return f"{src} looks like a list of links: use `wxarchive import {src}` (or `get -a {src}`)"


def cmd_get(args: argparse.Namespace) -> int:
    as_import = _get_as_import(args)
    if as_import is not None:
        return as_import
    opts = options_from(args)
    if args.dry_run:
        return _get_dry_run(args, opts)
    hooks = RunHooks(args, opts.out)
    show = printer(args.json, args.quiet)
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
    with Archiver(opts) as arch:
        backoff = Backoff(arch.store)
        held = backoff.in_force()
        if held and not args.quiet:
            # an explicit `get` still runs, but says that WeChat blocked this archive recently
            print(f"wxarchive: note: WeChat asked for verification earlier; harvest waits until "
                  f"{held['until_text']}", file=sys.stderr)
        with two_step_ctrl_c(arch.interrupt, args.quiet):
            # (each outcome is let go once reported: a long `get` holds no more than a short one)
            outs = arch.archive_long(args.sources, on_outcome=chain(show, log_outcome, _given_up_note(args),
                                                                    hooks.each_post))
            if arch.blocked is None and arch.offline is None:
                arch.heal_images(on_outcome=chain(show, log_outcome))
        if arch.interrupt.soft.is_set():
            return _interrupted("get", args.sources, outs, show if args.json else None)
        if arch.blocked is not None:
            rec = backoff.hit(arch.blocked)  # so a cron harvest on this archive waits too
            done = _done(args.sources, outs)
            for s in args.sources:
                if s not in done:
                    show(Outcome(s, Result.FAILED, error="verify", message="not tried: WeChat asked for verification"))
            print(f"wxarchive: stopped: {arch.blocked.message}. Try again after {rec['until_text']}.",
                  file=sys.stderr)
        if arch.offline is not None:
            left = _not_tried(args.sources, outs, show if args.json else None)
            print(f"wxarchive: {offline_line(arch, left)}", file=sys.stderr)
        hooks.after_run()
        return exit_code(outs, arch.blocked is not None)


def _given_up_note(args: argparse.Namespace) -> Callable[[Outcome], None] | None:
    """``get`` names its articles one by one: one given up earlier says why on stderr (``import`` only at -v)."""
    if args.quiet or args.verbose:
        return None

    def note(o: Outcome) -> None:
        if o.gave_up and o.status != "failed":
            print(f"wxarchive: {said(o.source, o.message or '')}", file=sys.stderr)
    return note


def _get_dry_run(args: argparse.Namespace, opts: Options) -> int:
    """``get --dry-run``: each source new, known or given up, as ``import --dry-run`` says it; a source
    that is not an article (a typo, an album) is refused as a real run would refuse it."""
    for src in args.sources:
        hint = _not_for_get(src)
        if hint:
            raise UsageError(hint)
        check_source(src)
    urls = [normalize_article_url(s) if is_article_url(s) else s for s in args.sources]
    return _dry_run(urls, opts, args.json, "get")


def _dry_run(urls: list[str], opts: Options, as_json: bool, name: str) -> int:
    """What a run would do with ``urls``, asking nothing of WeChat."""
    from wxarchive.jobs.dryrun import classify, report  # (with the source listers, ~3 ms: a dry run only)

    return report(classify(urls, opts.out, opts.max_attempts, opts.retry_failed), as_json, name)


class RunHooks:
    """``--exec`` after each archived post, ``--exec-after`` once after a run that archived any (both checked
    before the run starts: a typo in the command is a usage error, not a failure after every article)."""

    def __init__(self, args: argparse.Namespace, root: Path) -> None:
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
    done = _done(sources, outs)
    left = [s for s in sources if s not in done]
    if show is not None:
        for s in left:
            show(Outcome(s, Result.FAILED, error="network", message="not tried: the network looks down"))
    return len(left)


def offline_line(arch: Archiver, left: int) -> str:
    err = arch.offline
    return (f"stopped: the network looks down ({arch.opts.outage_after} pages in a row got no answer; last: "
            f"{err.message if err else ''}). Nothing was counted against the articles; {left} link(s) not "
            "tried; run the same command again when the network is back.")


def cmd_init(args: argparse.Namespace) -> int:
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


def failure_line(o: Outcome) -> str:
    """``  failed CODE  URL: why``; the URL once, though most error messages already carry it."""
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
    done = _done(sources, outs)
    left = [s for s in sources if s not in done]
    if show is not None:
        for s in left:
            show(Outcome(s, Result.FAILED, error="interrupted", message="not tried: stopped by Ctrl-C"))
    summary = f"{tally.line()}; " if tally is not None else ""
    print(f"wxarchive: {what} stopped by Ctrl-C: {summary}{len(left)} link(s) not tried; run the same command "
          "again to carry on", file=sys.stderr)
    return 130


def _links_of(args: argparse.Namespace) -> list[str] | None:
    """The links of the list ``args.file``, with what its other lines were (said here); None when it has
    none. Only the links outlive this: a line kept for each skipped one (a list of many duplicates) was
    held to the end of the run."""
    from wxarchive.jobs.sources import read_list_report  # (see _album)

    reading = read_list_report(args.file)
    if not reading.urls:
        what = f"{args.file} is {reading.what}, not a list of links" if reading.what else \
            f"no WeChat article links found in {args.file} ({reading.summary()})"
        _say_skipped(reading, args.verbose)
        print(f"wxarchive: {what}", file=sys.stderr)
        return None
    if not args.quiet and (reading.skipped or args.verbose):  # (a clean list: the run's own tally says it)
        _say_skipped(reading, args.verbose)
        print(f"wxarchive: {args.file}: {reading.summary()}", file=sys.stderr)
    return reading.urls


def cmd_import(args: argparse.Namespace) -> int:
    name = args.command  # `get -` and `get -a FILE` run this and say `get`
    opts = options_from(args)
    urls = _links_of(args)
    if urls is None:
        return 2
    if args.dry_run:
        return _dry_run(urls, opts, args.json, name)
    hooks = RunHooks(args, opts.out)
    show = printer(args.json, args.quiet)
    tally = Tally()
    lock, arch = locked_archiver(opts, name)
    try:
        backoff = Backoff(arch.store)
        held = backoff.in_force()
        if held and not args.ignore_backoff:
            print(f"wxarchive: WeChat asked for verification earlier; run again after {held['until_text']} "
                  "(or use --ignore-backoff)", file=sys.stderr)
            return 3
        log.info("%s: %d article link(s) from %s", name, len(urls), args.file)
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
            print(f"wxarchive: {name} {offline_line(arch, left)}", file=sys.stderr)
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
