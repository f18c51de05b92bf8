"""Classify a fetched WeChat page and read its metadata and body.

Pure: ``parse(page)`` depends only on the page, so golden files stay stable.
Four steps: ``load`` (size cap, charset, tree), ``classify_error`` (pages that
are not articles), the metadata -- each field read from its ``LAYERS``
(``window.cgiDataNew``, ``var``/``window.``/``d.`` script globals, DOM ids, ``og:``
meta), the first non-empty value winning, all through one ``Sources`` -- and
the body, by one reader per post kind (``READERS``). ``#publish_time`` is
filled by JavaScript and is never used.
"""
from __future__ import annotations

import copy
import datetime as dt
import functools
import html
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import lxml.html
from lxml import etree

from wxarchive.extract import htmltree
from wxarchive.errors import ErrorCode, FetchError, IdMismatch, LayoutChanged, NotAnArticle, RateLimited, Unavailable
from wxarchive.extract.jsdata import GLOBALS, LEGACY, SCRIPT_END, js_unescape, parse_object_at, script_vars, script_vars_each
from wxarchive.models import MAX_PAGE_BYTES, SHANGHAI, Article, Kind, Media, Page
from wxarchive.extract.pagescripts import Lifted, lift
from wxarchive.urls import ARTICLE_HOST, is_article_url, normalize_article_url, url_ids, video_url
from wxarchive.extract.pageload import check_whole, flatten_deep, read_tree

__all__ = ["LAYERS", "READERS", "SHANGHAI", "Sources", "classify_error", "load", "parse"]

log = logging.getLogger(__name__)

_VARS = frozenset(
    ["msg_title", "title", "nickname", "nick_name", "author", "ct", "create_time", "ori_create_time", "oriCreateTime", "createTime", "biz", "mid", "idx", "sn", "msg_link", "msg_cdn_url", "cdn_url", "msg_desc", "desc", "msg_source_url", "source_url", "_copyright_stat", "copyright_stat", "item_show_type", "real_item_show_type", "user_name", "transferTargetLink", "isPaySubscribe", "is_pay_subscribe", "TextContentNoEncode", "ContentNoEncode", "content_noencode", "msg_daily_idx", "appmsgid", "publish_time", "svr_time", "vid", "videoPageInfos"]
)

# What an error page says -> (code, exception factory). Checked in order.
_ERROR_TEXTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("verify", ("环境异常", "完成验证后即可继续访问", "访问过于频繁", "验证身份", "请输入验证码", "去验证")),
    ("deleted", ("已被发布者删除", "deleted by the author", "has been deleted")),
    ("removed", ("违规无法查看", "涉嫌侵权", "不实信息", "投诉", "违反", "violat")),
    ("expired", ("链接已过期", "expired")),
    ("migrated", ("已迁移", "帐号迁移", "账号迁移", "migrat")),
    ("account_closed", ("已自主注销", "已被屏蔽", "帐号已注销", "账号已注销", "has been banned", "blocked")),
    ("invalid", ("参数错误", "invalid parameter")),
    ("unavailable", ("暂时无法查看", "发送失败", "系统出错", "无法查看", "unavailable", "cannot be viewed")),
)


_STRING_PAGE = re.compile(rb'^\s*<!DOCTYPE html>\\n|^\s*<html[^>]*>\\n', re.I)


def unwrap_string_page(raw: bytes) -> bytes:
    """A page saved as the body of a JS/JSON string (one line, literal ``\\n`` and ``\\"``),
    as some scrapers write ``response.text`` without decoding it: the page it holds."""
    if not _STRING_PAGE.match(raw[:200]) or raw.count(b"\n") > 3:
        return raw
    try:
        text = json.loads('"' + raw.decode("utf-8").strip().replace("\n", "\\n") + '"')
    except (UnicodeDecodeError, ValueError):
        return raw
    return text.encode("utf-8", "surrogatepass") if isinstance(text, str) else raw


_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_-]+)""", re.I)
_UTF8_NAMES = ("utf-8", "utf8")


def _declared_charset(content_type: str, raw: bytes) -> str:
    """The page's charset as declared: the HTTP header first, then a ``<meta>`` near the top."""
    m = re.search(r"""charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", content_type or "", re.I)
    if m:
        return m.group(1).lower().replace("_", "-")
    found = _CHARSET.search(raw[:4096])
    return found.group(1).decode("ascii").lower().replace("_", "-") if found else ""


def _read_page(page: Page, raw: bytes) -> tuple[lxml.html.HtmlElement, Lifted | None]:
    """The page's tree. Bytes that are valid UTF-8 are UTF-8 (WeChat's own pages; a saved page
    re-encoded but keeping its old ``<meta>``); others are decoded by the charset the HTTP header
    declares, else the ``<meta>``, else as GB18030 (the superset of GBK and GB2312)."""
    declared = _declared_charset(page.content_type, raw)
    if b"\x00" in raw:  # lxml stops at a NUL: decode, drop them, parse the text
        return read_tree(_decode(raw, declared), None, page.url), None
    if declared not in _UTF8_NAMES:  # a UTF-8 label is trusted as is: no 3 MB check on WeChat's pages
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return read_tree(_decode(raw, declared), None, page.url), None
    return _read_lifted(raw, page.url)


def _read_lifted(raw: bytes, url: str) -> tuple[lxml.html.HtmlElement, Lifted | None]:
    """The tree of a UTF-8 page, its big scripts lifted out first (``pagescripts``); read whole when
    the tree lxml makes of the lifted page does not hold each mark as one script's whole text."""
    lifted = lift(raw)
    if lifted is not None:
        doc = read_tree(None, lifted.raw, url)
        if lifted.check([s.text for s in doc.iter("script")]):
            return doc, lifted
        log.debug("%s: the lifted scripts did not come back as scripts; the page is read whole", url)
    return read_tree(None, raw, url), None


