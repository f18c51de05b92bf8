"""Turn the raw article body into clean, simple HTML and collect its images.

Pure: ``clean(article)`` returns a new Article whose ``body_html`` holds only
content (paragraphs, headings, lists, tables, code, quotes, links, images)
and whose ``images`` lists every content image once. Boilerplate at the head
and tail is removed by the rules in :mod:`wxarchive.extract.boilerplate`.
"""
from __future__ import annotations

import dataclasses
import hashlib
import html
import logging
import re
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from lxml import etree

from wxarchive.extract import boilerplate
from wxarchive.extract import footimg
from wxarchive.extract import players
from wxarchive.extract import style
from wxarchive.extract.htmltree import Element, drop_tag, drop_tree, fragment, text_content
from wxarchive.extract.jsdata import js_unescape
from wxarchive.models import Article, Image, Media
from wxarchive.urls import MP_VIDEO_PREFIXES, video_url

__all__ = ["BLOCK_TAGS", "Cleaned", "clean", "clean_fragment", "image_name", "image_url_ok"]

log = logging.getLogger(__name__)

BLOCK_TAGS = frozenset(
    ["p", "div", "section", "article", "blockquote", "pre", "ul", "ol", "li", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "figure", "figcaption", "hr", "dl", "dt", "dd", "header", "footer", "aside", "center"]
)
_DROP_TAGS = ("script", "style", "noscript", "link", "meta", "template", "mp-style-type", "svg", "canvas",
              "input", "button", "textarea", "select", "form", "object", "embed", "title", "head",
              "mp-common-sticker", "mpprofile", "mp-common-profile", "qqmusic-skeleton")
_DROP_CLASSES = ("mp_profile_iframe_wrp", "original_area_primary", "original_area_extra", "code-snippet__line-index",
                 "js_uneditable_profile", "wx_profile_card", "reward_area", "rich_media_tool", "qr_code_pc",
                 "js_pc_qr_code", "weui-loadmore", "js_banner_container")
_DROP_IDS = ("js_top_ad_area", "js_tags_preview_toast", "content_bottom_area", "js_pc_qr_code",
             "wx_stream_article_slide_tip", "meta_content", "js_profile_qrcode", "js_share_notice_wrp")
_KEEP_ATTRS = {"a": ("href", "title"), "img": ("src", "alt"), "td": ("colspan", "rowspan"),
               "th": ("colspan", "rowspan"), "pre": ("data-lang",), "code": ("data-lang",), "ol": ("start",)}
_UNWRAP = frozenset(["span", "font", "o:p", "mark", "u", "ins", "small", "big", "label", "leaf", "a-wrapper", "mpchecktext", "nobr", "wbr"])
_BG_URL = re.compile(r"""background(?:-image)?\s*:[^;]*?url\(\s*(?:&quot;|["'])?(.+?)(?:&quot;|["'])?\s*\)""", re.I)
_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DOC_WRITE = re.compile(r"""document\.write\(\s*("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')""")
_MEDIA_ID = re.compile(r"/(?:mmbiz_\w+|sz_mmbiz_\w+|mmbiz)/([A-Za-z0-9_-]{16,})/")


def image_url_ok(url: str) -> bool:
    """A content image URL: http(s), not an avatar, not a UI icon or emoji, not a data: placeholder."""
    if not url.startswith(("http://", "https://", "//")):
        return False
    try:
        host = (urlsplit(url if not url.startswith("//") else "https:" + url).hostname or "").lower()
    except ValueError:  # malformed (e.g. an unclosed IPv6 bracket): not a usable URL
        return False
    if host.endswith("qlogo.cn") and "/mmhead/" in url:
        return False
    if host == "res.wx.qq.com" or host.endswith(".res.wx.qq.com"):
        return False
    return not ("pic_blank.gif" in url or "/mmhead/" in url)


def image_name(url: str) -> str:
    """Stable file stem: the mmbiz media id when there is one, else a hash of the URL."""
    m = _MEDIA_ID.search(url)
    if m and len(m.group(1)) <= 120:
        return m.group(1)
    if m:  # a media id too long for a file name (255 bytes): its start plus a hash of all of it
        return m.group(1)[:80] + "-" + hashlib.sha1(m.group(1).encode()).hexdigest()[:16]

    try:
        path = urlsplit(url).path.rstrip("/")
    except ValueError:
        path = ""
    stem = re.sub(r"[^A-Za-z0-9_-]", "", path.rsplit("/", 1)[-1].rsplit(".", 1)[0])[:40]
    digest = hashlib.sha1(url.encode("utf-8", "replace")).hexdigest()[:12]
    return f"{stem}-{digest}" if stem else digest


