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

__all__ = ["NOT_XML", "Element", "drop_tag", "drop_tree", "fragment", "text_content", "xml_text"]

_PARSER_UTF8 = etree.HTMLParser(encoding="utf-8")  # (a <meta charset> inside the fragment is not obeyed)
_STRING = etree.XPath("string()", smart_strings=False)
_FULL_PAGE = re.compile(r"^\s*<(?:html|!doctype)", re.I)
# What libxml2 keeps in a text it parses but lxml refuses in a text set later (a clean pass would raise):
# C0 controls other than tab and line ends, lone surrogates and the non-characters U+FFFE/U+FFFF.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));?")


def xml_text(text: str) -> str:
    """``text`` as lxml will take it in ``.text``/``.tail`` or an attribute: what it refuses becomes U+FFFD."""
    return NOT_XML.sub("\ufffd", text)


def _safe_ref(m: re.Match[str]) -> str:
    """A character reference to what lxml refuses, as U+FFFD; any other left for libxml2 to read."""
    hexa, dec = m.groups()
    try:
        ch = chr(int(hexa, 16) if hexa else int(dec))
    except (ValueError, OverflowError):  # beyond Unicode: libxml2's own reading of it stands
        return m.group(0)
    return "\ufffd" if NOT_XML.match(ch) else m.group(0)


def _xml_safe(html: str) -> str:
    """``html`` with what lxml would refuse later made U+FFFD: written U+FFFE/U+FFFF, references to
    those and to C0 controls (a written control is the cleaner's to drop: ``clean._CTRL``), and lone
    surrogates (a pair held as two halves becomes its one character). A reference inside a script,
    a style or a comment is changed too: the cleaner keeps none of them."""
    if "&#" in html:
        html = _CHAR_REF.sub(_safe_ref, html)
    if "\ufffe" in html or "\uffff" in html:
        html = html.replace("\ufffe", "\ufffd").replace("\uffff", "\ufffd")
    return html


def fragment(html: str) -> etree._Element:
    """The fragment's nodes inside a new ``<div>``, as ``lxml.html.fragment_fromstring(html,
    create_parent="div")`` makes it: leading text kept unless blank; ParserError on an empty document."""
    if not _FULL_PAGE.match(html):
        html = f"<html><body>{html}</body></html>"
    html = _xml_safe(html)
    try:  # as UTF-8 bytes: libxml2 reads those ~40 % faster than a str (same tree)
        data = html.encode("utf-8")
    except UnicodeEncodeError:  # a surrogate: a pair held as two halves is one character, a lone one U+FFFD
        data = html.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode("utf-8")
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
