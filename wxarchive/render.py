"""Front matter (through a YAML library) and a Markdown body (a MarkdownConverter subclass).

Pure: the same Article and settings give the same text, byte for byte.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Mapping

import yaml
from bs4 import BeautifulSoup
from markdownify import ATX, BACKSLASH, MarkdownConverter

from .models import Article

__all__ = ["front_matter", "render", "render_body", "split_post"]

_LOCAL = "\x00wximg\x00"
_AMP_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_LONE_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")  # not between two letters/digits  # stands for the configured image prefix until Liquid escaping is done


class _Converter(MarkdownConverter):
    """markdownify, taught WeChat's leftovers: local image paths, HTML for ragged tables."""

    def __init__(self, local_images: Mapping[str, str], local_media: Mapping[str, str] | None = None,
                 **options: Any) -> None:
        super().__init__(**options)
        self._local = local_images
        self._media = local_media or {}

    def convert_a(self, el: Any, text: str, parent_tags: set[str]) -> str:
        local = self._media.get(el.get("href") or "")
        if local:
            el["href"] = _LOCAL + local
        return super().convert_a(el, text, parent_tags)

    def escape(self, text: str, parent_tags: set[str]) -> str:
        """Markdown escaping, plus what would otherwise be read as HTML (``List<String>``, ``&copy;``)."""
        text = super().escape(text, parent_tags)
        if "_noformat" in parent_tags:
            return text
        # an underscore inside a word (ip_local_port_range, a URL) cannot start emphasis: leave it bare
        text = _LONE_UNDERSCORE.sub(r"\\_", text)
        return _AMP_ENTITY.sub("&amp;", text).replace("<", "&lt;")

    def convert_img(self, el: Any, text: str, parent_tags: set[str]) -> str:
        src = el.get("src") or ""
        local = self._local.get(src)
        src = _LOCAL + local if local else src.replace(" ", "%20").replace(")", "%29").replace("(", "%28")
        alt = (el.get("alt") or "").replace("[", "").replace("]", "").replace("\n", " ")
        if "_inline" in parent_tags and not {"td", "th"} & parent_tags:
            return alt
        return f"![{alt}]({src})"

    def convert_table(self, el: Any, text: str, parent_tags: set[str]) -> str:
        ragged = el.find(["td", "th"], attrs={"colspan": True}) or el.find(["td", "th"], attrs={"rowspan": True}) \
            or el.find("table") or el.find(["ul", "ol", "pre", "blockquote"])
        if not ragged:
            rows = el.find_all("tr")
            widths = {len(r.find_all(["td", "th"], recursive=False)) for r in rows}
            ragged = len(widths) > 1
        if ragged:
            for img in el.find_all("img"):
                local = self._local.get(img.get("src") or "")
                if local:
                    img["src"] = _LOCAL + local
            return "\n\n" + str(el).replace("\n", " ") + "\n\n"
        return super().convert_table(el, text, parent_tags)

    def convert_td(self, el: Any, text: str, parent_tags: set[str]) -> str:
        return super().convert_td(el, " ".join(text.replace("|", "\\|").split()), parent_tags)

    convert_th = convert_td


def _code_lang(el: Any) -> str:
    return el.get("data-lang") or ""


_DEBRIS = [
    (re.compile(r"\*\*\s*\*\*"), ""),  # empty or adjacent bold
    (re.compile(r"(?m)^[ \t]*\*\*[ \t]*$\n?"), ""),  # a line of only **
    (re.compile(r"(?m)^[ \t]*\*[ \t]*$\n?"), ""),
    (re.compile(r"\xa0{2,}"), " "),
]


