"""``--exec`` and ``--exec-after``: a command after each archived post, and once after a run that archived any.

As ``find -exec`` and yt-dlp's ``--exec``: the command is split into words once, as a shell would
split it (``shlex``), and ``{archive}``, ``{post}``, ``{title}``, ``{url}``, ``{key}``, ``{account}``
are put into each word; it runs without a shell, so a title holding ``"; rm -rf ~`` is one
argument, never code. A user who wants a shell asks for one and passes the values as its
arguments: ``--exec 'sh -c "git add \\"$1\\" && git commit -qm \\"$2\\"" _ {post} {title}'``.
What the command prints goes to stderr (stdout is the results stream, ``--json`` lines); its
failure is one line there and the run goes on.
"""
from __future__ import annotations

import logging
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping

from wxarchive.errors import UsageError

__all__ = ["Hook"]

log = logging.getLogger(__name__)

FIELDS = ("archive", "post", "title", "url", "key", "account")
_FIELD = re.compile(r"\{(" + "|".join(FIELDS) + r")\}")
_SHELL_WORDS = {"&&", "||", "|", ";", ">", ">>", "<", "&"}


class Hook:
    """One ``--exec``/``--exec-after`` command, checked when the run starts."""

    def __init__(self, template: str, flag: str) -> None:
        self.flag, self.template = flag, template
        try:
            self.words = shlex.split(template)
        except ValueError as e:
            raise UsageError(f"{flag} {template!r}: {e}") from None
        if not self.words:
            raise UsageError(f"{flag} wants a command")
        shell = [w for w in self.words if w in _SHELL_WORDS]
        if shell:
            raise UsageError(f"{flag} runs the command without a shell, so {shell[0]!r} would be an argument; for a "
                             "shell, give it the values as arguments: "
                             f"{flag} 'sh -c \"git add \\\"$1\\\" && git commit -qm \\\"$2\\\"\" _ {{post}} {{title}}'")

    def argv(self, values: Mapping[str, str | None]) -> list[str]:
        """The words with the values put in (a missing one: the empty string)."""
        return [_FIELD.sub(lambda m: str(values.get(m.group(1)) or ""), w) for w in self.words]

    def run(self, values: Mapping[str, str | None]) -> bool:
        """Run it; True when it exited 0. Its output goes to stderr; a failure is one line there."""
        argv = self.argv(values)
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               check=False)
        except OSError as e:
            log.warning("%s: cannot run %s: %s", self.flag, argv[0], e.strerror or e)
            return False
        if p.stdout:
            sys.stderr.write(p.stdout.decode("utf-8", "replace"))
            sys.stderr.flush()
        if p.returncode != 0:
            log.warning("%s: %s exited with %d", self.flag, shlex.join(argv)[:200], p.returncode)
        return p.returncode == 0
