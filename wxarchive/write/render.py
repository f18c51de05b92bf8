"""Front matter (PyYAML's, see :mod:`~wxarchive.write.yamlplain`) and the Markdown body (written by :mod:`wxarchive.write.markdown`).

Pure: the same Article and settings give the same text, byte for byte.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any
from collections.abc import Callable, Mapping

from wxarchive.write import yamlplain
from wxarchive.write.original import Fate, mark_source
from wxarchive.extract.htmltree import fragment
from wxarchive.write.markdown import escape_text, escape_url, to_markdown
from wxarchive.models import Article, Choices
from wxarchive.settings import Settings
from wxarchive.trust import safe_url

__all__ = ["dump_yaml", "front_matter", "render", "render_body", "source_line", "split_post"]

def _escape_liquid(text: str) -> str:
    """Make ``{{`` and ``{%`` in the article reach the reader literally under Jekyll."""
    if "{{" not in text and "{%" not in text:
        return text
    return re.sub(r"\{[{%]", lambda m: "{% raw %}" + m.group(0) + "{% endraw %}", text)


def _no_liquid(text: str) -> str:
    return text


def render_body(article: Article, *, image_prefix: str = "{{ site.baseurl }}/postimg/", liquid: bool = True) -> str:
    """The article body as Markdown, images pointing at their local copies when saved."""
    return _body(article, image_prefix, _escape_liquid if liquid else _no_liquid)


def _body(article: Article, image_prefix: str, lit: Callable[[str], str]) -> str:
    local = {img.url: image_prefix + img.local for img in article.images if img.local}
    media = {m.url: image_prefix + m.local for m in article.media if m.local}
    if not (article.body_html or "").strip():
        return "\n"
    root = fragment(article.body_html)
    md = to_markdown(root, local_images=local, local_links=media, text_filter=lit)
    return md or "\n"


class _LiquidSeen:
    """A text filter that leaves the article's literals alone and notes whether Liquid would read one."""

    def __init__(self) -> None:
        self.seen = False

    def __call__(self, text: str) -> str:
        if "{{" in text or "{%" in text:
            self.seen = True
        return text


def _own_liquid(article: Article, site: Settings) -> bool:
    """Whether the post's own links need Liquid: saved images or media behind a ``{{ site.baseurl }}`` prefix."""
    liquid_prefix = "{{" in site.image_prefix or "{%" in site.image_prefix
    return liquid_prefix and (any(i.local for i in article.images) or any(m.local for m in article.media))


def _date(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S %z") if value else None


def front_matter(article: Article, site: Settings, fate: Fate | None = None,
                 choices: Choices | None = None) -> dict[str, Any]:
    """The post's front matter as a plain mapping (written as PyYAML writes it, never by string
    formatting: see :func:`dump_yaml`); ``fate``: see check.
    ``choices``: the per-post options it was made with; ``keep_footers`` is written when set, so
    `rebuild --from-posts` can give it back to a lost state (issue 25)."""
    fm: dict[str, Any] = {
        "layout": site.layout,
        "title": article.title,
        "date": _date(article.published),
        "author": site.author or article.author or article.account,
        "account": article.account,
        "source_url": article.canonical_url or article.url,
        # theme-specific keys come from the archive's wxarchive.toml only (issue 11)
        "header-img": site.header_img,
        "catalog": site.catalog,
        "tags": list(site.tags),
        "kind": article.kind,
        "original": article.original,
    }
    for k in ("header-img", "catalog"):
        if fm[k] is None:
            del fm[k]
    if article.author and fm["author"] != article.author:
        fm["article_author"] = article.author
    optional: dict[str, Any] = {
        "digest": article.digest,
        "cover": article.cover,
        "read_more_url": article.read_more_url,
        "title_derived": article.title_derived or None,
        "reprint_of": dict(article.reprint_of) if article.reprint_of else None,
        "paid_preview": article.paid_preview or None,
        "media": [{"kind": m.kind, "url": m.url, **({"title": m.title} if m.title else {}),
                   **({"file": m.local} if m.local else {})} for m in article.media] or None,
        "biz": article.biz,
        "mid": article.mid,
        "idx": article.idx,
        "archived_at": _date(article.archived_at.astimezone(article.published.tzinfo) if article.archived_at and article.published else article.archived_at),
    }
    fm.update({k: v for k, v in optional.items() if v not in (None, "", [], {})})
    for choice in (choices or Choices()).set():  # what the post was made with, written only when set, so a
        fm[choice] = True  # recovery from the posts gives the choice back (issue 25)
    if fate is not None:
        fm.update(fate.front_matter())
    return fm


_YAML_BREAKS = ("\x85", "\u2028", "\u2029")

# What Ruby's YAML (Psych's ScalarScanner, which Jekyll's front-matter reader uses) turns from a
# plain scalar into something other than a string -- wider than PyYAML's resolver: `1,000` is
# 1000 and `2,3` is 23 there, `:x` a Symbol (which Jekyll's safe_load refuses), `yEs` true.
_PSYCH_RETYPED = [re.compile(p, f) for p, f in (
    (r"-?\d{4}-\d{1,2}-\d{1,2}(?:[Tt]|\s+)\d{1,2}:\d\d:\d\d(?:\.\d*)?(?:\s*(?:Z|[-+]\d{1,2}:?(?:\d\d)?))?", 0),
    (r"\d{4}-(?:1[012]|0\d|\d)-(?:[12]\d|3[01]|0\d|\d)", 0),
    (r"[-+]?\.(?:inf|nan)", re.I),
    (r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9]){1,2}(?:\.[0-9_]*)?", 0),
    (r"[-+]?(?:[0-9][0-9_,]*)?\.[0-9]*(?:[eE][-+][0-9]+)?", 0),
    (r"[-+]?0b[0-1_,]+|[-+]?0[0-7_,]+|[-+]?(?:0|[1-9](?:[0-9]|,[0-9]|_[0-9])*)|[-+]?0x[0-9a-fA-F_,]+", 0),
    (r"~|null|yes|true|on|no|false|off", re.I),
)]


def _retyped_by_ruby(s: str) -> bool:
    """Whether a plain (unquoted) ``s`` would reach Jekyll as anything but this very string."""
    if "\n" in s:
        return False  # Psych keeps any multi-line scalar a string (and PyYAML quotes those)
    return s.startswith(":") or any(p.fullmatch(s) for p in _PSYCH_RETYPED)


class _Timestamp(str):
    """A front-matter date we format ourselves: written plain, so Jekyll reads it as a time."""


@functools.cache
def _dumper() -> type:
    """PyYAML's safe dumper, quoting every string another YAML 1.1 reader could retype (PyYAML is loaded
    only for front matter :mod:`~wxarchive.write.yamlplain` does not write: ~10 ms of a ``get``)."""
    import yaml

    class FrontMatterDumper(yaml.SafeDumper):
        pass

    def represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
        if _retyped_by_ruby(data):
            return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="'")
        return dumper.represent_str(data)

    FrontMatterDumper.add_representer(str, represent_str)
    FrontMatterDumper.add_representer(_Timestamp, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v)))
    return FrontMatterDumper


