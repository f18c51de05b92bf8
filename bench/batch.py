"""2. Batch against a local server; 3. re-run cost (same batch again, then 10,000 archived URLs)."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Callable

from .common import cli, has_import_command
from .report import Result, ratio, secs
from .wxserver import WxServer, article_url

SECTION2 = "batch"
SECTION3 = "rerun"


def _archive(out: Path, urls: list[str], server: WxServer, delay: float, concurrency: int):
    from wxarchive.fetch import parse_connect_to
    from wxarchive.pipeline import Archiver, Options

    opts = Options(out=out, delay=(delay, delay), concurrency=concurrency,
                   connect_to=parse_connect_to(server.connect_to))
    with Archiver(opts) as arch:
        return arch.archive_many(urls)


def _synthesize_archived(out: Path, first: int, count: int) -> None:
    """Record ``count`` more articles as archived (rows + post files), the way the pipeline records them.

    Fetching 10,000 pages for real would take minutes; what the re-run measures is
    the check path (URL -> key -> state -> post on disk), and that is the same.
    """
    from wxarchive.site import Site
    from wxarchive.store import Store
    from wxarchive.urls import article_key, normalize_article_url
    from .wxserver import BIZ, MID0

    site = Site.open(out)
    posts = site.root / "_posts"
    posts.mkdir(parents=True, exist_ok=True)
    with Store(site.state_dir / "state.sqlite3") as st:
        st.db.execute("BEGIN")
        for i in range(first, first + count):
            url = normalize_article_url(article_url(i))
            key = f"{BIZ}:{MID0 + i}:1"
            rel = f"_posts/2020-01-01-synth-{i}.md"
            (site.root / rel).write_text("---\ntitle: synth\n---\n", encoding="utf-8")
            now = time.time()
            st.db.execute(
                "INSERT OR REPLACE INTO articles (key, url, canonical_url, title, account, published, post_path,"
                " raw_path, status, images_found, images_saved, stripped, updated_at, archived_at)"
                " VALUES (?,?,?,?,?,?,?,?, 'archived', 0, 0, '[]', ?, ?)",
                (key, url, url, f"synth {i}", "基准测试号", "2020-01-01T00:00:00+08:00", rel, "", now, now))
            for a in {key, url, article_key(url)}:
                st.db.execute("INSERT OR REPLACE INTO aliases(alias, key) VALUES (?, ?)", (a, key))
        st.db.execute("COMMIT")


def run(quick: bool = False, log: Callable[[str], None] = print) -> list[Result]:
    N = 15 if quick else 50
    M, L, D, C = 20, 0.05, 0.2, 4
    bound = max(N * D, N * M * L / C)
    sequential = N * (D + L + M * L)
    results: list[Result] = []
    urls = [article_url(i) for i in range(N)]
    with tempfile.TemporaryDirectory(prefix="wxbench-") as tmp, WxServer(images=M, latency=L) as srv:
        out = Path(tmp) / "archive"
        log(f"  batch: N={N} articles x M={M} images, latency {L * 1000:.0f} ms, pacing {D} s, concurrency {C}")
        t = time.perf_counter()
        outs = _archive(out, urls, srv, D, C)
        wall = time.perf_counter() - t
        archived = sum(o.status == "archived" for o in outs)
        saved = sum(o.images["saved"] for o in outs)
        ok = archived == N and saved == N * M
        results.append(Result(SECTION2, f"wall, {N} articles x {M} images", secs(wall),
                              f"<= {secs(1.15 * bound)}", ok and wall <= 1.15 * bound,
                              f"bound max(N*D, N*M*L/C) = {secs(bound)}; {archived}/{N} archived, {saved}/{N * M} images;"
                              f" {srv.counts['page']} page + {srv.counts['image']} image requests"))
        results.append(Result(SECTION2, "wall / bound", ratio(wall / bound), "<= 1.15x", ok and wall <= 1.15 * bound))
        results.append(Result(SECTION2, "wall / sequential archiver", ratio(wall / sequential), "report", None,
                              f"sequential N*(D+L+M*L) = {secs(sequential)}; speed-up {sequential / wall:.1f}x"))

        # ---- 3. re-run: the same batch again
        srv.reset()
        t = time.perf_counter()
        outs = _archive(out, urls, srv, D, C)
        again = time.perf_counter() - t
        skipped = sum(o.status == "skipped" for o in outs)
        results.append(Result(SECTION3, f"same {N} again: HTTP requests", str(srv.total()), "0",
                              srv.total() == 0 and skipped == N, f"{skipped}/{N} skipped in {secs(again)}"))

        # ---- then an import of 10,000 already-archived long-form URLs
        K = 10_000
        _synthesize_archived(out, N, K - N)
        listing = Path(tmp) / "urls.txt"
        listing.write_text("# already archived\n" + "\n".join(article_url(i) for i in range(K)) + "\n", encoding="utf-8")
        srv.reset()
        if has_import_command():
            how = "wxarchive import (CLI subprocess, incl. interpreter start)"
            t = time.perf_counter()
            r = cli("import", str(listing), "--out", str(out), "--json", "-q", "--delay", str(D),
                    *sum((["--connect-to", c] for c in srv.connect_to), []), timeout=300)
            took = time.perf_counter() - t
            lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
            skipped = sum('"skipped"' in ln for ln in lines)
            detail = f"exit {r.returncode}; {skipped}/{K} skipped" + (f"; stderr: {r.stderr.strip()[-200:]}" if r.returncode else "")
            good = r.returncode == 0
        else:
            how = "Archiver.archive_many in-process (`wxarchive import` not in the CLI yet)"
            t = time.perf_counter()
            outs = _archive(out, [article_url(i) for i in range(K)], srv, D, C)
            took = time.perf_counter() - t
            skipped = sum(o.status == "skipped" for o in outs)
            detail = f"{skipped}/{K} skipped"
            good = skipped == K
        results.append(Result(SECTION3, f"import {K:,} archived URLs: HTTP requests", str(srv.total()), "0",
                              srv.total() == 0 and good, f"via {how}"))
        results.append(Result(SECTION3, f"import {K:,} archived URLs: wall", secs(took), "< 3.00 s",
                              took < 3.0 and good, f"{detail}; {took / K * 1e6:.0f} us per URL"))
    return results