def _decode(raw: bytes, declared: str) -> str:
    for enc in ([declared] if declared else []) + ["utf-8", "gb18030"]:
        try:
            return raw.decode(enc)
        except (LookupError, UnicodeDecodeError):
            continue
    try:
        return raw.decode(declared or "utf-8", "replace")
    except LookupError:
        return raw.decode("utf-8", "replace")


def _text(el: Any) -> str:
    return " ".join(el.text_content().split()) if el is not None else ""


def _first(*values: Any) -> str:
    """The first non-empty value; callables are fallbacks evaluated only when reached."""
    for v in values:
        if callable(v):
            v = v()
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            v = str(int(v))
        if isinstance(v, str) and v.strip():
            return v.strip()
    return ""


def _script_list(doc: lxml.html.HtmlElement, lifted: Lifted | None = None) -> list[bytes]:
    """The inline scripts as UTF-8 bytes: lxml hands them over without a 3 MB decode, and the
    lifted ones never went into the tree."""
    out = []
    for s in doc.iter("script"):
        if s.get("src"):
            continue
        text = lifted.text_of(s.text) if lifted is not None else None
        out.append(text if text is not None else etree.tostring(s, method="text", encoding="utf-8", with_tail=False))
    return out


# ``id()`` is a lookup in the ID table libxml2 keeps (the first element with that id, as ``[0]`` of
# ``//*[@id=...]``); a ``//*`` scan took ~2 ms per query on a 3 MB page, and parse ran several.
_JS_CONTENT = etree.XPath('id("js_content")')
# the class-only signals in one walk of the tree (each ``//*[contains(@class, ...)]`` is a walk)
_MARK_CLASSES = etree.XPath('//*[contains(@class,"mp-pay-preview-filter") or contains(@class,"common_share_title")]/@class')


def _marks(doc: lxml.html.HtmlElement) -> str:
    return "\x00".join(_MARK_CLASSES(doc))  # NUL cannot occur in an attribute: no match across two values


def classify_error(doc: lxml.html.HtmlElement, url: str, final_url: str, scripts: list[bytes] | None = None) -> None:
    """Raise the typed error for a page that is not an article (verify, deleted, ...). ``scripts``:
    the page's inline scripts (``_script_list``), when some were lifted out of the tree."""
    if scripts is None:
        scripts = _script_list(doc)
    path = final_url.split("?")[0]
    if "captcha" in path or path.rstrip("/").endswith("/mp/verify") or "antispider" in final_url:
        raise RateLimited(f"WeChat asks for verification (环境异常) at {url}", url=url)
    body = _JS_CONTENT(doc)
    if body and next((t for t in body[0].itertext() if t.strip()), None) is not None:
        return  # an article with text (it may also carry hidden message templates)
    has_body = bool(body) or bool(doc.xpath('//*[@id="js_article" or @id="js_share_content_page_hd"]'))
    boxes = doc.xpath(
        '//*[contains(concat(" ", normalize-space(@class), " "), " weui-msg ") or '
        'contains(@class, "mesg-block") or contains(@class, "weui-msg__title")]'
    )
    if has_body and not boxes:
        return
    if has_body and doc.xpath('//*[@id="js_article"]//*[@id="activity-name" or @id="js_name"]'):
        return  # an article whose body is elsewhere (picture/text posts) beside hidden templates
    if not boxes and not _wechat_own(doc, scripts):
        return  # a proxy's "503 Service Temporarily Unavailable", "Access blocked": its words are no verdict
    title_el = doc.find(".//title")
    said_parts = [_box_said(e) for e in boxes[:1]] + [_text(title_el)]
    if not has_body and not boxes:
        said_parts.append(_written_text(scripts))  # the message may exist only in a document.write() string
    said = " ".join(p for p in said_parts if p).strip()
    if not said:
        return
    lower = said.lower()
    for code, needles in _ERROR_TEXTS:
        if any(n.lower() in lower for n in needles):
            detail = said[:200]
            if code == ErrorCode.VERIFY:
                raise RateLimited(f"WeChat asks for verification at {url}: {detail}", url=url)
            target = ""
            if code == ErrorCode.MIGRATED:
                found = script_vars(SCRIPT_END.join(scripts), {"transferTargetLink"}).get("transferTargetLink", [])
                target = _first(*found)
                if target:
                    target = html.unescape(target)
            raise Unavailable(code, f"{url}: {detail}", url=url, target=target)
    if boxes:
        raise Unavailable("unavailable", f"{url}: {said[:200]}", url=url)


