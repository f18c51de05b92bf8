"""What a batch run tells a person: a live progress bar on a terminal, log lines otherwise, a summary.

Everything here writes to stderr; results (``--json`` lines) stay on stdout.
"""
from __future__ import annotations

import collections
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TextIO

from .pipeline import Outcome

__all__ = ["Progress", "Tally", "chain", "log_outcome"]

log = logging.getLogger(__name__)


@dataclass
class Tally:
    """Counts for the end-of-run summary."""

    archived: int = 0
    skipped: int = 0
    failed: collections.Counter = field(default_factory=collections.Counter)
    gave_up: int = 0
    not_tried: int = 0
    images_saved: int = 0
    images_found: int = 0
    images_failed: int = 0
    failures: list[Outcome] = field(default_factory=list)

    def add(self, o: Outcome) -> None:
        if o.status == "archived":
            self.archived += 1
        elif o.status == "skipped":
            self.skipped += 1
        elif o.status == "failed" and o.error == "verify":
            self.not_tried += 1  # the block itself: reported once as such, tried again on resume
        elif o.status == "failed":
            self.failed[o.error or "error"] += 1
            self.gave_up += int(o.gave_up)
            self.failures.append(o)
        imgs = o.images or {}
        self.images_found += int(imgs.get("found", 0) or 0) if o.status == "archived" else 0
        self.images_saved += int(imgs.get("saved", 0) or 0) if o.status == "archived" else 0
        self.images_failed += int(imgs.get("failed", 0) or 0) if o.status == "archived" else 0

    @property
    def n_failed(self) -> int:
        return sum(self.failed.values())

    def line(self) -> str:
        parts = [f"{self.archived} archived", f"{self.skipped} skipped"]
        if self.n_failed:
            reasons = ", ".join(f"{k} {v}" for k, v in self.failed.most_common())
            parts.append(f"{self.n_failed} failed ({reasons})")
        if self.gave_up:
            parts.append(f"{self.gave_up} given up")
        if self.not_tried:
            parts.append(f"{self.not_tried} left for the next run")
        imgs = f"images {self.images_saved}/{self.images_found} saved"
        if self.images_failed:
            imgs += f", {self.images_failed} failed"
        return "; ".join(parts) + "; " + imgs

    def as_json(self) -> dict[str, Any]:
        return {"archived": self.archived, "skipped": self.skipped, "failed": dict(self.failed),
                "gave_up": self.gave_up, "not_tried": self.not_tried,
                "images": {"found": self.images_found, "saved": self.images_saved, "failed": self.images_failed}}


class _ConsoleHandler(logging.Handler):
    """Log records printed above the live bar instead of through it."""

    def __init__(self, console: Any, level: int) -> None:
        super().__init__(level)
        self.console = console
        self.setFormatter(logging.Formatter("wxarchive: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.console.print(self.format(record), markup=False, highlight=False, soft_wrap=True)
        except Exception:  # pragma: no cover - never let the display break a run
            self.handleError(record)


class Progress:
    """A rich bar (count, rate, ETA, current title) on a TTY; a log line now and then otherwise."""

    def __init__(self, total: int, *, enabled: bool = True, stream: TextIO | None = None,
                 every: int = 25, every_s: float = 60.0, label: str = "import") -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self.tty = self.enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.every, self.every_s, self.label = every, every_s, label
        self.done = 0
        self.start = time.monotonic()
        self._last_line = self.start
        self._bar: Any = None
        self._task: Any = None
        self._swapped: list[tuple[logging.Handler, int]] = []
        self._handler: logging.Handler | None = None

    def __enter__(self) -> "Progress":
        if self.tty:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, TaskProgressColumn,
                                       TextColumn, TimeRemainingColumn)

            console = Console(file=self.stream, stderr=True)
            self._bar = RichProgress(TextColumn("[bold]{task.fields[rate]}"), BarColumn(), MofNCompleteColumn(),
                                     TaskProgressColumn(), TimeRemainingColumn(), TextColumn("{task.description}"),
                                     console=console, transient=True, redirect_stderr=False,
                                     # results printed on a terminal go above the bar; a redirected stdout stays put
                                     redirect_stdout=bool(getattr(sys.stdout, "isatty", lambda: False)()))
            self._task = self._bar.add_task("", total=self.total, rate="")
            self._bar.start()
            root = logging.getLogger()
            for h in list(root.handlers):
                if isinstance(h, logging.StreamHandler) and getattr(h, "stream", None) in (sys.stderr, self.stream):
                    self._swapped.append((h, h.level))
                    self._handler = _ConsoleHandler(console, h.level)
                    root.removeHandler(h)
            if self._handler is not None:
                root.addHandler(self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            root = logging.getLogger()
            if self._handler is not None:
                root.removeHandler(self._handler)
            for h, _lvl in self._swapped:
                root.addHandler(h)

    def rate(self) -> float:
        el = time.monotonic() - self.start
        return self.done / el if el > 0 else 0.0

    def update(self, o: Outcome) -> None:
        self.done += 1
        if not self.enabled:
            return
        if self._bar is not None:
            title = (o.title or o.source)[:40]
            self._bar.update(self._task, advance=1, description=f"{o.status} {title}",
                             rate=f"{self.rate() * 60:.1f}/min")
            return
        now = time.monotonic()
        if self.done == self.total or self.done % self.every == 0 or now - self._last_line >= self.every_s:
            self._last_line = now
            r = self.rate()
            eta = (self.total - self.done) / r if r > 0 else 0
            eta_s = f", about {int(eta // 60)} min {int(eta % 60)} s left" if self.done < self.total and r > 0 else ""
            print(f"wxarchive: {self.label}: {self.done}/{self.total} done ({r * 60:.1f}/min{eta_s})",
                  file=self.stream, flush=True)


def log_outcome(o: Outcome) -> None:
    """One line per article for ``--log FILE`` (INFO: off the terminal unless -v)."""
    if o.status == "failed":
        return  # the pipeline has logged it as an error already
    log.info("%s %s %s", o.status, o.source, o.title or "")


def chain(*fns: Callable[[Outcome], None] | None) -> Callable[[Outcome], None]:
    def call(o: Outcome) -> None:
        for f in fns:
            if f is not None:
                f(o)
    return call
