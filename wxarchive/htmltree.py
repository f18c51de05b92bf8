"""An article body as a tree of plain lxml elements, and the few ``lxml.html`` methods the cleaner uses.

``lxml.html`` gives every element a Python class chosen by a Python callback, run each time an
element is reached from Python; clean's passes walk the body a dozen times, which cost ~3 ms per
article (``python -m bench``). These functions do what ``lxml.html.fragment_fromstring(…,
create_parent="div")``, ``text_content()``, ``drop_tree()`` and ``drop_tag()`` do, on plain elements
(and on lxml.html's, so callers may pass either). Pure.
"""
from __future__ import annotations

import re
from typing import Any

from lxml import etree

__all__ = ["Element", "drop_tag", "drop_tree", "fragment", "text_content", "xml_text"]

_PARSER_UTF8 = etree.HTMLParser(encoding="utf-8")  # (a <meta charset> inside the fragment is not obeyed)
_STRING = etree.XPath("string()", smart_strings=False)
_FULL_PAGE = re.compile(r"^\s*<(?:html|!doctype)", re.I)
# What libxml2 keeps in a parsed text but lxml refuses in a text set later (a clean pass would raise):
# the non-characters U+FFFE/U+FFFF, written or as a character reference, and lone surrogates.
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]|&#(?:[xX]0*[fF]{3}[eEfF](?![0-9a-fA-F])|0*6553[45](?![0-9]));?")
_NOT_XML_SET = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """``text`` as lxml will take it in ``.text``/``.tail``: what it refuses becomes U+FFFD, as libxml2
    makes of a control character it parses."""
    return _NOT_XML_SET.sub("\ufffd", text)


def fragment(html: str) -> etree._Element:
    """The fragment's nodes inside a new ``<div>``, as ``lxml.html.fragment_fromstring(html,
    create_parent="div")`` makes it: leading text kept unless blank; ParserError on an empty document."""
    if not _FULL_PAGE.match(html):
        html = f"<html><body>{html}</body></html>"
    if "\ufffe" in html or "\uffff" in html or ("&#" in html and _NOT_XML.search(html)):
        html = _NOT_XML.sub("\ufffd", html)
    try:  # as UTF-8 bytes: libxml2 reads those ~40 % faster than a str (same tree)
        data = html.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        data = _NOT_XML.sub("\ufffd", html).encode("utf-8")
    doc = etree.fromstring(data, _PARSER_UTF8)
    if doc is None:
        raise etree.ParserError("Document is empty")
    bodies = [e for e in doc if e.tag == "body"]
    assert len(bodies) == 1, f"too many bodies: {bodies!r}"  # as lxml.html asserts
    body = bodies[0]
    root = etree.Element("div")
    if body.text and body.text.strip():
        root.text = body.text
    root.extend(list(body))
    return root


def Element(tag: str, **attrs: str) -> etree._Element:  # noqa: N802 (as lxml.html.Element)
    return etree.Element(tag, **attrs)


def text_content(el: Any) -> str:
    """All the text inside ``el`` (not its tail), as lxml.html's ``text_content()``."""
    return _STRING(el)  # type: ignore[no-any-return]


def drop_tree(el: etree._Element) -> None:
    """Remove ``el`` and everything in it; its tail text joins the previous node (lxml.html's ``drop_tree``)."""
    parent = el.getparent()
    assert parent is not None
    if el.tail:
        previous = el.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + el.tail
        else:
            previous.tail = (previous.tail or "") + el.tail
    parent.remove(el)


def drop_tag(el: etree._Element) -> None:
    """Remove the tag of ``el`` but keep its text and children in place (lxml.html's ``drop_tag``)."""
    parent = el.getparent()
    assert parent is not None
    previous = el.getprevious()
    if el.text and isinstance(el.tag, str):
        if previous is None:
            parent.text = (parent.text or "") + el.text
        else:
            previous.tail = (previous.tail or "") + el.text
    if el.tail:
        if len(el):
            last = el[-1]
            last.tail = (last.tail or "") + el.tail
        elif previous is None:
            parent.text = (parent.text or "") + el.tail
        else:
            previous.tail = (previous.tail or "") + el.tail
    index = parent.index(el)
    parent[index:index + 1] = el[:]