def _drop(el: etree._Element) -> None:
    """Remove an element but keep its tail text."""
    if el.getparent() is not None:
        drop_tree(el)


def _unwrap_all(root: etree._Element, match: Callable[[str], bool]) -> None:
    """Replace every matching element by its content, one rebuild per parent.

    lxml's ``drop_tag`` looks up the element's index, so unwrapping N sibling
    spans one by one is quadratic; this is linear.
    """
    parents: dict[etree._Element, None] = {}  # in the order of their first match: reversed, inner ones first
    for e in root.iter():
        if e is not root and isinstance(e.tag, str) and match(e.tag):
            parents.setdefault(e.getparent(), None)
    for parent in reversed(list(parents)):
        children = list(parent)
        head: list[str] = [parent.text or ""]
        kept: list[etree._Element] = []
        tails: list[list[str]] = []
        for c in children:
            if isinstance(c.tag, str) and match(c.tag):
                (tails[-1] if kept else head).append(c.text or "")
                for g in list(c):
                    kept.append(g)
                    tails.append([g.tail or ""])
                (tails[-1] if kept else head).append(c.tail or "")
            else:
                kept.append(c)
                tails.append([c.tail or ""])
        for c in children:
            c.tail = None
        del parent[:]
        parent.text = "".join(head) or None
        for el, tail in zip(kept, tails, strict=False):
            el.tail = "".join(tail) or None
            parent.append(el)


def _unwrap(el: etree._Element) -> None:
    if el.getparent() is not None:
        drop_tag(el)


def _norm_src(el: etree._Element) -> str:
    cands = [el.get("data-src"), el.get("data-original"), el.get("src"), el.get("data-backsrc"), el.get("data-croporisrc")]
    for c in cands:
        if not c:
            continue
        c = html.unescape(c.strip())
        if c.startswith("//"):
            c = "https:" + c
        if c.startswith(("http://", "https://")):
            return c
    return ""


def _has_block_child(el: etree._Element) -> bool:
    return any(isinstance(c.tag, str) and c.tag in BLOCK_TAGS for c in el.iterdescendants())


def _with_block_descendants(elements: list[etree._Element]) -> set[etree._Element]:
    """Elements (of ``elements``, in document order) holding a block element somewhere inside.

    One bottom-up pass instead of a descendant walk per element, which is
    quadratic on WeChat's deeply nested sections.
    """
    out: set[etree._Element] = set()
    for el in reversed(elements):
        for child in el:
            if child in out or (isinstance(child.tag, str) and child.tag in BLOCK_TAGS):
                out.add(el)
                break
    return out


_DISPLAY = re.compile(r"(?:^|;)\s*display\s*:\s*([a-z-]+)", re.I)
_HIDDEN = re.compile(r"(?:^|;)\s*(?:visibility\s*:\s*hidden|display\s*:\s*none)", re.I)
_COLUMN = re.compile(r"flex-direction\s*:\s*column", re.I)
_INLINE_DISPLAYS = frozenset(("inline", "inline-block", "inline-flex", "inline-table", "contents", "table-cell"))
_BLOCK_DISPLAYS = frozenset(("block", "flex", "grid", "list-item", "table", "table-row"))
_CONTAINERS = frozenset(("section", "p", "div", "article", "center", "header", "footer", "aside", "figure"))


def _apply_display(root: etree._Element) -> None:
    """Make the tree's blocks the ones a browser shows, before the styles go.

    A ``display:block`` span is a line of its own (WeChat builds bullet lists
    that way); an ``inline-block`` section or a ``table-cell`` sits on its
    line; the children of a row flex container share one line; hidden,
    image-less elements are not shown at all.
    """
    for el in root.xpath(".//*[@style]"):
        if el.getparent() is None:
            continue
        style = el.get("style") or ""
        low = style.lower()
        if "display" not in low and "visibility" not in low:
            continue  # (two regex scans of every style cost ~1 ms an article)
        if _HIDDEN.search(style) and el.get("id") != "js_content" and el.find(".//img") is None \
                and el.tag != "img":
            _drop(el)
            continue
        m = _DISPLAY.search(style)
        d = m.group(1).lower() if m else ""
        if d in _BLOCK_DISPLAYS and el.tag in _UNWRAP:
            el.tag = "p"
        elif d in _INLINE_DISPLAYS and el.tag in _CONTAINERS:
            el.tag = "span"
        if d in ("flex", "inline-flex") and not _COLUMN.search(style):
            for ch in el:
                if isinstance(ch.tag, str) and (ch.tag in _CONTAINERS or ch.tag in _UNWRAP):
                    ch.tag = "span"
                    ch.set("style", _DISPLAY.sub("", ch.get("style") or ""))


