"""The Markdown writer: clean HTML tree in, Markdown that reads the same in kramdown and CommonMark out.

Markdown is built from the tree, never patched afterwards. The body is first
read into blocks (paragraphs made of lines, headings, lists, quotes, code,
tables, rules); each block is then written out, and every piece of article
text is escaped for the exact place it lands in:

- anywhere in text: ``\\ ` * [ < &entity;`` and ``|`` (kramdown makes a table of any
  line holding a bare ``|``), ``{:``/``{#`` (kramdown attribute lists), ``$$``
  (kramdown maths) and ``~~``;
- at the start of a line: ``# > - + = : ~`` and ``N.``/``N)`` list numbers;
- leading white space is dropped (four spaces would make a code block).

Paragraph and line breaks survive by construction: every block is its own
paragraph, every ``<br>`` a hard break *inside* a paragraph (never at its end),
and a blank line from ``<br><br>`` starts a new paragraph. Emphasis is written
as ``**``/``*`` only where CommonMark's flanking rules and kramdown agree it
is emphasis; elsewhere (``**【天气】**今天``) as ``<strong>``/``<em>``, which
both render.

Pure: the same tree gives the same text.
"""
from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

from lxml import etree

from wxarchive.trust import safe_url, sanitize_html

__all__ = ["MAX_DEPTH", "Writer", "to_markdown"]

MAX_DEPTH = 8  # lists/quotes nested deeper are written flat: deep nesting overflows kramdown's stack
# links one paragraph may carry: kramdown's time grows faster than linearly with the links of one paragraph
# (a post of 20,000 links in one: 401 s of `jekyll build`; in paragraphs of 100: 14 s), so a longer run
# becomes several paragraphs (issue 25), as nesting is capped by MAX_DEPTH
MAX_PARA_LINKS = 100
_HEADING_MAX = 44  # a "heading" of more letters and digits than this, or of several sentences, is body text
_HEADING_BREAKERS = frozenset(("table", "ul", "ol", "pre", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "hr"))
_BLOCK = frozenset(
    ["p", "div", "section", "article", "blockquote", "pre", "ul", "ol", "li", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "figure", "figcaption", "hr", "dl", "dt", "dd", "header", "footer", "aside", "center", "address", "details", "summary", "main", "nav"])
_MARKS = {"strong": "strong", "b": "strong", "em": "em", "i": "em", "del": "del", "s": "del",
          "strike": "del", "sup": "sup", "sub": "sub"}
_MARK_ORDER = ("strong", "em", "del", "sup", "sub")
_MD_DELIM = {"strong": "**", "em": "*"}
_WS = re.compile(r"[ \t\n\r\f\v\xa0]+")
_SENTENCES = re.compile(r"[。！？!?]+|(?<![\d\s])\.(?=\s|$)")  # "Step 1." ends no sentence


# ---- escaping -----------------------------------------------------------------------------

_ESC_ANY = re.compile(r"[\\`*\[|]|&(?=#?[0-9A-Za-z]+;)|<|\{(?=[:#])|\$(?=\$)|~(?=~)|(?<![^\W_])_|_(?![^\W_])")
_ESC_MAP = {"&": "&amp;", "<": "&lt;"}
_LINE_START = re.compile(r"(?:[#>+=:~-]|\d{1,9}(?=[.)](?:\s|$)))")
_LONE_CARET = re.compile(r"^\^+$")


def escape_text(text: str) -> str:
    """Article text made literal wherever it stands in a line."""
    return _ESC_ANY.sub(lambda m: _ESC_MAP.get(m.group(0), "\\" + m.group(0)), text)


def escape_line_start(line: str) -> str:
    """Make the first characters of an (escaped) line mean themselves, not a block marker."""
    if _LONE_CARET.match(line):
        return "&#94;" * len(line)  # kramdown's end-of-block marker; '\\^' is not an escape there
    m = _LINE_START.match(line)
    if not m:
        return line
    if m.group(0)[0].isdigit():
        end = m.end()
        return line[:end] + "\\" + line[end:]
    return "\\" + line


