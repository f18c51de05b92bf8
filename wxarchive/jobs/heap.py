"""Giving freed memory back to the system during a long run (issue 24).

A page is 2-4 MB and passes through several buffers of its size (the body, its decoded text, its
compressed raw copy) in different threads. glibc's malloc raises its mmap threshold past the size of
the first big buffer freed, and from then on serves such buffers from per-thread arenas, which keep
what they free: a 10,000-article import's peak rose from 123 MB at 1,000 articles to 206 MB. A fixed
threshold (:func:`settle`) keeps big buffers in mappings of their own, returned whole when freed: the
peak stays at ~80 MB however long the run. Its price, measured: ~5 ms more CPU an article (~10-15 %:
each buffer's pages are faulted in afresh), ~0.2 % of an article's time at the default pacing, which
is why short lists keep malloc's defaults. ``malloc_trim`` every few dozen articles (:func:`trimmer`)
returns what the arenas still hold free. Elsewhere than glibc both do nothing.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

__all__ = ["settle", "trimmer"]

EVERY = 64  # articles between trims; a list shorter than this is left to malloc's defaults
MMAP_THRESHOLD = 256 * 1024  # glibc's own starting value, kept fixed
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)


def _libc() -> Any | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes  # (~4 ms to load: only long runs come here)

        return ctypes.CDLL(None)  # the C library already loaded
    except OSError:
        return None


def settle(links: int) -> None:
    """Before a run of ``links`` articles: big buffers get mappings of their own (a fixed mmap threshold)."""
    if links < EVERY:
        return
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def _malloc_trim() -> Callable[[int], int] | None:
    return getattr(_libc(), "malloc_trim", None)  # musl and others: none


def trimmer() -> Callable[[], None]:
    """A function to call once per article: every ``EVERY`` calls, the free heap goes back. (ctypes is
    loaded at the first trim: a short run never pays for it.)"""
    trim: list[Callable[[int], int] | None] = []
    count = 0

    def tick() -> None:
        nonlocal count
        count += 1
        if count % EVERY == 0:
            if not trim:
                trim.append(_malloc_trim())
            if trim[0] is not None:
                trim[0](0)
    return tick
