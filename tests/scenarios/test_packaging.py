"""What the package imports is what it declares; pyproject and README agree on Python (issue 11)."""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import REPO

# distribution name -> the module it is imported as
IMPORT_NAME = {"beautifulsoup4": "bs4", "pyyaml": "yaml"}


def _declared() -> set[str]:
    meta = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = set()
    # runtime dependencies, and the extras the package imports where a feature asks for them (with a
    # message naming the extra when it is missing): [browser] for --cookies-from-browser
    for dep in meta["dependencies"] + meta["optional-dependencies"]["browser"]:
        dist = re.split(r"[\s<>=!~;\[]", dep, maxsplit=1)[0].lower()
        names.add(IMPORT_NAME.get(dist, dist.replace("-", "_")))
    return names


def _imports() -> dict[str, str]:
    """Every top-level module imported anywhere in the package (in functions too), with where."""
    found = {}
    for py in sorted((REPO / "wxarchive").rglob("*.py")):
        for node in ast.walk(ast.parse(py.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods = [node.module]
            else:
                continue
            for m in mods:
                found.setdefault(m.split(".")[0], f"{py.name}:{node.lineno}")
    return found


def test_every_import_is_stdlib_or_declared() -> None:
    allowed = set(sys.stdlib_module_names) | _declared() | {"wxarchive"}
    missing = {m: where for m, where in _imports().items() if m not in allowed}
    assert not missing, f"imported but not a declared dependency: {missing}"


def test_python_version_agrees_between_pyproject_and_readme() -> None:
    meta = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    m = re.fullmatch(r">=\s*3\.(\d+)", meta["requires-python"].strip())
    assert m, meta["requires-python"]
    minor = int(m.group(1))
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    said = set(re.findall(r"Python\s*(?:≥|>=)\s*3\.(\d+)", readme))
    assert said == {str(minor)}, f"README says Python 3.{said}, pyproject >=3.{minor}"
    assert sys.version_info >= (3, minor)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("WXARCHIVE_MIN_VERSIONS") != "1",
                    reason="installs the declared lower bounds in a new venv (~5 min): WXARCHIVE_MIN_VERSIONS=1 runs it")
def test_the_declared_minimum_versions_pass(tmp_path: Path) -> None:
    """`.ci/min-versions`: every `name>=X` of pyproject pinned to `name==X` in a fresh venv, the quick tests there."""
    from packaging.version import Version

    r = subprocess.run(["bash", str(REPO / ".ci" / "min-versions")], cwd=REPO, capture_output=True, text=True,
                       env={**os.environ, "VENV": str(tmp_path / "venv-min")}, timeout=3600)
    assert r.returncode == 0, (r.stdout[-4000:], r.stderr[-4000:])
    pins = re.search(r"pinned to the declared minimum: (.*)", r.stdout)
    assert pins, r.stdout[:2000]
    installed = {n.lower().replace("_", "-"): Version(v)
                 for n, v in re.findall(r"(?m)^([A-Za-z0-9_.-]+)==(\S+)$", r.stdout)}
    for pin in pins.group(1).split():
        name, version = pin.split("==")
        assert installed.get(name.lower().replace("_", "-")) == Version(version), f"{pin} not what was tested"
    assert re.search(r"\d+ passed", r.stdout) and " failed" not in r.stdout.splitlines()[-1]
