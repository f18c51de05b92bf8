"""The docs are true to the CLI: a guide section per command, every option in the guide, a generated reference."""
from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import pytest

from wxarchive.cli import build_parser
from conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
GUIDE = (REPO / "docs" / "guide.md").read_text(encoding="utf-8")
REFERENCE = REPO / "docs" / "reference.md"


def _commands() -> dict[str, argparse.ArgumentParser]:
    ap = build_parser()
    sub = next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize("command", sorted(_commands()))
def test_every_command_has_a_guide_section(command: str) -> None:
    assert f"### `wxarchive {command}" in GUIDE


@pytest.mark.parametrize("option", sorted({opt for p in _commands().values() for a in p._actions
                                           for opt in a.option_strings if opt.startswith("--") and opt != "--help"}))
def test_every_option_is_in_the_guide(option: str) -> None:
    assert f"`{option}" in GUIDE or f" {option}" in GUIDE, f"{option} is not documented in docs/guide.md"


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="argparse's help layout differs between Python versions; "
                    "the reference is generated on the CI's 3.11")
def test_the_reference_is_generated_from_the_parser() -> None:
    """docs/reference.md is what `python docs/make_reference.py` writes today: it cannot drift from the CLI."""
    spec = importlib.util.spec_from_file_location("make_reference", REPO / "docs" / "make_reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert REFERENCE.read_text(encoding="utf-8") == module.reference(), "run `python docs/make_reference.py`"


def test_the_readme_stays_a_page() -> None:
    assert len(README.splitlines()) <= 250


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
    root = REPO
    r = subprocess.run([sys.executable, "-m", "wxarchive", *args, "--out", str(tmp_path / "archive")], cwd=root,
                       capture_output=True, text=True, timeout=60,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "WXARCHIVE_CONNECT_TO":
                            "mmbiz.qpic.cn=http://127.0.0.1:9"})  # (offline: nothing answers)
    assert r.returncode == 0, (line, r.stderr)
    assert r.stdout.startswith("archived ")
