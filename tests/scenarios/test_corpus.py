"""Optional: score wxarchive on the shared corpus of real saved pages when it is present.

A ratchet, not a threshold: ``tests/data/corpus_known_failures.txt`` lists the pages the
scorer still reads wrong. The test fails when any other page fails (a regression) and when a
listed page passes (the list must shrink with the fix that made it pass), so the list can only
go down, to empty, while other work lands.
"""
from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, TESTS

SCORE = REPO.parent / "shared" / "tools" / "score"
CORPUS = REPO.parent / "shared" / "corpus"
KNOWN = TESTS / "data" / "corpus_known_failures.txt"
VERDICT = re.compile(r"^(ok  |FAIL) (\S+\.html) \[")


def known_failures() -> set[str]:
    """The pages listed as still failing (comments and blank lines left out)."""
    lines = KNOWN.read_text(encoding="utf-8").splitlines()
    return {ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")}


def verdicts(stdout: str) -> dict[str, bool]:
    """Page name -> passed, from the scorer's per-page lines."""
    found = {}
    for line in stdout.splitlines():
        m = VERDICT.match(line)
        if m:
            found[m.group(2)] = m.group(1) == "ok  "
    return found


def test_verdict_lines_are_read():
    out = "ok   03-a.html [article]\nFAIL 04-b.html [audio]\n      ui: x\nscore: 1/2 pages"
    assert verdicts(out) == {"03-a.html": True, "04-b.html": False}


@pytest.mark.slow
@pytest.mark.skipif(not (SCORE.exists() and (CORPUS / "pages").is_dir()), reason="../shared corpus not present")
def test_corpus_score_only_improves():
    cmd = f"{shlex.quote(sys.executable)} -m wxarchive"
    p = subprocess.run([sys.executable, str(SCORE), "--corpus", str(CORPUS), "--cmd", cmd],
                       capture_output=True, text=True, timeout=600, cwd=REPO)
    seen = verdicts(p.stdout)
    pages = {Path(x).name for x in (CORPUS / "pages").glob("*.html")}
    assert set(seen) == pages, f"the scorer did not report every page:\n{p.stdout[-3000:]}\n{p.stderr[-2000:]}"
    known = known_failures()
    regressed = sorted(name for name, ok in seen.items() if not ok and name not in known)
    fixed = sorted(name for name, ok in seen.items() if ok and name in known)
    report = "\n".join(line for line in p.stdout.splitlines() if not line.startswith("ok  "))
    assert not regressed, f"pages that read wrong and are not listed as known failures: {regressed}\n{report}"
    assert not fixed, f"pages that now pass: remove them from {KNOWN.name}: {fixed}"
