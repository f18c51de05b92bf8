"""Reading values out of the inline scripts of a WeChat page, without running them.

WeChat writes its metadata as ``var x = "" || "v";``, ``window.x = '1' * 1``,
``htmlDecode("…")``, ``'…'.html(false)``, ``JsDecode('…')`` and one big object
literal, ``window.cgiDataNew = {…}``. A tiny tokenizer evaluates exactly those
forms; anything else (identifiers, calls we do not know) evaluates to Unknown
and is skipped, so a garbled script can never crash the parser.
"""
from __future__ import annotations

import functools
import html
import re
import sys
import threading
from collections import OrderedDict
from typing import Any

__all__ = ["SCRIPT_END", "UNKNOWN", "js_unescape", "parse_object_at", "script_vars", "script_vars_each"]

SCRIPT_END = b"\n</script>\n"  # joins a page's scripts (parse._scripts): cannot occur inside one


class _Unknown:
    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "UNKNOWN"

    def __bool__(self) -> bool:
        return False


UNKNOWN: Any = _Unknown()

_ESC = re.compile(r"\\(x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|.)", re.S)
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0", "\n": ""}


_COMMON = tuple((f"\\x{c:02x}", chr(c)) for c in (0x0a, 0x26, 0x3c, 0x3e, 0x22, 0x27, 0x3d, 0x20, 0x2f, 0x0d, 0x09)) + (
    ("\\n", "\n"), ("\\/", "/"), ("\\'", "'"), ('\\"', '"'))


