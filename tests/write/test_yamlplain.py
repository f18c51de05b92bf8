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
    "\t", "\n", "\n\n", " \n", "\n ", "\r", "\x85", "\u2028", "\u2029", "\ufeff", "\x7f", "\x00", "\ue000", "\ufffd", "\U0010fffe", "\U0010ffff",
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


_POSITIONS = (
    lambda s: {"title": s}, lambda s: {"date": s}, lambda s: {"tags": ["其他", s]},
    lambda s: {"layout": "post", "mid": s, "original": True},
    lambda s: {"reprint_of": {"account": s, "author": "某人"}},
    lambda s: {"media": [{"kind": "video", "url": s}, {"kind": s}]},
)


@pytest.mark.parametrize("seed", range(4))
def test_every_string_it_writes_is_written_as_pyyaml_writes_it(seed: int) -> None:
    written = 0
    for s in _strings(2000, seed):
        for position in _POSITIONS:
            fm = position(s)
            ours, theirs = _both(fm)
            if ours is not None:
                assert ours == theirs, (s, fm)
                written += 1
            else:  # only what makes dump_yaml escape the whole text
                assert any(b in s for b in "\x85\u2028\u2029"), (s, fm)
    assert written > 8000  # (most are written without PyYAML: the test compares, not skips)


def test_the_shapes_it_leaves_to_pyyaml() -> None:
    for fm in ({"tags": []}, {"reprint_of": {}}, {"media": [[1]]}, {"r": {"a": {"b": "c"}}}, {"on": "x"},
               {"Title": "x"}, {"x": 1.5}, {"title": "a\u2028b"}):
        ours, theirs = _both(fm)
        assert ours is None, fm
        assert theirs  # PyYAML still writes it


def test_every_golden_post_s_front_matter_is_written_without_pyyaml() -> None:
    posts = sorted((REPO / "fixtures").glob("*/expected.md"))
    assert len(posts) > 10
    for post in posts:
        lines = post.read_text(encoding="utf-8").splitlines(keepends=True)
        start = lines.index("---\n") + 1
        head = "".join(lines[start:lines.index("---\n", start)])
        fm = yaml.safe_load(head)
        data = {k: str(v) if k in render._TIMESTAMPS else v for k, v in fm.items()}
        ours, theirs = _both(data)
        assert ours == theirs == head, post


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


CORPUS = REPO.parent / "shared" / "corpus" / "pages"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared corpus not present")
def test_the_front_matter_of_real_pages_is_pyyaml_s() -> None:
    """Optional: the front matter of every real saved page of the shared corpus, parsed and cleaned as a
    ``get`` does, written both ways (media, reprints and multi-line digests included)."""
    import datetime as dt

    from wxarchive.errors import WxError
    from wxarchive.extract.clean import clean
    from wxarchive.extract.parse import parse
    from wxarchive.models import Page
    from wxarchive.settings import Settings

    written = 0
    for path in sorted(CORPUS.glob("*.html")):
        page = Page(url=path.as_uri(), final_url=path.as_uri(), status=200, content=path.read_bytes(),
                    fetched_at=dt.datetime.now(dt.UTC))
        try:
            article = clean(parse(page))
        except WxError:
            continue  # (an error page: no post)
        ours, theirs = _both(render.front_matter(article, Settings().replace(header_img="i.png", catalog=False)))
        assert ours == theirs, path.name
        written += 1
    assert written >= 40
