"""harvest: archive what is new in the ``[[sources]]`` of wxarchive.toml, then check the ``[check]`` slice (for cron)."""
from __future__ import annotations

import argparse
from typing import Any
import logging
import sys

from wxarchive.archive.backoff import Backoff
from wxarchive.archive.site import Site
from wxarchive.cli.archiving import failure_line, offline_line, printer, RunHooks
from wxarchive.cli.checkcmd import change_line, check_slice
from wxarchive.cli.common import FILE_ONLY, locked_archiver, options_from, require_archive
from wxarchive.cli.report import FAILURES_KEPT, Tally, chain, log_outcome
from wxarchive.interrupt import two_step_ctrl_c
from wxarchive.jobs.harvest import HarvestResult, harvest, load_specs
from wxarchive.jobs.pipeline import Archiver

__all__ = ["cmd_harvest"]

log = logging.getLogger("wxarchive")


def cmd_harvest(args: argparse.Namespace) -> int:
    """Silent when all went well (cron mails any output); one report when something needs a person."""
    require_archive(args.out, "harvest")
    opts = options_from(args)
    site = Site.open(opts.out)
    specs = load_specs(site.sources) if site.sources or site.check is None else []
    if args.dry_run:
        from wxarchive.jobs.dryrun import classify, harvest_urls, report  # (a dry run only)

        urls = harvest_urls(opts, specs)
        return report(classify(urls, opts.out, opts.max_attempts, opts.retry_failed), args.json, "harvest")
    if not args.verbose:
        for h in logging.getLogger().handlers:  # problems go into the one report below (and --log)
            if type(h) is logging.StreamHandler:
                h.setLevel(logging.CRITICAL + 1)
    tally = Tally()
    show = printer(args.json, False) if (args.json or args.verbose) else None
    hooks = RunHooks(args, opts.out)
    lock, arch = locked_archiver(opts, "harvest")
    try:
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
        log.info("harvest: back-off in force until %s; nothing done", res.backoff and res.backoff.get("until_text"))
        return 0
    for line in checked:  # fates that changed: one line each, even when all else went well
        print(line, file=sys.stderr)
    if arch.offline is not None:
        line = f"wxarchive: harvest {offline_line(arch, tally.not_tried)}"
        log.info("%s", line.removeprefix("wxarchive: "), extra=FILE_ONLY)
        print(line, file=sys.stderr)
        return 1
    problem = bool(tally.failures or source_errors or res.blocked)
    if problem or args.verbose:
        lines = _harvest_report(tally, res, source_errors)
        for ln in lines:
            log.info("%s", ln.removeprefix("wxarchive: "), extra=FILE_ONLY)
        print("\n".join(lines), file=sys.stderr)
    if res.blocked is not None:
        return 3
    if res.session_expired is not None:
        return 5  # the WeRead session must be refreshed; said once a day, the status every run
    return 1 if problem else 4 if tally.images_failed else 0


def _harvest_report(tally: Tally, res: HarvestResult, source_errors: list[Any]) -> list[str]:
    """The one report a harvest gives when something needs a person (or with -v)."""
    lines = [f"wxarchive: harvest: {tally.line()}"]
    if res.blocked is not None and res.backoff:
        lines.append(f"  stopped: {res.blocked.message}; no WeChat requests before {res.backoff['until_text']}")
    for r in source_errors:
        lines.append(f"  source {r.spec.name}: {r.error.message if r.error else ''}")
    for o in tally.failures[:FAILURES_KEPT]:
        lines.append(failure_line(o))
    if tally.n_failed > FAILURES_KEPT:
        lines.append(f"  … and {tally.n_failed - FAILURES_KEPT} more (wxarchive status)")
    return lines


def _harvest_check(arch: Archiver, cfg: dict[str, Any], res: HarvestResult) -> list[str]:
    """Check the ``[check]`` slice after the sources (unless WeChat blocked); the lines for changed fates."""
    if res.blocked is not None or res.waited:
        return []
    outs, blocked = check_slice(arch, cfg)
    if blocked is not None:
        res.blocked, res.backoff = blocked, Backoff(arch.store).hit(blocked)
    for o in outs:
        log.info("check: %s", change_line(o))
    return [f"wxarchive: check: {change_line(o)}" for o in outs if o.changed]