def js_unescape(s: str) -> str:
    """Decode the escapes of a JS string literal body."""
    if "\\" not in s:
        return s
    if "\\\\" not in s:
        # fast path for WeChat's usual escapes (no escaped backslash can make these ambiguous)
        for esc, ch in _COMMON:
            if esc in s:
                s = s.replace(esc, ch)
        if "\\" not in s:
            return s

    def sub(m: re.Match[str]) -> str:
        e = m.group(1)
        if e[0] == "x" and len(e) == 3:
            return chr(int(e[1:], 16))
        if e[0] == "u" and len(e) > 1:
            h = e[2:-1] if e[1] == "{" else e[1:]
            try:
                return chr(int(h, 16))
            except (ValueError, OverflowError):
                return ""
        return _SIMPLE.get(e, e)

    out = _ESC.sub(sub, s)
    # surrogate pairs written as two \u escapes
    try:
        return out.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeDecodeError:
        return out.encode("utf-8", "replace").decode("utf-8", "replace")


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'[^'\\\n]*(?:\\.[^'\\\n]*)*'|"[^"\\\n]*(?:\\.[^"\\\n]*)*")
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<op>\|\||\*|\.html\(\s*false\s*\)|\.html\(\s*\)|[{}\[\](),:?;])
      | (?P<ident>[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)
      | (?P<other>.)
    )""",
    re.X | re.S,
)
_DECODERS = {"JsDecode": js_unescape, "htmlDecode": html.unescape, "decodeURIComponent": None}


class _TooDeep(Exception):
    """Nesting beyond any real page: give up on this value at once (no per-level skipping)."""


class _Parser:
    """Recursive descent over the handful of forms WeChat uses."""

    def __init__(self, text: str, pos: int) -> None:
        self.text = text
        self.pos = pos
        self.depth = 0
        self._peeked: tuple[int, int, tuple[str, str]] | None = None  # (at, end, token)
        self.unterminated = False  # met a quote that opens no complete string (text cut short?)

    def _match(self) -> tuple[int, tuple[str, str]]:
        if self._peeked is not None and self._peeked[0] == self.pos:
            return self._peeked[1], self._peeked[2]
        m = _TOKEN.match(self.text, self.pos)
        if not m:
            tok: tuple[str, str] = ("eof", "")
            end = len(self.text)
        else:
            kind = m.lastgroup or "eof"
            tok, end = (kind, m.group(kind)), m.end()
        self._peeked = (self.pos, end, tok)
        return end, tok

    def peek(self) -> tuple[str, str]:
        return self._match()[1]

    def next(self) -> tuple[str, str]:
        end, tok = self._match()
        self.pos = end
        return tok

    def expr(self) -> Any:
        value = self.term()
        while True:
            kind, tok = self.peek()
            if kind == "op" and tok == "||":
                self.next()
                other = self.term()
                if (value is UNKNOWN or value == "" or value is None) and (
                        other is not UNKNOWN or value is UNKNOWN):
                    value = other if (other is not UNKNOWN or value is UNKNOWN) else value
            elif kind == "op" and tok == "?":
                # conditional: we cannot know; skip both branches
                self.next()
                self.term()
                if self.peek() == ("op", ":"):
                    self.next()
                    self.term()
                value = UNKNOWN
            else:
                return value

    def term(self) -> Any:
        value = self.primary()
        while True:
            kind, tok = self.peek()
            if kind == "op" and tok == "*":
                self.next()
                k2, t2 = self.next()
                if isinstance(value, str) and k2 == "num":
                    try:
                        value = int(value) if value.strip() else 0
                    except ValueError:
                        try:
                            value = float(value)
                        except ValueError:
                            value = UNKNOWN
                else:
                    value = UNKNOWN
            elif kind == "op" and tok.startswith(".html("):
                self.next()
                if isinstance(value, str):
                    value = html.unescape(value)
            else:
                return value

    def primary(self) -> Any:
        self.depth += 1
        try:
            if self.depth > 200:
                raise _TooDeep
            kind, tok = self.next()
            if kind == "str":
                return js_unescape(tok[1:-1])
            if kind == "other" and tok in "'\"":
                self.unterminated = True
            if kind == "num":
                return float(tok) if "." in tok else int(tok)
            if kind == "op" and tok == "{":
                return self.obj()
            if kind == "op" and tok == "[":
                return self.arr()
            if kind == "op" and tok == "(":
                v = self.expr()
                if self.peek() == ("op", ")"):
                    self.next()
                return v
            if kind == "ident":
                if tok in ("true", "false"):
                    return tok == "true"
                if tok in ("null", "undefined"):
                    return None
                if self.peek() == ("op", "("):
                    self.next()
                    arg = self.expr() if self.peek() != ("op", ")") else UNKNOWN
                    self._skip_to_close(")")
                    fn = tok.rsplit(".", 1)[-1]
                    if fn in _DECODERS and isinstance(arg, str):
                        dec = _DECODERS[fn]
                        return dec(arg) if dec else arg
                    return UNKNOWN
                return UNKNOWN
            return UNKNOWN
        finally:
            self.depth -= 1

    def _skip_to_close(self, close: str) -> None:
        """Skip to the matching ``close`` at this level (tolerates junk)."""
        depth = 0
        while True:
            kind, tok = self.next()
            if kind == "eof":
                return
            if kind == "op":
                if tok in "([{":
                    depth += 1
                elif tok in ")]}":
                    if depth == 0:
                        return
                    depth -= 1
                elif tok == ";" and depth == 0:
                    return

    def _skip_value(self) -> None:
        """Skip an unparseable value up to the next ``,`` or closer at this level."""
        depth = 0
        while True:
            kind, tok = self.peek()
            if kind == "eof":
                return
            if kind == "op":
                if tok in "([{":
                    depth += 1
                elif tok in ")]}":
                    if depth == 0:
                        return
                    depth -= 1
                elif tok == "," and depth == 0:
                    return
            self.next()

    def obj(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        while True:
            kind, tok = self.next()
            if kind == "eof" or (kind == "op" and tok == "}"):
                return out
            if kind == "op" and tok == ",":
                continue
            if kind in ("ident", "str", "num"):
                key = tok[1:-1] if kind == "str" else tok
                if self.peek() != ("op", ":"):
                    self._skip_value()
                    continue
                self.next()
                start = self.pos
                value = self.expr()
                k2, t2 = self.peek()
                if not (k2 == "op" and t2 in ",}"):
                    self.pos = start
                    self._skip_value()
                    value = UNKNOWN
                if value is not UNKNOWN and key not in out:
                    out[key] = value
            else:
                self._skip_value()

    def arr(self) -> list[Any]:
        out: list[Any] = []
        while True:
            kind, tok = self.peek()
            if kind == "eof":
                return out
            if kind == "op" and tok == "]":
                self.next()
                return out
            if kind == "op" and tok == ",":
                self.next()
                continue
            start = self.pos
            value = self.expr()
            k2, t2 = self.peek()
            if not (k2 == "op" and t2 in ",]"):
                self.pos = start
                self._skip_value()
                if self.pos == start:
                    self.next()
                value = UNKNOWN
            if value is not UNKNOWN:
                out.append(value)


def parse_object_at(text: str, pos: int) -> Any:
    """Evaluate the literal starting at ``pos`` (an object, array or expression)."""
    try:
        return _Parser(text, pos).expr()
    except _TooDeep:
        return UNKNOWN


GLOBALS = (r"var\s+", r"window\.")  # how current pages assign their globals
LEGACY = (r"d\.", r"cgiData\.", r"_g\.")  # how 2018-19 video pages (d., cgiData.) and share pages (_g.) do


@functools.lru_cache(maxsize=16)
def _patterns(names: frozenset[str], prefixes: tuple[str, ...], binary: bool) -> list[re.Pattern[Any]]:
    alts = "|".join(sorted(map(re.escape, names)))
    # one pattern per prefix, each starting with literal text the regex engine can skip to
    # (a leading look-behind or \\b would make the engine try every position: the character
    # before each hit is checked by hand instead)
    sources = [prefix + "(" + alts + r")\s*=(?!=)" for prefix in prefixes]
    return [re.compile(src.encode() if binary else src) for src in sources]


def _ident_char(c: int | str) -> bool:
    if isinstance(c, int):
        return c >= 0x80 or chr(c).isalnum() or c in b"_$."
    return c.isalnum() or c in "_$."


def _eval_at(text: str | bytes, pos: int) -> Any:
    """The literal expression starting at ``pos``.

    Page scripts arrive as UTF-8 bytes (decoding 3 MB of them costs more than the
    parse); only a window after each hit is decoded, grown up to the end of its
    script when the value runs past it.
    """
    if isinstance(text, str):
        return _Parser(text, pos).expr()
    for size in (4096, 262144, len(text)):
        end = min(pos + size, len(text))
        stop = text.find(SCRIPT_END, pos, end)  # this script ends here
        last = stop >= 0 or end >= len(text)
        window = text[pos:stop if stop >= 0 else end].decode("utf-8", "ignore")
        p = _Parser(window, 0)
        value = p.expr()
        if last or not (p.unterminated or p.pos >= len(window) - 1):
            return value
    return UNKNOWN  # pragma: no cover - the last window always reaches the script's end


def script_vars(text: str | bytes, names: frozenset[str] | set[str],
                prefixes: tuple[str, ...] = GLOBALS + LEGACY) -> dict[str, list[Any]]:
    """Every literal assigned to one of ``names`` as ``var n =``, ``window.n =``, ``d.n =`` or
    ``cgiData.n =`` (the forms in ``prefixes``), in script text or its UTF-8 bytes.

    Values are listed in page order; Unknown values are left out, so the
    caller can take the first non-empty one.
    """
    out: dict[str, list[Any]] = {}
    for name, value in _hits(text, frozenset(names), prefixes):
        out.setdefault(name, []).append(value)
    return out


def script_vars_each(scripts: list[bytes], names: frozenset[str], prefixes: tuple[str, ...]) -> dict[str, list[Any]]:
    """:func:`script_vars` of the scripts joined by ``SCRIPT_END``, read one script at a time (a match
    never spans two, and a value is read only up to its script's end), the big ones remembered.

    A batch of one account's articles carries WeChat's same bundles (1.4 MB and more of script, ~70-85 %
    of a page's) in every page; what they assign is read once per run. A remembered script is
    compared byte for byte before its values are used again (no hash to trust).
    """
    out: dict[str, list[Any]] = {}
    for text in scripts:
        hits = _BUNDLES.get(text, names, prefixes)
        if hits is None:
            hits = _hits(text, names, prefixes)
            _BUNDLES.put(text, names, prefixes, hits)
        for name, value in hits:
            out.setdefault(name, []).append(value)
    return out


def _hits(text: str | bytes, names: frozenset[str], prefixes: tuple[str, ...]) -> list[tuple[str, Any]]:
    """(name, value) of each known assignment, in text order."""
    if not names:
        return []
    binary = isinstance(text, bytes)
    patterns = _patterns(names, prefixes, binary)
    found = sorted(((m.start(), m) for p in patterns for m in p.finditer(text)
                    if m.start() == 0 or not _ident_char(text[m.start() - 1])), key=lambda h: h[0])
    out: list[tuple[str, Any]] = []
    for _, m in found:
        try:
            value = _eval_at(text, m.end())
        except _TooDeep:
            continue
        if value is not UNKNOWN:
            name = m.group(1)
            out.append((name.decode() if binary else name, value))
    return out


class _Bundles:
    """The values found in big scripts seen earlier in this run, at most ``budget`` bytes held (a few
    templates' bundles), least recently used dropped first. Only scripts whose values are all
    plain (str, number, bool, None) are kept: a caller may change a list or dict it was given.

    What is held is counted: the script and every (name, value) read from it (a script of many short
    assignments holds ~10x its own size in them), so the budget bounds the memory of a run of any length."""

    MIN = 4 * 1024

    def __init__(self, budget: int = 12 * 1024 * 1024) -> None:
        self.budget = budget
        self.size = 0
        self._lock = threading.Lock()
        self._seen: OrderedDict[tuple[Any, ...], tuple[bytes, tuple[tuple[str, Any], ...]]] = OrderedDict()

    @staticmethod
    def _key(text: bytes, names: frozenset[str], prefixes: tuple[str, ...]) -> tuple[Any, ...]:
        return (names, prefixes, len(text), text[:64], text[-64:])

    def get(self, text: bytes, names: frozenset[str], prefixes: tuple[str, ...]) -> list[tuple[str, Any]] | None:
        if len(text) < self.MIN:
            return None
        key = self._key(text, names, prefixes)
        with self._lock:
            hit = self._seen.get(key)
            if hit is None or hit[0] != text:  # the whole script, compared (a memcmp: ~0.2 ms for 1.4 MB)
                return None
            self._seen.move_to_end(key)
            return list(hit[1])

    def put(self, text: bytes, names: frozenset[str], prefixes: tuple[str, ...], hits: list[tuple[str, Any]]) -> None:
        if len(text) < self.MIN or len(text) > self.budget or not all(isinstance(v, _PLAIN) for _, v in hits):
            return
        key = self._key(text, names, prefixes)
        with self._lock:
            old = self._seen.pop(key, None)
            if old is not None:
                self.size -= _held(*old)
            kept = tuple(hits)
            held = _held(text, kept)
            if held > self.budget:
                return
            self._seen[key] = (text, kept)
            self.size += held
            while self.size > self.budget:
                _, dropped = self._seen.popitem(last=False)
                self.size -= _held(*dropped)


def _held(text: bytes, hits: tuple[tuple[str, Any], ...]) -> int:
    """Bytes a remembered script holds: its text, its key and each (name, value) read from it."""
    size = sys.getsizeof
    return size(text) + 2 * size(text[:64]) + size(hits) + sum(size(h) + size(h[0]) + size(h[1]) for h in hits)


_PLAIN = (str, int, float, bool, type(None))
_BUNDLES = _Bundles()
