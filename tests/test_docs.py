"""The README documents every command and every option the CLI accepts."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from wxarchive.cli import build_parser

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def _commands() -> dict[str, argparse.ArgumentParser]:
    ap = build_parser()
    sub = next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize("command", sorted(_commands()))
def test_every_command_has_a_readme_section(command: str) -> None:
    assert f"wxarchive {command}" in README


@pytest.mark.parametrize("option", sorted({opt for p in _commands().values() for a in p._actions
                                           for opt in a.option_strings if opt.startswith("--") and opt != "--help"}))
def test_every_option_is_in_the_readme(option: str) -> None:
    assert f"`{option}" in README or f" {option}" in README, f"{option} is not documented in README.md"


@pytest.mark.parametrize("command", sorted(_commands()))
def test_help_shows_an_example_per_command(command: str) -> None:
    text = _commands()[command].format_help()
    assert "examples:" in text and f"wxarchive {command}" in text.split("examples:", 1)[1]


def test_the_readme_first_command_ends_in_success(tmp_path: Path) -> None:
    """Issue 23: the first command a newcomer runs (offline, on a fresh machine) exits 0."""
    import re
    import subprocess
    import sys

    line = next(ln for ln in README.splitlines() if ".venv/bin/wxarchive get " in ln)
    args = re.search(r"\.venv/bin/wxarchive (get .*)$", line).group(1).split()  # type: ignore[union-attr]
    root = Path(__file__).parent.parent
    r = subprocess.run([sys.executable, "-m", "wxarchive", *args, "--out", str(tmp_path / "archive")], cwd=root,
                       capture_output=True, text=True, timeout=60,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "WXARCHIVE_CONNECT_TO":
                            "mmbiz.qpic.cn=http://127.0.0.1:9"})  # (offline: nothing answers)
    assert r.returncode == 0, (line, r.stderr)
    assert r.stdout.startswith("archived ")
