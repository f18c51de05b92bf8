"""The package's layers, as a contract on its sub-packages.

``wxarchive`` is split into sub-packages that follow the pipeline::

    cli      argparse, one module per command family, what a person sees
    jobs     the pipeline, check, harvest and its sources, dry runs, hooks, Ctrl-C
    net      the HTTP client, response decoding, images, routing, host policy, WeRead
    archive  the Jekyll tree, the SQLite state, raw pages, the run lock, recovery
    write    (pure) Markdown and front matter
    extract  (pure) a page in, metadata and a clean article tree out
    (top)    the vocabulary: errors, models, urls, settings, original, trust, config

Checked statically over every ``import`` in the source (function-level imports included, since a lazy
import is still a dependency), and at run time in a fresh interpreter:
- a package imports only packages below it (no cycle between packages);
- no module takes a private name (``_x``) from a module of another package;
- the pure layers load no I/O module (httpx, sqlite3, fcntl) and no module of an I/O package.
"""
from __future__ import annotations

import ast
import functools
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

PKG = REPO / "wxarchive"
ORDER = ["top", "extract", "write", "archive", "net", "jobs", "cli"]   # each may import only those before it
PURE = {"top", "extract", "write"}
IO_MODULES = {"httpx", "sqlite3", "fcntl"}


@functools.cache
def _modules() -> dict[str, Path]:
    """Dotted name (``wxarchive.net.fetch``) -> file, for every module of the package."""
    found = {}
    for path in PKG.rglob("*.py"):
        parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _package(module: str) -> str:
    """The layer a module belongs to: its sub-package, or ``top``."""
    parts = module.split(".")
    if module == "wxarchive.__main__":   # `python -m wxarchive`: the command line's own door
        return "cli"
    if len(parts) > 2 or (len(parts) == 2 and (PKG / parts[1]).is_dir()):
        return parts[1]
    return "top"


def _imports(path: Path, module: str) -> list[tuple[str, list[str]]]:
    """(imported wxarchive module, names taken from it) for every import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")[: len(here.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if not base.startswith("wxarchive"):
                continue
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.append((sub, []) if sub in _modules() else (base, [a.name]))
        elif isinstance(node, ast.Import):
            found.extend((a.name, []) for a in node.names if a.name.startswith("wxarchive"))
    return found


@functools.cache
def _edges() -> list[tuple[str, str, list[str]]]:
    return [(m, dep, names) for m, path in _modules().items() for dep, names in _imports(path, m) if dep != "wxarchive"]


def test_every_package_is_a_layer() -> None:
    packages = {_package(m) for m in _modules()}
    assert packages == set(ORDER), f"layers in the tree {sorted(packages)} against the contract {ORDER}"


@pytest.mark.parametrize("module", sorted(_modules()))
def test_imports_go_down_the_layers(module: str) -> None:
    mine = ORDER.index(_package(module))
    bad = [dep for m, dep, _ in _edges() if m == module and ORDER.index(_package(dep)) > mine]
    assert not bad, f"{module} ({_package(module)}) imports from a layer above it: {bad}"


def test_no_private_name_crosses_a_package() -> None:
    bad = [f"{m} takes {n} from {dep}" for m, dep, names in _edges() for n in names
           if n.startswith("_") and not n.startswith("__") and _package(m) != _package(dep)]
    assert not bad, bad


def test_pure_layers_load_no_io_at_run_time() -> None:
    pure = sorted(m for m in _modules() if _package(m) in PURE and m != "wxarchive")
    code = ("import sys; import " + ", ".join(pure) + "; "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('wxarchive.') or m in "
            f"{tuple(sorted(IO_MODULES))!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    loaded_io = [m for m in out if m in IO_MODULES or (m.startswith("wxarchive.") and _package(m) not in PURE)]
    assert not loaded_io, loaded_io


def test_the_contract_can_fail() -> None:
    """The checks are not vacuous: a pure module importing the state, or the CLI, would be caught."""
    assert ORDER.index(_package("wxarchive.archive.store")) > ORDER.index(_package("wxarchive.extract.parse"))
    assert ORDER.index(_package("wxarchive.cli")) > ORDER.index(_package("wxarchive.jobs.pipeline"))
    assert _package("wxarchive.errors") == "top" and _package("wxarchive.cli.show") == "cli"



def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of a graph (module -> modules it imports): its strongly connected components of more
    than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = stack[stack.index(v):]
            del stack[stack.index(v):]
            if len(comp) > 1:
                found.append(sorted(comp))

    for m in sorted(graph):
        if m not in index:
            visit(m)
    return found


@pytest.mark.parametrize("package", ORDER)
def test_no_import_cycle_inside_a_package(package: str) -> None:
    """The modules of a package import each other one way (``cli.checkcmd`` took ``cli``'s lock helper while
    ``cli`` loaded ``checkcmd``; what the commands share now lives in ``cli/common.py``, below both)."""
    mods = {m for m in _modules() if _package(m) == package}
    graph = {m: {dep for src, dep, _ in _edges() if src == m and dep in mods and dep != m} for m in mods}
    assert not _cycles(graph)


def test_the_cycle_check_can_fail() -> None:
    """The old cli's cycle, and a longer one, are found; a chain is not a cycle."""
    assert _cycles({"cli": {"cli.checkcmd", "cli.show"}, "cli.checkcmd": {"cli"}}) == [["cli", "cli.checkcmd"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": {"c"}}) == []
