"""Peak RSS of an import of real-size (2 MB) pages with images, and how it grows with the run (issue 24).

One ``wxarchive import`` of the largest count runs in a fresh subprocess; the bench reads the child's
``/proc/PID/status`` as it goes, so the peak (VmHWM) when the 1,000th, 3,000th and 10,000th page had been
served is each the peak of an import of that many articles, all in one run. The growth figures are
peak(N) / peak(1,000), the last N's peak being the whole process's (read at its exit: the end of the run,
where a learned footer is taken out of the account's earlier posts, included); their spread comes from the
resident size (VmRSS) sampled across a window before each checkpoint (the lowest and highest of each
window, crossed).

``WXBENCH_TRACEMALLOC=A,B`` (e.g. ``1000,3000``): the child also runs ``tracemalloc`` and prints, after the
run, the 25 lines whose allocations grew most between its A-th and B-th archived article (slow: ~2x).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable

from .common import REPO
from .report import Result, secs
from .realpage import article_url
from .wxserver import WxServer, big_png

SECTION = "memory"
BUDGET_MB = 150
GROWTH = 1.05  # target: peak at the last checkpoint / peak at the first

_WRAPPER = r"""
import atexit, os, runpy, sys
out = sys.argv[1]
def report():
    with open("/proc/self/status") as f:
        hwm = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
    with open(out, "w") as f:
        f.write(hwm)
atexit.register(report)
_exit = os._exit
def leave(code):  # the CLI leaves with os._exit (no teardown): read the peak first
    report()
    _exit(code)
os._exit = leave
diff = os.environ.get("WXBENCH_TRACEMALLOC", "")
if diff:
    import threading, tracemalloc
    from wxarchive.archive import store
    first, second = (int(x) for x in diff.split(","))
    tracemalloc.start(1)
    state = {"n": 0, "snap": None}
    floor = {}  # checkpoint -> the least traced size over the tenth of the run before it (in-flight pages left out)
    lock = threading.Lock()
    record = store.Store.record_archived
    def counted(self, *a, **kw):
        record(self, *a, **kw)
        with lock:
            state["n"] += 1
            n = state["n"]
            for c in (first, second):
                if 0.9 * c <= n <= c:
                    floor[c] = min(floor.get(c, 1 << 62), tracemalloc.get_traced_memory()[0])
            if n == second:
                sys.stderr.write(f"tracemalloc-floor: {floor.get(first, 0)} {floor.get(second, 0)}\n")
            if n == first:
                state["snap"] = tracemalloc.take_snapshot()
            elif n == second and state["snap"] is not None:
                stats = tracemalloc.take_snapshot().compare_to(state["snap"], "lineno")
                net = sum(s.size_diff for s in stats)
                sys.stderr.write(f"tracemalloc-net: {net} {sum(s.count_diff for s in stats)}\n")
                sys.stderr.write(f"tracemalloc: top growers between article {first} and {second}:\n")
                for s in stats[:25]:
                    sys.stderr.write(f"tracemalloc:   {s}\n")
                sys.stderr.flush()
    store.Store.record_archived = counted
