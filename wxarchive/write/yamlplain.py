"""Front matter as PyYAML writes it, for the common shapes, without loading PyYAML.

Loading PyYAML costs ~10 ms of every ``get`` (its reader compiles a character class spanning all of
Unicode at import), and a post's front matter is nearly always flat: short one-line strings, dates,
booleans, a list of tags. For exactly those, :func:`dump` gives the text PyYAML's emitter gives with
the settings :func:`wxarchive.write.render.dump_yaml` uses (block style, keys in order, Unicode kept,
no line folding), choosing each scalar's style by PyYAML's own rules: plain when its analysis allows
it and its resolver reads it back as a string, else single-quoted. Anything else -- a line break, a
tab or any character PyYAML escapes, an empty string, a nested table -- returns None and the caller
asks PyYAML itself. A test holds the two byte-equal over generated and real front matter.
"""
from __future__ import annotations

import functools
import re
from typing import Any
from collections.abc import Callable, Mapping

__all__ = ["dump"]

_KEY = re.compile(r"[a-z][a-z0-9_-]*\Z")

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
    """PyYAML's resolver on a plain ``s``: a string (else the emitter quotes it)."""
    if s in _WORDS:
        return False
    return s[0] not in "-+0123456789." or not _numeric().match(s)


def _printable(s: str) -> bool:
    """Every character one PyYAML writes as it is under ``allow_unicode``, and none a line break: the
    rest (tabs, controls, U+FEFF, surrogates, NEL, U+2028/9) it escapes in double quotes."""
    for ch in s:
        if "\x20" <= ch <= "\x7e" or ("\xa0" <= ch <= "\ud7ff" and ch not in "\u2028\u2029") \
                or ("\ue000" <= ch <= "\ufffd" and ch != "\ufeff") or "\U00010000" <= ch < "\U0010ffff":
            continue
        return False
    return True


def _plain_allowed(s: str) -> bool:
    """PyYAML's analysis of a one-line printable scalar: may it be written plain in block context?"""
    if s[0] == " " or s[-1] == " " or s.startswith(("---", "...")):
        return False
    first, after = s[0], s[1:2]
    if first in "#,[]{}&*!|>'\"%@`" or (first in "?:-" and after in ("", " ")):
        return False
    return ": " not in s and not s.endswith(":") and " #" not in s


def _scalar(s: str, quote: bool) -> str | None:
    """``s`` as PyYAML writes it (``quote``: it was given the single-quoted style), or None."""
    if not s or not _printable(s):
        return None
    if not quote and _plain_allowed(s) and _resolves_to_string(s):
        return s
    return "'" + s.replace("'", "''") + "'"


def _value(v: Any, quote_if: Callable[[str], bool], plain: tuple[type, ...]) -> str | None:
    if v is None:
        return "null"
    if v is True or v is False:
        return "true" if v else "false"
    if type(v) is int:
        return str(v)
    if isinstance(v, str):
        return _scalar(str(v), quote=not isinstance(v, plain) and quote_if(v))
    return None


def dump(fm: Mapping[str, Any], quote_if: Callable[[str], bool], plain: tuple[type, ...] = ()) -> str | None:
    """The block mapping PyYAML writes for ``fm``, or None when a key or value is not of the simple shapes.

    ``quote_if``: the strings given the single-quoted style (PyYAML's representer was told to);
    ``plain``: str subclasses represented as plain strings, never so quoted (dates)."""
    out = []
    for k, v in fm.items():
        if not isinstance(k, str) or not _KEY.match(k) or not _resolves_to_string(k):
            return None
        if isinstance(v, list):
            if not v:
                return None
            items = [_value(x, quote_if, plain) if isinstance(x, str) else None for x in v]
            if None in items:
                return None
            out.append(f"{k}:\n" + "".join(f"- {x}\n" for x in items))
            continue
        text = _value(v, quote_if, plain)
        if text is None:
            return None
        out.append(f"{k}: {text}\n")
    return "".join(out)
