"""In-process CPU per real-size page, next to the baselines; and the raw-page storage step.

Same process, methods interleaved per page, one warm-up pass, rounds over the
same pages. A round's figure is the median over its pages of the per-page ratio;
the spread is over rounds. These in-process ratios are reported beside the
whole-process ones (``whole``), which are the targets: a user pays start-up too.
"""
from __future__ import annotations

import datetime as dt
import gzip
import statistics
import time
import warnings
from pathlib import Path
from typing import Callable

from .measure import REPO, ROUNDS, Spread
from .report import Result

CORPUS = REPO.parent / "shared" / "corpus" / "pages"
SECTION = "cpu"
RAW = "raw page"


def _methods() -> dict[str, Callable[[bytes], object]]:
    import lxml.html

    from wxarchive.extract.clean import clean
    from wxarchive.models import Page
    from wxarchive.extract.parse import parse
    from wxarchive.write.render import render

    from . import naive

    now = dt.datetime.now(dt.timezone.utc)
    url = "https://mp.weixin.qq.com/s/benchpage"
    m: dict[str, Callable[[bytes], object]] = {
        "ours": lambda d: render(clean(parse(Page(url=url, final_url=url, status=200, content=d, fetched_at=now)))),
        "naive": naive.convert,
        "lxml": lxml.html.fromstring,
    }
    try:
        import trafilatura

        m["trafilatura"] = lambda d: trafilatura.extract(d, output_format="markdown", include_images=True,
                                                         with_metadata=True)  # once, as a user would call it
    except ImportError:  # the bench extra is not installed
        pass
    return m


def _cpu(f: Callable[[], object]) -> float:
    t = time.process_time()
    f()
    return time.process_time() - t


def run(quick: bool = False, corpus: Path | None = CORPUS, log: Callable[[str], None] = print) -> list[Result]:
    from wxarchive.archive import rawpage

    from .realpage import real_size_pages

    warnings.filterwarnings("ignore")
    m = _methods()
    pages = real_size_pages(corpus, limit=4 if quick else 8)
    rounds = 3 if quick else ROUNDS
    log(f"  cpu: {len(pages)} real-size pages ({', '.join(f'{len(d) >> 20}.{(len(d) >> 10) % 1024 // 103}' for _, d in pages)} MB),"
        f" {rounds} rounds, methods: {', '.join(m)}")
    for _, d in pages:  # warm-up
        for f in m.values():
            f(d)
    t: dict[str, list[list[float]]] = {k: [] for k in (*m, "zstd", "gzip6")}
    for _ in range(rounds):
        row: dict[str, list[float]] = {k: [] for k in t}
        for _, d in pages:
            for k, f in m.items():
                row[k].append(_cpu(lambda: f(d)))
            row["zstd"].append(_cpu(lambda: rawpage.pack(d)))
            row["gzip6"].append(_cpu(lambda: gzip.compress(d, 6, mtime=0)))
        for k in t:
            t[k].append(row[k])

    def per_round(a: str, b: str | None = None) -> Spread:
        if b is None:
            return Spread([statistics.median(r) for r in t[a]])
        return Spread([statistics.median(x / y for x, y in zip(ra, rb)) for ra, rb in zip(t[a], t[b])])

    out = [Result(SECTION, "ours per page (parse+clean+render)", per_round("ours").fmt(" ms", 1000, 1), "report", None,
                  f"median over {len(pages)} pages of {min(len(d) for _, d in pages) >> 20}-"
                  f"{max(len(d) for _, d in pages) / 2**20:.1f} MB; in-process (no start-up, no I/O)")]
    for base in ("naive", "trafilatura", "lxml"):
        if base in m:
            out.append(Result(SECTION, f"ours / {base} (in-process)", per_round("ours", base).fmt(), "report", None,
                              f"{base} {per_round(base).fmt(' ms', 1000, 1)}"))
    sizes = [(len(rawpage.pack(d)[1]), len(gzip.compress(d, 6, mtime=0))) for _, d in pages]
    zs = per_round("zstd")
    out.append(Result(SECTION, f"{RAW}: CPU to pack (zstd -1)", zs.fmt(" ms", 1000, 1), "<= 12 ms", zs.at_most(0.012),
                      f"gzip -6 (before) {per_round('gzip6').fmt(' ms', 1000, 1)}; zstd/gzip time {per_round('zstd', 'gzip6').fmt()}"))
    worst = max(z / g for z, g in sizes)
    out.append(Result(SECTION, f"{RAW}: size / gzip -6 size", f"{statistics.median(z / g for z, g in sizes):.2f}x"
                      f" (worst page {worst:.2f}x)", "<= 1x every page", worst <= 1.0,
                      f"{sum(z for z, _ in sizes) / 2**20:.1f} MB vs {sum(g for _, g in sizes) / 2**20:.1f} MB for the {len(pages)} pages"))
    return out + _small_raw_pages(corpus, rounds)


def _small_raw_pages(corpus: Path | None, rounds: int) -> list[Result]:
    """Raw pages under 1 MB (older articles, error pages; issue 24): every corpus page of that size, else
    generated ones of 100-800 KB. Size against gzip -6 (reported with its worst page) and the worst
    page's CPU to pack, against the raw page's budget."""
    from wxarchive.archive import rawpage

    from .realpage import real_page

    small = [p.read_bytes() for p in sorted(Path(corpus).glob("*.html"))
             if p.stat().st_size < 2**20] if corpus is not None and Path(corpus).is_dir() else []
    small = small or [real_page(i, size=(1 + i) * 100 * 1024, images=5) for i in range(8)]
    sizes = [(len(rawpage.pack(d)[1]), len(gzip.compress(d, 6, mtime=0))) for d in small]
    worst_cpu = Spread([max(_cpu(lambda: rawpage.pack(d)) for d in small) for _ in range(rounds)])
    r = [z / g for z, g in sizes]
    return [
        Result(SECTION, f"{RAW} under 1 MB: size / gzip -6 size", f"{statistics.median(r):.2f}x "
               f"({min(r):.2f}-{max(r):.2f})", "report", None,
               f"{len(small)} pages of {min(map(len, small)) / 1024:.0f} KB-{max(map(len, small)) / 1024:.0f} KB; "
               f"all together {sum(z for z, _ in sizes) / sum(g for _, g in sizes):.2f}x (zstd -{getattr(rawpage, 'SMALL_LEVEL', rawpage.LEVEL)})"),
        Result(SECTION, f"{RAW} under 1 MB: CPU to pack, slowest page", worst_cpu.fmt(" ms", 1000, 1), "<= 12 ms",
               worst_cpu.at_most(0.012), f"{max(map(len, small)) / 1024:.0f} KB the biggest"),
    ]
