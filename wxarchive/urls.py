"""Recognising, normalising and keying WeChat article URLs.

Identity is ``biz:mid:idx``; a long URL yields it with no request at all.
Short ``/s/TOKEN`` links are keyed ``s:TOKEN`` until fetched, then aliased.
"""
from __future__ import annotations

import functools
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

__all__ = [
    "ARTICLE_HOST",
    "IMAGE_HOSTS",
    "article_key",
    "decode_amp",
    "find_article_urls",
    "is_article_url",
    "is_image_host",
    "normalize_article_url",
    "short_token",
    "url_ids",
    "video_url",
]

ARTICLE_HOST = "mp.weixin.qq.com"
MP_VIDEO_PREFIXES = ("wxv_", "apiv_")  # WeChat's own video ids (not Tencent Video's)
IMAGE_HOSTS = ("mmbiz.qpic.cn", "mmbiz.qlogo.cn", "mmecoa.qpic.cn", "mmsns.qpic.cn", "vpic.video.qq.com",
               "puui.qpic.cn", "res.wx.qq.com", "wx.qlogo.cn", "mpvideo.qpic.cn", "vweixinf.tc.qq.com")
_KEEP_PARAMS = ("__biz", "mid", "idx", "sn", "src", "timestamp", "ver", "signature", "new")
_ALIASES = {"appmsgid": "mid", "itemidx": "idx", "sign": "sn"}
_ENCODED_RE = re.compile(r"https?%3A%2F%2Fmp\.weixin\.qq\.com%2F[A-Za-z0-9%._~+-]*", re.I)
# article URLs are plain ASCII; stopping at anything else (a comma, a CJK character, a bracket) keeps a CSV
# cell, a Markdown link or a Chinese sentence around a link out of it
_URL_RE = re.compile(r"""https?://mp\.weixin\.qq\.com/(?:s\b|mp/appmsg)[A-Za-z0-9\-._~:/?#@!$&*+;=%]*""", re.I)


# The canonical long form ``normalize_article_url`` makes (biz quoted, ``=`` kept). Such a URL is its own
# normal form, so a re-run's second look at a URL (``import`` normalises, then the pipeline checks again)
# skips the decode/parse/encode round (~80 us a URL).
# Only the escapes ``quote`` itself writes for a base64 biz (%2B, %2F) keep it a fixed point (``%41`` would not).
_CANONICAL = re.compile(
    r"https://mp\.weixin\.qq\.com/s\?__biz=((?:[A-Za-z0-9=]|%2B|%2F)+)&mid=(\d+)&idx=(\d+)(?:&sn=[0-9a-f]+)?")
# The long form users' lists hold: biz/mid/idx/sn first, then tracking parameters (none of them kept or an
# alias of a kept one), then maybe a fragment; no ``;``, so decode_amp changes nothing. The full route gives
# exactly the first four parameters back; test_urls checks the two agree.
_RAW_LONG = re.compile(
    r"https?://mp\.weixin\.qq\.com/s\?__biz=([A-Za-z0-9=]+)&mid=(\d+)&idx=(\d+)&sn=([0-9a-f]+)"
    r"(?:&(?!(?:__biz|mid|idx|sn|src|timestamp|ver|signature|new|appmsgid|itemidx|sign)=)[A-Za-z0-9_]+=[A-Za-z0-9_.%-]*)*"
    r"(?:#[A-Za-z0-9_]*)?")

_AMP_RE = re.compile(r"&(?:amp;|#0*38;|#x0*26;)", re.I)
# quotes and brackets around a link in HTML text, always written with their ``;``
_QUOTE_RE = re.compile(r"&(quot|apos|lt|gt|#0*34|#0*39|#x0*22|#x0*27);", re.I)
_QUOTES = {"quot": '"', "apos": "'", "lt": "<", "gt": ">"}


def decode_amp(text: str) -> str:
    """``&amp;`` (also double-escaped, and ``&#38;``) back to ``&`` -- and no other entity.

    A URL is not HTML: ``html.unescape`` would turn ``&timestamp=`` into ``×tamp=``
    (``&times`` is an HTML5 entity that needs no ``;``), ``&copy``, ``&para``, ``&not``
    likewise. ``&amp;`` is the one entity that appears in links copied out of HTML.
    """
    while True:
        new = _AMP_RE.sub("&", text)
        if new == text:
            break
        text = new
    if "&" in text:
        text = _QUOTE_RE.sub(lambda m: _QUOTES.get(m.group(1).lower()) or _numeric(m.group(1)), text)
    return text


def _numeric(ref: str) -> str:
    ref = ref.lower()
    return chr(int(ref[2:], 16) if ref.startswith("#x") else int(ref[1:]))


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def is_image_host(url: str, allowed: tuple[str, ...] = IMAGE_HOSTS) -> bool:
    host = _host(url)
    return any(host == h or host.endswith("." + h) for h in allowed)


def is_article_url(url: str) -> bool:
    """An http(s) URL of a WeChat article page (short, long or temporary form)."""
    if _CANONICAL.fullmatch(url) or _RAW_LONG.fullmatch(url):
        return True
    try:
        parts = urlsplit(decode_amp(url.strip()))
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or (parts.hostname or "").lower() != ARTICLE_HOST:
        return False
    path = parts.path.rstrip("/")
    return path == "/s" or path.startswith("/s/") or path == "/mp/appmsg/show" or path.startswith("/mp/rumor")