_WX_HOSTS = ("res.wx.qq.com", "mp.weixin.qq.com", "mmbiz.qpic.cn", "mmbiz.qlogo.cn", "wx.qlogo.cn")
_WX_REFS = etree.XPath("//@src | //@href")


def _wechat_own(doc: lxml.html.HtmlElement, scripts: list[bytes]) -> bool:
    """Whether a page without WeChat's message box is WeChat's own (it loads from or links to WeChat's
    hosts): only then is its title read as WeChat's word on an article (issue 25)."""
    if any(h in v for v in _WX_REFS(doc) for h in _WX_HOSTS):
        return True
    return any(h.encode() in s for s in scripts for h in _WX_HOSTS)


_BOX_FURNITURE = etree.XPath('.//*[contains(@class, "footer") or contains(@class, "extra-area") or '
                             'contains(@class, "__opr-area")]')


def _box_said(box: Any) -> str:
    """What a message box says: its text less the box's furniture (the footer's 微信公众平台运营中心 and
    我要反馈 links, the buttons), which is the same on every such page and says nothing of this one."""
    box = copy.deepcopy(box)
    for el in _BOX_FURNITURE(box):
        if el.getparent() is not None:
            el.drop_tree()  # (its tail stays)
    return _text(box)


_DOC_WRITE = re.compile(r"""document\.write\(\s*(?:"((?:[^"\\\n]|\\[\s\S])*)"|'((?:[^'\\\n]|\\[\s\S])*)')""")


def _written_text(scripts: list[bytes]) -> str:
    """The visible text that the page's scripts write with ``document.write``."""
    out = []
    for script in scripts:
        for m in _DOC_WRITE.finditer(script.decode("utf-8", "replace")):
            frag = js_unescape(m.group(1) or m.group(2) or "")
            out.append(" ".join(re.sub(r"<[^<>]*>", " ", html.unescape(frag)).split()))
    return " ".join(t for t in out if t)[:400]


def _to_datetime(*candidates: Any) -> dt.datetime | None:
    for c in candidates:
        if isinstance(c, str) and c.strip().isdigit():
            c = int(c.strip())
        if isinstance(c, (int, float)) and not isinstance(c, bool) and c > 100000000:
            try:
                return dt.datetime.fromtimestamp(int(c), SHANGHAI)
            except (OverflowError, OSError, ValueError):  # a timestamp past year 9999: not a date
                continue
        if isinstance(c, str):
            m = re.match(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?", c)
            if m:
                y, mo, d, h, mi, s = (int(x) if x else 0 for x in m.groups())
                try:
                    return dt.datetime(y, mo, d, h, mi, s, tzinfo=SHANGHAI)
                except ValueError:
                    continue
    return None


def _meta(doc: lxml.html.HtmlElement, *names: str) -> str:
    for n in names:
        for el in doc.xpath(f'//meta[@property="{n}" or @name="{n}"]'):
            v = (el.get("content") or "").strip()
            if v:
                return html.unescape(v)
    return ""


def _dom(doc: lxml.html.HtmlElement, *xpaths: str) -> str:
    for xp in xpaths:
        for el in doc.xpath(xp):
            t = el if isinstance(el, str) else _text(el)
            t = " ".join(str(t).split())
            if t:
                return t
    return ""


def _byline(doc: lxml.html.HtmlElement) -> str:
    """The legacy un-id'd author span in the meta row -- only when it reads like a name."""
    for el in doc.xpath('//*[@id="meta_content" or contains(@class,"rich_media_meta_list")]'
                        '//*[contains(@class,"rich_media_meta_text") and not(@id)'
                        ' and not(contains(@class,"rich_media_meta_nickname"))]'):
        t = _text(el)
        if t and len(t) <= 24 and not re.search(r"关注|点击|☞|→|\d{4}-\d{2}", t):
            return t
    return ""


def _cgi(scripts: list[bytes]) -> dict[str, Any]:
    """``window.cgiDataNew``, read from the first script assigning it up to that script's end: the
    same as a search of the joined scripts (no match can span ``SCRIPT_END``), without joining 2-3 MB."""
    for part in scripts:
        m = re.search(rb"window\.cgiDataNew\s*=\s*\{", part)  # (compiled on first use: articles never ask)
        if m:
            end = part.find(SCRIPT_END, m.end())  # (a lifted script holds none; kept for the joined form)
            text = part[m.end() - 1:end if end >= 0 else len(part)].decode("utf-8", "replace")
            value = parse_object_at(text, 0)
            return value if isinstance(value, dict) else {}
    return {}


def _share_notice(scripts: bytes) -> str:
    m = re.search(rb"""js_share_notice['"]\)\.innerHTML\s*=\s*("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')""", scripts)
    return js_unescape(m.group(1)[1:-1].decode("utf-8", "replace")) if m else ""


def _text_to_html(text: str, allow_html: bool = False, links: bool = False) -> str:
    """Plain post text (``\\n`` line breaks) as paragraphs; ``links``: its ``<a>`` tags are links."""
    text = text.replace("\r", "")
    paras = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    out = []
    for p in paras:
        body = p if allow_html else _text_with_links(p) if links else html.escape(p, quote=False)
        out.append("<p>" + body.strip("\n").replace("\n", "<br/>") + "</p>")
    return "\n".join(out)


_ENCODED_LINK = re.compile(r"&lt;a\s[^<>]*?&gt;.*?&lt;/a&gt;", re.I | re.S)
_LINK = re.compile(r"<a\b([^<>]*)>(.*?)</a\s*>", re.I | re.S)
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)


