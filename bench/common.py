"""Helpers shared by the sections: CLI detection, subprocess runs."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "wxarchive", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, **kw)


def has_import_command() -> bool:
    """``wxarchive import`` is being built by another engineer; use it when it is there."""
    r = cli("import", "--help", timeout=60)
    return r.returncode == 0 and "usage" in r.stdout.lower()