sys.argv = ["wxarchive", *sys.argv[2:]]
runpy.run_module("wxarchive", run_name="__main__")
"""


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _run_child(args: list[str]) -> tuple[int, float, str]:
    """Run the CLI in a fresh interpreter; return (exit status, peak RSS in MB, stderr tail).

    The peak is the child's own VmHWM read at exit: ru_maxrss from wait4 would also count
    the pages of this (large) bench process that the child held between fork and exec.
    """
    env = _env()
    env.pop("WXBENCH_TRACEMALLOC", None)
    with tempfile.TemporaryDirectory() as d:
        hwm = Path(d) / "hwm"
        r = subprocess.run([sys.executable, "-c", _WRAPPER, str(hwm), *args], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, env=env, cwd=REPO)
        peak = int(hwm.read_text()) / 1024 if hwm.exists() else float("nan")  # VmHWM is in kB
    return r.returncode, peak, r.stderr.decode("utf-8", "replace").strip()[-300:]


def _status(pid: int) -> tuple[float, float] | None:
    """(VmHWM, VmRSS) of a live process, in MB."""
    try:
        with open(f"/proc/{pid}/status") as f:
            got = {k: int(v.split()[0]) / 1024 for k, v in (line.split(":", 1) for line in f)
                   if k in ("VmHWM", "VmRSS")}
    except (OSError, ValueError):
        return None
    return (got["VmHWM"], got["VmRSS"]) if len(got) == 2 else None


@dataclass
class Watch:
    """The child's peak when each checkpoint was reached, and its resident sizes in the window before."""

    checkpoints: tuple[int, ...]
    window: float = 0.1  # of each checkpoint: the samples from 0.9 N to N
    peak: dict[int, float] = field(default_factory=dict)
    rss: dict[int, list[float]] = field(default_factory=dict)

    def sample(self, served: int, status: tuple[float, float]) -> None:
        hwm, rss = status
        for c in self.checkpoints:
            if c not in self.peak:
                if served >= c:
                    self.peak[c] = hwm
                    self.rss.setdefault(c, []).append(rss)
                elif served >= c * (1 - self.window):
                    self.rss.setdefault(c, []).append(rss)

    def ratio(self, c: int, base: int) -> tuple[float, float, float] | None:
        """peak(c) / peak(base), and the low and high of VmRSS(c window) / VmRSS(base window)."""
        if c not in self.peak or base not in self.peak or not self.rss.get(c) or not self.rss.get(base):
            return None
        lo = min(self.rss[c]) / max(self.rss[base])
        hi = max(self.rss[c]) / min(self.rss[base])
        return self.peak[c] / self.peak[base], lo, hi


def _import(args: list[str], srv: WxServer, watch: Watch,
            log: Callable[[str], None]) -> tuple[int, float, str, float]:
    """Run the import, polling the child's memory and the pages served; return (exit, final peak MB, stderr,
    the child's CPU seconds)."""
    with tempfile.TemporaryDirectory() as d:
        hwm, err = Path(d) / "hwm", Path(d) / "stderr"
        with open(err, "wb") as errf:
            child = subprocess.Popen([sys.executable, "-c", _WRAPPER, str(hwm), *args], stdout=subprocess.DEVNULL,
                                     stderr=errf, env=_env(), cwd=REPO)
            last_log = time.monotonic()
            while True:
                pid, status, usage = os.wait4(child.pid, os.WNOHANG)
                if pid:
                    child.returncode = os.waitstatus_to_exitcode(status)
                    break
                st = _status(child.pid)
                served = srv.counts["page"]
                if st is not None:
                    watch.sample(served, st)
                    if time.monotonic() - last_log > 60:
                        last_log = time.monotonic()
                        log(f"  memory: {served} pages served, peak {st[0]:.0f} MB, resident {st[1]:.0f} MB")
                time.sleep(0.2)
        peak = int(hwm.read_text()) / 1024 if hwm.exists() else float("nan")
        text = err.read_text("utf-8", "replace")
    for line in text.splitlines():
        if line.startswith("tracemalloc"):
            log(line)
    return child.returncode, peak, text.strip()[-300:], usage.ru_utime + usage.ru_stime


