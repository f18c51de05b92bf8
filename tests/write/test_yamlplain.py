"""Front matter written without PyYAML is PyYAML's text, byte for byte, or is left to PyYAML.

The generated strings mix what decides a scalar's style: indicators first, inside and last, spaces
around them, words and numbers a YAML resolver retypes, quotes, and the characters PyYAML escapes.
"""
from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from wxarchive.write import render, yamlplain

REPO = Path(__file__).resolve().parents[2]

_PIECES = [
    *"#,[]{}&*!|>'\"%@`?:-=~<.+ ", ": ", " #", "---", "...", "0", "7", "1_0", "0x1F", "0b1", "0o7", "1e3", "1.5",
    "3:25", "-1", ".5", ".inf", ".NaN", "2024-01-02", "2024-1-2 3:04:05", "2024-01-02 07:05:00 +0800",
    "2024-01-02T07:05:00Z", "1,000", "yes", "No", "ON", "off", "null", "NULL", "~", "<<", "y", "n", "true", "False",
    "标题", "反诈", "：", "，", "（", "）", "【", "】", "“", "”", "\u3000", "\xa0", "😀", "é", "a", "Z", "http://x/?a=1&b=2",
    "\t", "\n", "\r", "\x85", "\u2028", "\u2029", "\ufeff", "\x7f", "\x00", "\ue000", "\ufffd", "\U0010fffe", "\U0010ffff",
]


def _strings(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    out = [p for p in _PIECES]
    for _ in range(n):
        out.append("".join(rnd.choice(_PIECES) for _ in range(rnd.randint(1, 4))))
    return out


def _both(fm: dict[str, object]) -> tuple[str | None, str]:
    data = {k: render._Timestamp(v) if k in render._TIMESTAMPS and isinstance(v, str) else v for k, v in fm.items()}
    return yamlplain.dump(data, quote_if=render._retyped_by_ruby, plain=(render._Timestamp,)), render._pyyaml(data)


@pytest.mark.parametrize("seed", range(4))
def test_every_string_it_writes_is_written_as_pyyaml_writes_it(seed: int) -> None:
    written = 0
    for s in _strings(3000, seed):
        for fm in ({"title": s}, {"date": s}, {"tags": ["其他", s]}, {"layout": "post", "mid": s, "original": True}):
            ours, theirs = _both(fm)
            if ours is not None:
                assert ours == theirs, (s, fm)
                written += 1
    assert written > 5000  # (most of them are written without PyYAML: the test compares, not skips)


def test_the_shapes_it_leaves_to_pyyaml() -> None:
    for fm in ({"title": ""}, {"title": "a\nb"}, {"title": "a\tb"}, {"tags": []}, {"reprint_of": {"a": "b"}},
               {"media": [{"kind": "audio"}]}, {"on": "x"}, {"Title": "x"}, {"x": 1.5}):
        ours, theirs = _both(fm)
        assert ours is None, fm
        assert theirs  # PyYAML still writes it


def test_the_front_matter_of_every_golden_post_is_written_without_pyyaml() -> None:
    posts = sorted((REPO / "fixtures").glob("*/expected.md"))
    assert len(posts) > 10
    for post in posts:
        lines = post.read_text(encoding="utf-8").splitlines(keepends=True)
        start = lines.index("---\n") + 1
        head = "".join(lines[start:lines.index("---\n", start)])
        fm = yaml.safe_load(head)
        data = {k: str(v) if k in render._TIMESTAMPS else v for k, v in fm.items()}
        ours, theirs = _both(data)
        flat = all(isinstance(v, (bool, int)) or (isinstance(v, str) and v.isprintable()) or k == "tags"
                   for k, v in data.items())
        assert (ours is not None) is flat, post
        assert (ours or theirs) == theirs == head, post


def test_a_get_does_not_load_pyyaml(tmp_path: Path) -> None:
    """What the ~10 ms are for: a whole ``get`` into a new folder loads no YAML library, and its post reads back."""
    page = REPO / "fixtures" / "article-2024-modern" / "page.html"
    code = ("import sys; from wxarchive.cli import main; "
            f"sys.argv = ['wxarchive', 'get', {str(page)!r}, '--no-images', '-q', '--out', {str(tmp_path)!r}]; "
            "code = main(); print(code, 'yaml' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "False"]
    post, = (tmp_path / "_posts").glob("*.md")
    assert yaml.safe_load(post.read_text(encoding="utf-8").split("---\n")[1])["title"].startswith("一次线上故障复盘")
