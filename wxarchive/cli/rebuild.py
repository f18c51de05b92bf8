"""rebuild: every post again from the raw pages kept in the archive; ``--from-posts``: the state from the posts."""
from __future__ import annotations

import argparse
import sys

from wxarchive.archive.lock import ArchiveLock
from wxarchive.archive.recover import rebuild_state
from wxarchive.archive.site import Site
from wxarchive.cli.archiving import printer
from wxarchive.cli.common import locked_archiver, options_from
from wxarchive.errors import ArchiveError, UsageError
from wxarchive.jobs.pipeline import Outcome, Result
from wxarchive.layout import STATE_DB, STATE_DIR, state_db

__all__ = ["cmd_rebuild"]


def cmd_rebuild_state(args: argparse.Namespace) -> int:
    """``rebuild --from-posts``: a new state from the posts on disk; a damaged one is kept aside."""
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
    if getattr(args, "from_posts", False):
        return cmd_rebuild_state(args)
    opts = options_from(args)
    if not state_db(opts.out).is_file():
        raise UsageError(f"{args.out} holds no wxarchive archive (no {STATE_DIR}/{STATE_DB}); nothing to rebuild")
    show = printer(args.json, args.quiet)
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
    failed = sum(1 for o in outs if o.status == Result.FAILED)
    done = [o for o in outs if o.status == Result.REBUILT]
    line = f"{len(outs)} post{'s' if len(outs) != 1 else ''}, {sum(1 for o in done if o.changed)} changed"
    if failed:
        line += f", {failed} failed"
    if healed:
        line += f", {healed} healed (missing images saved)"
    return line
