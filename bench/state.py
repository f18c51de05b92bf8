"""5. Scale of the state: 100,000 synthesised article rows; lookups, EXPLAIN QUERY PLAN, `status`, `import`."""
from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

from .measure import ROUNDS, Spread, run_cpu, wx
from .report import Result, secs
from .wxserver import BIZ, MID0, article_url, sn

SECTION = "state"

# the queries Store runs on the hot paths (is_archived -> get -> resolve; post_owner; status)
PLANS = {
    "resolve alias": ("SELECT key FROM aliases WHERE alias=?", ("x",), True),
    "resolve key": ("SELECT key FROM articles WHERE key=?", ("x",), True),
    "get": ("SELECT * FROM articles WHERE key=?", ("x",), True),
    "post_owner": ("SELECT key FROM articles WHERE post_path=?", ("x",), True),
    "status counts": ("SELECT status, COUNT(*) FROM articles GROUP BY status", (), False),
    # the store's own SQL: a walk of the partial index that holds only failed rows, newest first, stopping at
    # the limit (SQLite calls it SCAN ... USING INDEX; it reads no archived row, so it is no table scan)
    "status failures": ("failures", (50,), "USING INDEX articles_failed"),
    "re-run look-ahead": ("records", ("x", "y", "z"), True),  # Store.archived_records (the SQL is the store's)
}


def _bad(plan: str) -> bool:
    """A table scan (a scan of the look-ahead's own list of links is no table) or a Bloom filter, which
    SQLite builds by reading the whole table."""
    for part in plan.split(";"):
        p = part.strip()
        if "BLOOM FILTER" in p or (p.startswith("SCAN") and "INDEX" not in p and "CONSTANT ROWS" not in p
                                   and p != "SCAN q"):
            return True
    return False


