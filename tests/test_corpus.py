"""Optional: score wxarchive on the shared corpus of real saved pages when it is present."""
from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCORE = REPO.parent / "shared" / "tools" / "score"
CORPUS = REPO.parent / "shared" / "corpus"


@pytest.mark.skipif(not (SCORE.exists() and (CORPUS / "pages").is_dir()), reason="../shared corpus not present")
def test_corpus_score_is_green():
    cmd = f"{shlex.quote(sys.executable)} -m wxarchive"
    p = subprocess.run([sys.executable, str(SCORE), "--corpus", str(CORPUS), "--cmd", cmd],
                       capture_output=True, text=True, timeout=300, cwd=REPO)
    summary = (p.stdout.strip().splitlines() or [""])[-1]
    assert p.returncode == 0, f"{summary}\n{p.stdout[-4000:]}\n{p.stderr[-2000:]}"