_SMALL = re.compile(r"(?:^|;)\s*(?:height|max-height)\s*:\s*(\d+(?:\.\d+)?)px|background-size\s*:\s*\S+\s+(\d+(?:\.\d+)?)px",
                    re.I)


def _decoration(el: etree._Element, style: str) -> bool:
    """A CSS background on an empty, low element: a code window's title bar, a divider, a bullet."""
    if (text_content(el) or "").strip():
        return False
    sizes = [float(a or b) for a, b in _SMALL.findall(style)]
    return bool(sizes) and min(sizes) <= 40


def _code_text(pre: etree._Element) -> str:
    """The text of a code block, one line per ``<code>`` line or ``<br>``."""
    for sp in pre.xpath('.//*[contains(@style,"mmbiz_svg") or contains(@style,"background: url")]'):
        if not (text_content(sp) or "").strip():
            _drop(sp)
    for ln in pre.xpath('.//ul[contains(@class,"code-snippet__line-index")]'):
        _drop(ln)
    codes = pre.findall(".//code")
    for br in pre.iter("br"):
        br.tail = "\n" + (br.tail or "")
    if len(codes) > 1 and all(not (c.tail or "").strip() for c in codes):
        text = "\n".join(text_content(c) for c in codes)
    else:
        text = text_content(pre)
    return text.replace("\xa0", " ").replace("\r", "").strip("\n")


def _lang(pre: etree._Element) -> str:
    lang = pre.get("data-lang") or ""
    if not lang:
        for el in [pre, *pre.iter("code")]:
            m = re.search(r"\blang(?:uage)?-([\w+#-]+)", el.get("class") or "")
            if m:
                lang = m.group(1)
                break
    return re.sub(r"[^\w+#-]", "", lang)[:20]


def _drop_player_ui(root: etree._Element, body_html: str, marked: bool) -> list[tuple[str, str]]:
    """WeChat's player UI and stale scroll hints kept by post-JS captures (see :mod:`players`);
    ``marked``: the body may hold a player at all. Returns (reason, text) of what went."""
    removed = []
    if "滑" in body_html or "滚" in body_html:
        removed += players.drop_scroll_hints(root)
    if marked:
        removed += players.drop_chrome(root)
        players.drop_repeated_videos(root)
    return removed


def _media_placeholders(root: etree._Element, media: list[Media], known: dict[str, Media],
                        marked: bool = True) -> None:
    """Audio, video, mini-programs and cards become a short readable line, never nothing.

    ``known`` maps a WeChat video id to what the page's scripts say about it
    (poster, direct file), so an in-article video keeps its poster and link.
    """
    _audio_placeholders(root, media)
    _video_placeholders(root, media, known, marked)
    _card_placeholders(root)


def _audio_placeholders(root: etree._Element, media: list[Media]) -> None:
    """``mpvoice`` / ``mp-common-mpaudio``: a line with the audio's name, linked when it has a file id."""
    for el in list(root.iter("mpvoice", "mp-common-mpaudio")):
        fid = el.get("voice_encode_fileid") or el.get("data-voice_encode_fileid") or ""
        name = html.unescape(el.get("name") or el.get("data-name") or "音频")
        p = Element("p")
        if fid:
            url = f"https://res.wx.qq.com/voice/getvoice?mediaid={fid}"
            media.append(Media(kind="audio", url=url, title=name, direct_url=url, ident=fid))
            p.text = "🔊 音频："
            a = etree.SubElement(p, "a", href=url)
            a.text = name
        else:
            p.text = f"🔊 音频：{name}"
        p.tail = el.tail
        el.getparent().replace(el, p)


def _video_source(el: etree._Element, known: dict[str, Media]) -> tuple[str, str, str]:
    """(link, poster, WeChat video id) of a video element; the link is empty when it has none."""
    src = html.unescape(el.get("data-src") or el.get("src") or "")
    vid = el.get("data-mpvid") or ""
    m = re.search(r"[?&]vid=([A-Za-z0-9_]+)", src)
    if not vid and m and m.group(1).startswith(MP_VIDEO_PREFIXES):
        vid = m.group(1)  # WeChat's player template named in the frame's source
    url = ""
    if vid:  # WeChat's own video (wxv_…): what the page's scripts say about it, else its player
        url = known[vid].url if vid in known else video_url(vid, wechat=True)
    elif m and "qq.com" in src:  # a Tencent Video embed
        url = video_url(m.group(1))
    elif src.startswith(("http://", "https://")):
        url = src
    poster = known[vid].poster if vid in known and known[vid].poster else \
        unquote(html.unescape(el.get("data-cover") or el.get("poster") or ""))  # WeChat %-encodes it
    return url, poster, vid