def _text_with_links(text: str) -> str:
    """Plain text holding WeChat's links (``<a href=… data-itemshowtype=…>title</a>``, which a text
    post keeps as markup in its text) as HTML: each link a link, its title text; all else text."""
    out, pos = [], 0
    for m in _LINK.finditer(text):
        out.append(html.escape(text[pos:m.start()], quote=False))
        h = _HREF.search(m.group(1))
        href = html.unescape(next((g for g in h.groups() if g is not None), "")).strip() if h else ""
        label = html.escape(_TAG.sub("", m.group(2)), quote=False)
        if href.lower().startswith(("http://", "https://")):
            out.append(f'<a href="{html.escape(href)}">{label or html.escape(href, quote=False)}</a>')
        else:
            out.append(label)  # a link to nowhere (a mini program, a picture reference): its words
        pos = m.end()
    out.append(html.escape(text[pos:], quote=False))
    return "".join(out)


_JS_ESCAPE = re.compile(r"\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}")
_TAG = re.compile(r"<[^<>]+>")


def _plain_field(text: str) -> str:
    """A metadata value as plain text: WeChat's meta tags keep JS escapes (``\\x0a``,
    ``\\x26quot;``) and sometimes the markup of the post's text."""
    if _JS_ESCAPE.search(text):
        text = js_unescape(text)
    if "&" in text:
        text = html.unescape(text)
    if "<" in text:
        text = html.unescape(_TAG.sub("", text))
    return text.strip()


def _derive_title(text: str) -> str:
    """WeChat titles untitled text posts with their first words; so do we."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(first) <= 30:
        return first
    cut = re.search(r"^.{8,30}?[。！？!?；;，,：:]", first)
    return cut.group(0)[:-1] if cut else first[:20] + "…"


def _list_of(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value]
    return value if isinstance(value, list) else []


# ---- loading --------------------------------------------------------------------------------------

class Loaded(NamedTuple):
    """A page read: its tree, its bytes (BOM dropped), its inline scripts as bytes, and what was
    lifted out of the tree (``pagescripts``)."""

    doc: lxml.html.HtmlElement
    raw: bytes
    scripts: list[bytes]
    lifted: Lifted | None


def load(page: Page) -> Loaded:
    """The page read; the size cap and the declared charset are honoured."""
    if len(page.content) > MAX_PAGE_BYTES:
        raise NotAnArticle(f"page is {len(page.content) // 2**20} MB, over the {MAX_PAGE_BYTES // 2**20} MB cap")
    raw = page.content[3:] if page.content.startswith(b"\xef\xbb\xbf") else page.content
    raw = unwrap_string_page(raw)
    doc, lifted = _read_page(page, raw)
    return Loaded(doc, raw, _script_list(doc, lifted), lifted)


# ---- where metadata comes from --------------------------------------------------------------------

_COMPLETE = (("msg_title",), ("nickname",), ("ct", "create_time"), ("biz",), ("mid",), ("idx",))


class Sources:
    """Every place a page keeps metadata: script globals, legacy ``d.x =`` forms, ``window.cgiDataNew``,
    the DOM and ``og:`` meta. The costly ones (legacy forms, the big cgiDataNew literal) are read only
    when the globals lack something, or for picture/text posts, whose body lives in cgiDataNew."""

    def __init__(self, doc: lxml.html.HtmlElement, url: str, scripts: list[bytes] | None = None) -> None:
        self.doc = doc
        self.url = url
        parts = _script_list(doc) if scripts is None else scripts
        self._parts = parts
        self.vars: dict[str, list[Any]] = script_vars_each(parts, _VARS, GLOBALS)
        if not self.complete():  # (one script at a time, as the globals: a batch's bundles are read once)
            for name, values in script_vars_each(parts, _VARS, LEGACY).items():
                self.vars.setdefault(name, []).extend(values)
        self.cgi: dict[str, Any] = {} if self.complete() else _cgi(parts)
        self.item_show_type = 0
        self.link_ids: dict[str, str] = {}
        self.url_ids: dict[str, str] = url_ids(url)
        self._marks: str | None = None

    @functools.cached_property
    def scripts(self) -> bytes:
        """The inline scripts joined by ``SCRIPT_END``: 3 MB, made only when a reader needs it."""
        return SCRIPT_END.join(self._parts)

    @property
    def marks(self) -> str:
        """The class attributes carrying the paid-preview and video-share signals (one walk, on first use)."""
        if self._marks is None:
            self._marks = _marks(self.doc)
        return self._marks

    def all(self, *names: str) -> list[Any]:
        """Every value the scripts give for any of ``names``, in order."""
        out: list[Any] = []
        for n in names:
            out.extend(self.vars.get(n, []))
        return out

    def var(self, *names: str) -> str:
        return _first(*self.all(*names))

    def complete(self) -> bool:
        """The globals alone name a normal article fully."""
        return all(self.var(*n) for n in _COMPLETE) and self.var("item_show_type", "real_item_show_type") in ("", "0")

    def cgi_dict(self, name: str) -> dict[str, Any]:
        value = self.cgi.get(name)
        return value if isinstance(value, dict) else {}

    def meta(self, *names: str) -> str:
        return _meta(self.doc, *names)

    def dom(self, *xpaths: str) -> str:
        return _dom(self.doc, *xpaths)


# A layer reads one value from the sources; a field is the first non-empty value of its layers, in order
# (as the boilerplate rules, the layers are data). Layers after the scripts are evaluated only when reached.
Layer = Callable[[Sources], Any]


def cgi(name: str) -> Layer:
    return lambda s: s.cgi.get(name)


def var(*names: str) -> Layer:
    return lambda s: s.var(*names)


def dom(*xpaths: str) -> Layer:
    return lambda s: s.dom(*xpaths)


def meta(*names: str) -> Layer:
    return lambda s: s.meta(*names)


def ids(name: str) -> tuple[Layer, Layer]:
    """The id as the article's own link, then as the page URL, carries it."""
    return (lambda s: s.link_ids.get(name)), (lambda s: s.url_ids.get(name))


