"""6. `wxarchive check`: requests and bytes per check, its cost beyond the pacing, and a 10,000-article sweep.

A check is meant to be one paced page request with no images. This section archives a
small batch from the local server, then checks every article in-process with no pacing
(what a check costs beyond waiting its turn) and a few with the default pacing (2-3 s
between pages), and extrapolates to a full re-check of 10,000 articles.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

from .report import Result, ms, secs
from .wxserver import WxServer, article_url

SECTION = "check"
DEFAULT_DELAY = (2.0, 3.0)  # the CLI's default pacing (cli.common.options_from)


def _opts(out: Path, srv: WxServer, delay: tuple[float, float]):  # type: ignore[no-untyped-def]
    from wxarchive.jobs.pipeline import Options
    from wxarchive.net.routing import parse_connect_to

    return Options(out=out, delay=delay, concurrency=4, connect_to=parse_connect_to(srv.connect_to))


def _check_all(out: Path, srv: WxServer, delay: tuple[float, float], limit: int | None = None):  # type: ignore[no-untyped-def]
    from wxarchive.jobs.check import Checker
    from wxarchive.jobs.pipeline import Archiver

    with Archiver(_opts(out, srv, delay)) as arch:
        checker = Checker(arch)
        recs = checker.select(max_n=limit)
        t = time.perf_counter()
        outs = checker.check_many(recs)
        return outs, time.perf_counter() - t


def _corpus_page_sizes(corpus: Path | None) -> list[int]:
    if corpus is None or not corpus.is_dir():
        return []
    return [p.stat().st_size for p in corpus.glob("*.html")]


def run(quick: bool = False, log: Callable[[str], None] = print, corpus: Path | None = None) -> list[Result]:
    from wxarchive.jobs.pipeline import Archiver

    N, P, L = (10, 3, 0.05) if quick else (30, 6, 0.05)
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="wxbench-check-") as tmp, WxServer(images=20, latency=L) as srv:
        out = Path(tmp) / "archive"
        with Archiver(_opts(out, srv, (0.0, 0.0))) as arch:
            archived = sum(o.status == "archived" for o in arch.archive_many([article_url(i) for i in range(N)]))
        log(f"  check: {archived} articles archived; checking them, server latency {L * 1000:.0f} ms")

        srv.reset()
        outs, wall = _check_all(out, srv, (0.0, 0.0))
        verdicts = sum(o.state == "alive" for o in outs)
        pages, images, other = srv.counts["page"], srv.counts["image"], srv.counts["other"]
        ok = verdicts == N == archived and pages == N and images == 0 and other == 0
        results.append(Result(SECTION, "requests per check", f"{(pages + images + other) / max(1, N):.2f}",
                              "1 page, 0 images", ok,
                              f"{N} checks: {pages} page, {images} image, {other} other requests; {verdicts} alive"))
        body = statistics.mean(len(srv.page(i)) for i in range(N))
        sizes = _corpus_page_sizes(corpus)
        real = f"; real saved pages in the corpus: median {statistics.median(sizes) / 1024:.0f} KB, " \
               f"max {max(sizes) / 1024:.0f} KB ({len(sizes)} pages)" if sizes else ""
        results.append(Result(SECTION, "bytes per check (bench page)", f"{body / 1024:.1f} KB", "report", None,
                              "the page body only; no image is asked for" + real))
        work = wall / max(1, N)
        results.append(Result(SECTION, "one check beyond pacing", ms(work), "report", None,
                              f"{N} checks at no pacing in {secs(wall)} (includes {L * 1000:.0f} ms server latency, "
                              "parsing the page and the archived raw page, state and post writes)"))

        srv.reset()
        paced, paced_wall = _check_all(out, srv, DEFAULT_DELAY, limit=P)
        per = paced_wall / max(1, len(paced) - 1) if len(paced) > 1 else float("nan")
        results.append(Result(SECTION, f"{P} checks at the default pacing", secs(paced_wall), "report", None,
                              f"{per:.2f} s between checks (pacing {DEFAULT_DELAY[0]:.0f}-{DEFAULT_DELAY[1]:.0f} s "
                              "with jitter, the first one unpaced)"))
        K = 10_000
        model = K * (statistics.mean(DEFAULT_DELAY) + work)
        results.append(Result(SECTION, f"full re-check of {K:,} articles", f"{model / 3600:.1f} h", "report", None,
                              f"{K:,} x (mean pacing {statistics.mean(DEFAULT_DELAY):.1f} s + {ms(work)}); measured "
                              f"paced interval gives {K * per / 3600:.1f} h; at --max 50 per 2-hourly harvest, "
                              f"{K / (50 * 12):.0f} days per sweep"))
    return results
