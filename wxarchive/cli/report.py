"""What a batch run tells a person: a live progress bar on a terminal, log lines otherwise, a summary.

Everything here writes to stderr; results (``--json`` lines) stay on stdout.
"""
from __future__ import annotations

import collections
import logging
import os
import sys
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Any, TextIO
from collections.abc import Callable

from wxarchive.jobs.pipeline import Outcome, Result
from wxarchive.errors import ErrorCode
from wxarchive.trust import visible

__all__ = ["FAILURES_KEPT", "Progress", "Tally", "chain", "log_outcome"]

log = logging.getLogger(__name__)


FAILURES_KEPT = 20  # failed outcomes a run keeps for its report; the rest are counted


@dataclass
class Tally:
    """Counts for the end-of-run summary."""

    archived: int = 0
    skipped: int = 0
    failed: collections.Counter[str] = field(default_factory=collections.Counter)
    gave_up: int = 0
    not_tried: int = 0
    healed: int = 0  # archived posts whose missing images were saved this run
    images_saved: int = 0
    images_found: int = 0
    images_failed: int = 0
    failures: list[Outcome] = field(default_factory=list)  # the first FAILURES_KEPT (n_failed counts them all)
    given_up_earlier: collections.Counter[str] = field(default_factory=collections.Counter)  # skipped: why, how many

    def add(self, o: Outcome) -> None:
        if o.status == Result.HEALED:
            self.healed += 1
            return
        if o.status == Result.ARCHIVED:
            self.archived += 1
        elif o.status == Result.SKIPPED:
            self.skipped += 1
            if o.gave_up:
                self.given_up_earlier[o.error or "failed"] += 1
        elif o.status == Result.FAILED and o.error == ErrorCode.VERIFY:
            self.not_tried += 1  # the block itself: reported once as such, tried again on resume
        elif o.status == Result.FAILED:
            self.failed[o.error or "error"] += 1
            self.gave_up += int(o.gave_up)
            if len(self.failures) < FAILURES_KEPT:  # a report names the first ones: many failures hold no more
                self.failures.append(o)
        imgs = o.images or {}
        self.images_found += int(imgs.get("found", 0) or 0) if o.status == Result.ARCHIVED else 0
        self.images_saved += int(imgs.get("saved", 0) or 0) if o.status == Result.ARCHIVED else 0
        self.images_failed += int(imgs.get("failed", 0) or 0) if o.status == Result.ARCHIVED else 0

    @property
    def n_failed(self) -> int:
        return sum(self.failed.values())

    def line(self) -> str:
        parts = [f"{self.archived} archived", f"{self.skipped} skipped"]
        if self.given_up_earlier:
            why = ", ".join(f"{k} {v}" for k, v in self.given_up_earlier.most_common())
            parts[1] += f" ({sum(self.given_up_earlier.values())} given up earlier: {why})"
        if self.n_failed:
            reasons = ", ".join(f"{k} {v}" for k, v in self.failed.most_common())
            parts.append(f"{self.n_failed} failed ({reasons})")
        if self.gave_up:
            parts.append(f"{self.gave_up} given up")
        if self.not_tried:
            parts.append(f"{self.not_tried} left for the next run")
        if self.healed:
            parts.append(f"{self.healed} post(s) healed (missing images saved)")
        imgs = f"images {self.images_saved}/{self.images_found} saved"
        if self.images_failed:
            imgs += f", {self.images_failed} failed"
        return "; ".join(parts) + "; " + imgs

    def as_json(self) -> dict[str, Any]:
        return {"archived": self.archived, "skipped": self.skipped, "failed": dict(self.failed),
                "gave_up": self.gave_up, "not_tried": self.not_tried,
                "images": {"found": self.images_found, "saved": self.images_saved, "failed": self.images_failed}}


class _BarHandler(logging.Handler):
    """Log records printed above the live bar instead of through it."""

    def __init__(self, bar: Progress, inner: logging.Handler) -> None:
        super().__init__(inner.level)
        self.bar = bar
        self.inner = inner

    def emit(self, record: logging.LogRecord) -> None:
        with self.bar.lock:
            self.bar.clear()
            self.inner.emit(record)
            self.bar.draw()


def _width(stream: TextIO) -> int:
    try:
        return max(20, os.get_terminal_size(stream.fileno()).columns)
    except (OSError, ValueError, AttributeError):
        return 80


def _clip(text: str, cols: int) -> str:
    """``text`` cut to ``cols`` terminal cells (a CJK character takes two)."""
    out, used = [], 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        if used + w > cols:
            break
        out.append(ch)
        used += w
    return "".join(out)