def synthesize(db_path: Path, n: int, root: Path, with_posts: int) -> list[str]:
    """``n`` rows in the Store schema (97% archived, 2% failed, 1% gave up), aliases as the pipeline writes them."""
    from wxarchive.archive.store import Store
    from wxarchive.urls import normalize_article_url

    keys = []
    rows, aliases = [], []
    now = time.time()
    for i in range(n):
        key = f"{BIZ}:{MID0 + i}:1"
        url = f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid={MID0 + i}&idx=1&sn={sn(i)}"  # normalised form
        if i == 0:
            assert url == normalize_article_url(article_url(0)), url
        status = "archived" if i % 100 < 97 else ("failed" if i % 100 < 99 else "gave_up")
        post = f"_posts/2020-01-01-synth-{i}.md" if status == "archived" else None
        rows.append((key, url, url, f"文章 {i}", f"账号{i % 300}", "2020-01-01T00:00:00+08:00", post,
                     f".wxarchive/raw/{i}.html.gz" if post else None, status,
                     None if post else "network", None if post else "timed out", 0 if post else 1,
                     3, 3, "[]", now - i, now - i if post else None))
        aliases += [(key, key), (url, key)]
        keys.append(key)
    with Store(db_path) as st:
        st.db.execute("BEGIN")
        st.db.executemany(
            "INSERT OR REPLACE INTO articles (key, url, canonical_url, title, account, published, post_path, raw_path,"
            " status, error_code, error_msg, attempts, images_found, images_saved, stripped, updated_at, archived_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        st.db.executemany("INSERT OR REPLACE INTO aliases(alias, key) VALUES (?, ?)", aliases)
        st.db.execute("COMMIT")
        st.db.execute("ANALYZE")
    posts = root / "_posts"
    posts.mkdir(parents=True, exist_ok=True)
    for i in range(with_posts):
        if i % 100 < 97:
            (posts / f"2020-01-01-synth-{i}.md").write_text("---\ntitle: s\n---\n", encoding="utf-8")
    return keys


def run(quick: bool = False, log: Callable[[str], None] = print) -> list[Result]:
    from wxarchive.archive.site import Site
    from wxarchive.archive.store import Store

    n = 100_000
    k_import = 10_000
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="wxbench-state-") as tmp:
        root = Path(tmp) / "archive"
        site = Site.open(root)
        site.init()
        t = time.perf_counter()
        keys = synthesize(site.state_dir / "state.sqlite3", n, root, k_import)
        log(f"  state: {n:,} rows synthesised in {secs(time.perf_counter() - t)}")
        rnd = random.Random(6)
        with Store(site.state_dir / "state.sqlite3") as st:
            probes = {"by key": rnd.sample(keys, 2000),
                      "by URL alias": [article_url(int(k.split(":")[1]) - MID0) for k in rnd.sample(keys, 2000)],
                      "miss": [f"{BIZ}:{9_000_000_000 + i}:1" for i in range(2000)]}
            from wxarchive.urls import normalize_article_url
            probes["by URL alias"] = [normalize_article_url(u) for u in probes["by URL alias"]]
            for label, items in probes.items():
                for x in items[:200]:
                    st.is_archived(x)  # warm-up
                ts = []
                for x in items:
                    t = time.perf_counter()
                    st.is_archived(x)
                    ts.append(time.perf_counter() - t)
                ts.sort()
                p50, p99 = statistics.median(ts), ts[int(len(ts) * 0.99)]
                results.append(Result(SECTION, f"is_archived {label}, p50 / p99", f"{p50 * 1e6:.0f} / {p99 * 1e6:.0f} us",
                                      "report", None, f"{len(items)} lookups in {n:,} rows"))
            bad = []
            notes = []
            for name, (sql, args, must_search) in PLANS.items():
                if sql == "records":
                    from wxarchive.archive.store import records_sql

                    sql = records_sql(len(args))
                elif sql == "failures":
                    from wxarchive.archive.store import FAILURES_SQL

                    sql = FAILURES_SQL
                plan = " ; ".join(r[-1] for r in st.db.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall())
                notes.append(f"{name}: {plan}")
                need = must_search if isinstance(must_search, str) else "SEARCH" if must_search else ""
                if _bad(plan) or need not in plan:
                    bad.append(name)
            results.append(Result(SECTION, "query plans: index hit, no table scan", "ok" if not bad else "scan: " + ", ".join(bad),
                                  "SEARCH ... USING INDEX", not bad, "\n".join(["plans:"] + ["    " + x for x in notes])))
        # status, through the CLI: 100,000 rows against a 1-row archive (CPU, whole process), so start-up cancels out
        small = Path(tmp) / "small"
        Site.open(small).init()
        synthesize(Site.open(small).state_dir / "state.sqlite3", 1, small, 1)
        big_cmd, small_cmd = wx("status", "--out", str(root)), wx("status", "--out", str(small))
        run_cpu(big_cmd), run_cpu(small_cmd)  # warm the page cache
        ratios, bigs = [], []
        for _ in range(3 if quick else ROUNDS):
            # a round is the median of 3 runs of each, interleaved: one ~0.2 s process is at the
            # mercy of the scheduler (single runs gave rounds of 0.75x and 1.60x around a 0.97x median)
            big, small = [], []
            for _ in range(3):
                cb, _, r = run_cpu(big_cmd)
                cs, _, _ = run_cpu(small_cmd)
                big.append(cb)
                small.append(cs)
            cb, cs = statistics.median(big), statistics.median(small)
            ratios.append(cb / cs)
            bigs.append(cb)
        s = Spread(ratios)
        results.append(Result(SECTION, f"status CPU, {n:,} rows / 1 row", s.fmt(), "<= 1.5x",
                              r.returncode == 0 and s.at_most(1.5),
                              f"{Spread(bigs).fmt(' ms', 1000, 0)} at {n:,} rows; exit {r.returncode}; first line: "
                              + (r.stdout.decode(errors="replace").splitlines() or [""])[0][:80]))
        # import of already-archived URLs against the big state: per URL beyond start-up (the target is in rerun)
        listing = Path(tmp) / "urls.txt"
        listing.write_text("\n".join(article_url(i) for i in range(k_import) if i % 100 < 97) + "\n", encoding="utf-8")
        one = Path(tmp) / "one.txt"
        one.write_text(article_url(0) + "\n", encoding="utf-8")
        count = sum(1 for i in range(k_import) if i % 100 < 97)
        routes = ["--connect-to", "mp.weixin.qq.com=http://127.0.0.1:9/mp", "--connect-to", "mmbiz.qpic.cn=http://127.0.0.1:9/img"]
        c1, _, _ = run_cpu(wx("import", str(one), "--out", str(root), "-q", "--json", *routes))
        ck, _, r = run_cpu(wx("import", str(listing), "--out", str(root), "-q", "--json", *routes))
        skipped = r.stdout.count(b'"skipped"')
        results.append(Result(SECTION, f"import {count:,} archived URLs, {n:,} rows: CPU per URL",
                              f"{(ck - c1) / (count - 1) * 1e3:.3f} ms", "report", None,
                              f"exit {r.returncode}; {skipped}/{count} skipped (unreachable server: any request would fail)"))
    return results
