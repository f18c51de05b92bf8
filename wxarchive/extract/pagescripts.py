"""Where a page's big inline scripts are in its bytes, so that lxml need not read them.

A page WeChat serves today is ~3 MB, ~95 % of it inline script; lxml spends
~8 ms of a batch's ~60 ms per article copying that text into the tree, and
``parse`` then copies it out again. :func:`lift` finds each big script by the
HTML tokenizer's own rule, puts a mark in its place and hands the text over
as bytes; :func:`Lifted.check` then proves, on the tree lxml made of the
marked page, that every mark is the whole text of one ``<script>`` element,
and the caller reads the page whole when it is not so.

A script is lifted only where the end of its text is sure without a
tokenizer: it must not hold ``<!--`` (the "escaped" states, where
``</script>`` may not end it) nor any ``</script`` in another letter case,
and its end tag must be ``</script`` followed by a space, ``/`` or ``>``
(HTML's rule, which lxml's libxml2 2.14 follows). The page's bytes before
the script are unchanged, so the tokenizer reaches it in the same state.

WeChat's shared bundles are the same bytes in every page of a run: a text
seen before is found again by one comparison (memcmp) rather than by the
searches, and the run remembers at most ``_Known.budget`` bytes of them.
"""
from __future__ import annotations

import re
import secrets
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wxarchive.extract.htmltree import NOT_XML

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["Lifted", "MIN_LIFT", "lift", "spans"]

MIN_LIFT = 4096  # smaller scripts stay in the page: lifting them saves less than it costs
_OPEN_TAG = re.compile(rb"<script\b[^>]*>")  # lower-case tags only; others stay for lxml to read
_ENDERS = frozenset(b"\t\n\x0c\r />")
_WATCH = re.compile(rb"</[sS]|<!--")
_MARK = b"/*wxarchive-lifted-" + secrets.token_hex(8).encode() + b"-"  # unguessable: a page cannot forge one


class _Known:
    """Big script texts met earlier in this run (their ends already proven), by their first 64 bytes."""

    MIN = MIN_LIFT
    PER_HEAD = 4  # texts kept that start with the same 64 bytes, most recent first

    def __init__(self, budget: int = 16 * 1024 * 1024) -> None:
        self.budget = budget
        self.size = 0
        self._lock = threading.Lock()
        self._by_head: OrderedDict[bytes, list[bytes]] = OrderedDict()

    def match(self, raw: bytes, start: int) -> bytes | None:
        """The remembered text that ``raw`` holds at ``start``, if any: the same object each time."""
        head = raw[start:start + 64]
        with self._lock:
            found = self._by_head.get(head)
            if not found:
                return None
            self._by_head.move_to_end(head)
            for text in found:
                if raw.startswith(text, start) and _is_end(raw, start + len(text)):
                    return text
        return None

    def add(self, text: bytes) -> None:
        """Remember ``text``; the budget counts what is held (the texts, and each head with its list)."""
        if len(text) < self.MIN or len(text) > self.budget:
            return
        with self._lock:
            head = text[:64]
            same = self._by_head.get(head)
            if same is None:
                same = self._by_head[head] = []
                self.size += _HEAD_COST
            elif text in same:
                return
            same.insert(0, text)
            self.size += sys.getsizeof(text)
            if len(same) > self.PER_HEAD:  # a page's own copy of a bundle (its server time written in)
                self.size -= sys.getsizeof(same.pop())  # starts as the others do: each would be compared in vain
            while self.size > self.budget:
                _, dropped = self._by_head.popitem(last=False)
                self.size -= _HEAD_COST + sum(sys.getsizeof(t) for t in dropped)


_HEAD_COST = 97 + 120 + 100  # a head (bytes of 64), its list of up to PER_HEAD, its slot in the OrderedDict


_KNOWN = _Known()


def _is_end(raw: bytes, at: int) -> bool:
    return raw.startswith(b"</script", at) and at + 8 < len(raw) and raw[at + 8] in _ENDERS


