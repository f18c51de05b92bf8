"""Import layering: the pure stages (parse, clean, render and their helpers) never reach an I/O module.

Checked two ways: statically over every ``import`` in the source (function-level imports included, since a
lazy import is still a dependency), and at run time in a fresh interpreter.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "wxarchive"

# Pure: depend only on their arguments (golden files stay stable, `rebuild` is reproducible).
PURE = {"parse", "clean", "render", "markdown", "trust", "style", "jsdata", "boilerplate", "footimg", "models", "urls",
        "errors", "routes", "fate", "wholeness", "allowlist", "bodies", "settings", "htmltree", "pagescripts", "players"}
# Everything that touches the network, the disk, the clock for state, or the terminal.
IO = {"fetch", "images", "store", "site", "pipeline", "cli", "lock", "harvest", "sources", "report", "backoff",
      "rawpage", "check", "gather", "config", "listing", "dryrun", "checkcmd", "ls", "versions",
      "recover", "showcmd", "interrupt", "hooks", "weread", "logincmd", "accountscmd"}
NEUTRAL = {"__init__", "__main__"}


def _module_names() -> set[str]:
    return {p.stem for p in PKG.glob("*.py")}


def _imports(name: str) -> set[str]:
    """wxarchive modules that ``name`` imports anywhere in its source."""
    tree = ast.parse((PKG / f"{name}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found.update(a.name for a in node.names)
            elif node.module and node.module.startswith("wxarchive."):
                found.add(node.module.split(".")[1])
            elif node.module == "wxarchive":
                found.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("wxarchive."))
    return found & _module_names()


def test_every_module_is_classified() -> None:
    unknown = _module_names() - PURE - IO - NEUTRAL
    assert not unknown, f"classify {sorted(unknown)} as PURE or IO in tests/test_layering.py"


@pytest.mark.parametrize("name", sorted(PURE & _module_names()))
def test_pure_module_reaches_no_io_module(name: str) -> None:
    seen, todo, path = {name}, [name], {name: [name]}
    while todo:
        cur = todo.pop()
        for dep in sorted(_imports(cur)):
            if dep not in seen:
                seen.add(dep)
                path[dep] = path[cur] + [dep]
                todo.append(dep)
    bad = sorted(seen & IO)
    assert not bad, "pure module imports I/O: " + "; ".join(" -> ".join(path[b]) for b in bad)


def test_pure_modules_load_no_io_at_run_time() -> None:
    code = ("import sys; import " + ", ".join(f"wxarchive.{m}" for m in sorted(PURE & _module_names())) + "; "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('wxarchive.') or m in "
            "('httpx', 'sqlite3', 'fcntl'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    loaded = {m.removeprefix("wxarchive.") for m in out}
    assert not loaded & (IO | {"httpx", "sqlite3", "fcntl"}), sorted(loaded)
