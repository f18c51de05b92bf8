"""One place for the archive's file names (issue 21): ``wxarchive/layout.py`` and nowhere else."""
from __future__ import annotations

import ast
from pathlib import Path

from wxarchive import layout

PKG = Path(layout.__file__).resolve().parent
# the names no other meaning shares (``raw``, ``lock``, ``layout``, ``_posts`` are also words of other things)
DISTINCT = {layout.CONFIG_NAME, layout.JEKYLL_CONFIG, layout.STATE_DIR, layout.STATE_DB, layout.TMP_DIR,
            layout.WRITE_LOCK_NAME, layout.GONE_PAGE}


def spelled(path: Path) -> list[str]:
    """The layout names written as a whole string literal in a module (f-string parts too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [f"{path.name}:{n.lineno}: {n.value!r}" for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and n.value in DISTINCT]


def test_the_layout_names_are_spelled_once() -> None:
    found = [hit for p in sorted(PKG.rglob("*.py")) if p != Path(layout.__file__).resolve() for hit in spelled(p)]
    assert not found, found


def test_the_check_can_fail(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text('db = root / ".wxarchive" / "state.sqlite3"\n', encoding="utf-8")
    assert len(spelled(tmp_path / "m.py")) == 2