def _video_placeholders(root: etree._Element, media: list[Media], known: dict[str, Media],
                        marked: bool = True) -> None:
    """Players and embeds: the poster and a "▶ 视频" link; an element with neither goes.
    ``marked``: the body may hold video frames marked by class or id, not only player tags."""
    videos = players.videos(root, marked)
    inner = {d for el in videos for d in el.iterdescendants()}  # (a video element inside another goes with it)
    for el in videos:
        if el in inner:
            continue
        url, poster, vid = _video_source(el, known)
        p = Element("p")
        if poster.startswith("http") and image_url_ok(poster):
            etree.SubElement(p, "img", src=poster, alt="视频封面")
            etree.SubElement(p, "br")
        if url:
            media.append(known[vid] if vid in known else Media(kind="video", url=url, poster=poster, ident=vid))
            a = etree.SubElement(p, "a", href=url)
            a.text = "▶ 视频"
        parent = el.getparent()
        if parent is None:
            continue
        if len(p) == 0:  # no poster, no link: nothing to show
            _drop(el)
        else:
            p.tail = el.tail
            parent.replace(el, p)


_CARD_TAGS = frozenset(("mp-miniprogram", "mp-common-miniprogram", "mpcps", "mp-common-cpsad", "mp-common-product",
                        "mp-common-poi", "mp-common-vote", "mpvote", "qqmusic", "mp-common-qqmusic",
                        "mp-common-videosnap"))
_CARD_CLASSES = ("weapp_display_element", "js_weapp_entry")


def _cards(root: etree._Element) -> list[etree._Element]:
    """The cards, in document order: one walk testing each tag in a set (an XPath of 13 name tests
    and two class tests per element took ~1.5 ms an article)."""
    out = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag in _CARD_TAGS:
            out.append(el)
            continue
        c = el.get("class")
        if c and any(k in c for k in _CARD_CLASSES):
            out.append(el)
    return out


def _card_placeholders(root: etree._Element) -> None:
    """Mini-programs, product, vote, music and channel cards: 〔kind：title〕 and a link when there is one."""
    for el in _cards(root):
        if el.getparent() is None:
            continue
        tag = el.tag if isinstance(el.tag, str) else ""
        music = " — ".join(x for x in (el.get("music_name") or el.get("data-music_name"), el.get("singer")) if x)
        title = (el.get("data-miniprogram-title") or el.get("data-title") or el.get("data-product_name") or music
                 or el.get("data-nickname") or el.get("data-desc") or " ".join(text_content(el).split()))[:80]
        label = ("投票" if "vote" in tag else "商品卡片" if ("cps" in tag or "product" in tag) else
                 "音乐" if "music" in tag else "视频号" if "videosnap" in tag else "小程序")
        href = el.get("data-miniprogram-path") or el.get("data-url") or el.get("href") or ""
        if not title and not href.startswith("http"):
            _drop(el)  # a card with neither a title nor a link says nothing to a reader
            continue
        p = Element("p")
        p.text = f"〔{label}：{title or '（无标题）'}〕"
        if href.startswith("http"):
            a = etree.SubElement(p, "a", href=href)
            a.text = "链接"
        p.tail = el.tail
        el.getparent().replace(el, p)


_NO_MARKER = re.compile(r"(?:^|\s)none(?:\s|$)")


def _no_marker(el: etree._Element) -> bool:
    """Whether an element's inline style hides its list marker (``list-style: none``)."""
    s = el.get("style")
    if not s or "list-style" not in s.lower():
        return False
    d = style.declarations(s)
    value = d.get("list-style-type", d.get("list-style", ""))
    return bool(_NO_MARKER.search(value))


def _unlisted(root: etree._Element) -> None:
    """A list whose markers are hidden (``list-style: none``) is lines, not a list: its items often
    carry typed numbers (``1.``), which a Markdown list would show twice (``1. 1.``)."""
    for lst in list(root.iter("ol", "ul")):
        items = [li for li in lst if isinstance(li.tag, str) and li.tag == "li"]
        if not items or not (_no_marker(lst) or all(_no_marker(li) for li in items)):
            continue
        lst.tag = "div"
        for li in items:
            li.tag = "div"


_TITLE_MAX = 40  # letters and digits of a line that reads as a title
_SENTENCE_INSIDE = re.compile(r"[。！？!?]+(?=.*\w)")  # a sentence end with more text after it
_NOT_ALNUM = re.compile(r"[\W_]+")