class Progress:
    """A one-line bar (count, rate, ETA, current title) on a terminal; a log line now and then otherwise.

    Plain ANSI (carriage return and erase-line): no extra dependency, and nothing
    drawn unless stderr is a terminal.
    """

    def __init__(self, total: int, *, enabled: bool = True, stream: TextIO | None = None,
                 every: int = 25, every_s: float = 60.0, label: str = "import") -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self.tty = self.enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.every, self.every_s, self.label = every, every_s, label
        self.done = 0
        self.fetched = 0  # outcomes that cost a request (a skip costs none: it says nothing of the pace)
        self.start = time.monotonic()
        self._last_line = self.start
        self._text = ""
        self._shown = False
        self.lock = threading.RLock()
        self._swapped: list[tuple[logging.Handler, logging.Handler]] = []

    def __enter__(self) -> Progress:
        if self.tty:
            root = logging.getLogger()
            for h in list(root.handlers):
                if isinstance(h, logging.StreamHandler) and getattr(h, "stream", None) in (sys.stderr, self.stream):
                    wrapped = _BarHandler(self, h)
                    root.removeHandler(h)
                    root.addHandler(wrapped)
                    self._swapped.append((h, wrapped))
            self._text = f"{self.label}: 0/{self.total}"
            self.draw()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.tty:
            with self.lock:
                self.clear()
            root = logging.getLogger()
            for h, wrapped in self._swapped:
                root.removeHandler(wrapped)
                root.addHandler(h)

    # ---- drawing (terminal only)
    def draw(self) -> None:
        if not self.tty or not self._text:
            return
        try:
            self.stream.write("\r\x1b[K" + _clip(self._text, _width(self.stream) - 1))
            self.stream.flush()
            self._shown = True
        except (OSError, ValueError):  # pragma: no cover - a closed terminal never breaks a run
            self.tty = False

    def clear(self) -> None:
        """Erase the bar, so a result or log line is printed on a clean line."""
        if self._shown:
            try:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            except (OSError, ValueError):  # pragma: no cover
                self.tty = False
            self._shown = False

    def before(self, o: Outcome) -> None:
        """Called before a result is printed: a stdout on the same terminal must not land on the bar."""
        if self._shown and getattr(sys.stdout, "isatty", lambda: False)():
            with self.lock:
                self.clear()

    def rate(self) -> float:
        """Articles fetched per second: skipped ones (thousands a second on a re-run) are not counted, and
        the first second is not divided by less than a second (a burst is not a pace)."""
        return self.fetched / max(time.monotonic() - self.start, 1.0)

    def _pace(self, r: float) -> str:
        """`` 12/min`` (`` 0.5/min`` when slow); "" with nothing fetched yet."""
        if r <= 0:
            return ""
        per_min = r * 60
        return f" {per_min:.0f}/min" if per_min >= 10 else f" {per_min:.1f}/min"

    def _bar_text(self, o: Outcome) -> str:
        r = self.rate()
        eta = (self.total - self.done) / r if r > 0 else 0
        frac = self.done / self.total if self.total else 1.0
        cells = 20
        full = int(frac * cells)
        bar = "#" * full + "-" * (cells - full)
        eta_s = f" ETA {int(eta // 60)}:{int(eta % 60):02d}" if self.done < self.total and r > 0 else ""
        title = visible(" ".join((o.title or o.source).split()))
        return f"{self.label} [{bar}] {self.done}/{self.total}{self._pace(r)}{eta_s}  {o.status} {title}"

    def update(self, o: Outcome) -> None:
        self.done += 1
        self.fetched += int(o.status != Result.SKIPPED)
        if not self.enabled:
            return
        if self.tty:
            with self.lock:
                self._text = self._bar_text(o)
                self.draw()
            return
        now = time.monotonic()
        if self.done == self.total or self.done % self.every == 0 or now - self._last_line >= self.every_s:
            self._last_line = now
            r = self.rate()
            eta = (self.total - self.done) / r if r > 0 else 0
            eta_s = f", about {int(eta // 60)} min {int(eta % 60)} s left" if self.done < self.total and r > 0 else ""
            pace = f" ({self._pace(r).strip()}{eta_s})" if r > 0 else ""
            print(f"wxarchive: {self.label}: {self.done}/{self.total} done{pace}", file=self.stream, flush=True)


def log_outcome(o: Outcome) -> None:
    """One line per article for ``--log FILE`` (INFO: off the terminal unless -v)."""
    if o.status == Result.FAILED or o.gave_up:
        return  # the pipeline has logged it already
    log.info("%s %s %s", o.status, o.source, o.title or "")


def chain(*fns: Callable[[Outcome], None] | None) -> Callable[[Outcome], None]:
    def call(o: Outcome) -> None:
        for f in fns:
            if f is not None:
                f(o)
    return call