def _script_end(raw: bytes, start: int) -> int:
    """Where the script text starting at ``start`` ends, when that is sure (else -1). One scan, for
    ``<!--`` and for ``</s`` in either case (four ``bytes.find`` passes took ~4x as long)."""
    pos = start
    while True:
        m = _WATCH.search(raw, pos)
        if m is None or m.group() == b"<!--":
            return -1
        i = m.start()
        if raw[i + 2:i + 8].lower() == b"script":  # </span>, </style>, ... go on; </SCRIPT ends it too
            return i if raw[i + 8:i + 9] and raw[i + 8] in _ENDERS else -1
        pos = i + 3


def spans(raw: bytes, min_size: int = MIN_LIFT) -> list[tuple[int, int, bytes]]:
    """(start, end, text) of each inline script of at least ``min_size`` bytes whose end is sure, in
    page order. It stops at the first script whose end is not sure: past it, where a tag starts is
    no longer known. A text met before in this run is that same object (no copy)."""
    out: list[tuple[int, int, bytes]] = []
    pos = 0
    while True:
        i = raw.find(b"<script", pos)
        if i < 0:
            return out
        m = _OPEN_TAG.match(raw, i)
        if m is None:
            pos = i + 7
            continue
        start = m.end()
        text = _KNOWN.match(raw, start)
        if text is not None:
            end = start + len(text)
        else:
            end = _script_end(raw, start)
            if end < 0:
                return out
            if end - start >= min_size:
                text = raw[start:end]
                _KNOWN.add(text)
        if text is not None and len(text) >= min_size and b"src" not in m.group(0)[7:].lower():
            out.append((start, end, text))
        pos = end + 8


@dataclass(frozen=True)
class Lifted:
    """A page with its big scripts' texts replaced by marks, and those texts."""

    raw: bytes
    texts: tuple[bytes, ...]

    def check(self, scripts: list[str | None]) -> bool:
        """Whether, in the texts lxml gave the page's ``<script>`` elements (in order), each mark is
        exactly one element's whole text, in page order. When not, the page must be read whole."""
        n = 0
        for text in scripts:
            if text is not None and text.startswith(_MARK_STR):
                if text != _mark_str(n):
                    return False
                n += 1
        return n == len(self.texts)

    def text_of(self, script_text: str | None) -> bytes | None:
        """The lifted text a ``<script>`` element's text stands for (None: its own text is whole)."""
        if script_text is None or not script_text.startswith(_MARK_STR):
            return None
        return self.texts[int(script_text[len(_MARK_STR):-2])]

    def put_back(self, root: etree._Element) -> None:
        """Give the scripts under ``root`` their own texts again (an article body's scripts are read
        by the cleaner, as text)."""
        for s in root.iter("script"):
            text = self.text_of(s.text)
            if text is not None:
                decoded = text.decode("utf-8", "replace")
                try:
                    s.text = decoded
                except ValueError:  # a control character lxml keeps in a parsed text but refuses in a set one
                    s.text = NOT_XML.sub("", decoded)


_MARK_STR = _MARK.decode()


def _mark(n: int) -> bytes:
    return _MARK + str(n).encode() + b"*/"


def _mark_str(n: int) -> str:
    return _MARK_STR + str(n) + "*/"


def lift(raw: bytes) -> Lifted | None:
    """The page with its big scripts lifted out (None: nothing worth lifting). Each lifted text keeps
    its bytes, with line ends made ``\\n`` as an HTML parser makes them."""
    found = spans(raw)
    if not found:
        return None
    parts: list[bytes] = []
    texts: list[bytes] = []
    pos = 0
    for n, (start, end, text) in enumerate(found):
        parts += (raw[pos:start], _mark(n))
        if b"\r" in text:
            text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        texts.append(text)
        pos = end
    parts.append(raw[pos:])
    return Lifted(b"".join(parts), tuple(texts))
