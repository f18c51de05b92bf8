"""The computed inline style: what a browser shows from ``style`` attributes and tags alone.

WeChat's editors (mdnice, 135editor, xiumi, the 2025 editor) write headings and
emphasis as inline styles: ``font-weight: bold`` on a span, ``font-size: 22px``
on a title line, ``font-weight: normal`` on spans inside a ``<strong>``. A tag
alone says little; the setting nearest the text wins, and font-weight and
font-size are inherited from ancestors. This module computes both, for every
element of a tree, in one top-down walk, before the cleaner throws styles away.

No style sheet is read (the page's ``<style>`` blocks style WeChat's frame, not
the article): only inline declarations and the browser's default for each tag.
Pure.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from lxml import etree

__all__ = ["BOLD", "EMPHASIS_TAGS", "NORMAL", "UA_TAGS", "Computed", "TagStyle", "compute", "declarations",
           "font_size", "font_weight"]

NORMAL = 400
BOLD = 700
_ROOT_PX = 16.0  # the browser's default root font size (rem, medium)


class Computed(NamedTuple):
    """An element's computed font: weight (100-900) and size in px (None: unknown, e.g. ``calc()``)."""

    weight: int = NORMAL
    size: float | None = _ROOT_PX

    @property
    def bold(self) -> bool:
        """What a reader sees as bold: 600 and above (``semibold`` and heavier)."""
        return self.weight >= 600


class TagStyle(NamedTuple):
    """A tag's default font in a browser's user-agent style sheet (None: inherited)."""

    weight: str | None = None
    size: str | None = None


# The browser's defaults (HTML's rendering section) for the tags that change a font.
UA_TAGS: Mapping[str, TagStyle] = {
    "strong": TagStyle("bolder"), "b": TagStyle("bolder"), "th": TagStyle("bold"),
    "h1": TagStyle("bold", "2em"), "h2": TagStyle("bold", "1.5em"), "h3": TagStyle("bold", "1.17em"),
    "h4": TagStyle("bold"), "h5": TagStyle("bold", "0.83em"), "h6": TagStyle("bold", "0.67em"),
    "small": TagStyle(None, "smaller"), "big": TagStyle(None, "larger"),
}
# Only the tags that mean emphasis: a heading's or a table header's own weight is
# said by the Markdown heading or header row, not by ``**``.
EMPHASIS_TAGS: Mapping[str, TagStyle] = {k: v for k, v in UA_TAGS.items() if k not in ("th", "h1", "h2", "h3", "h4",
                                                                                      "h5", "h6")}

_DECL = re.compile(r"([a-zA-Z-]+)\s*:\s*([^;]*)")
_IMPORTANT = re.compile(r"\s*!\s*important\s*$", re.I)
_LENGTH = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))\s*(px|pt|em|rem|%|pc|in|cm|mm|q|vw|vh)?$", re.I)
_KEYWORD_PX = {"xx-small": 9.0, "x-small": 10.0, "small": 13.0, "medium": 16.0, "large": 18.0,
               "x-large": 24.0, "xx-large": 32.0, "xxx-large": 48.0}
_UNIT_PX = {"px": 1.0, "pt": 4 / 3, "pc": 16.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4, "q": 96 / 101.6}


def declarations(style: str) -> dict[str, str]:
    """An inline ``style`` as {property: value}, lower-case; a later declaration wins unless an earlier
    one is ``!important``. Malformed pieces (``paddingLeft: 20px``, ``author: 737…``) are kept or
    skipped as a browser would: only the properties asked for are ever read."""
    out: dict[str, str] = {}
    important: set[str] = set()
    for m in _DECL.finditer(style):
        prop = m.group(1).lower()
        value = m.group(2).strip()
        imp = bool(_IMPORTANT.search(value))
        if imp:
            value = _IMPORTANT.sub("", value)
        if prop in important and not imp:
            continue
        if imp:
            important.add(prop)
        out[prop] = value.lower()
    return out


def font_weight(value: str | None, inherited: int) -> int:
    """A ``font-weight`` value given the parent's weight (``bolder``/``lighter`` are relative)."""
    if value is None:
        return inherited
    v = value.strip().lower()
    if v == "bold":
        return BOLD
    if v in ("normal", "initial"):
        return NORMAL
    if v == "bolder":
        return 400 if inherited < 350 else 700 if inherited < 550 else 900
    if v == "lighter":
        return 100 if inherited < 550 else 400 if inherited < 750 else 700
    try:
        n = float(v)
    except ValueError:
        return inherited  # inherit, unset, revert, var(--x), nonsense: the parent's
    return int(n) if 1 <= n <= 1000 else inherited


