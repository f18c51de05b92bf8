"""Whole process, as a user runs it: ``wxarchive get --no-images PAGE`` against the naive script and a bare lxml parse.

Each is a fresh interpreter on the same real-size page; the figure is the CPU
the child used (start-up, imports, parse, convert, writing the post and the raw
page and the state for ours). A round's ratio is the median over its pages.
"""
from __future__ import annotations

import statistics
import tempfile
from pathlib import Path
from typing import Callable

from .measure import PY, REPO, ROUNDS, Spread, run_cpu, wx
from .report import Result

SECTION = "whole"
_LXML = "import sys, lxml.html; lxml.html.fromstring(open(sys.argv[1], 'rb').read())"


def run(quick: bool = False, corpus: Path | None = None, log: Callable[[str], None] = print) -> list[Result]:
    from .realpage import real_size_pages

    pages = real_size_pages(corpus, limit=3 if quick else 6)
    rounds = 3 if quick else ROUNDS
    with tempfile.TemporaryDirectory(prefix="wxbench-whole-") as tmp:
        files = []
        for i, (name, data) in enumerate(pages):
            p = Path(tmp) / f"{i}-{name[:40]}.html"
            p.write_bytes(data)
            files.append(p)
        arch = Path(tmp) / "archive"
        cmds = {
            "ours": lambda p: wx("get", str(p), "--no-images", "--force", "-q", "--out", str(arch)),
            "naive": lambda p: [PY, str(REPO / "bench" / "naive.py"), str(p), str(Path(tmp) / "naive.md")],
            "lxml": lambda p: [PY, "-c", _LXML, str(p)],
        }
        for p in files:  # warm-up; the archive exists before the first timed run, as for a user's second article
            for k, c in cmds.items():
                cpu, _, r = run_cpu(c(p))
                if r.returncode != 0 and k == "ours":
                    log(f"  whole: {p.name}: exit {r.returncode}: {r.stderr.decode(errors='replace')[-200:]}")
        log(f"  whole: {len(files)} real-size pages, {rounds} rounds, each a fresh interpreter")
        t: dict[str, list[list[float]]] = {k: [] for k in cmds}
        for _ in range(rounds):
            for k in cmds:
                t[k].append([])
            for p in files:
                for k, c in cmds.items():
                    t[k][-1].append(run_cpu(c(p))[0])

    def ratio(a: str, b: str) -> Spread:
        return Spread([statistics.median(x / y for x, y in zip(ra, rb)) for ra, rb in zip(t[a], t[b])])

    ours = Spread([statistics.median(r) for r in t["ours"]])
    naive = Spread([statistics.median(r) for r in t["naive"]])
    r_naive = ratio("ours", "naive")
    return [
        Result(SECTION, "get --no-images / naive script (whole process, CPU)", r_naive.fmt(), "<= 1x",
               r_naive.at_most(1.0), f"ours {ours.fmt(' ms', 1000, 0)}, naive {naive.fmt(' ms', 1000, 0)}"),
        Result(SECTION, "get --no-images / bare lxml parse (whole process, CPU)", ratio("ours", "lxml").fmt(), "report",
               None, f"lxml {Spread([statistics.median(r) for r in t['lxml']]).fmt(' ms', 1000, 0)}"),
    ]
