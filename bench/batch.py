"""Batches through the CLI, real-size pages: CPU per article, wall time against the pacing bound, and re-runs.

- CPU per article inside a batch: ``wxarchive import`` of N1 and N2 articles (no images, no
  delay); (CPU(N2) - CPU(N1)) / (N2 - N1) is everything one more article costs (fetch, parse,
  clean, render, raw page, post, state), start-up excluded.
- Wall time of an ``import`` with images against the bound the pacing sets (the CLI's own
  jitter: gaps drawn in [D, 1.5 D]), with the image latency the server measured.
- Re-run: the same batch again makes no request; 10,000 archived URLs cost per URL
  (CPU(10,000) - CPU(1)) / 9,999.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Callable

from .measure import ROUNDS, Spread, run_cpu, wx
from .realpage import BIZ, MID0, VARIANTS, article_url
from .report import Result
from .wxserver import WxServer

PAGE = 3 * 1024 * 1024


def _routes(srv: WxServer) -> list[str]:
    return sum((["--connect-to", c] for c in srv.connect_to), [])


def _listing(tmp: Path, name: str, ids: range) -> Path:
    p = tmp / name
    p.write_text("\n".join(article_url(i) for i in ids) + "\n", encoding="utf-8")
    return p


def _synthesize_archived(out: Path, first: int, count: int) -> None:
    """Record ``count`` articles as archived (rows, aliases and post files) the way the pipeline records them.

    Fetching 10,000 pages for real would take minutes; what a re-run measures is
    the check path (URL -> key -> state -> post on disk), and that is the same.
    """
    from wxarchive.archive.site import Site
    from wxarchive.archive.store import Store
    from wxarchive.urls import article_key, normalize_article_url

    site = Site.open(out)
    site.init()
    posts = site.root / "_posts"
    with Store(site.state_dir / "state.sqlite3") as st:
        st.db.execute("BEGIN")
        for i in range(first, first + count):
            url = normalize_article_url(article_url(i))
            key = f"{BIZ}:{MID0 + i}:1"
            rel = f"_posts/2020-01-01-synth-{i}.md"
            (posts / rel.split("/")[1]).write_text("---\ntitle: synth\n---\n", encoding="utf-8")
            now = time.time()
            st.db.execute(
                "INSERT OR REPLACE INTO articles (key, url, canonical_url, title, account, published, post_path,"
                " raw_path, status, images_found, images_saved, stripped, updated_at, archived_at)"
                " VALUES (?,?,?,?,?,?,?,?, 'archived', 0, 0, '[]', ?, ?)",
                (key, url, url, f"synth {i}", "基准测试号", "2020-01-01T00:00:00+08:00", rel, "", now, now))
            for a in {key, url, article_key(url)}:
                st.db.execute("INSERT OR REPLACE INTO aliases(alias, key) VALUES (?, ?)", (a, key))
        st.db.execute("COMMIT")


def cpu_per_article(quick: bool, log: Callable[[str], None]) -> list[Result]:
    n1, n2 = 3, (11 if quick else 23)
    rounds = 3 if quick else ROUNDS
    per: list[float] = []
    with tempfile.TemporaryDirectory(prefix="wxbench-cpa-") as tmp, WxServer(images=20, page_size=PAGE) as srv:
        base = 0
        for r in range(rounds + 1):  # round 0 warms the page generator and the .pyc files
            cpus = []
            for n in (n1, n2):
                lst = _listing(Path(tmp), f"r{r}-{n}.txt", range(base, base + n))
                base += n
                cpu, _, res = run_cpu(wx("import", str(lst), "--out", f"{tmp}/a{r}-{n}", "--no-images", "--delay", "0",
                                         "-q", *_routes(srv)))
                if res.returncode != 0:
                    log(f"  batch cpu: exit {res.returncode}: {res.stderr.decode(errors='replace')[-300:]}")
                cpus.append(cpu)
            if r:
                per.append((cpus[1] - cpus[0]) / (n2 - n1))
    s = Spread(per)
    log(f"  batch cpu: {rounds} rounds of import {n1} vs {n2} real-size pages: {s.fmt(' ms', 1000, 1)} per article")
    return [Result("batch", "CPU per article inside a batch (no images)", s.fmt(" ms", 1000, 1), "<= 50 ms",
                   s.at_most(0.050), f"{PAGE >> 20} MB pages; (CPU({n2}) - CPU({n1})) / {n2 - n1} of `wxarchive import`,"
                   " fetch + parse + clean + render + raw page + post + state")]


def pacing(quick: bool, log: Callable[[str], None]) -> list[Result]:
    n, m, lat, d, c = (12 if quick else 30), 20, 0.05, 0.2, 4
    rounds = 2 if quick else ROUNDS
    ratios, walls, bounds, again_reqs = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="wxbench-pace-") as tmp, WxServer(images=m, latency=lat, page_size=PAGE) as srv:
        for i in range(VARIANTS):  # warm the page generator (~0.2 s per script set, once): WeChat has no such cost
            srv.page(10_000 + i)
        for r in range(rounds):
            ids = range(10_000 + r * n, 10_000 + (r + 1) * n)
            lst = _listing(Path(tmp), f"p{r}.txt", ids)
            out = f"{tmp}/a{r}"
            srv.reset()
            _, wall, res = run_cpu(wx("import", str(lst), "--out", out, "--delay", str(d), "--concurrency", str(c),
                                      "-q", *_routes(srv)))
            img = [x for x in srv.latency_seen]  # handler time, sleep included (pages and images)
            limg = sum(img) / len(img) if img else lat
            bound = max((n - 1) * 1.25 * d, n * m * limg / c)  # gaps uniform in [d, 1.5 d]: mean 1.25 d
            ok = res.returncode == 0 and srv.counts["page"] == n and srv.counts["image"] == n * m
            if not ok:
                log(f"  pacing: exit {res.returncode}, {srv.counts}: {res.stderr.decode(errors='replace')[-300:]}")
            ratios.append(wall / bound if ok else float("inf"))
            walls.append(wall)
            bounds.append(bound)
            srv.reset()
            run_cpu(wx("import", str(lst), "--out", out, "--delay", str(d), "-q", *_routes(srv)))
            again_reqs.append(srv.total())
    s = Spread(ratios)
    log(f"  pacing: {rounds} rounds, wall {Spread(walls).fmt(' s')} vs bound {Spread(bounds).fmt(' s')}")
    return [
        Result("batch", f"import wall / pacing bound ({n} x {m} images, CLI)", s.fmt(), "<= 1.15x", s.at_most(1.15),
               f"wall {Spread(walls).fmt(' s')}; bound max((N-1)*1.25*D, N*M*L/C), D={d}s, C={c}, L measured at the"
               f" server (~{lat * 1000:.0f} ms); start-up included"),
        Result("rerun", f"same {n} again: HTTP requests", str(max(again_reqs)), "0", max(again_reqs) == 0,
               f"{rounds} re-runs"),
    ]


def rerun(quick: bool, log: Callable[[str], None]) -> list[Result]:
    k = 10_000
    rounds = 3 if quick else ROUNDS
    per, reqs = [], 0
    with tempfile.TemporaryDirectory(prefix="wxbench-rerun-") as tmp, WxServer(images=0, page_size=PAGE) as srv:
        out = Path(tmp) / "archive"
        _synthesize_archived(out, 0, k)
        big, one = _listing(Path(tmp), "all.txt", range(k)), _listing(Path(tmp), "one.txt", range(1))
        run_cpu(wx("import", str(big), "--out", str(out), "--json", "-q", *_routes(srv)))  # warm
        srv.reset()
        for _ in range(rounds):
            c1, _, _ = run_cpu(wx("import", str(one), "--out", str(out), "--json", "-q", *_routes(srv)))
            ck, wall, res = run_cpu(wx("import", str(big), "--out", str(out), "--json", "-q", *_routes(srv)))
            skipped = res.stdout.count(b'"skipped"')
            per.append((ck - c1) / (k - 1) if skipped == k and res.returncode == 0 else float("inf"))
        reqs = srv.total()
    s = Spread(per)
    log(f"  rerun: {s.fmt(' ms', 1000, 3)} per archived URL beyond start-up; {reqs} requests")
    return [Result("rerun", f"import {k:,} archived URLs: CPU per URL beyond start-up", s.fmt(" ms", 1000, 3),
                   "<= 0.15 ms", s.at_most(0.15e-3), f"(CPU({k:,}) - CPU(1)) / {k - 1:,}; --json to a pipe"),
            Result("rerun", f"import {k:,} archived URLs: HTTP requests", str(reqs), "0", reqs == 0, "")]


def run(quick: bool = False, log: Callable[[str], None] = print) -> list[Result]:
    return cpu_per_article(quick, log) + pacing(quick, log) + rerun(quick, log)
