"""Front matter as PyYAML writes it, for the shapes a post's front matter has, without loading PyYAML.

Loading PyYAML costs ~10 ms of every ``get`` (its reader compiles a character class spanning all of
Unicode at import). A post's front matter is a mapping of strings, dates, booleans, a list of tags, a
table of strings (``reprint_of``) and a list of such tables (``media``). For exactly those, :func:`dump`
gives the text PyYAML's emitter gives with the settings :func:`wxarchive.write.render.dump_yaml` uses
(block style, keys in order, Unicode kept, no line folding): each scalar's style is chosen by PyYAML's
own analysis and written by its own rules, transcribed from ``yaml/emitter.py`` (``analyze_scalar``,
``choose_scalar_style``, ``write_single_quoted``, ``write_double_quoted``). Anything else -- another
type, a key that is not a plain word, NEL or a Unicode line or paragraph separator (which make
``dump_yaml`` escape the whole text) -- returns None and the caller asks PyYAML itself. A test holds the
two byte-equal over generated strings in every position and over real front matter.
"""
from __future__ import annotations

import functools
import re
from typing import Any
from collections.abc import Callable, Mapping

__all__ = ["dump"]

_KEY = re.compile(r"[a-z][a-z0-9_-]*\Z")
_BREAKS = "\n\x85\u2028\u2029"
_SPACE = "\0 \t\r\n\x85\u2028\u2029"  # what PyYAML's analysis counts as whitespace around an indicator
_ESCAPES = {"\0": "0", "\x07": "a", "\x08": "b", "\x09": "t", "\x0a": "n", "\x0b": "v", "\x0c": "f", "\x0d": "r",
            "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N", "\xa0": "_", "\u2028": "L", "\u2029": "P"}

# strings PyYAML's resolver reads as something else than a string (bool, null, merge, value, its
# documentation-only yaml tag); numbers and dates, which start with a sign, a digit or a dot, are
# matched by _numeric
_WORDS = frozenset(("yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
                    "on", "On", "ON", "off", "Off", "OFF", "~", "null", "Null", "NULL", "<<", "=", "!", "&", "*"))


@functools.cache
def _numeric() -> re.Pattern[str]:
    """PyYAML's float, int and timestamp resolvers as one pattern (compiled only for a value that starts
    with a sign, a digit or a dot)."""
    return re.compile(r"""(?:
        [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
        |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
        |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN)
        |[-+]?0b[0-1_]+
        |[-+]?0[0-7_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+
        |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
        |[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
         (?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
         (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?
        )\n?\Z""", re.X)


def _resolves_to_string(s: str) -> bool:
    """PyYAML's resolver on a plain, non-empty ``s``: a string (else the emitter quotes it)."""
    if s in _WORDS:
        return False
    return s[0] not in "-+0123456789." or not _numeric().match(s)


def _unicode_ok(ch: str) -> bool:
    """A character outside printable ASCII that PyYAML writes as it is under ``allow_unicode``."""
    return (ch == "\x85" or "\xa0" <= ch <= "\ud7ff" or "\ue000" <= ch <= "\ufffd"
            or "\U00010000" <= ch < "\U0010ffff") and ch != "\ufeff"


def _analyze(s: str) -> tuple[bool, bool]:
    """PyYAML's ``analyze_scalar`` of a non-empty ``s`` under ``allow_unicode``: (may it be plain in block
    context, may it be single-quoted)."""
    indicators = s.startswith(("---", "..."))
    line_breaks = special = False
    leading = trailing = break_space = space_break = False
    preceded, followed = True, len(s) == 1 or s[1] in _SPACE
    previous_space = previous_break = False
    last = len(s) - 1
    for i, ch in enumerate(s):
        if i == 0:
            indicators |= ch in "#,[]{}&*!|>'\"%@`" or (ch in "?:-" and followed)
        else:
            indicators |= (ch == ":" and followed) or (ch == "#" and preceded)
        if ch in _BREAKS:
            line_breaks = True
        if not (ch == "\n" or "\x20" <= ch <= "\x7e" or _unicode_ok(ch)):
            special = True
        if ch == " " or ch in _BREAKS:
            leading |= i == 0
            trailing |= i == last
            if ch == " ":
                break_space |= previous_break
            else:
                space_break |= previous_space
            previous_space, previous_break = ch == " ", ch != " "
        else:
            previous_space = previous_break = False
        preceded = ch in _SPACE
        followed = i + 2 > last or s[i + 2] in _SPACE
    single = not (break_space or space_break or special)
    return single and not (leading or trailing or line_breaks or indicators), single