def _alnum(text: str) -> int:
    """How many letters and digits (a regex pass: ~10x a character loop)."""
    return len(_NOT_ALNUM.sub("", text)) if text else 0


def _body_size(fonts: dict[etree._Element, style.Computed]) -> float:
    """The article's body font size: the size most of its letters have (16 px when unknown)."""
    weight: dict[float, int] = {}
    for el, f in fonts.items():
        if f.size is not None:
            n = _alnum(el.text or "") + sum(_alnum(c.tail or "") for c in el)
            if n:
                weight[f.size] = weight.get(f.size, 0) + n
    return max(weight, key=lambda k: weight[k]) if weight else 16.0


def _big_titles(root: etree._Element, fonts: dict[etree._Element, style.Computed]) -> list[etree._Element]:
    """Short stand-alone lines the page sets bigger than its body: titles a reader sees as such.

    A leaf block (no block inside, no image, one line), of one sentence and at most
    ``_TITLE_MAX`` letters, every letter of it in a font clearly bigger than the body's
    (18 px and 1.2 times the body, or 20 px and 1.1 times).
    """
    largest = max((f.size for f in set(fonts.values()) if f.size is not None), default=0.0)
    if largest < 18:
        return []  # (most posts: nothing is set big)
    body = _body_size(fonts)
    big = min(max(18.0, 1.2 * body), max(20.0, 1.1 * body))
    if largest < big:
        return []
    out = []
    seeds = [e for e, f in fonts.items() if f.size is not None and f.size >= big
             and (_alnum(e.text or "") or any(_alnum(c.tail or "") for c in e))]
    for el in _blocks_holding(root, seeds):
        text = text_content(el)
        n = _alnum(text)
        if not n or n > _TITLE_MAX or _SENTENCE_INSIDE.search(text.strip()) or el.find(".//img") is not None \
                or any(b.tail and b.tail.strip() for b in el.iter("br")) \
                or any(isinstance(d.tag, str) and d.tag in BLOCK_TAGS for d in el.iterdescendants()):
            continue
        if _all_big(el, fonts, big):
            out.append(el)
    return out


def _blocks_holding(root: etree._Element, elements: list[etree._Element]) -> list[etree._Element]:
    """The nearest line block (paragraph, section...) around each element, once each, in no order."""
    out: dict[etree._Element, None] = {}
    for el in elements:
        e: etree._Element | None = el
        while e is not None and e is not root and not (isinstance(e.tag, str) and e.tag in _LINE_BLOCKS):
            if isinstance(e.tag, str) and e.tag in BLOCK_TAGS:
                e = None  # a heading, cell, list item...: not a line of body text
                break
            e = e.getparent()
        if e is not None and e is not root:
            out[e] = None
    return list(out)


_LINE_BLOCKS = frozenset(("p", "div", "section", "article", "center", "header", "footer", "aside", "blockquote",
                          "figcaption"))


def _all_big(el: etree._Element, fonts: dict[etree._Element, style.Computed], big: float) -> bool:
    """Every letter inside ``el`` is shown at ``big`` px or more (a child's tail in its parent's font)."""
    def small(size: float | None) -> bool:
        return size is None or size < big

    for d in el.iter():
        if not isinstance(d.tag, str):
            continue
        if _alnum(d.text or "") and small(fonts[d].size):
            return False
        if d is not el and _alnum(d.tail or "") and small(fonts[d.getparent()].size):
            return False
    return True


def _computed_emphasis(root: etree._Element) -> None:
    """Bold is what the browser shows bold: the computed font weight, not the tags.

    ``font-weight: bold``/``600``+ on a span is bold; spans set to ``font-weight: normal``
    inside a ``<strong>`` are not; a short stand-alone line set bigger than the body is a
    title and stays bold. Every ``<strong>``/``<b>`` goes and each run of text shown bold is
    wrapped in its own ``<strong>`` (the writer joins neighbouring runs into one).
    """
    fonts = style.compute(root, tags=style.EMPHASIS_TAGS)
    bold = {el for el, f in fonts.items() if f.bold}
    for title in _big_titles(root, fonts):
        bold.update(d for d in title.iter() if isinstance(d.tag, str))
    code = {d for c in root.iter("pre", "code") for d in c.iter()}
    texts: list[etree._Element] = []  # elements whose own text is shown bold
    tails: list[etree._Element] = []  # elements whose tail is (their parent is bold)
    codes: list[etree._Element] = []  # inline code shown bold: wrapped whole
    for el in fonts:
        if el in code:
            if el.tag == "code" and el in bold and el is not root and el.getparent() not in code:
                codes.append(el)
            continue
        if el not in bold:
            continue
        if el.text:
            texts.append(el)
        tails.extend(ch for ch in el if ch.tail and isinstance(ch.tag, str))
    for el in texts:
        s = Element("strong")
        s.text, el.text = el.text, None
        el.insert(0, s)
    for ch in tails:
        s = Element("strong")
        s.text, ch.tail = ch.tail, None
        ch.addnext(s)
    for c in codes:
        s = Element("strong")
        c.addprevious(s)
        s.tail, c.tail = c.tail, None
        s.append(c)
    for el in list(root.iter("strong", "b")):
        if el not in fonts:
            continue  # one of ours
        el.tag = "span"


