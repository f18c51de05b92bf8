"""``python -m bench``: run the sections, print a table (figure, target, PASS/MISS) and a one-line summary.

Exit status 0 when every target is met, 1 when any is missed, 2 on bad usage.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
import traceback
from pathlib import Path

from .report import Result, table

SECTIONS = ("startup", "cpu", "whole", "batch", "memory", "state", "check", "scale")  # batch includes the re-run cost
EXTRA = ("trace",)  # only when named: tracemalloc makes its import ~2x slower


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("sections", nargs="*", metavar="SECTION",
                    help=f"run only these: {', '.join(SECTIONS + EXTRA)} (rerun is part of batch; default: all"
                         f" but {', '.join(EXTRA)})")
    ap.add_argument("--quick", action="store_true",
                    help="fewer rounds and smaller batches (3 rounds, batch N=12, memory 600 articles, scale 10k only)")
    ap.add_argument("--corpus", default=str(Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "pages"),
                    help="folder of third-party WeChat pages read at bench time (default ../shared/corpus/pages)")
    ap.add_argument("--no-corpus", action="store_true", help="fixture pages only")
    args = ap.parse_args(argv)
    wanted = [s if s != "rerun" else "batch" for s in args.sections] or list(SECTIONS)
    unknown = [s for s in wanted if s not in SECTIONS + EXTRA]
    if unknown:
        ap.error(f"unknown section(s): {', '.join(unknown)}; choose from {', '.join(SECTIONS + EXTRA)}")

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    results: list[Result] = []
    started = time.perf_counter()
    corpus = None if args.no_corpus else Path(args.corpus)
    load = os.getloadavg()
    print(f"bench: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores; "
          f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}; Python {platform.python_version()}; "
          f"pages: {'corpus ' + str(corpus) if corpus and corpus.is_dir() else 'generated (bench/realpage.py)'}"
          f"{' (quick)' if args.quick else ''}", flush=True)
    for name in SECTIONS + EXTRA:
        if name not in wanted:
            continue
        log(f"bench: {name} ...")
        t = time.perf_counter()
        try:
            if name == "startup":
                from . import startup
                results += startup.run(quick=args.quick, log=log)
            elif name == "cpu":
                from . import cpu
                results += cpu.run(quick=args.quick, corpus=corpus, log=log)
            elif name == "whole":
                from . import whole
                results += whole.run(quick=args.quick, corpus=corpus, log=log)
            elif name == "batch":
                from . import batch
                results += batch.run(quick=args.quick, log=log)
            elif name == "memory":
                from . import memory
                results += memory.run(quick=args.quick, log=log)
            elif name == "trace":
                from . import memory
                results += memory.trace(quick=args.quick, log=log)
            elif name == "state":
                from . import state
                results += state.run(quick=args.quick, log=log)
            elif name == "scale":
                from . import scale
                results += scale.run(quick=args.quick, log=log)
            elif name == "check":
                from . import check
                corpus = None if args.no_corpus else Path(args.corpus)
                results += check.run(quick=args.quick, log=log, corpus=corpus)
        except Exception as e:  # a section that crashes is a miss, the others still run
            traceback.print_exc()
            results.append(Result(name, "section crashed", type(e).__name__, "runs", False, str(e)[:200]))
        log(f"bench: {name} done in {time.perf_counter() - t:.1f} s")
    print(table(results))
    gated = [r for r in results if r.ok is not None]
    missed = [r for r in gated if not r.ok]
    print(f"\nbench: {len(gated) - len(missed)}/{len(gated)} targets met"
          + (f"; MISSED: {'; '.join(f'{r.section}: {r.name} {r.value} (target {r.target})' for r in missed)}" if missed else "")
          + f"; {time.perf_counter() - started:.0f} s{' (quick)' if args.quick else ''}")
    return 1 if missed else 0