@functools.lru_cache(maxsize=1024)
def normalize_article_url(url: str) -> str:
    """The canonical https form: entity-decoded, tracking parameters and fragment dropped.
    (Cached: one article's steps read its link several times. 1,024 entries, not a whole list's: 65,536
    of them held ~16 MB by the end of a long import, and the fast paths below cost ~2 us a link.)"""
    if _CANONICAL.fullmatch(url):
        return url
    m = _RAW_LONG.fullmatch(url)
    if m:
        return f"https://{ARTICLE_HOST}/s?__biz={m.group(1)}&mid={m.group(2)}&idx={m.group(3)}&sn={m.group(4)}"
    return _normalize(url)


def _normalize(url: str) -> str:
    """The full route of :func:`normalize_article_url`, for every form."""
    url = decode_amp(url.strip().replace("\\x26", "&").replace("\\/", "/"))
    parts = urlsplit(url)
    path = parts.path
    if path.startswith("/s/"):
        return f"https://{ARTICLE_HOST}/s/{short_token(path[3:])}"
    path = quote(unquote(path), safe="/-_.~")
    params: dict[str, str] = {}
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        k = _ALIASES.get(k, k)
        if k in _KEEP_PARAMS and v and k not in params:
            params[k] = v
    query = urlencode([(k, params[k]) for k in _KEEP_PARAMS if k in params], quote_via=quote, safe="=")
    return urlunsplit(("https", ARTICLE_HOST, path or "/s", query, ""))


_TOKEN_RE = re.compile(r"[A-Za-z0-9_~-]*")


def short_token(rest: str) -> str:
    """The token of a short link ``/s/TOKEN`` from what follows ``/s/``.

    A token is base64url: letters, digits, '-' and '_'. WeRead's listing (and clients copying from it)
    writes some '_' as '~' (``%7E`` once escaped), which WeChat answers with 参数错误, so '~' is read as the
    '_' it stands for: both spellings are one article. Anything else (quotes, '<', spaces, a '/') ends
    the token, so a hostile link can never carry markup into a post or its front matter."""
    if "%" in rest:
        rest = rest.replace("%7E", "~").replace("%7e", "~")
    return _TOKEN_RE.match(rest).group(0).replace("~", "_")  # type: ignore[union-attr]


def url_ids(url: str) -> dict[str, str]:
    """biz/mid/idx/sn read from a long URL, or the token of a short one."""
    try:
        parts = urlsplit(decode_amp(url))
    except ValueError:
        return {}
    if parts.path.startswith("/s/"):
        return {"token": short_token(parts.path[3:])}
    out: dict[str, str] = {}
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        k = {"__biz": "biz"}.get(_ALIASES.get(k, k), _ALIASES.get(k, k))
        if k in ("biz", "mid", "idx", "sn") and v and k not in out:
            out[k] = unquote(v) if k == "biz" else v
    return out


@functools.lru_cache(maxsize=1024)
def article_key(url: str) -> str | None:
    """The identity known before any request: ``biz:mid:idx`` or ``s:TOKEN``; else None (cached, as above)."""
    m = _CANONICAL.fullmatch(url)
    if m:  # what url_ids reads: parse_qsl's unquote (``+`` is a space), then biz's own unquote
        return f"{unquote(unquote(m.group(1).replace('+', ' ')))}:{m.group(2)}:{m.group(3)}"
    ids = url_ids(url)
    if "token" in ids and ids["token"]:
        return "s:" + ids["token"]
    if ids.get("biz") and ids.get("mid") and ids.get("idx"):
        return f"{ids['biz']}:{ids['mid']}:{ids['idx']}"
    return None


def find_article_urls(text: str) -> list[str]:
    """Every WeChat article URL in free text (lists, CSV, JSON, bookmarks), normalised, in order."""
    text = decode_amp(text.replace("\\/", "/").replace("\\u0026", "&").replace("\\x26", "&"))
    if _ENCODED_RE.search(text):
        # links wrapped in a redirector (``?url=https%3A%2F%2Fmp.weixin...``) are scanned decoded too
        text = _ENCODED_RE.sub(lambda m: " " + unquote(m.group(0)) + " ", text)
    seen: dict[str, None] = {}
    for m in _URL_RE.finditer(text):
        raw = m.group(0).rstrip(".,;:!?'\"")
        if is_article_url(raw):
            seen.setdefault(normalize_article_url(raw), None)
    return list(seen)


def video_url(vid: str, wechat: bool = False) -> str:
    """Where a reader can watch a video: WeChat's own (``wxv_…``, ``apiv_…`` for one uploaded through
    its API, or any id the page marks as WeChat's: ``wechat``) in its mp video player; any other id
    (a Tencent Video one) on v.qq.com, which knows nothing of WeChat's ids."""
    if wechat or vid.startswith(MP_VIDEO_PREFIXES):
        return f"https://{ARTICLE_HOST}/mp/videoplayer?vid={vid}"
    return f"https://v.qq.com/x/page/{vid}.html"