def run(quick: bool = False, log: Callable[[str], None] = print) -> list[Result]:
    checkpoints = (200, 600) if quick else (1000, 3000, 10000)
    n = checkpoints[-1]
    image = big_png(1024 * 1024)
    page = 2 * 1024 * 1024  # the low end of real size keeps this section's time down
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="wxbench-mem-") as tmp, \
            WxServer(images=1, image_bytes=image, page_size=page) as srv:
        out = Path(tmp) / "archive"
        routes = sum((["--connect-to", c] for c in srv.connect_to), [])
        # the floor: the same interpreter starting the CLI and archiving nothing
        _, floor, _ = _run_child(["status", "--out", str(Path(tmp) / "none")])
        listing = Path(tmp) / "urls.txt"
        listing.write_text("".join(article_url(100_000 + i) + "\n" for i in range(n)), encoding="utf-8")
        args = ["import", str(listing), "--out", str(out), "--delay", "0", "-q", *routes]
        log(f"  memory: import of {n} articles of {page >> 20} MB x 1 image of {len(image) / 2**20:.1f} MB, delay 0; "
            f"peaks at {', '.join(map(str, checkpoints))}")
        watch = Watch(checkpoints)
        t = time.perf_counter()
        code, peak, tail, cpu = _import(args, srv, watch, log)
        took = time.perf_counter() - t
        if peak == peak:  # the last checkpoint is the whole process's peak, its end included (a run that
            watch.peak[n] = peak  # learned a footer cleans the account's posts again after the last page)
        saved = sum(1 for _ in os.scandir(out / "postimg") if _.name.endswith(".png")) if (out / "postimg").is_dir() else 0
        ok = code == 0 and saved == n
        how = (f"exit {code}, {saved}/{n} images on disk, {secs(took)} ({n * (len(image) + page) / 2**20 / took:.0f} MB/s in),"
               f" CPU {cpu * 1000 / n:.1f} ms an article;"
               f" interpreter+CLI floor {floor:.0f} MB" + (f"; stderr: {tail}" if code else ""))
        for c in checkpoints:
            if c in watch.peak:
                results.append(Result(SECTION, f"peak RSS, import of {c:,} real-size pages with images",
                                      f"{watch.peak[c]:.0f} MB", f"<= {BUDGET_MB} MB", ok and watch.peak[c] <= BUDGET_MB,
                                      how if c == n else ""))
        base = checkpoints[0]
        for c in checkpoints[1:]:
            r = watch.ratio(c, base)
            if r is None:
                results.append(Result(SECTION, f"peak RSS, {c:,} / {base:,} articles", "not reached",
                                      f"<= {GROWTH}x", False, how))
                continue
            results.append(Result(SECTION, f"peak RSS, {c:,} / {base:,} articles (one run)",
                                  f"{r[0]:.2f}x (resident {r[1]:.2f}-{r[2]:.2f})",
                                  f"<= {GROWTH}x" if c == n else "report", (ok and r[0] <= GROWTH) if c == n else None,
                                  f"{watch.peak[c]:.0f} MB vs {watch.peak[base]:.0f} MB"))
    return results


def trace(quick: bool = False, log: Callable[[str], None] = print) -> list[Result]:
    """What the Python heap gains between the 1,000th and 3,000th article of the memory section's import
    (``--quick``: 200th and 600th), by ``tracemalloc`` (``WXBENCH_TRACEMALLOC``), with its top growers in
    the log. Not part of a full run: tracemalloc makes the import ~2x slower. Target: under 1 KB an
    article (one outcome kept to the end was ~1.5 KB)."""
    first, second = (200, 600) if quick else (1000, 3000)
    image = big_png(1024 * 1024)
    with tempfile.TemporaryDirectory(prefix="wxbench-trace-") as tmp, \
            WxServer(images=1, image_bytes=image, page_size=2 * 1024 * 1024) as srv:
        listing = Path(tmp) / "urls.txt"
        listing.write_text("".join(article_url(100_000 + i) + "\n" for i in range(second)), encoding="utf-8")
        routes = sum((["--connect-to", c] for c in srv.connect_to), [])
        args = ["import", str(listing), "--out", str(Path(tmp) / "archive"), "--delay", "0", "-q", *routes]
        lines: list[str] = []
        old = os.environ.get("WXBENCH_TRACEMALLOC")
        os.environ["WXBENCH_TRACEMALLOC"] = f"{first},{second}"
        try:
            code, _, tail, _ = _import(args, srv, Watch((second,)), lambda m: (lines.append(m), log(m)))
        finally:
            if old is None:
                os.environ.pop("WXBENCH_TRACEMALLOC", None)
            else:
                os.environ["WXBENCH_TRACEMALLOC"] = old
    floors = next((line.split()[1:] for line in lines if line.startswith("tracemalloc-floor:")), None)
    net = next((line.split()[1:] for line in lines if line.startswith("tracemalloc-net:")), None)
    if code != 0 or floors is None or net is None:
        return [Result(SECTION, f"Python heap growth, article {first:,} to {second:,}", "not measured", "< 1 KB",
                       False, f"exit {code}; {tail}")]
    a, b = int(floors[0]), int(floors[1])
    per = (b - a) / (second - first)
    return [Result(SECTION, f"Python heap growth, article {first:,} to {second:,} (tracemalloc)",
                   f"{per:+.0f} B an article", "< 1 KB", per < 1024,
                   f"least traced size in the tenth of the run before each: {a / 2**20:.2f} -> {b / 2**20:.2f} MiB;"
                   f" the snapshots' difference (pages in flight included): {int(net[0]) / 1024:+.0f} KiB,"
                   f" {int(net[1]):+d} blocks; its top growers are in the log")]