@dataclasses.dataclass(frozen=True, slots=True)
class Cleaned:
    html: str
    images: tuple[Image, ...] = ()
    media: tuple[Media, ...] = ()
    stripped: tuple[tuple[str, str], ...] = ()
    tail: tuple[str, ...] = ()


def _written_text(root: etree._Element) -> None:
    """Scripts that write content (old picture posts) give their text; all other scripts go later."""
    for s in list(root.iter("script")):
        m = _DOC_WRITE.search(s.text or "")
        if m:
            text = js_unescape(m.group(1)[1:-1])
            p = Element("p")
            parts = text.replace("\r", "").split("\n")
            p.text = parts[0]
            for part in parts[1:]:
                br = etree.SubElement(p, "br")
                br.tail = part
            p.tail = s.tail
            s.getparent().replace(s, p)


def _drop_noise(root: etree._Element) -> None:
    """Scripts, styles, comments, profile cards and other page furniture."""
    for el in list(root.iter(*_DROP_TAGS)):
        _drop(el)
    for el in list(root.iter(etree.Comment, etree.ProcessingInstruction)):
        _drop(el)
    drop_classes, drop_ids = frozenset(_DROP_CLASSES), frozenset(_DROP_IDS)
    for el in [e for e in root.iter() if isinstance(e.tag, str) and (
            e.get("id") in drop_ids or (e.get("class") and not drop_classes.isdisjoint(e.get("class").split())))]:
        if el.getparent() is not None:
            _drop(el)


def _rebuild_code(root: etree._Element) -> None:
    """Code blocks become ``<pre><code>`` with real newlines and their language."""
    for pre in list(root.iter("pre")):
        text = _code_text(pre)
        lang = _lang(pre)
        new = Element("pre")
        if lang:
            new.set("data-lang", lang)
        code = etree.SubElement(new, "code")
        code.text = text
        new.tail = pre.tail
        pre.getparent().replace(pre, new)


def _background_images(root: etree._Element) -> None:
    """CSS background pictures that are content become ``<img>``, the caption on its own line below."""
    for el in list(root.iter()):
        if not isinstance(el.tag, str) or el.getparent() is None and el is not root:
            continue
        style = el.get("style") or ""
        if "url(" not in style or el.tag == "img":
            continue
        m = _BG_URL.search(style)
        if not m:
            continue
        u = html.unescape(m.group(1)).strip()
        if u.startswith("//"):
            u = "https:" + u
        if image_url_ok(u) and "mmbiz_svg" not in u and not _decoration(el, style):
            img = Element("img", src=u)
            el.insert(0, img)
            if (el.text or "").strip() or len(el) > 1:
                br = Element("br")
                br.tail = el.text
                img.addnext(br)
            el.text = None


def _collect_images(root: etree._Element, backgrounds: bool = True) -> dict[str, Image]:
    """Real URLs from ``data-src``; avatars, icons and emoji go (an emoji keeps its text).
    ``backgrounds``: whether any style may hold a ``url(`` (a walk of every element, ~0.6 ms)."""
    if backgrounds:
        _background_images(root)
    images: dict[str, Image] = {}
    for img in list(root.iter("img")):
        url = _norm_src(img)
        alt = (img.get("alt") or "").strip()
        if not url or not image_url_ok(url):
            if alt and ("we-emoji" in (img.get("src") or "") or alt.startswith("[")):
                img.tail = alt + (img.tail or "")
            _drop(img)
            continue
        for a in list(img.attrib):
            del img.attrib[a]
        img.set("src", url)
        if alt and alt not in ("图片", "Image", "image"):
            img.set("alt", alt[:120])
        if url not in images:
            images[url] = Image(url=url, name=image_name(url))
    return images


def _image_shapes(root: etree._Element) -> dict[str, footimg.Shape]:
    """Each picture's shape, read before its attributes go: the footer rules weigh dividers,
    banners and GIFs (see :mod:`wxarchive.extract.footimg`)."""
    out: dict[str, footimg.Shape] = {}
    for img in root.iter("img"):
        url = _norm_src(img)
        if url and url not in out:
            out[url] = footimg.shape_of(img, url)
    return out


