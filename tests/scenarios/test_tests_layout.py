"""Where a test lives says what it tests (issue 21, "Tests a maintainer can find"; docs/development.md, Tests).

``tests/test_<module>.py`` for a top-level module, ``tests/<package>/test_<module>.py`` for a module of a
sub-package (a suite on that package's concerns may sit beside it under its own name),
``tests/scenarios/`` for what crosses modules. A test file named for nothing, or a folder that is no
package, fails here with the place it should go.
"""
from __future__ import annotations

from collections import Counter

from conftest import REPO, TESTS

PKG = REPO / "wxarchive"
PACKAGES = {p.parent.name for p in PKG.glob("*/__init__.py")}
HELPERS = {"fuzz", "data"}  # shared helpers and data: no tests in them


def files() -> list[str]:
    return sorted(p.relative_to(TESTS).as_posix() for p in TESTS.rglob("test_*.py") if "__pycache__" not in p.parts)


def test_every_test_folder_is_a_package_of_wxarchive_or_the_scenarios() -> None:
    folders = {f.split("/")[0] for f in files() if "/" in f}
    assert folders <= PACKAGES | {"scenarios"}, f"not a package of wxarchive: {sorted(folders - PACKAGES)}"
    assert not any(f.count("/") > 1 for f in files()), "one folder deep: tests/<package>/test_<module>.py"


def test_a_test_at_the_top_is_named_for_a_top_level_module() -> None:
    top = {p.stem for p in PKG.glob("*.py")}
    misplaced = [f for f in files() if "/" not in f and f.removeprefix("test_").removesuffix(".py") not in top]
    assert not misplaced, (f"{misplaced}: name it for the module it tests (tests/<package>/test_<module>.py) "
                           "or put it in tests/scenarios/")


def test_a_package_folder_tests_its_own_modules() -> None:
    """Each package folder holds the tests of at least one of its modules, by name."""
    for pkg in sorted({f.split("/")[0] for f in files() if "/" in f} - {"scenarios"}):
        modules = {p.stem for p in (PKG / pkg).glob("*.py")}
        named = {f.split("/")[1].removeprefix("test_").removesuffix(".py") for f in files()
                 if f.startswith(pkg + "/")}
        assert named & modules, f"tests/{pkg}/ names none of wxarchive/{pkg}/'s modules"


def test_test_file_names_are_unique() -> None:
    """pytest imports a test file by its name (no __init__.py in tests/): two of one name cannot both load."""
    names = Counter(f.rsplit("/", 1)[-1] for f in files())
    assert [n for n, k in names.items() if k > 1] == []


def test_no_tests_hide_among_the_helpers() -> None:
    assert [f for f in files() if f.split("/")[0] in HELPERS] == []
