"""Every golden post as its readers see it: rendered by CommonMark (markdown-it, as GitHub,
Obsidian and Hugo do) and by kramdown (Jekyll's converter, when Ruby has it), then read line
by line against the fixture page.

A post fails when two lines of the page end up on one rendered line, when prose renders as
code, a table, a list or a heading the page does not have, or when Markdown debris
(``**``, a trailing backslash, ``](``, ``\\x0a``, ``&nbsp;`` …) is visible.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import lxml.html
import pytest
from markdown_it import MarkdownIt

from conftest import FIXTURES
from wxarchive.write.render import split_post

POSTS = sorted(p for p in FIXTURES.glob("*/expected.md"))
_BLOCKS = frozenset("p div section h1 h2 h3 h4 h5 h6 li ul ol pre table tr td th blockquote hr".split())
_INLINE_DISPLAY = re.compile(r"display\s*:\s*(inline|inline-block|inline-flex|table-cell)", re.I)
_BLOCK_DISPLAY = re.compile(r"display\s*:\s*(block|flex|list-item)", re.I)
_ROW = re.compile(r"display\s*:\s*flex", re.I)
_COLUMN = re.compile(r"flex-direction\s*:\s*column", re.I)
_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
DEBRIS = {
    "**": re.compile(r"\*\*"),
    "trailing backslash": re.compile(r"\\$"),
    "](": re.compile(r"\]\("),
    "![": re.compile(r"!\["),
    "JS escape": re.compile(r"\\x[0-9a-f]{2}|\\u[0-9a-f]{4}", re.I),
    "entity text": re.compile(r"&(nbsp|amp|lt|gt|quot|#\d+);"),
    "raw tag": re.compile(r"</?(strong|em|span|p|br|a|img|sup|sub|del)\b[^>]*>"),
}

_KRAMDOWN = r"""
require 'kramdown'
require 'kramdown-parser-gfm'
require 'json'
puts JSON.generate(JSON.parse(STDIN.read).map { |s| Kramdown::Document.new(s, input: 'GFM', hard_wrap: false,
  entity_output: 'as_char', syntax_highlighter: nil).to_html })
"""


def key(text: str) -> str:
    """Text as compared: letters and digits only."""
    return "".join(c for c in unicodedata.normalize("NFKC", text) if c.isalnum())


class Line:
    def __init__(self, where: frozenset[str]) -> None:
        self.text = ""
        self.where = where


def reader_lines(root: lxml.html.HtmlElement, *, source: bool) -> list[Line]:
    """The lines a reader sees: block boundaries and <br> end a line; in <pre>, each text line."""
    out: list[Line] = []
    state: dict[str, Line | None] = {"cur": None}

    def add(text: str, where: frozenset[str]) -> None:
        if text:
            if state["cur"] is None or state["cur"].where != where:
                state["cur"] = Line(where)
                out.append(state["cur"])
            state["cur"].text += text

    def brk() -> None:
        state["cur"] = None

    def text(t: str | None, where: frozenset[str]) -> None:
        if not t:
            return
        if "pre" in where:
            for i, part in enumerate(t.split("\n")):
                if i:
                    brk()
                add(part, where)
        else:
            add(t, where)

    def walk(el: lxml.html.HtmlElement, where: frozenset[str], inline: bool) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if not tag or tag in ("script", "style"):
            return
        style = el.get("style") or "" if source else ""
        if source and _HIDDEN.search(style) and el.get("id") != "js_content":
            return
        block = (tag in _BLOCKS or bool(_BLOCK_DISPLAY.search(style))) and not _INLINE_DISPLAY.search(style)
        block = block and not inline
        if tag == "br":
            brk()
            return
        if tag in ("pre", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"):
            where = where | {tag.rstrip("123456") if tag.startswith("h") else tag}
        if tag == "code" and "\n" in el.text_content():
            where = where | {"pre"}
        if block:
            brk()
        text(el.text, where)
        row = source and bool(_ROW.search(style)) and not _COLUMN.search(style)
        for ch in el:
            walk(ch, where, row)
            text(ch.tail, where)
        if block:
            brk()

    walk(root, frozenset(), False)
    return [ln for ln in out if key(ln.text)]


def source_lines(page: Path) -> list[Line]:
    doc = lxml.html.document_fromstring(page.read_bytes(), parser=lxml.html.HTMLParser(encoding="utf-8"))
    found = doc.xpath('//*[@id="js_content"]')
    return reader_lines(found[0], source=True) if found else []


def jekyll_view(md: str) -> str:
    """The Markdown as the converter gets it after Jekyll's Liquid pass."""
    md = re.sub(r"\{%\s*raw\s*%\}|\{%\s*endraw\s*%\}", "", md)
    return md.replace("{{ site.baseurl }}", "")


