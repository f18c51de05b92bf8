"""htmltree does on plain lxml elements what lxml.html does (the cleaner relies on the same tree and text)."""
from __future__ import annotations

import lxml.html
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from wxarchive.htmltree import drop_tag, drop_tree, fragment, text_content

_TAGS = ["p", "span", "section", "b", "br", "img", "div", "a", "em", "pre", "code", "table", "td"]
_TEXT = st.sampled_from(["", " ", "文字", "text", "\n  ", "a&amp;b", "x\u00a0y"])


@st.composite
def _html(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.integers(0, 3 if depth < 4 else 1))
        if kind <= 1:
            parts.append(draw(_TEXT))
        elif kind == 2:
            parts.append("<!-- note -->")
        else:
            tag = draw(st.sampled_from(_TAGS))
            parts.append(f"<{tag}>{draw(_html(depth + 1))}</{tag}>")
    return "".join(parts)


def _ser(el: etree._Element) -> bytes:
    return etree.tostring(el, encoding="utf-8", method="html")


@settings(max_examples=200, deadline=None)
@given(_html())
def test_fragment_and_text_as_lxml_html(html: str) -> None:
    ours, theirs = fragment(html or " "), lxml.html.fragment_fromstring(html or " ", create_parent="div")
    assert _ser(ours) == _ser(theirs)
    for a, b in zip(ours.iter(), theirs.iter(), strict=True):
        if isinstance(a.tag, str):
            assert text_content(a) == b.text_content()


@settings(max_examples=200, deadline=None)
@given(_html(), st.integers(0, 50), st.booleans())
def test_drop_tag_and_drop_tree_as_lxml_html(html: str, pick: int, tag_only: bool) -> None:
    ours, theirs = fragment(html or " "), lxml.html.fragment_fromstring(html or " ", create_parent="div")
    a_all = [e for e in ours.iter() if e is not ours]
    b_all = [e for e in theirs.iter() if e is not theirs]
    if not a_all:
        return
    a, b = a_all[pick % len(a_all)], b_all[pick % len(b_all)]
    if tag_only:
        drop_tag(a)
        b.drop_tag()
    else:
        drop_tree(a)
        b.drop_tree()
    assert _ser(ours) == _ser(theirs)


def test_a_blank_or_empty_fragment() -> None:
    assert _ser(fragment("   ")) == _ser(lxml.html.fragment_fromstring("   ", create_parent="div"))
    assert text_content(fragment("<p>一</p>二<b>三</b>")) == "一二三"
