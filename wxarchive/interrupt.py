"""Ctrl-C in two steps, as the tools people know: the first finishes what is under way, the second stops now.

The first Ctrl-C stops the run taking new work: no further page is asked for (a pacing wait
ends at once), the articles already fetched are finished (images, post, state) and
reported. The second stops at once: image downloads end at their next chunk and drop their
temp file, no post is written after it, and the command exits 130. An article whose post and
state were being written when it came is written whole: nothing is recorded half.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Aborted", "Interrupt", "StopRequested", "two_step_ctrl_c"]

FIRST_MESSAGE = "wxarchive: finishing the current article (Ctrl-C again to stop now)"


class StopRequested(KeyboardInterrupt):
    """Raised where the run would take new work (a page request) after the first Ctrl-C."""


class Aborted(BaseException):
    """Raised in a worker (a download, a finisher) after the second Ctrl-C: stop before writing anything.
    A BaseException, so that no per-article ``except Exception`` counts it as the article's failure."""


class Interrupt:
    """The run's two Ctrl-C flags, shared by the signal handler, the fetcher and the workers."""

    def __init__(self) -> None:
        self.soft = threading.Event()  # first Ctrl-C: take no new work
        self.hard = threading.Event()  # second Ctrl-C: stop now

    def check_hard(self) -> None:
        if self.hard.is_set():
            raise Aborted()


@contextmanager
def two_step_ctrl_c(stop: Interrupt, quiet: bool = False) -> Iterator[Interrupt]:
    """SIGINT sets ``stop.soft`` (and says so), then ``stop.hard`` and raises KeyboardInterrupt.

    The handler only sets flags and writes with ``os.write``: it runs between two bytecodes of
    the main thread, which may be in the middle of writing to ``sys.stderr`` itself."""
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: object) -> None:
        if stop.hard.is_set():
            return  # stopping already: a third Ctrl-C must not cut short the clean stop under way
        if stop.soft.is_set():
            stop.hard.set()
            raise KeyboardInterrupt()
        stop.soft.set()
        if not quiet:
            _say(FIRST_MESSAGE)

    try:
        old = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread of the main interpreter
        yield stop
        return
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, old)


def _say(line: str) -> None:
    """One line on stderr, on a line of its own even under a progress bar."""
    try:
        clear = "\r\x1b[K" if sys.stderr.isatty() else ""
        os.write(2, (clear + line + "\n").encode("utf-8", "replace"))
    except (OSError, ValueError):
        pass