_TITLE_XPATHS = ('//*[@id="activity-name"]', '//*[contains(@class,"rich_media_title")]', '//*[@id="video_title"]',
                 '//*[@id="original_panel_title"]')
_ACCOUNT_XPATHS = ('//*[@id="js_name"]', '//*[@id="post-user"]', '//*[contains(@class,"account_nickname_inner")]',
                   '//*[contains(@class,"wx_follow_nickname")]', '//*[contains(@class,"profile_nickname")]')

LAYERS: dict[str, tuple[Layer, ...]] = {
    "item_show_type": (cgi("item_show_type"), var("item_show_type"), var("real_item_show_type")),
    "link": (cgi("link"), var("msg_link"), meta("og:url")),
    "biz": (cgi("bizuin"), var("biz"), *ids("biz")),
    "mid": (cgi("mid"), var("mid", "appmsgid"), *ids("mid")),
    "idx": (cgi("idx"), var("idx"), *ids("idx")),
    "sn": (cgi("sn"), var("sn"), *ids("sn")),
    "title": (cgi("title"), var("msg_title"), var("title"), dom(*_TITLE_XPATHS), meta("og:title", "twitter:title"),
              dom("//title")),
    "account": (cgi("nick_name"), var("nickname", "nick_name"), dom(*_ACCOUNT_XPATHS)),
    "author": (cgi("author"), var("author"), dom('//*[@id="js_author_name"]'), meta("author", "og:article:author"),
               lambda s: _byline(s.doc)),
    "digest": (var("msg_desc"), lambda s: s.cgi.get("desc") if s.item_show_type not in (8, 10) else "",
               meta("description", "og:description")),
    "cover": (var("msg_cdn_url"), cgi("cdn_url"), var("cdn_url"), meta("og:image")),
    "read_more": (var("msg_source_url"), cgi("source_url")),
    "copyright_stat": (var("_copyright_stat"), lambda s: s.cgi_dict("copyright_info").get("copyright_stat"),
                       var("copyright_stat"), cgi("copyright_stat")),
    "paid": (var("isPaySubscribe", "is_pay_subscribe"), cgi("is_pay_subscribe")),
}


def field_value(s: Sources, name: str) -> str:
    """The first non-empty value of a field's layers."""
    return _first(*(lambda layer=layer: layer(s) for layer in LAYERS[name]))


def _published(s: Sources) -> dt.datetime | None:
    return _to_datetime(s.cgi.get("ori_create_time"), *s.all("ct", "create_time", "oriCreateTime"),
                        s.cgi.get("create_time"), *s.all("createTime"), s.dom('id("post-date")'))