def _clean_links(root: etree._Element) -> None:
    """``javascript:`` and empty links keep only their text."""
    for a in list(root.iter("a")):
        href = html.unescape((a.get("href") or "").strip())
        if not href.lower().startswith(("http://", "https://", "mailto:")):
            _unwrap(a)
            continue
        a.attrib.clear()
        a.set("href", href)


_SECTION_TAGS = ("section", "article", "center", "header", "footer", "aside", "figure", "mp-common-markdown",
                 "mp-style-type")


def _simplify_structure(root: etree._Element) -> None:
    """Sections become p (leaf) or div; spans and editor wrappers unwrap; empty emphasis goes."""
    everything = list(root.iter())
    blocky = _with_block_descendants(everything)
    for el in everything:
        if not isinstance(el.tag, str) or el is root:
            continue
        tag = el.tag.lower()
        if tag in _SECTION_TAGS or ("-" in tag and tag not in ("mp-common-mpaudio",)):
            el.tag = "div" if el in blocky else "p"
        elif tag in _UNWRAP or ":" in tag:
            continue  # unwrapped below, all at once
        elif tag == "div" and el not in blocky:
            el.tag = "p"
        elif tag in ("b", "i"):
            el.tag = "strong" if tag == "b" else "em"
        keep = _KEEP_ATTRS.get(el.tag, ())
        for a in list(el.attrib):
            if a not in keep:
                del el.attrib[a]
    _unwrap_all(root, lambda t: t.lower() in _UNWRAP or ":" in t)
    for p in list(root.iter("p")):  # p inside p is invalid: the outer one is a div
        if p in blocky:
            p.tag = "div"
    _inline_headings(root)
    for el in list(root.iter("strong", "em", "b", "i", "del", "s", "strike")):
        if el.getparent() is None:
            continue
        if not (text_content(el) or "").strip() and el.find(".//img") is None:
            _drop_keep_breaks(el)
        elif el.find(".//img") is not None or el.xpath(".//*[self::p or self::div or self::br]"):
            _unwrap(el)


_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def _inline_headings(root: etree._Element) -> None:
    """A heading keeps its text inline: the paragraphs an editor wraps it in (mdnice's
    ``display:block`` span) go, each a line break on either side. (An HTML parser closes an
    ``<h2>`` at a ``<p>``: the heading would be left empty, its text a paragraph.)"""
    for h in list(root.iter(*_HEADINGS)):
        inner = [d for d in h.iterdescendants() if isinstance(d.tag, str) and d.tag in ("p", "div")]
        if not inner or any(isinstance(d.tag, str) and d.tag in BLOCK_TAGS and d.tag not in ("p", "div")
                            for d in h.iterdescendants()):
            continue
        for b in reversed(inner):  # innermost first
            b.insert(0, Element("br"))
            if b.text:
                b[0].tail, b.text = b.text, None
            b.append(Element("br"))
            drop_tag(b)


def clean_fragment(body_html: str, *, learned: frozenset[str] = frozenset(), keep_footers: bool = False,
                   known_media: tuple[Media, ...] = (), account: str = "", gallery: bool = False) -> Cleaned:
    """Clean one body fragment: simple HTML, its images and media, what was stripped.

    ``gallery``: the pictures are the post (a picture post), so none goes with a footer.

    The work is a sequence of named passes over one tree, each testable alone.
    """
    body_html = _CTRL.sub("", body_html)  # C0 controls are not text, and lxml refuses them
    if not body_html.strip():
        return Cleaned("")
    try:
        root = fragment(body_html)
    except (etree.ParserError, ValueError):
        return Cleaned("")
    _written_text(root)
    marked = players.may_hold_media(body_html)
    ui_removed = tuple(_drop_player_ui(root, body_html, marked))
    _apply_display(root)
    media: list[Media] = []
    _media_placeholders(root, media, {m.ident: m for m in known_media if m.ident and m.kind == "video"},
                        marked=marked)
    _drop_noise(root)
    _rebuild_code(root)
    _unlisted(root)
    _computed_emphasis(root)
    shapes = None if gallery else _image_shapes(root)
    images = _collect_images(root, backgrounds="url(" in body_html)
    _clean_links(root)
    _simplify_structure(root)
    _collapse_editor_whitespace(root)
    # the tail that teaches the account's footer is read before learned blocks go, so what an archive
    # learns does not depend on the order its posts came in (and a rebuild makes every post the same)
    stripped = ui_removed + (() if keep_footers else boilerplate.strip(root, frozenset(), account, shapes))
    _prune_empty(root)
    tail = boilerplate.tail_texts(root) + boilerplate.tail_images(root)
    if learned and not keep_footers:
        stripped += boilerplate.strip(root, learned, account, shapes)
        _prune_empty(root)
    out = etree.tostring(root, encoding="unicode", method="html")
    kept_images = tuple(images[u] for u in dict.fromkeys(i.get("src") for i in root.iter("img")) if u in images)
    return Cleaned(out, kept_images, tuple(media), stripped, tail)


