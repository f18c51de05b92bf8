"""Is a page whole? Reading page bytes into a tree without losing any of it.

A page cut short (the connection closed, a chunked body stopped, a gzip stream
lost its end) still parses: lxml closes what is open, and the half article would
become a post, recorded as archived and never fetched again. A page is taken as
whole only when the document closes after the article body and, when there is a
``#js_content``, the container closes and WeChat's own script follows it.

lxml stops reading a document nested deeper than its limit and silently drops
everything after that point; pages are read with the raised limit (``huge_tree``,
2048 levels), an article nested deeper still is refused by name, and the body is
flattened below ``MAX_BODY_DEPTH`` so the later stages (which parse it again with
the normal limit) keep all of its text.
"""
from __future__ import annotations

import re
from typing import Any

import lxml.html
from lxml import etree

from wxarchive.extract import htmltree
from wxarchive.errors import LayoutChanged, NotAnArticle, Truncated

__all__ = ["MAX_BODY_DEPTH", "check_whole", "flatten_deep", "read_tree"]

MAX_BODY_DEPTH = 120
_DOC_END = re.compile(rb"</html\s*>", re.I)
_CONTENT_ID = re.compile(rb"""id\s*=\s*["']?js_content\b""")
_BLOCKS = frozenset(["p", "div", "section", "article", "blockquote", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "table", "tr", "br", "hr", "figure"])


def read_tree(text: str | None, raw: bytes | None, url: str) -> lxml.html.HtmlElement:
    """Parse a whole page (``raw`` UTF-8 bytes, or ``text``); refuse one nested past lxml's limit."""
    parser = lxml.html.HTMLParser(encoding="utf-8" if raw is not None else None, huge_tree=True)
    try:
        if raw is not None:
            if not raw or (len(raw) < 65536 and not raw.strip()):
                raise NotAnArticle("empty page")
            doc = lxml.html.document_fromstring(raw, parser=parser)
        else:
            if not text or not text.strip():
                raise NotAnArticle("empty page")
            doc = lxml.html.document_fromstring(text.replace("\x00", ""), parser=parser)
    except (etree.ParserError, ValueError) as e:
        raise NotAnArticle(f"not an HTML page ({e})") from None
    if any("Excessive depth" in err.message for err in parser.error_log):
        raise LayoutChanged(f"{url}: the page is nested more than 2048 elements deep; everything after that "
                            "point could not be read, so it is not archived", url=url)
    return doc


def check_whole(doc: lxml.html.HtmlElement, raw: bytes, content: list[Any], url: str) -> None:
    """Raise :class:`Truncated` unless the page visibly ends: ``</html>`` after the body, and
    ``#js_content`` closed with a script after it."""
    if not _ends_after(raw, _content_end(raw)):
        raise Truncated(f"{url}: the page ends before its </html> (truncated); nothing written", url=url)
    if content and not content[0].xpath("following::script"):
        raise Truncated(f"{url}: the article body (#js_content) is cut off; nothing written", url=url)


def _content_end(raw: bytes) -> int:
    """Where the first ``id="js_content"`` ends (0: none). The regex starts its scan at the first
    ``js_content`` (bytes.find is ~10x faster than the regex over the megabytes before it)."""
    first = raw.find(b"js_content")
    if first < 0:
        return 0
    m = _CONTENT_ID.search(raw, max(0, first - 4096))
    return m.end() if m else 0


def _ends_after(raw: bytes, start: int) -> bool:
    """A ``</html>`` at or after ``start``: the last lower-case one is looked at first (a page ends
    with it); the case-blind scan of the rest of the page runs only when that one does not do."""
    last = raw.rfind(b"</html")
    if last >= start and _DOC_END.match(raw, last):
        return True
    return _DOC_END.search(raw, start) is not None


def _flat_copy(el: etree._Element) -> list[etree._Element]:
    """The text and images under ``el`` as a flat run of paragraphs (block edges become breaks)."""
    paras: list[etree._Element] = []
    cur = lxml.html.Element("p")

    def add_text(t: str | None) -> None:
        if not t:
            return
        t = htmltree.xml_text(t)  # (the page's tree may hold what lxml refuses in a set text)
        last = cur[-1] if len(cur) else None
        if last is None:
            cur.text = (cur.text or "") + t
        else:
            last.tail = (last.tail or "") + t

    def flush() -> None:
        nonlocal cur
        if (cur.text or "").strip() or len(cur):
            paras.append(cur)
        cur = lxml.html.Element("p")

    for event, node in etree.iterwalk(el, events=("start", "end")):
        tag = node.tag if isinstance(node.tag, str) else ""
        if event == "start":
            if tag in _BLOCKS:
                flush()
            if tag == "img":
                cur.append(lxml.html.Element("img", {k: htmltree.xml_text(v) for k, v in node.attrib.items()
                                                      if k in ("src", "data-src", "alt")}))
            elif tag and tag not in ("script", "style"):
                add_text(node.text)
        else:
            if tag in _BLOCKS:
                flush()
            if node is not el:
                add_text(node.tail)
    flush()
    return paras


_DEEP = etree.XPath("boolean(" + "/".join(["*"] * MAX_BODY_DEPTH) + ")")


def flatten_deep(root: etree._Element, max_depth: int = MAX_BODY_DEPTH) -> None:
    """Keep every text of ``root`` while no element sits more than ``max_depth`` below it."""
    if max_depth == MAX_BODY_DEPTH and not _DEEP(root):
        return  # the common case, answered inside libxml2 without a Python object per element
    stack = [(root, 0)]
    while stack:
        el, depth = stack.pop()
        for child in el:
            if not isinstance(child.tag, str):
                continue
            if depth + 1 >= max_depth:
                if len(child):
                    paras = _flat_copy(child)
                    tail = child.tail
                    for sub in list(child):
                        child.remove(sub)
                    child.text = None
                    child.tag = "div"
                    for k in list(child.attrib):
                        del child.attrib[k]
                    child.extend(paras)
                    child.tail = tail
            else:
                stack.append((child, depth + 1))
