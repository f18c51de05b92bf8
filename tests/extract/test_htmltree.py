"""htmltree does on plain lxml elements what lxml.html does (the cleaner relies on the same tree and text)."""
from __future__ import annotations

import lxml.html
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from wxarchive.extract.htmltree import drop_tag, drop_tree, fragment, text_content

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


def test_fragment_read_as_utf8_bytes_is_the_tree_lxml_html_makes_of_the_text() -> None:
    """fragment() hands libxml2 UTF-8 bytes (faster than a str): a charset named inside the body, emoji,
    entities and a byte-order mark must read as lxml.html reads the text; a lone surrogate still reads."""
    for html in ['<meta charset="gbk"><p>中文，标题</p>', '<p><meta http-equiv="Content-Type" content="text/html; '
                 'charset=gb2312">正文 😀 &amp; &#x1F600; &nbsp;</p>', "\ufeff<p>bom</p>", "文字<p>x</p>尾",
                 "<p>\u2028\u0085\u00a0</p>"]:
        assert _ser(fragment(html)) == _ser(lxml.html.fragment_fromstring(html, create_parent="div")), html
    assert text_content(fragment("<p>a\ud800b</p>")) == "a\ufffdb"  # (the text after it was lost once)


def test_what_lxml_would_refuse_becomes_a_replacement_character_and_nothing_else_does() -> None:
    """libxml2 keeps U+FFFE/U+FFFF and references to C0 controls in the text it parses; lxml refuses them in
    a text set later (a clean pass raised). Each becomes U+FFFD, written or as a reference in any spelling;
    a reference that only starts like one (a longer number: another character), or to a character lxml
    takes, reads as libxml2 reads it; a surrogate pair held as two halves is its one character."""
    refused = ["\ufffe", "\uffff", "&#xFFFE;", "&#XFFFE;", "&#x0fffF;", "&#65534;", "&#0065535;", "&#65535",
               "&#1;", "&#x0B;", "&#12;", "&#31;", "&#xD800;"]
    got = text_content(fragment("<p>" + "|".join(refused) + "</p>"))
    assert got == "|".join("\ufffd" for _ in refused), got
    for html, text in [("<p>a&#xFFFEA;b</p>", "a\U000fffeab"), ("<p>a&#655350;b</p>", "a\U0009fff6b"),
                       ("<p>&#x41;&#65;&amp;#xFFFE;&#9;&#x0A;</p>", "AA&#xFFFE;\t\n"),
                       ("<p>a\U0001F600b</p>", "a\U0001F600b")]:
        assert text_content(fragment(html)) == text == lxml.html.fragment_fromstring(html).text_content(), html
    assert text_content(fragment("<p>a\ud83d\ude00b</p>")) == "a\U0001F600b"  # (halves, as a JS string holds them)