def font_size(value: str | None, inherited: float | None) -> float | None:
    """A ``font-size`` value in px given the parent's size (None: unknown)."""
    if value is None:
        return inherited
    v = value.strip().lower()
    if v in _KEYWORD_PX:
        return _KEYWORD_PX[v]
    if v in ("larger", "smaller"):
        return None if inherited is None else inherited * (1.2 if v == "larger" else 1 / 1.2)
    if v == "initial":
        return _ROOT_PX
    m = _LENGTH.match(v)
    if not m:
        return inherited  # inherit, unset, calc(), var(): the parent's, as good a guess as any
    n, unit = float(m.group(1)), (m.group(2) or "px").lower()
    if n < 0:
        return inherited  # invalid: ignored
    if unit in _UNIT_PX:
        return n * _UNIT_PX[unit]
    if unit == "rem":
        return n * _ROOT_PX
    if unit in ("em", "%"):
        return None if inherited is None else inherited * (n / 100 if unit == "%" else n)
    return None  # vw, vh: depends on the screen


_DEFAULT = Computed()
_FONT = re.compile(r"font(?:-weight|-size)?\s*:", re.I)  # (not font-family: the most common)
_FONT_DECL = re.compile(r"(?:^|;)\s*(font-weight|font-size|font)\s*:\s*([^;]*)", re.I)


def _own(el: etree._Element, parent: Computed, tags: Mapping[str, TagStyle]) -> Computed:
    """One element's font: its inline declarations in order (the later wins, ``!important`` stays),
    else its tag's default; relative values (``bolder``, ``1.5em``) against the parent's."""
    tag = el.tag.lower() if isinstance(el.tag, str) else ""
    ua = tags.get(tag)
    weight, size = parent.weight, parent.size
    if ua is not None:
        weight = font_weight(ua.weight, weight)
        size = font_size(ua.size, size)
    style = el.get("style")
    if style and _FONT.search(style):
        important: set[str] = set()
        for m in _FONT_DECL.finditer(style):
            prop, value = m.group(1).lower(), m.group(2)
            imp = bool(_IMPORTANT.search(value))
            value = _IMPORTANT.sub("", value).strip().lower()
            if important and not imp and (prop in important or prop == "font"):
                continue
            if imp:
                important.update(("font-weight", "font-size") if prop == "font" else (prop,))
            if prop == "font-weight":
                weight = font_weight(value, parent.weight)
            elif prop == "font-size":
                size = font_size(value, parent.size)
            else:
                weight, size = _shorthand(value, parent, weight, size)
    if weight == parent.weight and size == parent.size:
        return parent  # (one record shared by the many elements that change nothing)
    return Computed(weight, size)


def _shorthand(value: str, parent: Computed, weight: int, size: float | None) -> tuple[int, float | None]:
    """``font: [style] [weight] size[/line-height] family``: the weight it names, else normal, and its size.
    A value without a size is invalid (or a keyword like ``inherit``): nothing changes."""
    words = value.replace("/", " / ").split()
    new_weight = NORMAL
    for i, word in enumerate(words):
        if word in ("bold", "bolder", "lighter") or word.isdigit() and len(word) == 3:
            new_weight = font_weight(word, parent.weight)
        elif word in _KEYWORD_PX or word in ("larger", "smaller") or _LENGTH.match(word) and not word.isdigit():
            return new_weight, font_size(word, parent.size)
        elif word == "/" or i and words[i - 1] == "/":
            break
    return weight, size


def compute(root: etree._Element, *, tags: Mapping[str, TagStyle] = UA_TAGS,
            base: Computed = _DEFAULT) -> dict[etree._Element, Computed]:
    """Every element's computed font, ``root``'s included: tag defaults (``tags``), then its inline style,
    else the parent's. One walk, parents before children."""
    out: dict[etree._Element, Computed] = {root: _own(root, base, tags)}
    stack = [root]
    while stack:
        el = stack.pop()
        mine = out[el]
        for ch in el:
            if isinstance(ch.tag, str):
                out[ch] = _own(ch, mine, tags)
                stack.append(ch)
    return out