def _single_quoted(s: str, indent: int) -> str:
    """``write_single_quoted`` without line folding: a quote doubled, each run of line breaks written
    once more (a lone break reads back as a space) and followed by the indent."""
    out = ["'"]
    spaces = breaks = False
    start = end = 0
    while end <= len(s):
        ch = s[end] if end < len(s) else None
        if spaces:
            if ch != " ":
                out.append(s[start:end])
                start = end
        elif breaks:
            if ch is None or ch not in _BREAKS:
                out.append("\n" * (end - start + (s[start] == "\n")) + " " * indent)
                start = end
        elif (ch is None or ch in " \n\x85\u2028\u2029'") and start < end:
            out.append(s[start:end])
            start = end
        if ch == "'":
            out.append("''")
            start = end + 1
        if ch is not None:
            spaces, breaks = ch == " ", ch in _BREAKS
        end += 1
    return "".join(out) + "'"


def _escape(ch: str) -> str:
    if ch in '"\\\x85\u2028\u2029\ufeff' or not ("\x20" <= ch <= "\x7e" or "\xa0" <= ch <= "\ud7ff"
                                                 or "\ue000" <= ch <= "\ufffd"):
        if ch in _ESCAPES:
            return "\\" + _ESCAPES[ch]
        n = ord(ch)
        return f"\\x{n:02X}" if n <= 0xFF else f"\\u{n:04X}" if n <= 0xFFFF else f"\\U{n:08X}"
    return ch


def _scalar(s: str, quote: bool, indent: int) -> str | None:
    """``s`` as PyYAML writes it (``quote``: it was given the single-quoted style; ``indent``: of its
    continuation lines), or None where ``dump_yaml`` would escape the whole text."""
    if any(b in s for b in "\x85\u2028\u2029"):
        return None
    if not s:
        return "''"  # (plain, it would read back as null)
    plain, single = _analyze(s)
    if plain and not quote and _resolves_to_string(s):
        return s
    if single:
        return _single_quoted(s, indent)
    return '"' + "".join(map(_escape, s)) + '"'


class _Unwritten(Exception):
    """A key or value of a shape this module does not write."""


class _Writer:
    def __init__(self, quote_if: Callable[[str], bool], plain: tuple[type, ...]) -> None:
        self.quote_if, self.plain = quote_if, plain

    def scalar(self, v: Any, indent: int) -> str:
        if v is None:
            return "null"
        if v is True or v is False:
            return "true" if v else "false"
        if type(v) is int:
            return str(v)
        if type(v) is str or type(v) in self.plain:  # (another str subclass: PyYAML's safe dumper refuses it)
            text = _scalar(str(v), type(v) is str and self.quote_if(v), indent)
            if text is not None:
                return text
        raise _Unwritten

    def mapping(self, fm: Mapping[Any, Any], indent: int, first: str | None = None) -> list[str]:
        """A block mapping at ``indent``; ``first`` stands before its first key (``- `` in a list)."""
        if not fm:
            raise _Unwritten
        lines = []
        for n, (k, v) in enumerate(fm.items()):
            if not isinstance(k, str) or not _KEY.match(k) or not _resolves_to_string(k):
                raise _Unwritten
            lead = first if n == 0 and first is not None else " " * indent
            if indent == 0 and isinstance(v, list) and v:
                lines.append(f"{k}:\n" + "".join(self.item(x) for x in v))
            elif indent == 0 and isinstance(v, dict):
                lines.append(f"{k}:\n" + "".join(self.mapping(v, 2)))
            else:
                lines.append(f"{lead}{k}: {self.scalar(v, indent + 2)}\n")
        return lines

    def item(self, v: Any) -> str:
        """An item of a top-level list (PyYAML does not indent a list inside a mapping)."""
        if isinstance(v, dict):
            return "".join(self.mapping(v, 2, first="- "))
        return f"- {self.scalar(v, 2)}\n"


def dump(fm: Mapping[str, Any], quote_if: Callable[[str], bool], plain: tuple[type, ...] = ()) -> str | None:
    """The block mapping PyYAML writes for ``fm``, or None when a key or value is of another shape.

    ``quote_if``: the strings given the single-quoted style (PyYAML's representer was told to);
    ``plain``: str subclasses represented as plain strings, never so quoted (dates)."""
    try:
        return "".join(_Writer(quote_if, plain).mapping(fm, 0))
    except _Unwritten:
        return None