def _canonical(s: Sources, link: str, biz: str, mid: str, idx: str, sn: str) -> str:
    if biz and mid and idx:
        return normalize_article_url(f"https://{ARTICLE_HOST}/s?__biz={biz}&mid={mid}&idx={idx}"
                                     + (f"&sn={sn}" if sn else ""))
    if is_article_url(link):  # never markup from a hostile msg_link: only an article URL, normalised
        return normalize_article_url(link)
    if "mp.weixin.qq.com" in s.url:
        return normalize_article_url(s.url)
    return ""


def _copyright(s: Sources) -> int:
    cs = field_value(s, "copyright_stat")
    if not cs and "原创" in s.dom('//*[@id="copyright_logo"]'):
        return 1
    return int(cs) if cs.isdigit() else 0


def _metadata(s: Sources) -> dict[str, Any]:
    """Ids, links and descriptive fields, each from its layers."""
    link = html.unescape(html.unescape(field_value(s, "link")))
    s.link_ids = url_ids(link) if link else {}
    ident = {name: field_value(s, name) for name in ("biz", "mid", "idx", "sn")}
    _check_ids(s.url, ident["biz"], ident["mid"], ident["idx"])
    return {
        **ident,
        "canonical_url": _canonical(s, link, **ident),
        "title": field_value(s, "title"),
        "account": field_value(s, "account"),
        "author": field_value(s, "author"),
        "published": _published(s),
        "digest": _plain_field(field_value(s, "digest")),
        "cover": html.unescape(field_value(s, "cover")),
        "read_more_url": html.unescape(field_value(s, "read_more")),
        "copyright_stat": _copyright(s),
        "paid_preview": field_value(s, "paid") == "1"
        or "mp-pay-preview-filter" in s.marks,
    }


def _quality(t: dict[str, Any]) -> tuple[int, int]:
    def num(key: str) -> int:
        value = str(t.get(key) or "0")
        return int(value) if value.isdigit() else 0
    return num("video_quality_level"), num("filesize")


def _inline_videos(s: Sources) -> list[Media]:
    """In-article WeChat videos: poster and the best direct file, by vid."""
    media = []
    for info in [x for lst in s.all("videoPageInfos") for x in _list_of(lst)]:
        if not isinstance(info, dict) or not info.get("video_id"):
            continue
        vid = str(info["video_id"])
        trans = [t for t in _list_of(info.get("mp_video_trans_info")) if isinstance(t, dict) and t.get("url")]
        trans.sort(key=_quality, reverse=True)
        direct = html.unescape(html.unescape(str(trans[0]["url"]))) if trans else ""
        media.append(Media(kind="video", url=f"https://{ARTICLE_HOST}/mp/videoplayer?vid={vid}",
                           poster=html.unescape(str(info.get("cover_url") or "")), direct_url=direct, ident=vid))
    return media


# ---- one reader per post kind ---------------------------------------------------------------------

@dataclass
class Body:
    """What a reader makes of a page: its kind, body HTML and what the kind changes besides."""

    kind: Kind
    html: str = ""
    title: str | None = None  # a reader's own title (text posts), else the metadata's
    title_derived: bool = False
    reprint: list[tuple[str, str]] = field(default_factory=list)
    media: list[Media] = field(default_factory=list)


def _kind(s: Sources) -> Kind:
    ist = s.item_show_type
    cls = " ".join(s.doc.xpath('id("js_article")/@class')).split()
    is_video = ist == 5 or (ist == 0 and ("common_share_title" in s.marks or bool(s.doc.xpath('id("js_mpvedio")'))))
    if ist == 10 or (ist == 0 and "page_content" in cls and not is_video):
        return Kind.TEXT
    if ist == 8 or (ist == 0 and "share_content_page" in cls and not is_video):
        return Kind.PICTURE
    return Kind.VIDEO if is_video else Kind.ARTICLE


def read_text(s: Sources, meta: dict[str, Any], content: list[Any]) -> Body:
    """Text post (文本分享): the plain text; an untitled one is titled by its first words."""
    tpi = s.cgi_dict("text_page_info")
    body_text = _first(tpi.get("content_noencode"), tpi.get("content"), s.var("TextContentNoEncode"),
                       s.var("ContentNoEncode"), s.cgi.get("content_noencode"), s.var("content_noencode"))
    if not body_text and content:
        body_text = content[0].text_content()
    if "<a" not in body_text.lower() and _ENCODED_LINK.search(body_text):
        body_text = html.unescape(body_text)  # the entity-encoded copy of the text (``content``)
    links = "<a" in body_text.lower()
    body = Body(Kind.TEXT, _text_to_html(body_text, links=links))
    if links:  # the words a reader sees, for a title made of them
        body_text = _LINK.sub(lambda m: _TAG.sub("", m.group(2)), body_text)
    title, untitled = meta["title"], tpi.get("is_user_title") in (0, "0")
    if (untitled or not title or title.strip() == body_text.strip()) and (untitled or not title or len(title) > 60):
        body.title, body.title_derived = _derive_title(body_text or title), True
    return body


