"""Giving freed memory back to the system during a long run (issue 24).

A page is 2-4 MB and passes through several buffers of its size in different threads. glibc's
malloc serves them from per-thread arenas once its mmap threshold has risen past their size,
and keeps what they free: a 10,000-article import's resident size crept up run-long. A fixed
mmap threshold stops that but costs ~20 % CPU an article (every buffer's pages faulted in
afresh); ``malloc_trim`` every few dozen articles returns the free pages for ~1 ms each time.
Elsewhere than glibc this does nothing.
"""
from __future__ import annotations

import sys
from collections.abc import Callable

__all__ = ["trimmer"]

EVERY = 64  # articles between trims


def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None).malloc_trim  # type: ignore[no-any-return]  # the C library already loaded
    except (OSError, AttributeError):  # musl and others: no malloc_trim
        return None


def trimmer() -> Callable[[], None]:
    """A function to call once per article: every ``EVERY`` calls, the free heap goes back. (ctypes,
    ~4 ms to load, is loaded at the first trim: a short run never pays for it.)"""
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