_WS_NL = re.compile(r"[ \t\r\f\v\xa0]*\n\s*")


def _cjk(ch: str) -> bool:
    """CJK ideographs, punctuation and full-width forms: a line break between two of them is no space.
    (Compared by code point: a regex class over these ranges costs ~5 ms to compile at every start.)"""
    c = ord(ch)
    return 0x2E80 <= c <= 0x9FFF or 0xF900 <= c <= 0xFAFF or 0xFF00 <= c <= 0xFFEF


def _join(m: re.Match[str]) -> str:
    s, i, j = m.string, m.start(), m.end()
    if i > 0 and j < len(s) and _cjk(s[i - 1]) and _cjk(s[j]):
        return ""
    return " "


def _collapse_editor_whitespace(root: etree._Element) -> None:
    """Newlines and indentation from the editor's HTML source are not line breaks in prose."""
    inside_pre = {d for pre in root.iter("pre") for d in pre.iterdescendants()}  # (not an ancestor walk per element)
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        parent_code = el in inside_pre
        in_code = parent_code or el.tag in ("pre", "code")
        if not in_code and el.text and "\n" in el.text:
            el.text = _WS_NL.sub(_join, el.text)
        if not parent_code and el.tail and "\n" in el.tail:
            el.tail = _WS_NL.sub(_join, el.tail)


def _drop_keep_breaks(el: etree._Element) -> None:
    """Remove empty emphasis but keep any line breaks it wrapped."""
    brs = el.findall(".//br")
    parent = el.getparent()
    if brs and parent is not None:
        i = parent.index(el)
        for n in range(len(brs)):
            parent.insert(i + n, Element("br"))
        tail = el.tail
        parent.remove(el)
        last = parent[i + len(brs) - 1]
        last.tail = (tail or "") + (last.tail or "") if tail else last.tail
        return
    _drop(el)


_KEEP_EMPTY = frozenset(("img", "br", "hr", "td", "th", "tr", "code", "pre"))
_PRUNABLE = BLOCK_TAGS | {"strong", "em", "a", "sup", "sub"}


def _prune_empty(root: etree._Element) -> None:
    """Drop blocks left with no text and no image (editor spacer paragraphs).

    One bottom-up pass: whether an element holds text (its text, or a child's text or
    tail) or an image/pre is known from its children, which were visited first; dropping
    an empty element changes neither for its ancestors. (A text_content() and two
    descendant searches per element were quadratic in the nesting depth.)
    """
    everything = list(root.iter())
    full: set[etree._Element] = set()  # holds non-blank text
    media: set[etree._Element] = set()  # is or holds an img or pre
    for el in reversed(everything):
        if not isinstance(el.tag, str):
            continue  # a comment: its text is not the page's (its tail is, counted by its parent)
        if (el.text and el.text.strip()) or any(c in full or (c.tail and c.tail.strip()) for c in el):
            full.add(el)
        if el.tag in ("img", "pre") or any(c in media for c in el):
            media.add(el)
        if el is root or el.tag in _KEEP_EMPTY or el in media or el in full or el.getparent() is None:
            continue
        if el.tag in _PRUNABLE:
            _drop(el)


def _merge_media(parsed: tuple[Media, ...], found: tuple[Media, ...]) -> tuple[Media, ...]:
    """Media in body order; page-script videos never shown in the body are kept too (same id once)."""
    out: dict[str, Media] = {}
    for m in found + parsed:
        out.setdefault(m.ident or m.url, m)
    return tuple(out.values())


def clean(article: Article, *, learned: frozenset[str] = frozenset(), keep_footers: bool = False) -> Article:
    """The article with a cleaned body and its image list.

    ``learned`` is the account's learned footer (see :func:`boilerplate.strip`).
    """
    c = clean_fragment(article.body_html, learned=learned, keep_footers=keep_footers, known_media=article.media,
                       account=article.account, gallery=article.kind == "picture")
    return dataclasses.replace(
        article,
        body_html=c.html,
        images=c.images,
        media=_merge_media(article.media, c.media),
        stripped=c.stripped,
        tail_blocks=c.tail,
        learned=frozenset() if keep_footers else learned,
    )