# written as YAML timestamps (unquoted), one type for every date-time of a post: a quoted
# source_checked_at was a string where archived_at is a time (Liquid's date filter, sorting)
_TIMESTAMPS = ("date", "archived_at", "source_checked_at", "source_gone_at")


def dump_yaml(fm: Mapping[str, Any]) -> str:
    """The front matter's YAML: PyYAML's text, written without PyYAML for the flat shapes it nearly always has."""
    data = {k: _Timestamp(v) if k in _TIMESTAMPS and isinstance(v, str) else v for k, v in fm.items()}
    return yamlplain.dump(data, quote_if=_retyped_by_ruby, plain=(_Timestamp,)) or _pyyaml(data)


def _pyyaml(data: Mapping[str, Any]) -> str:
    import yaml

    # PyYAML writes NEL/LS/PS raw under allow_unicode, and its reader then folds them
    # as line breaks; the rare post holding one is written all-escaped so it round-trips
    opts: dict[str, Any] = {"Dumper": _dumper(), "sort_keys": False, "default_flow_style": False, "width": 2**30}
    text = yaml.dump(data, allow_unicode=True, **opts)
    if any(b in text for b in _YAML_BREAKS):
        text = yaml.dump(data, allow_unicode=False, **opts)
    return str(text)


def render(article: Article, site: Settings | None = None, fate: Fate | None = None,
           choices: Choices | None = None) -> str:
    """The whole post: front matter, optional attribution quote, body.

    Article text holding ``{{`` or ``{%`` must reach Jekyll's readers literally. The post then
    says ``render_with_liquid: false`` (Jekyll 4.1+ skips Liquid for it) and its Markdown stays
    clean for GitHub and Obsidian too. Only a post that also needs Liquid itself (saved images
    behind a ``{{ site.baseurl }}`` prefix) wraps each such literal in ``{% raw %}`` instead.
    """
    site = site or Settings()
    fm = front_matter(article, site, fate, choices)
    seen = _LiquidSeen()
    body = _body(article, site.image_prefix, seen if site.liquid else _no_liquid)
    head = _attribution(article, seen if site.liquid else _no_liquid, fate) if site.attribution else ""
    if seen.seen:
        if _own_liquid(article, site):
            body = _body(article, site.image_prefix, _escape_liquid)
            head = _attribution(article, _escape_liquid, fate) if site.attribution else ""
        else:
            fm["render_with_liquid"] = False
    return "---\n" + dump_yaml(fm) + "---\n\n" + head + body