def commonmark(md: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(md)


def _kramdown_ok() -> bool:
    if not shutil.which("ruby"):
        return False
    p = subprocess.run(["ruby", "-e", _KRAMDOWN], input="[]", capture_output=True, text=True)
    return p.returncode == 0


KRAMDOWN = _kramdown_ok()


@pytest.fixture(scope="module")
def kramdown_html() -> dict[str, str]:
    """Every golden body rendered by kramdown in one Ruby run."""
    if not KRAMDOWN:
        if os.environ.get("WXARCHIVE_REQUIRE_JEKYLL") == "1":
            pytest.fail("kramdown (Jekyll's converter) is required here but Ruby cannot load it")
        pytest.skip("Ruby with kramdown is not installed")
    bodies = [_body(p) for p in POSTS]
    out = subprocess.run(["ruby", "-e", _KRAMDOWN], input=json.dumps(bodies), capture_output=True, text=True,
                         check=True).stdout
    return {p.parent.name: h for p, h in zip(POSTS, json.loads(out))}


def problems(page: Path, rendered: str) -> list[str]:
    """What a reader of ``rendered`` would see wrong, compared with the page."""
    src = source_lines(page)
    frag = lxml.html.fragment_fromstring(rendered or "<p></p>", create_parent="div")
    out = reader_lines(frag, source=False)
    found: list[str] = []
    keys = [(key(s.text), s.where) for s in src]
    src_text = "\n".join(s.text for s in src)
    for a, b in zip(src, src[1:]):
        ka, kb = key(a.text), key(b.text)
        if "pre" in a.where or not ka or not kb:
            continue
        if any(ka + kb in key(o.text) for o in out):
            found.append(f"merged: {a.text.strip()[-15:]!r} + {b.text.strip()[:15]!r}")
    for o in out:
        ko = key(o.text)
        homes = [w for k, w in keys if ko and ko in k]
        for kind in ("pre", "table", "ul", "ol", "h"):
            if kind in o.where and homes and not any(kind in w for w in homes):
                found.append(f"as {kind}: {o.text.strip()[:30]!r}")
        if "pre" in o.where:
            continue
        for name, pat in DEBRIS.items():
            if pat.search(o.text.rstrip()) and not pat.search(src_text):
                found.append(f"debris {name}: {o.text.strip()[:40]!r}")
    return found


def _body(post: Path) -> str:
    text = post.read_text(encoding="utf-8")
    text = text[text.index("---\n"):]  # the golden's "# file: …" line names the post file
    return jekyll_view(split_post(text)[1])


@pytest.mark.parametrize("post", POSTS, ids=[p.parent.name for p in POSTS])
def test_reads_right_in_commonmark(post: Path) -> None:
    assert problems(post.parent / "page.html", commonmark(_body(post))) == []


@pytest.mark.parametrize("post", POSTS, ids=[p.parent.name for p in POSTS])
def test_reads_right_in_kramdown(post: Path, kramdown_html: dict[str, str]) -> None:
    assert problems(post.parent / "page.html", kramdown_html[post.parent.name]) == []


def test_the_check_sees_damage() -> None:
    """The checks bite: a merged verse, prose as code, a stray table and visible '**' are caught."""
    page = FIXTURES / "structure-2016-verse-br" / "page.html"
    assert any(p.startswith("merged") for p in problems(page, "<p>不要总呆在自己的舒适圈里，不走出去，</p>"))
    assert any(p.startswith("as pre") for p in problems(page, "<pre><code>不走出去，</code></pre>"))
    assert any(p.startswith("as table") for p in problems(page, "<table><tr><td>不走出去，</td></tr></table>"))
    assert any(p.startswith("debris **") for p in problems(page, "<p>**不走出去，</p>"))
    assert any(p.startswith("debris trailing") for p in problems(page, "<p>今天，我复员了。\\</p>"))