def _tidy(md: str) -> str:
    """Remove Markdown debris outside code blocks; keep code blocks byte for byte."""
    parts = re.split(r"(?ms)(^```[^\n]*\n.*?^```[ \t]*$)", md)
    for i in range(0, len(parts), 2):
        s = parts[i]
        for _ in range(2):
            for pat, rep in _DEBRIS:
                s = pat.sub(rep, s)
        s = s.replace("\xa0", " ")
        s = re.sub(r"(?m)^(#+)(?=[^#\s])", lambda m: "\\" + m.group(1), s)  # '#' not a heading
        s = re.sub(r"(?m)^(?!#)(\s*)\\?(#{1,6}) *$", r"", s)  # stray lone '#'
        s = re.sub(r"(?m)^(#{1,6} )[ \t]*(?:\*\*)?[ \t]*(.*?)[ \t]*(?:\*\*)?[ \t]*$",
                   lambda m: m.group(1) + m.group(2) if m.group(2) else "", s)
        s = re.sub(r"(?m)[ \t]+$", "", s)
        s = re.sub(r"(?m)^(\\)$\n", "", s)  # a hard break alone on a line
        s = re.sub(r"\n{3,}", "\n\n", s)
        parts[i] = s
    md = "".join(parts)
    md = re.sub(r"\n{3,}", "\n\n", md)
    return md.strip() + "\n"


def _escape_liquid(md: str) -> str:
    """Make ``{{`` and ``{%`` in the article reach the reader literally under Jekyll."""
    if "{{" not in md and "{%" not in md:
        return md
    return re.sub(r"\{[{%]", lambda m: "{% raw %}" + m.group(0) + "{% endraw %}", md)


def render_body(article: Article, *, image_prefix: str = "{{ site.baseurl }}/postimg/", liquid: bool = True) -> str:
    """The article body as Markdown, images pointing at their local copies when saved."""
    local = {img.url: img.local for img in article.images if img.local}
    media = {m.url: m.local for m in article.media if m.local}
    soup = BeautifulSoup(article.body_html or "", "lxml")
    conv = _Converter(local, media, heading_style=ATX, bullets="-", newline_style=BACKSLASH,
                      code_language_callback=_code_lang, escape_underscores=False, escape_misc=False,
                      table_infer_header=True)
    md = conv.convert_soup(soup)
    md = _tidy(md)
    if liquid:
        md = _escape_liquid(md)
    return md.replace(_LOCAL, image_prefix)


def _date(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S %z") if value else None


def front_matter(article: Article, site: Mapping[str, Any]) -> dict[str, Any]:
    """The post's front matter as a plain mapping (emitted by PyYAML, never by hand)."""
    fm: dict[str, Any] = {
        "layout": site.get("layout", "post"),
        "title": article.title,
        "date": _date(article.published),
        "author": site.get("author") or article.author or article.account,
        "account": article.account,
        "source_url": article.canonical_url or article.url,
        "header-img": site.get("header_img", "img/the-first.png"),
        "catalog": bool(site.get("catalog", False)),
        "tags": list(site.get("tags", ["其他"])),
        "kind": article.kind,
        "original": article.original,
    }
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
    return fm


_YAML_BREAKS = ("\x85", "\u2028", "\u2029")


def _dump(fm: Mapping[str, Any]) -> str:
    # PyYAML writes NEL/LS/PS raw under allow_unicode, and its reader then folds them
    # as line breaks; the rare post holding one is written all-escaped so it round-trips
    text = yaml.safe_dump(dict(fm), allow_unicode=True, sort_keys=False, default_flow_style=False, width=2**30)
    if any(b in text for b in _YAML_BREAKS):
        text = yaml.safe_dump(dict(fm), allow_unicode=False, sort_keys=False, default_flow_style=False, width=2**30)
    return text


def render(article: Article, site: Mapping[str, Any] | None = None) -> str:
    """The whole post: front matter, optional attribution quote, body."""
    site = site or {}
    prefix = site.get("image_prefix", "{{ site.baseurl }}/postimg/")
    liquid = bool(site.get("liquid", True))
    body = render_body(article, image_prefix=prefix, liquid=liquid)
    head = ""
    if site.get("attribution", True):
        who = article.account or "微信公众号"
        src = article.canonical_url or article.url
        head = f"> 转载：{_md_text(who)}\\\n> 来源：微信公众号 [原文链接](<{src}>)\n\n"
        if liquid:
            head = _escape_liquid(head)
    return "---\n" + _dump(front_matter(article, site)) + "---\n\n" + head + body


def _md_text(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>#])", r"\\\1", " ".join(text.split()))


def split_post(text: str) -> tuple[dict[str, Any], str]:
    """Front matter and body of a post written by :func:`render` (used by tests and rebuild)."""
    m = re.match(r"---\n(.*?\n)---\n", text, re.S)
    if not m:
        return {}, text
    return yaml.safe_load(m.group(1)) or {}, text[m.end():]
