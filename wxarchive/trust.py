"""The trust boundary for what others wrote: one check per kind of untrusted text.

A page, an archive folder and a state file come from others (issue 25). What they carry
reaches the user in three places, and each place has one function here:

- a URL the Markdown writer emits as a link or image target: :func:`safe_url`
  (``http``, ``https`` and site-relative only -- never ``javascript:``, ``data:``, ``vbscript:``,
  however it is spelled with entities, controls or case);
- raw HTML the writer must emit (a table Markdown cannot hold): :func:`sanitize_html`,
  an allow-list of tags, attributes and URL schemes kept by a maintained library (``nh3``,
  the binding of Rust's ammonia) rather than rules of our own;
- text printed to a terminal (titles, accounts, WeChat's reasons): :func:`visible`, which
  shows control characters instead of letting them move the cursor or retitle the window.

Pure: strings in, strings out.
"""
from __future__ import annotations

import html
import logging
import re

import nh3

__all__ = ["SAFE_SCHEMES", "VisibleFormatter", "safe_url", "sanitize_html", "visible"]

SAFE_SCHEMES = frozenset({"http", "https"})
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f]")  # what a browser strips from (or around) a URL before reading it


def safe_url(url: str) -> bool:
    """Whether ``url`` may be a link or image target: http(s), or a path on this site (no scheme at all).

    Read as a browser would after kramdown leaves entities in place: character references
    decoded (``javascript&colon;``), ASCII controls and spaces removed (``jav&#x09;ascript:``).
    """
    seen = _URL_IGNORED.sub("", html.unescape(url))
    m = _SCHEME.match(seen)
    return m is None or m.group(1).lower() in SAFE_SCHEMES


# The HTML the writer may emit as raw HTML: a table with its cells' inline content.
_TAGS = frozenset({"table", "caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", "td", "th",
                   "a", "img", "br", "p", "div", "span", "strong", "b", "em", "i", "del", "s", "strike",
                   "sup", "sub", "code", "pre", "ul", "ol", "li", "blockquote", "hr",
                   "h1", "h2", "h3", "h4", "h5", "h6", "figure", "figcaption"})
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt"}, "td": {"colspan", "rowspan"},
               "th": {"colspan", "rowspan"}, "ol": {"start"}, "col": {"span"}, "colgroup": {"span"}}


def sanitize_html(fragment: str) -> str:
    """``fragment`` with only the allowed tags, attributes and URL schemes; script and style content dropped.

    Every raw HTML block in a post goes through here, so a malformed tag (``<x<script>``) the
    HTML parser kept as a tag name cannot reach kramdown, which passes HTML blocks through.
    """
    return nh3.clean(fragment, tags=set(_TAGS), attributes={k: set(v) for k, v in _ATTRIBUTES.items()},
                     url_schemes=set(SAFE_SCHEMES), link_rel=None, strip_comments=True)


# C0 controls (but tab), DEL and C1 controls: ESC starts a terminal sequence, BEL rings, CSI (U+009B) is ESC [
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def visible(text: str) -> str:
    """``text`` safe to print to a terminal: each control character shown as ``\\xNN`` (newline too)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", str(text))


class VisibleFormatter(logging.Formatter):
    """A log line whose message shows control characters: a title holding a newline (or ESC) cannot
    start a line of its own in a log file someone's shell reads, nor drive the terminal."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = visible(record.message)
        return super().formatMessage(record)
