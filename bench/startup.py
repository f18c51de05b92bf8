"""Start-up: ``wxarchive --version`` and ``--help`` against ``python -c pass`` (CPU of each child, rounds interleaved)."""
from __future__ import annotations

from typing import Callable

from .measure import PY, ROUNDS, Spread, run_cpu, wx
from .report import Result

SECTION = "startup"


def run(quick: bool = False, log: Callable[[str], None] = print) -> list[Result]:
    rounds = ROUNDS if quick else 2 * ROUNDS + 1
    cmds = {"pass": [PY, "-c", "pass"], "--version": wx("--version"), "--help": wx("--help")}
    for c in cmds.values():  # warm the page cache and the .pyc files
        run_cpu(c)
    per: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(rounds):
        for k, c in cmds.items():
            per[k].append(run_cpu(c)[0])
    base = Spread(per["pass"])
    log(f"  startup: {rounds} rounds; python -c pass {base.fmt(' ms', 1000, 0)}")
    out = []
    for k in ("--version", "--help"):
        s = Spread([a / b for a, b in zip(per[k], per["pass"])])
        out.append(Result(SECTION, f"wxarchive {k} / python -c pass (CPU)", s.fmt(), "<= 3x", s.at_most(3.0),
                          f"{Spread(per[k]).fmt(' ms', 1000, 0)} vs {base.fmt(' ms', 1000, 0)}"))
    return out
