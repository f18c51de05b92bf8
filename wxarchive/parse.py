"""Classify a fetched WeChat page and read its metadata and body.

Pure: ``parse(page)`` depends only on the page, so golden files stay stable.
Metadata is read in layers -- ``window.cgiDataNew``, then ``var``/``window.``/
``d.`` script globals, then DOM ids and ``og:`` meta -- taking the first
non-empty value. ``#publish_time`` is filled by JavaScript and is never used.
"""
from __future__ import annotations

import datetime as dt
import html
import logging
import re
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html
from lxml import etree

from .errors import LayoutChanged, NotAnArticle, RateLimited, Unavailable
from .jsdata import GLOBALS, LEGACY, js_unescape, parse_object_at, script_vars
from .models import Article, Media, Page
from .urls import ARTICLE_HOST, is_article_url, normalize_article_url, url_ids

__all__ = ["SHANGHAI", "classify_error", "decode_html", "load_tree", "parse"]

log = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_PAGE_BYTES = 40 * 1024 * 1024

_VARS = frozenset(
    """msg_title title nickname nick_name author ct create_time ori_create_time oriCreateTime createTime
    biz mid idx sn msg_link msg_cdn_url cdn_url msg_desc desc msg_source_url source_url _copyright_stat
    copyright_stat item_show_type real_item_show_type user_name transferTargetLink isPaySubscribe
    is_pay_subscribe TextContentNoEncode ContentNoEncode content_noencode msg_daily_idx appmsgid
    publish_time svr_time vid videoPageInfos""".split()
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


def decode_html(content: bytes) -> str:
    """Page bytes as text: UTF-8 (WeChat's), else the declared charset, else GB18030."""
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    m = re.search(rb"""charset=["']?([A-Za-z0-9_-]+)""", content[:4096])
    for enc in ([m.group(1).decode("ascii")] if m else []) + ["gb18030"]:
        try:
            return content.decode(enc)
        except (LookupError, UnicodeDecodeError):
            continue
    return content.decode("utf-8", "replace")


_UTF8 = lxml.html.HTMLParser(encoding="utf-8")


def load_tree(text: str | None, raw: bytes | None = None) -> lxml.html.HtmlElement:
    """Parse a whole page; a page lxml cannot read at all is not an article.

    ``raw`` (page bytes that declare no other charset) is handed to lxml's UTF-8
    parser directly: decoding 3 MB of mostly-script text first costs more than
    the parse. ``text`` is used otherwise.
    """
    try:
        if raw is not None:
            if not raw or (len(raw) < 65536 and not raw.strip()):
                raise NotAnArticle("empty page")
            if b"\x00" not in raw:
                return lxml.html.document_fromstring(raw, parser=_UTF8)
            text = raw.decode("utf-8", "replace")
        if not text or not text.strip():
            raise NotAnArticle("empty page")
        return lxml.html.document_fromstring(text.replace("\x00", ""))
    except (etree.ParserError, ValueError) as e:
        raise NotAnArticle(f"not an HTML page ({e})") from None


_CHARSET = re.compile(rb"""charset\s*=\s*["']?([A-Za-z0-9_-]+)""", re.I)


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


SCRIPT_END = b"\n</script>\n"  # joins scripts: cannot occur inside one


def _scripts(doc: lxml.html.HtmlElement) -> bytes:
    """The inline scripts as UTF-8 bytes: lxml hands them over without a 3 MB decode."""
    return SCRIPT_END.join(etree.tostring(s, method="text", encoding="utf-8", with_tail=False)
                           for s in doc.iter("script") if not s.get("src"))


_JS_CONTENT = etree.XPath('//*[@id="js_content"]')


def classify_error(doc: lxml.html.HtmlElement, url: str, final_url: str) -> None:
    """Raise the typed error for a page that is not an article (verify, deleted, ...)."""
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
    title_el = doc.find(".//title")
    said_parts = [_text(e) for e in boxes[:1]] + [_text(title_el)]
    said = " ".join(p for p in said_parts if p).strip()
    if not said:
        return
    lower = said.lower()
    for code, needles in _ERROR_TEXTS:
        if any(n.lower() in lower for n in needles):
            detail = said[:200]
            if code == "verify":
                raise RateLimited(f"WeChat asks for verification at {url}: {detail}", url=url)
            target = ""
            if code == "migrated":
                found = script_vars(_scripts(doc), {"transferTargetLink"}).get("transferTargetLink", [])
                target = _first(*found)
                if target:
                    target = html.unescape(target)
            raise Unavailable(code, f"{url}: {detail}", url=url, target=target)
    if boxes:
        raise Unavailable("unavailable", f"{url}: {said[:200]}", url=url)


def _to_datetime(*candidates: Any) -> dt.datetime | None:
    for c in candidates:
        if isinstance(c, str) and c.strip().isdigit():
            c = int(c.strip())
        if isinstance(c, (int, float)) and not isinstance(c, bool) and c > 100000000:
            return dt.datetime.fromtimestamp(int(c), SHANGHAI)
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


def _cgi(scripts: bytes) -> dict[str, Any]:
    m = re.search(rb"window\.cgiDataNew\s*=\s*\{", scripts)
    if not m:
        return {}
    end = scripts.find(SCRIPT_END, m.end())
    text = scripts[m.end() - 1:end if end >= 0 else len(scripts)].decode("utf-8", "replace")
    value = parse_object_at(text, 0)
    return value if isinstance(value, dict) else {}


def _share_notice(scripts: bytes) -> str:
    m = re.search(rb"""js_share_notice['"]\)\.innerHTML\s*=\s*("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')""", scripts)
    return js_unescape(m.group(1)[1:-1].decode("utf-8", "replace")) if m else ""


def _text_to_html(text: str, allow_html: bool = False) -> str:
    """Plain post text (``\\n`` line breaks) as paragraphs."""
    text = text.replace("\r", "")
    paras = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    out = []
    for p in paras:
        body = p if allow_html else html.escape(p, quote=False)
        out.append("<p>" + body.strip("\n").replace("\n", "<br/>") + "</p>")
    return "\n".join(out)


def _derive_title(text: str) -> str:
    """WeChat titles untitled text posts with their first words; so do we."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(first) <= 30:
        return first
    cut = re.search(r"^.{8,30}?[。！？!?；;，,：:]", first)
    return cut.group(0)[:-1] if cut else first[:20] + "…"


def _vget(v: dict[str, list[Any]], *names: str) -> list[Any]:
    out: list[Any] = []
    for n in names:
        out.extend(v.get(n, []))
    return out


def _list_of(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value]
    return value if isinstance(value, list) else []


def parse(page: Page) -> Article:
    """Turn a page into an Article, or raise the typed error naming what it is."""
    if len(page.content) > MAX_PAGE_BYTES:
        raise NotAnArticle(f"page is {len(page.content) // 2**20} MB, over the {MAX_PAGE_BYTES // 2**20} MB cap")
    raw = page.content[3:] if page.content.startswith(b"\xef\xbb\xbf") else page.content
    declared = _CHARSET.search(raw[:4096])
    if declared and declared.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        doc = load_tree(decode_html(raw))
    else:
        doc = load_tree(None, raw)
    url = page.url
    classify_error(doc, url, page.final_url or url)

    scripts = _scripts(doc)
    v = script_vars(scripts, _VARS, GLOBALS)

    def var(*names: str) -> str:
        return _first(*_vget(v, *names))

    def complete() -> bool:
        return all(var(*n) for n in (("msg_title",), ("nickname",), ("ct", "create_time"), ("biz",), ("mid",),
                                     ("idx",))) and var("item_show_type", "real_item_show_type") in ("", "0")

    # legacy ``d.x =`` forms and window.cgiDataNew (which repeats the globals on current pages and
    # is the page's biggest literal) are read only when the globals lack something, or for
    # picture/text posts, whose body lives in cgiDataNew
    if not complete():
        for name, values in script_vars(scripts, _VARS, LEGACY).items():
            v.setdefault(name, []).extend(values)
    cgi = {} if complete() else _cgi(scripts)
    looks_wechat = bool(v or cgi) or b"mp.weixin.qq.com" in raw or b"res.wx.qq.com" in raw
    content = doc.xpath('//*[@id="js_content"]')
    if not looks_wechat:
        raise NotAnArticle(f"{url}: not a WeChat article page")

    ist = _first(cgi.get("item_show_type"), var("item_show_type"), var("real_item_show_type")) or "0"
    try:
        item_show_type = int(ist)
    except ValueError:
        item_show_type = 0
    classes = " ".join(doc.xpath('//*[@id="js_article"]/@class'))

    # ---- ids and links
    link = html.unescape(html.unescape(_first(cgi.get("link"), var("msg_link"), (lambda: _meta(doc, "og:url")))))
    from_link = url_ids(link) if link else {}
    from_url = url_ids(url)
    biz = _first(cgi.get("bizuin"), var("biz"), from_link.get("biz"), from_url.get("biz"))
    mid = _first(cgi.get("mid"), var("mid", "appmsgid"), from_link.get("mid"), from_url.get("mid"))
    idx = _first(cgi.get("idx"), var("idx"), from_link.get("idx"), from_url.get("idx"))
    sn = _first(cgi.get("sn"), var("sn"), from_link.get("sn"), from_url.get("sn"))
    canonical = ""
    if biz and mid and idx:
        canonical = normalize_article_url(
            f"https://{ARTICLE_HOST}/s?__biz={biz}&mid={mid}&idx={idx}" + (f"&sn={sn}" if sn else "")
        )
    elif link.startswith("http"):
        canonical = normalize_article_url(link)
    elif "mp.weixin.qq.com" in url:
        canonical = normalize_article_url(url)

    # ---- descriptive fields
    title = _first(
        cgi.get("title"), var("msg_title"), var("title"),
        (lambda: _dom(doc, '//*[@id="activity-name"]', '//*[contains(@class,"rich_media_title")]',
             '//*[@id="video_title"]', '//*[@id="original_panel_title"]')),
        (lambda: _meta(doc, "og:title", "twitter:title")), (lambda: _dom(doc, "//title")),
    )
    account = _first(
        cgi.get("nick_name"), var("nickname", "nick_name"),
        (lambda: _dom(doc, '//*[@id="js_name"]', '//*[@id="post-user"]', '//*[contains(@class,"account_nickname_inner")]',
             '//*[contains(@class,"wx_follow_nickname")]', '//*[contains(@class,"profile_nickname")]')),
    )
    author = _first(
        cgi.get("author"), var("author"),
        (lambda: _dom(doc, '//*[@id="js_author_name"]')), (lambda: _meta(doc, "author", "og:article:author")),
        (lambda: _byline(doc)),
    )
    published = _to_datetime(
        cgi.get("ori_create_time"), *_vget(v, "ct", "create_time", "oriCreateTime"),
        cgi.get("create_time"), *_vget(v, "createTime"), _dom(doc, '//*[@id="post-date"]'),
    )
    digest = _first(var("msg_desc"), cgi.get("desc") if item_show_type not in (8, 10) else "",
                    (lambda: _meta(doc, "description", "og:description")))
    cover = html.unescape(_first(var("msg_cdn_url"), cgi.get("cdn_url"), var("cdn_url"), (lambda: _meta(doc, "og:image"))))
    read_more = html.unescape(_first(var("msg_source_url"), cgi.get("source_url")))
    copyright_info = cgi.get("copyright_info") if isinstance(cgi.get("copyright_info"), dict) else {}
    cs = _first(var("_copyright_stat"), copyright_info.get("copyright_stat"), var("copyright_stat"), cgi.get("copyright_stat"))
    copyright_stat = int(cs) if cs.isdigit() else 0
    if not cs and "原创" in _dom(doc, '//*[@id="copyright_logo"]'):
        copyright_stat = 1
    paid = _first(var("isPaySubscribe", "is_pay_subscribe"), cgi.get("is_pay_subscribe")) == "1" or bool(
        doc.xpath('//*[contains(@class,"mp-pay-preview-filter")]'))

    # ---- in-article WeChat videos: poster and the best direct file, by vid
    media: list[Media] = []
    for info in [x for lst in _vget(v, "videoPageInfos") for x in _list_of(lst)]:
        if not isinstance(info, dict) or not info.get("video_id"):
            continue
        vid = str(info["video_id"])
        trans = [t for t in _list_of(info.get("mp_video_trans_info")) if isinstance(t, dict) and t.get("url")]
        trans.sort(key=lambda t: (int(t.get("video_quality_level") or 0) if str(t.get("video_quality_level") or "0").isdigit() else 0,
                                  int(t.get("filesize") or 0) if str(t.get("filesize") or "0").isdigit() else 0), reverse=True)
        direct = html.unescape(html.unescape(str(trans[0]["url"]))) if trans else ""
        media.append(Media(kind="video", url=f"https://mp.weixin.qq.com/mp/videoplayer?vid={vid}",
                           poster=html.unescape(str(info.get("cover_url") or "")), direct_url=direct, ident=vid))

    # ---- body by kind
    kind = "article"
    title_derived = False
    reprint: list[tuple[str, str]] = []
    body_html = ""
    cls = classes.split()
    is_video = item_show_type == 5 or (item_show_type == 0 and bool(
        doc.xpath('//*[@id="js_mpvedio"] | //*[contains(@class,"common_share_title")]')))
    if item_show_type == 10 or (item_show_type == 0 and "page_content" in cls and not is_video):
        kind = "text"
        tpi = cgi.get("text_page_info") if isinstance(cgi.get("text_page_info"), dict) else {}
        body_text = _first(tpi.get("content_noencode"), tpi.get("content"), var("TextContentNoEncode"),
                           var("ContentNoEncode"), cgi.get("content_noencode"), var("content_noencode"))
        if not body_text and content:
            body_text = content[0].text_content()
        body_html = _text_to_html(body_text)
        user_title = tpi.get("is_user_title")
        if user_title in (0, "0") or not title or title.strip() == body_text.strip():
            if not title or user_title in (0, "0") or len(title) > 60:
                title, title_derived = _derive_title(body_text or title), True
    elif item_show_type == 8 or (item_show_type == 0 and "share_content_page" in cls and not is_video):
        kind = "picture"
        body_text = _first(cgi.get("content_noencode"), var("content_noencode"), var("ContentNoEncode"))
        pics = _list_of(cgi.get("picture_page_info_list"))
        parts = []
        if body_text:
            parts.append(_text_to_html(body_text, allow_html="<a " in body_text))
        elif content:
            parts.append(etree.tostring(content[0], encoding="unicode", method="html"))
        for pic in pics:
            if isinstance(pic, dict):
                src = html.unescape(html.unescape(str(pic.get("cdn_url") or "")))
                if src:
                    parts.append(f'<p><img src="{html.escape(src)}"/></p>')
        body_html = "\n".join(parts)
    elif is_video:
        kind = "video"
        vids = [m.decode() for m in re.findall(rb"""\bvid\s*:\s*["']([A-Za-z0-9_]+)["']""", scripts) if m]
        poster = html.unescape(_first(*(u.decode("utf-8", "replace")
                                         for u in re.findall(rb"""\bcdn_url\s*:\s*["']([^"'\n]+)["']""", scripts))))
        if poster and ("mmhead" in poster or "qlogo" in poster):
            poster = ""
        parts = []
        if poster:
            parts.append(f'<p><img src="{html.escape(poster)}"/></p>')
        if vids:
            vurl = f"https://v.qq.com/x/page/{vids[0]}.html"
            media.append(Media(kind="video", url=vurl, title=title, poster=poster, ident=vids[0]))
            parts.append(f'<p>▶ 视频：<a href="{vurl}">{html.escape(title or vurl)}</a></p>')
        desc = _first(var("msg_desc"))
        if desc and desc != title:
            parts.append(_text_to_html(desc))
        body_html = "\n".join(parts)
    else:
        if copyright_stat == 2 or doc.xpath('//*[@id="js_share_source"]'):
            kind = "reprint"
        if content:
            body_html = etree.tostring(content[0], encoding="unicode", method="html")
        share_src = doc.xpath('//*[@id="js_share_source"]')
        if share_src and (not content or not _text(content[0])):
            # old share card: the sharer's note plus a link to the original
            note = _share_notice(scripts) or digest
            src_url = html.unescape(share_src[0].get("data-url") or "")
            otitle = _dom(doc, '//*[@id="original_panel_title"]')
            oauthor = _dom(doc, '//*[@id="js_share_author"]')
            body_html = _text_to_html(note) + (
                f'\n<p>转载自：<a href="{html.escape(src_url)}">{html.escape(otitle or src_url)}</a>'
                + (f"（{html.escape(oauthor)}）" if oauthor else "") + "</p>" if src_url else "")
            if is_article_url(src_url):
                src_url = normalize_article_url(src_url)
            reprint = [(k, val) for k, val in (("title", otitle), ("account", oauthor), ("url", src_url)) if val]
        if kind == "reprint" and not reprint:
            banner = _dom(doc, '//*[contains(@class,"original_primary_card_tips")]')
            oacct = _dom(doc, '//*[contains(@class,"original_primary_nickname")]')
            m = re.search(r"以下文章来源于\s*(.+?)\s*[，,]\s*作者\s*(.+)$", banner)
            oauthor = m.group(2).strip() if m else ""
            if m and not oacct:
                oacct = m.group(1).strip()
            olink = html.unescape(_first(*doc.xpath('//a[@id="copyright_info"]/@href')))
            olink = olink if olink.startswith(("http://", "https://")) else ""
            reprint = [(k, val) for k, val in (("account", oacct), ("author", oauthor), ("url", olink)) if val]
        if not content and not body_html:
            if doc.xpath('//*[@id="js_article"]') or v or cgi:
                raise LayoutChanged(f"{url}: WeChat page with no article body the parser knows", url=url)
            raise NotAnArticle(f"{url}: no article body")
    if not title and not body_html.strip():
        raise LayoutChanged(f"{url}: page has neither a title nor a body", url=url)
    if not title:
        title = _derive_title(html.unescape(re.sub(r"<[^>]+>", " ", body_html))) or "untitled"
        title_derived = True

    return Article(
        url=url,
        final_url=page.final_url or url,
        title=title,
        account=account,
        author=author,
        published=published,
        biz=biz,
        mid=mid,
        idx=idx,
        sn=sn,
        canonical_url=canonical,
        digest=digest,
        cover=cover,
        read_more_url=read_more,
        copyright_stat=copyright_stat,
        kind=kind,
        item_show_type=item_show_type,
        body_html=body_html,
        title_derived=title_derived,
        reprint_of=tuple(reprint),
        paid_preview=paid,
        media=tuple(media),
    )