def read_picture(s: Sources, meta: dict[str, Any], content: list[Any]) -> Body:
    """Picture post (图片分享): its text, then every picture of ``picture_page_info_list``."""
    body_text = _first(s.cgi.get("content_noencode"), s.var("content_noencode"), s.var("ContentNoEncode"))
    parts = []
    if body_text:
        parts.append(_text_to_html(body_text, allow_html="<a " in body_text))
    elif content:
        parts.append(etree.tostring(content[0], encoding="unicode", method="html"))
    for pic in _list_of(s.cgi.get("picture_page_info_list")):
        if isinstance(pic, dict):
            src = html.unescape(html.unescape(str(pic.get("cdn_url") or "")))
            if src:
                parts.append(f'<p><img src="{html.escape(src)}"/></p>')
    return Body(Kind.PICTURE, "\n".join(parts))


def read_video(s: Sources, meta: dict[str, Any], content: list[Any]) -> Body:
    """Video page: the poster, a link to the video and the description."""
    title = meta["title"]
    vids = [m.decode() for m in re.findall(rb"""\bvid\s*:\s*["']([A-Za-z0-9_]+)["']""", s.scripts) if m]
    poster = html.unescape(_first(*(u.decode("utf-8", "replace")
                                    for u in re.findall(rb"""\bcdn_url\s*:\s*["']([^"'\n]+)["']""", s.scripts))))
    if poster and ("mmhead" in poster or "qlogo" in poster):
        poster = ""
    poster = poster or meta["cover"]  # (a page whose scripts name no poster shows its cover)
    body = Body(Kind.VIDEO)
    parts = [f'<p><img src="{html.escape(poster)}"/></p>'] if poster else []
    if vids:
        vurl = video_url(vids[0])
        body.media.append(Media(kind="video", url=vurl, title=title, poster=poster, ident=vids[0]))
        parts.append(f'<p>▶ 视频：<a href="{vurl}">{html.escape(title or vurl)}</a></p>')
    desc = _plain_field(_first(s.dom('//*[@id="js_common_share_desc"]'), _share_desc_script(s), s.var("msg_desc"),
                               s.cgi.get("desc"), _share_desc_slot(s, meta)))
    if desc and desc != title:
        parts.append(_text_to_html(desc))
    body.html = "\n".join(parts)
    return body


_FIRST_STRING = re.compile(rb"""\bvar\s+\w+\s*=\s*("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')""")


def _share_desc_script(s: Sources) -> str:
    """A video page's description as the script that fills ``#js_common_share_desc`` holds it: the
    slot is empty in the served HTML, and the text is that script's first string."""
    for part in s._parts:
        if b"js_common_share_desc" in part:
            m = _FIRST_STRING.search(part)
            if m:
                return js_unescape(m.group(1)[1:-1].decode("utf-8", "replace"))
    return ""


def _share_desc_slot(s: Sources, meta: dict[str, Any]) -> str:
    """The page's digest, when the page has a slot for a description (its ``<meta>`` copy of it)."""
    return meta["digest"] if s.doc.xpath('id("js_common_share_desc")') else ""


def _share_card(s: Sources, meta: dict[str, Any], share_src: Any) -> Body:
    """Old share card: the sharer's note plus a link to the original."""
    note = _share_notice(s.scripts) or meta["digest"]
    src_url = html.unescape(share_src.get("data-url") or "")
    otitle = s.dom('//*[@id="original_panel_title"]')
    oauthor = s.dom('//*[@id="js_share_author"]')
    link = ""
    if src_url:
        link = (f'\n<p>转载自：<a href="{html.escape(src_url)}">{html.escape(otitle or src_url)}</a>'
                + (f"（{html.escape(oauthor)}）" if oauthor else "") + "</p>")
    if is_article_url(src_url):
        src_url = normalize_article_url(src_url)
    reprint = [(k, val) for k, val in (("title", otitle), ("account", oauthor), ("url", src_url)) if val]
    return Body(Kind.REPRINT, _text_to_html(note) + link, reprint=reprint)


def _banner_source(s: Sources) -> list[tuple[str, str]]:
    """A modern reprint's origin, from its "以下文章来源于 X，作者 Y" banner and card."""
    banner = s.dom('//*[contains(@class,"original_primary_card_tips")]')
    oacct = s.dom('//*[contains(@class,"original_primary_nickname")]')
    m = re.search(r"以下文章来源于\s*(.+?)\s*[，,]\s*作者\s*(.+)$", banner)
    oauthor = m.group(2).strip() if m else ""
    if m and not oacct:
        oacct = m.group(1).strip()
    olink = html.unescape(_first(*s.doc.xpath('//a[@id="copyright_info"]/@href')))
    olink = olink if olink.startswith(("http://", "https://")) else ""
    note = _editor_note(s)
    return [(k, val) for k, val in (("account", oacct), ("author", oauthor), ("url", olink), ("note", note)) if val]