def source_line(url: str, fate: Fate | None = None, liquid: bool = True) -> str:
    """``来源：微信公众号 [原文链接](url)``, struck through with a note once `check` saw the original gone."""
    return _source_line(url, fate, _escape_liquid if liquid else _no_liquid)


def _source_line(url: str, fate: Fate | None, lit: Callable[[str], str]) -> str:
    link = f"[原文链接]({lit(escape_url(url))})" if safe_url(url) else "原文链接"
    return "来源：微信公众号 " + mark_source(link, fate, lit)


def _attribution(article: Article, lit: Callable[[str], str], fate: Fate | None = None) -> str:
    """The quote on top of a post: whose it is and where it came from (a reprint's origin too)."""

    def text(s: str) -> str:
        return lit(escape_text(" ".join(s.split())))

    def link(label: str, url: str) -> str:
        return f"[{label}]({lit(escape_url(url))})" if safe_url(url) else ""

    lines = [f"转载：{text(article.account or '微信公众号')}",
             _source_line(article.canonical_url or article.url, fate, lit)]
    orig = dict(article.reprint_of)
    if orig.get("account") or orig.get("author"):
        who = "，".join(x for x in (text(orig.get("account", "")),
                                    ("作者：" + text(orig["author"])) if orig.get("author") else "") if x)
        lines.append(("原作：" + who + (" " + link("原文", orig["url"]) if orig.get("url") else "")).rstrip())
    if orig.get("note"):
        note = [text(x) for x in orig["note"].split("\n") if x.strip()]
        lines.extend(["编者荐语：" + note[0], *note[1:]])
    return "\n".join("> " + ln + ("\\" if i < len(lines) - 1 else "") for i, ln in enumerate(lines)) + "\n\n"


def split_post(text: str) -> tuple[dict[str, Any], str]:
    """Front matter and body of a post written by :func:`render` (tests); ``{}`` and the whole text when it
    has none. Read by :func:`~wxarchive.write.frontmatter.read_front_matter` (its errors too)."""
    from wxarchive.write.frontmatter import read_front_matter  # (PyYAML: loaded when a post is read)

    fm = read_front_matter(text)
    return (fm.data, text[fm.end:]) if fm else ({}, text)
