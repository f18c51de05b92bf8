"""One measured figure and the table that prints them."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Result:
    section: str
    name: str
    value: str  # formatted figure
    target: str = ""  # human-readable target, "" for info lines
    ok: bool | None = None  # None: informational (no target)
    note: str = ""

    @property
    def verdict(self) -> str:
        return "" if self.ok is None else ("PASS" if self.ok else "MISS")


def table(results: list[Result]) -> str:
    heads = ("section", "figure", "value", "target", "")
    rows = [(r.section, r.name, r.value, r.target, r.verdict) for r in results]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(heads)]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(h.ljust(w) for h, w in zip(heads, widths)), line]
    for r, row in zip(results, rows):
        out.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if r.note:
            out.append(" " * (widths[0] + 2) + "  " + r.note)
    return "\n".join(out)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def secs(seconds: float) -> str:
    return f"{seconds:.2f} s"


def ratio(x: float) -> str:
    return f"{x:.2f}x"