_TEXT_AND_BREAKS = etree.XPath(".//text() | .//br", smart_strings=False)


def _editor_note(s: Sources) -> str:
    """The re-publisher's 编者荐语, kept beside the reprint banner, outside ``#js_content``."""
    for el in s.doc.xpath('//*[contains(@class,"original_primary_tips")]'
                          '[not(ancestor::*[contains(@class,"original_primary_tips")])]'):
        seen = "".join(n if isinstance(n, str) else "\n" for n in _TEXT_AND_BREAKS(el))  # (the page's tree is not changed)
        text = "\n".join(" ".join(line.split()) for line in seen.split("\n"))
        text = re.sub(r"^\s*编者荐语\s*[:：]?\s*", "", text).strip()
        if text:
            return htmltree.xml_text(text)  # (as the body reads the same characters)
    return ""


def read_article(s: Sources, meta: dict[str, Any], content: list[Any]) -> Body:
    """Normal article or reprint: the ``#js_content`` body."""
    share_src = s.doc.xpath('id("js_share_source")')
    reprint = meta["copyright_stat"] == 2 or bool(share_src)
    body = Body(Kind.REPRINT if reprint else Kind.ARTICLE)
    if content:
        body.html = etree.tostring(content[0], encoding="unicode", method="html")
    if share_src and (not content or not _text(content[0])):
        body = _share_card(s, meta, share_src[0])
    if body.kind is Kind.REPRINT and not body.reprint:
        body.reprint = _banner_source(s)
    if not content and not body.html:
        if s.doc.xpath('id("js_article")') or s.vars or s.cgi:
            raise LayoutChanged(f"{s.url}: WeChat page with no article body the parser knows", url=s.url)
        raise NotAnArticle(f"{s.url}: no article body")
    return body


READERS: dict[Kind, Callable[[Sources, dict[str, Any], list[Any]], Body]] = {
    Kind.TEXT: read_text, Kind.PICTURE: read_picture, Kind.VIDEO: read_video, Kind.ARTICLE: read_article,
}


# ---- the whole page -------------------------------------------------------------------------------

def _check_ids(url: str, biz: str, mid: str, idx: str) -> None:
    """A long URL names its article: a page carrying other ids is another article's page."""
    want = url_ids(url)
    for name, got in (("biz", biz), ("mid", mid), ("idx", idx)):
        asked = want.get(name, "")
        if asked and got and asked.strip() != got.strip():
            raise IdMismatch(f"{url}: the page that came back is another article's ({name} {got!r}, "
                             f"asked for {asked!r}); nothing written", url=url)


def parse(page: Page) -> Article:
    """Turn a page into an Article, or raise the typed error naming what it is.

    A page asked for by its article URL that turns out to be no WeChat page at all (an
    empty 200, a proxy's "502 Bad Gateway") is a passing fault, not a verdict on the
    article: only WeChat's own dead-page texts are permanent.
    """
    if len(page.content) > MAX_PAGE_BYTES:
        raise NotAnArticle(f"page is {len(page.content) // 2**20} MB, over the {MAX_PAGE_BYTES // 2**20} MB cap")
    try:
        return _parse(page)
    except NotAnArticle as e:
        if not is_article_url(page.url):
            raise
        raise FetchError(f"{page.url} answered with something that is not a WeChat page ({e.message}); "
                         "a later run tries again", url=page.url) from None


def _parse(page: Page) -> Article:
    doc, raw, scripts, lifted = load(page)
    url = page.url
    classify_error(doc, url, page.final_url or url, scripts)
    s = Sources(doc, url, scripts)
    if not (s.vars or s.cgi) and b"mp.weixin.qq.com" not in raw and b"res.wx.qq.com" not in raw:
        raise NotAnArticle(f"{url}: not a WeChat article page")
    content = _JS_CONTENT(doc)
    check_whole(doc, raw, content, url)  # a page cut short never becomes a post
    if content and lifted is not None:
        lifted.put_back(content[0])  # the body's own scripts (document.write) are read by clean
    if content:
        flatten_deep(content[0])  # past ~120 levels the later stages' parsers would drop text
    try:
        s.item_show_type = int(field_value(s, "item_show_type") or "0")
    except ValueError:
        s.item_show_type = 0
    meta = _metadata(s)
    media = _inline_videos(s)
    body = READERS[_kind(s)](s, meta, content)
    title, title_derived = (body.title, body.title_derived) if body.title is not None else (meta["title"], False)
    if not title and not body.html.strip():
        raise LayoutChanged(f"{url}: page has neither a title nor a body", url=url)
    if not title:
        title = _derive_title(html.unescape(re.sub(r"<[^>]+>", " ", body.html))) or "untitled"
        title_derived = True
    return Article(url=url, final_url=page.final_url or url, **{**meta, "title": title}, kind=body.kind.value,
                   item_show_type=s.item_show_type, body_html=body.html, title_derived=title_derived,
                   reprint_of=tuple(body.reprint), media=tuple(media + body.media))