def escape_url(url: str) -> str:
    """A link or image target that cannot end early or leave its parentheses."""
    return re.sub(r"[\s()<>\[\]\\`\"']", lambda m: f"%{ord(m.group(0)):02X}", url)


def escape_label(text: str) -> str:
    """Article text inside a link's ``[...]``: a ``]`` would end the label early (``[a](javascript:…)](…)``)."""
    return escape_text(text).replace("]", "\\]")


def _punct(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"


# ---- inline -------------------------------------------------------------------------------

# (NamedTuples: read-only records, and ~4 ms cheaper to define at every start-up than eight dataclasses)
class Tok(NamedTuple):
    """One inline piece: text, a code span, an image, a link (with its own tokens) or a break."""

    kind: str
    text: str = ""
    marks: frozenset[str] = frozenset()
    href: str = ""
    children: Sequence[Tok] = ()


class Para(NamedTuple):
    lines: list[list[Tok]]


class Heading(NamedTuple):
    level: int
    toks: list[Tok]


class Code(NamedTuple):
    text: str
    lang: str = ""


class ListBlock(NamedTuple):
    ordered: bool
    start: int
    items: list[list[object]]


class Quote(NamedTuple):
    blocks: list[object]


class Table(NamedTuple):
    rows: list[list[list[Tok]]] | None  # None: written as HTML
    html: str = ""


class Rule(NamedTuple):
    kind: str = "hr"  # (a field: an empty tuple would be false)


def _tag(el: etree._Element) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


class Writer:
    """Write one cleaned body tree as Markdown.

    ``local_images`` maps an image's URL to the target the post should show
    (its local copy, prefix included) and ``local_links`` does the same for media links.
    """

    def __init__(self, local_images: Mapping[str, str], local_links: Mapping[str, str],
                 text_filter: Callable[[str], str] = lambda s: s) -> None:
        self._local_img = local_images
        self._local_href = local_links
        self._lit = text_filter  # applied to every literal the reader sees (Liquid escaping)
        self._in_label = False  # writing a link's [label]: text escapes ']' too

    def _target_ok(self, url: str) -> bool:
        """A link or image target the post may carry: our own local copy, or a URL :func:`safe_url` accepts."""
        return url in self._local_img or url in self._local_href or safe_url(url)

    def _img(self, url: str) -> str:
        return self._local_img.get(url) or self._lit(escape_url(url))

    def _href(self, url: str) -> str:
        return self._local_href.get(url) or self._lit(escape_url(url))

    # -- reading the tree into blocks --

    def blocks(self, root: etree._Element, depth: int = 0) -> list[object]:
        """The blocks of a container: runs of inline content become paragraphs."""
        out: list[object] = []
        inline: list[Tok] = []

        def flush() -> None:
            if inline:
                out.extend(self._paras(inline))
                inline.clear()

        if root.text:
            inline.append(Tok("text", root.text))
        for ch in root:
            tag = _tag(ch)
            if tag in _BLOCK:
                flush()
                out.extend(self._block(ch, depth))
            elif tag:
                inline.extend(self._inline(ch, frozenset()))
            if ch.tail:
                inline.append(Tok("text", ch.tail))
        flush()
        return out

    def _block(self, el: etree._Element, depth: int) -> list[object]:
        tag = _tag(el)
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            return self._heading(el, int(tag[1]), depth)
        if tag == "pre":
            return [Code("".join(el.itertext()), el.get("data-lang") or "")]
        if tag in ("ul", "ol"):
            return self._list(el, tag == "ol", depth)
        if tag == "blockquote":
            inner = self.blocks(el, depth + 1)
            return [Quote(inner)] if depth < MAX_DEPTH and inner else inner
        if tag == "table":
            return [self._table(el, depth)]
        if tag == "hr":
            return [Rule()]
        return self.blocks(el, depth)

    def _heading(self, el: etree._Element, level: int, depth: int) -> list[object]:
        """A heading, whatever holds its text: the ``display:block`` span mdnice wraps it in, an icon
        before it, a line break inside it (``<br>`` in a Markdown heading reads the same in kramdown
        and CommonMark). Body text in heading tags is written as body text."""
        if any(_tag(d) in _HEADING_BREAKERS for d in el.iterdescendants()):
            return self.blocks(el, depth)
        toks = _strip_breaks(self._inline_children(el, frozenset()))
        text = "".join(t.text for t in _flat(toks) if t.kind in ("text", "code")).strip()
        if not text:
            return self.blocks(el, depth)  # pictures only
        if _body_text(text):
            return self._paras(toks)  # body text in heading tags
        lines: list[Tok] = []
        for t in toks:
            if lines and lines[-1].kind == "html" and _blank([t]):
                continue  # white space after a break: none shown
            if t.kind != "br":
                lines.append(_unmark(t, "strong"))  # a heading is bold already
            elif lines and lines[-1].kind != "html":
                lines.append(Tok("html", "<br>"))  # (a blank line between two wrapped blocks is one break)
        return [Heading(level, lines)]

    def _list(self, el: etree._Element, ordered: bool, depth: int) -> list[object]:
        items: list[list[object]] = []
        for li in el:
            if _tag(li) == "li":
                items.append(self.blocks(li, depth + 1))
            elif _tag(li) in ("ul", "ol") and items:  # a list right inside a list: the last item's sub-list
                items[-1].extend(self._block(li, depth + 1))
            elif _tag(li) in _BLOCK:
                items.append(self._block(li, depth + 1))
            elif _tag(li):
                items.append(self._paras(self._inline(li, frozenset())))
        items = [i for i in items if i]
        if not items:
            return []
        if depth >= MAX_DEPTH:
            return [b for i in items for b in i]
        try:
            start = max(0, min(int(el.get("start") or 1), 999_999_999))
        except ValueError:
            start = 1
        if ordered and start != 1:
            return _numbered_lines(start, items)
        return [ListBlock(ordered, start, items)]

    def _table(self, el: etree._Element, depth: int) -> Table:
        rows = [r for r in el.iter("tr")]
        cells = [[c for c in r if _tag(c) in ("td", "th")] for r in rows]
        ragged = (not rows or len({len(c) for c in cells}) != 1 or not cells[0]
                  or any(c.get("colspan") or c.get("rowspan") for r in cells for c in r)
                  or any(_tag(d) in ("table", "ul", "ol", "pre", "blockquote", "h1", "h2", "h3")
                         for r in cells for c in r for d in c.iterdescendants()))
        if ragged:
            return Table(None, self._table_html(el))
        out = []
        for r in cells:
            row = []
            for c in r:
                toks = [t if t.kind != "br" else Tok("html", "<br>") for t in self._inline_children(c, frozenset())]
                row.append(toks)
            out.append(row)
        return Table(out)

    def _table_html(self, el: etree._Element) -> str:
        el = _copy(el)
        for node in el.iter():
            if isinstance(node.tag, str):
                if node.text:
                    node.text = self._lit(_WS.sub(" ", node.text))
                if node.tail:
                    node.tail = self._lit(_WS.sub(" ", node.tail))
                for k in ("alt", "title"):
                    if node.get(k):
                        node.set(k, self._lit(node.get(k)))
        for img in el.iter("img"):
            img.set("src", self._img(img.get("src") or "") if self._target_ok(img.get("src") or "") else "")
        for a in el.iter("a"):
            if self._target_ok(a.get("href") or ""):
                a.set("href", self._href(a.get("href") or ""))
            else:
                a.attrib.pop("href", None)
        return sanitize_html(etree.tostring(el, encoding="unicode", method="html").strip())

    def _inline_children(self, el: etree._Element, marks: frozenset[str]) -> list[Tok]:
        out: list[Tok] = []
        if el.text:
            out.append(Tok("text", el.text, marks))
        for ch in el:
            if _tag(ch):
                out.extend(self._inline(ch, marks))
            if ch.tail:
                out.append(Tok("text", ch.tail, marks))
        return out

    def _inline(self, el: etree._Element, marks: frozenset[str]) -> list[Tok]:
        tag = _tag(el)
        if tag == "br":
            return [Tok("br")]
        if tag == "img":
            src = el.get("src") or ""
            return [Tok("img", el.get("alt") or "", marks, href=src)] if src and self._target_ok(src) else []
        if tag == "code":
            return [Tok("code", "".join(el.itertext()), marks)]
        if tag == "a":
            inner = [t._replace(marks=t.marks - marks)  # emphasis already around the link
                     for t in self._inline_children(el, frozenset()) if t.kind != "br"]
            href = el.get("href") or ""
            if not href or not self._target_ok(href):
                return inner  # (a javascript: link is its text)
            return [Tok("link", marks=marks, href=href, children=inner)]
        if tag in _BLOCK:  # a block inside inline content (a table cell, a heading): a line of its own
            return [Tok("br"), *self._inline_children(el, marks), Tok("br")]
        if tag in _MARKS:
            marks = marks | {_MARKS[tag]}
        return self._inline_children(el, marks)

    def _paras(self, toks: list[Tok]) -> list[object]:
        """Inline tokens as paragraphs: lines split at <br>, a blank line starting a new paragraph."""
        paras: list[object] = []
        lines: list[list[Tok]] = [[]]
        for t in toks:
            if t.kind == "br":
                if _blank(lines[-1]) and len(lines) > 1:  # <br><br>: a paragraph break
                    lines.pop()
                    if lines:
                        paras.append(Para(lines))
                    lines = [[]]
                else:
                    lines.append([])
            else:
                lines[-1].append(t)
        paras.append(Para(lines))
        out: list[object] = []
        for p in paras:
            assert isinstance(p, Para)
            kept = [ln for ln in p.lines if not _blank(ln)]
            if kept:
                out.append(Para(kept))
        return out

    # -- writing blocks --

    def write(self, blocks: Iterable[object]) -> list[str]:
        """Blocks as lines, a blank line between blocks."""
        out: list[str] = []
        prev: object | None = None
        for b in blocks:
            lines = self._write_block(b)
            if not lines:
                continue
            if out:
                out.append("")
                if isinstance(prev, ListBlock) and isinstance(b, ListBlock):
                    out.extend(["<!-- -->", ""])  # two adjacent lists stay two lists
            out.extend(lines)
            prev = b
        return out

    def _write_block(self, b: object) -> list[str]:
        if isinstance(b, Para):
            out: list[str] = []
            for part in _cap_links(b.lines):
                rendered = [self._line(ln) for ln in part]
                rendered = [r for r in rendered if r]
                if out and rendered:
                    out.append("")
                out.extend(r + ("\\" if i < len(rendered) - 1 else "") for i, r in enumerate(rendered))
            return out
        if isinstance(b, Heading):
            text = self._line(b.toks)
            if text.endswith("#"):
                text = text[:-1] + "\\#"
            return ["#" * b.level + " " + text] if text else []
        if isinstance(b, Code):
            return self._code(b)
        if isinstance(b, ListBlock):
            return self._write_list(b)
        if isinstance(b, Quote):
            inner = self.write(b.blocks)
            return [("> " + ln) if ln else ">" for ln in inner]
        if isinstance(b, Table):
            return self._write_table(b)
        if isinstance(b, Rule):
            return ["* * *"]
        return []

    def _code(self, b: Code) -> list[str]:
        text = self._lit(b.text.replace("\r", "").strip("\n"))
        if not text.strip():
            return []
        run = max((len(m) for m in re.findall(r"`+", text)), default=0)
        fence = "`" * max(3, run + 1)
        lang = re.sub(r"[^\w+#.-]", "", b.lang)[:20]
        return [fence + lang, *text.split("\n"), fence]

    def _write_list(self, b: ListBlock) -> list[str]:
        out: list[str] = []
        loose = any(len(item) > 1 or not isinstance(item[0], Para) for item in b.items)
        for n, item in enumerate(b.items):
            marker = f"{b.start + n}. " if b.ordered else "- "
            lines = self.write(item)
            if n and loose:
                out.append("")
            out.append(marker + lines[0])
            out.extend((" " * len(marker) + ln) if ln else "" for ln in lines[1:])
        return out

    def _write_table(self, b: Table) -> list[str]:
        if b.rows is None:
            return [b.html]
        width = len(b.rows[0])
        rows = [["" if not c else self._line(c, in_table=True) for c in r] for r in b.rows]
        head, body = rows[0], rows[1:]
        out = ["| " + " | ".join(c or " " for c in head) + " |", "|" + " --- |" * width]
        out.extend("| " + " | ".join(c or " " for c in r) + " |" for r in body)
        return out

    # -- one line of inline content --

    def _line(self, toks: list[Tok], in_table: bool = False) -> str:
        toks = _trim(toks)
        if all(t.kind == "text" and not t.marks for t in toks):  # plain text (most lines): what
            text = "".join(self._lit(escape_text(t.text)) for t in toks)  # _pieces and _join make of it
        else:
            text = self._join(self._pieces(toks))
        if not in_table:
            text = escape_line_start(text)
        return text

    def _pieces(self, toks: list[Tok]) -> list[tuple[str, str]]:
        """Flatten tokens to ('t', escaped text) / ('o'|'c', mark) / ('r', raw markup) pieces."""
        out: list[tuple[str, str]] = []
        open_: list[str] = []
        for t in _bridge_spaces(_spread_space(toks)):
            want = [m for m in _MARK_ORDER if m in t.marks]
            k = 0
            while k < len(open_) and k < len(want) and open_[k] == want[k]:
                k += 1
            for m in reversed(open_[k:]):
                out.append(("c", m))
            for m in want[k:]:
                out.append(("o", m))
            open_ = list(want)
            out.extend(self._tok(t))
        for m in reversed(open_):
            out.append(("c", m))
        return out

    def _tok(self, t: Tok) -> list[tuple[str, str]]:
        if t.kind in ("text", "space") or t.kind == "code" and self._in_label:  # (no code span in a label:
            esc = escape_label if self._in_label else escape_text  # kramdown ends a label at a ']' in one)
            return [("t", self._lit(esc(t.text if t.kind != "code" else _WS.sub(" ", t.text))))]
        if t.kind == "code":
            body = _WS.sub(" ", t.text)
            run = max((len(m) for m in re.findall(r"`+", body)), default=0)
            ticks = "`" * (run + 1)
            pad = " " if body.startswith("`") or body.endswith("`") or not body.strip() else ""
            return [("r", ticks + pad + self._lit(body) + pad + ticks)]
        if t.kind == "img":
            alt = _WS.sub(" ", re.sub(r"[\[\]\\`*_<>|{}]", "", t.text)).strip()
            return [("r", f"![{self._lit(alt)}]({self._img(t.href)})")]
        if t.kind == "html":
            return [("r", t.text)]
        if t.kind == "link":
            children = [c._replace(marks=c.marks - t.marks) for c in t.children]
            outer, self._in_label = self._in_label, True
            try:
                label = self._join(self._pieces(_trim(children))) or self._lit(escape_label(t.href))
            finally:
                self._in_label = outer
            return [("r", f"[{label}]({self._href(t.href)})")]
        return []

    def _join(self, pieces: list[tuple[str, str]]) -> str:
        """Write the pieces, each emphasis as Markdown where both renderers agree, else as HTML."""
        text_at = [i for i, p in enumerate(pieces) if p[0] in "tr"]
        out: list[str] = []
        stack: list[tuple[str, str]] = []
        for i, (kind, val) in enumerate(pieces):
            if kind in "tr":
                out.append(val)
            elif kind == "o":
                j = _match(pieces, i)
                form = self._form(pieces, i, j, text_at)
                stack.append((val, form))
                out.append(_MD_DELIM[val] if form == "md" else f"<{val}>")
            else:
                m, form = stack.pop() if stack else (val, "html")
                out.append(_MD_DELIM[m] if form == "md" else f"</{m}>")
        return "".join(out)

    @staticmethod
    def _form(pieces: list[tuple[str, str]], i: int, j: int, text_at: list[int]) -> str:
        mark = pieces[i][1]
        if mark not in _MD_DELIM or j < 0:
            return "html"
        if pieces[i + 1][0] not in "tr" or pieces[j - 1][0] not in "tr":
            return "html"  # directly nested delimiters: '***' is ambiguous
        if (i > 0 and pieces[i - 1][0] not in "tr") or (j + 1 < len(pieces) and pieces[j + 1][0] not in "tr"):
            return "html"
        inner = "".join(p[1] for p in pieces[i + 1:j] if p[0] in "tr")
        before = pieces[i - 1][1][-1:] if i > 0 else ""
        after = pieces[j + 1][1][:1] if j + 1 < len(pieces) else ""
        if not inner or inner[0].isspace() or inner[-1].isspace() or "*" in (before, after):
            return "html"
        first, last = inner[0], inner[-1]
        left_ok = not _punct(first) or not before or before.isspace() or _punct(before)
        right_ok = not _punct(last) or not after or after.isspace() or _punct(after)
        return "md" if left_ok and right_ok else "html"


def _links(line: list[Tok]) -> int:
    return sum(1 for t in _flat(line) if t.kind == "link")


def _cap_links(lines: list[list[Tok]]) -> list[list[list[Tok]]]:
    """A paragraph's lines in runs of at most :data:`MAX_PARA_LINKS` links, split at its line breaks; a line
    holding more is itself cut after every MAX_PARA_LINKS-th link (a link directory: every link stays a link)."""
    if sum(_links(ln) for ln in lines) <= MAX_PARA_LINKS:
        return [lines]
    parts: list[list[list[Tok]]] = [[]]
    count = 0
    for whole in lines:
        for ln in _cut_line(whole):
            n = _links(ln)
            if parts[-1] and count + n > MAX_PARA_LINKS:
                parts.append([])
                count = 0
            parts[-1].append(ln)
            count += n
    return parts


def _cut_line(line: list[Tok]) -> list[list[Tok]]:
    out: list[list[Tok]] = [[]]
    n = 0
    for t in line:
        if t.kind == "link":
            if n == MAX_PARA_LINKS:
                out.append([])
                n = 0
            n += 1
        out[-1].append(t)
    return out


def _match(pieces: list[tuple[str, str]], i: int) -> int:
    depth = 0
    for j in range(i, len(pieces)):
        if pieces[j][0] == "o":
            depth += 1
        elif pieces[j][0] == "c":
            depth -= 1
            if depth == 0:
                return j
    return -1


def _numbered_lines(start: int, items: list[list[object]]) -> list[object]:
    """An ordered list that does not start at 1, as lines that begin with their number.

    kramdown ignores a Markdown list's first number (``3.`` shows as 1.) and has no
    portable way to set it; a paragraph starting ``3\\.`` reads "3." under kramdown and
    CommonMark alike.
    """
    out: list[object] = []
    for n, item in enumerate(items):
        label = Tok("text", f"{start + n}. ")
        first = item[0] if item else None
        if isinstance(first, Para):
            out.append(Para([[label, *first.lines[0]], *first.lines[1:]]))
            out.extend(item[1:])
        else:
            out.append(Para([[label]]))
            out.extend(item)
    return out


def _body_text(text: str) -> bool:
    """Whether a heading's text is a paragraph: long (more than ``_HEADING_MAX`` letters and
    digits: a news brief's item), or several sentences of more than 30 (a title of one sentence
    ending in a full stop is still a title)."""
    letters = sum(1 for ch in text if ch.isalnum())
    sentences = sum(1 for part in _SENTENCES.split(text) if any(ch.isalnum() for ch in part))
    return letters > _HEADING_MAX or (sentences >= 2 and letters > 30)


def _strip_breaks(toks: list[Tok]) -> list[Tok]:
    """Line breaks (and white space) at the very start or end of a line, which a browser does not show."""
    def blank(t: Tok) -> bool:
        return t.kind == "br" or t.kind == "text" and not t.text.strip(" \t\n\r\f\v\xa0")

    lo, hi = 0, len(toks)
    while lo < hi and blank(toks[lo]):
        lo += 1
    while hi > lo and blank(toks[hi - 1]):
        hi -= 1
    return toks[lo:hi]


def _unmark(t: Tok, mark: str) -> Tok:
    return t._replace(marks=t.marks - {mark}, children=[_unmark(c, mark) for c in t.children])


def _flat(toks: Sequence[Tok]) -> Iterable[Tok]:
    for t in toks:
        yield t
        yield from _flat(t.children)


def _blank(line: list[Tok]) -> bool:
    return all(t.kind == "text" and not t.text.strip(" \t\n\r\f\v\xa0") for t in line)


def _trim(toks: list[Tok]) -> list[Tok]:
    """Collapse white space as a browser does; none at the ends of a line."""
    out: list[Tok] = []
    space = False
    for t in toks:
        if t.kind != "text":
            out.append(t)
            space = False
            continue
        s = _WS.sub(" ", t.text)
        if space or not out:
            s = s.lstrip(" ")
        if s:
            out.append(t._replace(text=s))
            space = s.endswith(" ")
    while out and out[-1].kind == "text":
        s = out[-1].text.rstrip(" ")
        if s:
            out[-1] = out[-1]._replace(text=s)
            break
        out.pop()
    return out


def _spread_space(toks: list[Tok]) -> list[Tok]:
    """Move white space at the edges of emphasised text outside it (``** x**`` is no emphasis)."""
    out: list[Tok] = []
    for t in toks:
        if t.kind == "text" and t.marks and t.text.strip(" ") != t.text:
            lead = t.text[: len(t.text) - len(t.text.lstrip(" "))]
            core = t.text.strip(" ")
            trail = t.text[len(t.text.rstrip(" ")):]
            if lead:
                out.append(Tok("space", " "))
            if core:
                out.append(t._replace(text=core))
            if trail:
                out.append(Tok("space", " "))
        else:
            out.append(t)
    return out


def _bridge_spaces(toks: list[Tok]) -> list[Tok]:
    """A space between two pieces of the same emphasis is inside it: ``**a b**``, not ``**a** **b**``
    (editors set bold word by word, span by span)."""
    out = list(toks)
    for i in range(1, len(out) - 1):
        t = out[i]
        if t.kind in ("text", "space") and not t.text.strip(" ") and t.text:
            common = out[i - 1].marks & out[i + 1].marks
            if common - t.marks:
                out[i] = t._replace(marks=t.marks | common)
    return out


def _copy(el: etree._Element) -> etree._Element:
    c = copy.deepcopy(el)
    c.tail = None
    return c


def to_markdown(root: etree._Element, *, local_images: Mapping[str, str] | None = None,
                local_links: Mapping[str, str] | None = None,
                text_filter: Callable[[str], str] = lambda s: s) -> str:
    """The body tree as Markdown text ending in one newline (empty string for no content)."""
    w = Writer(local_images or {}, local_links or {}, text_filter)
    lines = w.write(w.blocks(root))
    return "\n".join(lines).strip("\n") + "\n" if lines else ""
