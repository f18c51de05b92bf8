"""Measuring without flattering: CPU of child processes, rounds, spreads, and a target met only beyond its spread."""
from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
ROUNDS = 5


def env() -> dict[str, str]:
    """The children's environment, as a user's Python has it: compiled modules are cached (a session that
    sets PYTHONDONTWRITEBYTECODE would make every child compile wxarchive's source, ~100 ms, while the
    baselines' libraries come precompiled from pip) and stdout is buffered (PYTHONUNBUFFERED unset)."""
    e = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for k in ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"):
        e.pop(k, None)
    return e


def child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_cpu(cmd: list[str], **kw) -> tuple[float, float, subprocess.CompletedProcess]:
    """(CPU seconds of the child, wall seconds, result): CPU time is what the user pays and what other
    engineers' load on the shared cores disturbs least."""
    kw.setdefault("capture_output", True)
    kw.setdefault("env", env())
    c0, t0 = child_cpu(), time.perf_counter()
    r = subprocess.run(cmd, **kw)
    return child_cpu() - c0, time.perf_counter() - t0, r


def wx(*args: str) -> list[str]:
    """The CLI as a user runs it (the console script does the same import)."""
    return [PY, "-m", "wxarchive", *args]


@dataclass
class Spread:
    """Per-round values of one figure: median and the whole range."""

    values: list[float]

    @property
    def med(self) -> float:
        return statistics.median(self.values)

    @property
    def lo(self) -> float:
        return min(self.values)

    @property
    def hi(self) -> float:
        return max(self.values)

    def fmt(self, unit: str = "x", scale: float = 1.0, digits: int = 2) -> str:
        f = f"{{:.{digits}f}}"
        return (f"{f.format(self.med * scale)}{unit} ({f.format(self.lo * scale)}-{f.format(self.hi * scale)},"
                f" {len(self.values)} rounds)")

    def at_most(self, target: float) -> bool:
        """Met only if every round is within the target: the margin is at least the spread."""
        return self.hi <= target
