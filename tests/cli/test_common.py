"""``wxarchive/cli/common.py``: an option shared by several commands is declared once, so it reads and
behaves the same in each (issue 21: help texts had drifted apart between commands)."""
from __future__ import annotations

import argparse
import ast
from collections import defaultdict

import pytest

from wxarchive.cli import build_parser
from wxarchive.cli.common import OPTIONS
from conftest import REPO

CLI = REPO / "wxarchive" / "cli"
# flags two commands use for two different things, each declared by its command: `check --account NAME` (an
# account's articles) and `login --account BIZ` (the account a --status request lists)
OWN_MEANING = {"--account"}


def _commands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _shared() -> dict[tuple[str, str], list[tuple[str, argparse.Action]]]:
    """(flag, dest) -> every (command, action) that has it."""
    seen = defaultdict(list)
    for name, p in _commands().items():
        for a in p._actions:
            for flag in a.option_strings:
                if flag.startswith("--") and flag != "--help":
                    seen[(flag, a.dest)].append((name, a))
    return seen


@pytest.mark.parametrize("flag, dest", sorted(k for k, v in _shared().items() if len(v) > 1 and k[0] not in OWN_MEANING))
def test_a_shared_option_is_one_option(flag: str, dest: str) -> None:
    """Same help text, type, metavar and default in every command that takes it (init's --out defaults to
    its DIR argument, the one declared exception)."""
    uses = _shared()[(flag, dest)]
    forms = {(a.help, a.type, a.metavar, type(a).__name__, a.default if (name, dest) != ("init", "out") else "archive")
             for name, a in uses}
    assert len(forms) == 1, f"{flag} differs between {[n for n, _ in uses]}: {forms}"
    assert dest in OPTIONS, f"{flag} is taken by {[n for n, _ in uses]} but not declared in cli/common.OPTIONS"


def test_every_shared_option_has_help() -> None:
    assert all(spec.get("help") for _, spec in OPTIONS.values())


def test_no_command_declares_a_shared_option_itself() -> None:
    """A command module may add only its own options: any flag of OPTIONS goes through add_options (a second
    declaration is where help texts drift). ``login --cookies`` is the WeRead session (dest session_cookies)."""
    shared = {flag: dest for dest, (flags, _) in OPTIONS.items() for flag in flags}
    bad = []
    for path in sorted(CLI.glob("*.py")):
        if path.name == "common.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
                flags = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                dest = next((k.value.value for k in node.keywords if k.arg == "dest"  # type: ignore[union-attr]
                             and isinstance(k.value, ast.Constant)), None)
                bad += [f"{path.name}:{node.lineno} {f}" for f in flags if f in shared and dest != "session_cookies"]
    assert not bad, bad
