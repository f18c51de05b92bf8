"""1. CPU per page: parse + clean + render against lxml, BeautifulSoup+markdownify and trafilatura.

Same pages, same process, methods interleaved per page, one warm-up pass,
median of several runs per page and method. The targets apply to the
median, over the real full-size pages (corpus pages of 1 MB and more -- the
2-4 MB pages WeChat serves today), of the per-page ratio ours / baseline;
the worst page is reported too.
"""
from __future__ import annotations

import datetime as dt
import statistics
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .report import Result, ms, ratio

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "pages"
BIG = 1024 * 1024
SECTION = "cpu"


@dataclass
class PageTimes:
    name: str
    source: str  # fixture | corpus
    size: int
    times: dict[str, list[float]] = field(default_factory=dict)

    def med(self, method: str) -> float:
        return statistics.median(self.times[method])


def find_pages(corpus: Path | None) -> list[tuple[str, str, bytes]]:
    pages = []
    for p in sorted((REPO / "fixtures").glob("*/page.html")):
        try:
            pages.append((f"fixtures/{p.parent.name}", "fixture", p.read_bytes()))
        except OSError:
            continue
    if corpus is not None and corpus.is_dir():
        for p in sorted(corpus.glob("*.html")):  # read at bench time only; never copied into the repo
            pages.append((p.stem, "corpus", p.read_bytes()))
    return pages


def _methods() -> dict[str, Callable[[bytes], object]]:
    import lxml.html
    from bs4 import BeautifulSoup
    from markdownify import markdownify

    from wxarchive.clean import clean
    from wxarchive.models import Page
    from wxarchive.parse import parse
    from wxarchive.render import render

    now = dt.datetime.now(dt.timezone.utc)
    url = "https://mp.weixin.qq.com/s/benchpage"

    def page(data: bytes) -> Page:
        return Page(url=url, final_url=url, status=200, content=data, fetched_at=now)

    def lxml_floor(data: bytes) -> object:
        return lxml.html.fromstring(data)

    def naive(data: bytes) -> object:
        soup = BeautifulSoup(data, "lxml")
        el = soup.select_one("#js_content") or soup.body or soup
        return markdownify(str(el))

    m: dict[str, Callable[[bytes], object]] = {
        "parse": lambda d: parse(page(d)),
        "clean": clean,  # takes the parsed Article
        "render": render,  # takes the cleaned Article
        "lxml": lxml_floor,
        "naive": naive,
    }
    try:
        import trafilatura

        def traf(data: bytes) -> object:
            return trafilatura.extract(data, output_format="markdown", include_images=True, with_metadata=True)

        m["trafilatura"] = traf
    except ImportError:  # bench extra not installed
        pass
    return m


def _time_page(m: dict[str, Callable], data: bytes, pt: PageTimes, with_traf: bool) -> None:
    pc = time.perf_counter
    t0 = pc()
    art = m["parse"](data)
    t1 = pc()
    art = m["clean"](art)
    t2 = pc()
    m["render"](art)
    t3 = pc()
    for k, v in (("parse", t1 - t0), ("clean", t2 - t1), ("render", t3 - t2), ("ours", t3 - t0)):
        pt.times.setdefault(k, []).append(v)
    for k in ("lxml", "naive") + (("trafilatura",) if with_traf else ()):
        t = pc()
        m[k](data)
        pt.times.setdefault(k, []).append(pc() - t)


def run(quick: bool = False, corpus: Path | None = CORPUS, log: Callable[[str], None] = print) -> list[Result]:
    from wxarchive.errors import WxError

    warnings.filterwarnings("ignore")
    m = _methods()
    has_traf = "trafilatura" in m
    pages = find_pages(corpus)
    results: list[Result] = []
    if not pages:
        return [Result(SECTION, "pages", "none", "fixtures or corpus", False, "no fixture and no corpus page found")]
    runs = 3 if quick else 5
    traf_runs = 1 if quick else 3
    # validation + warm-up pass (every page, every method; quick: one page warms every method)
    good: list[tuple[str, str, bytes]] = []
    skipped: list[str] = []
    for i, (name, src, data) in enumerate(pages):
        try:
            art = m["render"](m["clean"](m["parse"](data))) if not quick or not good else m["parse"](data)
        except WxError as e:
            skipped.append(f"{name} ({e.code})")
            continue
        good.append((name, src, data))
        if not quick or len(good) == 1:
            for k in ("lxml", "naive") + (("trafilatura",) if has_traf else ()):
                m[k](data)
    log(f"  cpu: {len(good)} pages ({len(skipped)} error pages skipped), {runs} runs"
        f" (trafilatura {traf_runs}), methods interleaved")
    timings = {name: PageTimes(name, src, len(data)) for name, src, data in good}
    for r in range(runs):
        for name, src, data in good:
            _time_page(m, data, timings[name], has_traf and r < traf_runs)
    pts = list(timings.values())
    real = [p for p in pts if p.source == "corpus" and p.size >= BIG]
    basis_label = f"{len(real)} corpus pages >= 1 MB"
    if not real:
        real = [p for p in pts if p.source == "corpus"] or pts
        basis_label = f"{len(real)} pages (no page >= 1 MB)"

    def ratios(ps: list[PageTimes], base: str) -> list[float]:
        return [p.med("ours") / p.med(base) for p in ps if p.times.get(base)]

    med_page = sorted(real, key=lambda p: p.med("ours"))[len(real) // 2]
    results.append(Result(SECTION, "pages measured", f"{len(pts)}", "", None,
                          f"{sum(p.source == 'fixture' for p in pts)} fixture, {sum(p.source == 'corpus' for p in pts)}"
                          f" corpus; skipped error pages: {', '.join(skipped) or 'none'}"))
    results.append(Result(SECTION, "ours per page, median real page", ms(statistics.median(p.med("ours") for p in real)),
                          "", None, f"over {basis_label}; parse {ms(statistics.median(p.med('parse') for p in real))}"
                          f" + clean {ms(statistics.median(p.med('clean') for p in real))}"
                          f" + render {ms(statistics.median(p.med('render') for p in real))} (medians)"))
    for base, target in (("naive", 1.0), ("trafilatura", 0.1), ("lxml", 5.0)):
        rs = ratios(real, base)
        if not rs:
            results.append(Result(SECTION, f"ours / {base}", "n/a", f"<= {target:g}x", None, f"{base} not installed"))
            continue
        v = statistics.median(rs)
        results.append(Result(SECTION, f"ours / {base} (median real page)", ratio(v), f"<= {target:g}x", v <= target,
                              f"{base} median {ms(statistics.median(p.med(base) for p in real))}; all pages median ratio "
                              f"{ratio(statistics.median(ratios(pts, base)))}"))
    worst = max(pts, key=lambda p: p.med("ours") / p.med("naive"))
    slowest = max(pts, key=lambda p: p.med("ours"))
    for label, p in (("worst page (ours/naive)", worst), ("slowest page", slowest)):
        extra = f", trafilatura {ratio(p.med('ours') / p.med('trafilatura'))}" if p.times.get("trafilatura") else ""
        results.append(Result(SECTION, label, f"{ms(p.med('ours'))}", "report", None,
                              f"{p.name} ({p.size // 1024} KB): parse {ms(p.med('parse'))} clean {ms(p.med('clean'))}"
                              f" render {ms(p.med('render'))}; ratios naive {ratio(p.med('ours') / p.med('naive'))},"
                              f" lxml {ratio(p.med('ours') / p.med('lxml'))}{extra}"))
    del med_page
    return results
