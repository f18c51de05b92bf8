"""Peak RSS of a 1,000-article import of real-size (2 MB) pages, each with a 1 MB image (CLI in a fresh subprocess; its VmHWM at exit)."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from .common import REPO, has_import_command
from .report import Result, secs
from .realpage import article_url
from .wxserver import WxServer, big_png

SECTION = "memory"


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
sys.argv = ["wxarchive", *sys.argv[2:]]
runpy.run_module("wxarchive", run_name="__main__")
"""


def _run_child(args: list[str]) -> tuple[int, float, str]:
    """Run the CLI in a fresh interpreter; return (exit status, peak RSS in MB, stderr tail).

    The peak is the child's own VmHWM read at exit: ru_maxrss from wait4 would also count
    the pages of this (large) bench process that the child held between fork and exec.
    """
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryDirectory() as d:
        hwm = Path(d) / "hwm"
        r = subprocess.run([sys.executable, "-c", _WRAPPER, str(hwm), *args], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, env=env, cwd=REPO)
        peak = int(hwm.read_text()) / 1024 if hwm.exists() else float("nan")  # VmHWM is in kB
    return r.returncode, peak, r.stderr.decode("utf-8", "replace").strip()[-300:]


def run(quick: bool = False, log: Callable[[str], None] = print) -> list[Result]:
    n = 200 if quick else 1000
    image = big_png(1024 * 1024)
    page = 2 * 1024 * 1024  # the low end of real size keeps this section near two minutes
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="wxbench-mem-") as tmp, \
            WxServer(images=1, image_bytes=image, page_size=page) as srv:
        out = Path(tmp) / "archive"
        routes = sum((["--connect-to", c] for c in srv.connect_to), [])
        common = ["--out", str(out), "--delay", "0", "-q", *routes]
        # the floor: the same interpreter starting the CLI and archiving nothing
        _, floor, _ = _run_child(["status", "--out", str(Path(tmp) / "none")])
        urls = [article_url(100_000 + i) for i in range(n)]
        if has_import_command():
            listing = Path(tmp) / "urls.txt"
            listing.write_text("\n".join(urls) + "\n", encoding="utf-8")
            args, how = ["import", str(listing), *common], "wxarchive import"
        else:
            args, how = ["get", *urls, *common], "wxarchive get (import not in the CLI yet)"
        log(f"  memory: {n} articles of {page >> 20} MB x 1 image of {len(image) / 2**20:.1f} MB via {how}, delay 0")
        t = time.perf_counter()
        code, peak, tail = _run_child(args)
        took = time.perf_counter() - t
        saved = sum(1 for _ in (out / "postimg").glob("*.png")) if (out / "postimg").is_dir() else 0
        ok = code == 0 and saved == n
        results.append(Result(SECTION, f"peak RSS, import of {n} real-size pages with images", f"{peak:.0f} MB", "<= 150 MB",
                              ok and peak <= 150,
                              f"{how}: exit {code}, {saved}/{n} images on disk, {secs(took)}"
                              f" ({n * (len(image) + page) / 2**20 / took:.0f} MB/s in); interpreter+CLI floor {floor:.0f} MB"
                              + (f"; stderr: {tail}" if code else "")))
    return results
