"""Generated WeChat article pages of real size and shape: 2-4 MB, about 95 % inline script.

A page WeChat serves today is ~3 MB: a 20-80 KB article body inside ~56 inline
scripts (a 1.4 MB bundle, a few 100-250 KB ones, a dozen of 16-64 KB, many
small), CSS-in-JS strings, the ``var`` globals and ``window.cgiDataNew``. The
script text is built from formatted-JS templates with varied identifiers and
numbers, so it compresses like the real thing (gzip -6 to ~18 %) and holds many
``var `` hits for the metadata scan to wade through. Deterministic for a given seed.

What is shared and what is each page's own is shaped on real pages fetched the
same day (corpus pages 16-25): ~80 % of the script bytes are bundles the same
in every page; each page has its own copy of a ~7 % bundle that differs by the
server time written into it, and its own 100-450 KB data script
(``JsDecode(...)`` fields) -- ~15-30 % of the script bytes are the page's own.
"""
from __future__ import annotations

import functools
import hashlib
import html
import json
import random
from pathlib import Path

BIZ = "MzI0NTc1OTk5Ng=="
MID0 = 2650100000

_WORDS = ("arr len iter obj key value target source props state node el event handler options config item list "
          "index result data callback resolve reject promise module exports default render update mount unmount "
          "context ref style theme color size width height offset scroll visible hidden report report_data appmsg "
          "scene comment like share reward video audio player poster cover headline summary owner").split()  # not names parse reads
_CSS_VARS = ("BG", "FG", "GLYPH", "BLUE", "BRAND", "GREEN", "RED", "ORANGE", "TAG-TEXT", "LINK", "DIVIDER")

_TEMPLATES = (
    "function _{a}${n}({b}, {c}) {{\n    if ({c} == null || {c} > {b}.length) {c} = {b}.length;\n"
    "    for (var i = 0, {d} = new Array({c}); i < {c}; i++) {d}[i] = {b}[i];\n    return {d};\n}}\n",
    "var {a}{n} = function ({b}) {{\n    var {c} = {b}.{d} || {{}};\n    return {c}.{e} ? {c}.{e}({n}) : '{a}_{e}_{n}';\n}};\n",
    "function {a}_{b}{n}({c}) {{\n    if (typeof {c} === \"string\") return {c}.slice({m}, -{k});\n"
    "    var {d} = Object.prototype.toString.call({c}).slice(8, -1);\n"
    "    if ({d} === \"Object\" && {c}.constructor) {d} = {c}.constructor.name;\n    return {d};\n}}\n",
    "    {a}.prototype.{b} = function {b}({c}, {d}) {{\n        var _this{n} = this;\n"
    "        return this.{e}({c}).then(function (res) {{ return _this{n}.{d}(res, {m}); }});\n    }};\n",
    "var {a}{n} = {{ {b}: {m}, {c}: \"{d}-{k}\", {e}: [{m}, {k}, {n}], report_id: {big} }};\n",
    "    throw new TypeError(\"Invalid attempt to {a} non-iterable instance.\\nIn order to be {b}, "
    "non-array objects must have a [Symbol.iterator]() method.\");\n",
    "e.exports = function ({a}, {b}) {{ \"use strict\"; var {c} = n({big}), {d} = n.n({c}); return {d}()({a}, {{ {e}: {m} }}); }};\n",
)


def _js(rnd: random.Random, size: int, pool: list[str]) -> str:
    """Script text: mostly chunks repeated from the page's pool (bundles repeat their helpers far apart), some fresh."""
    out, n = [], 0
    while n < size:
        chunk = rnd.choice(pool) if rnd.random() < REPEAT else _chunk(rnd)
        out.append(chunk)
        n += len(chunk)
    return "".join(out)


REPEAT = 0.85  # tuned so gzip -6 keeps ~22 % and zstd -1 ~0.8x of that, as on real 3 MB pages
POOL = 1500


def _chunk(rnd: random.Random) -> str:
    w = _WORDS
    if rnd.random() < 0.12:  # CSS-in-JS, as WeChat inlines its theme sheets
        name = rnd.choice(_CSS_VARS)
        s = "".join(f"--weui-{name}-{rnd.randrange(0, 200)}: rgba({rnd.randrange(256)}, {rnd.randrange(256)}, "
                    f"{rnd.randrange(256)}, .{rnd.randrange(1, 10)});" for _ in range(rnd.randrange(8, 30)))
        return f"var css{rnd.randrange(10**6)} = \".wx-root[data-weui-theme=dark]{{{s}}}\";\n"
    return rnd.choice(_TEMPLATES).format(
        a=rnd.choice(w), b=rnd.choice(w), c=rnd.choice(w), d=rnd.choice(w), e=rnd.choice(w),
        n=rnd.randrange(1, 60), m=rnd.randrange(0, 500), k=rnd.randrange(1, 99), big=rnd.randrange(10**5, 10**7))


def media_id(i: int, j: int) -> str:
    h = hashlib.sha256(f"{i}/{j}".encode()).hexdigest()
    return f"Q3auHgzwzM{i:06d}x{j:03d}" + h[:48]


def sn(i: int) -> str:
    return hashlib.md5(f"sn{i}".encode()).hexdigest()


@functools.lru_cache(maxsize=1)
def _paragraphs() -> tuple[str, ...]:
    rnd = random.Random(1)
    return tuple("".join(rnd.choice("归档解析渲染图片保存本地文章公众号微信阅读原文作者编辑时间数据代码网络服务器缓存")
                         for _ in range(rnd.randrange(60, 160))) for _ in range(300))


_HAN = "归档解析渲染图片保存本地文章公众号微信阅读原文作者编辑时间数据代码网络服务器缓存"


def _body(rnd: random.Random, i: int, images: int, paragraphs: int) -> str:
    """The article's words: paragraphs of its own (an author does not repeat paragraphs across posts; a
    shared pool made the tool learn body paragraphs as the account's footer, and clean every post again
    at the end of a run), and the same two closing lines in every post, a sign-off the tool learns."""
    parts = []
    img_at = {round((j + 1) * paragraphs / (images + 1)) for j in range(images)}
    j = 0
    for p in range(paragraphs):
        text = "".join(rnd.choices(_HAN, k=rnd.randrange(60, 160)))
        parts.append(f'<section style="margin: 0px 8px; line-height: 1.75em;"><p style="text-align: justify;">'
                     f'<span style="font-size: 15px; color: rgb(62, 62, 62); letter-spacing: 1px;">'
                     f'<span leaf="">{text}</span></span></p></section>')
        if p in img_at and j < images:
            parts.append(f'<p style="text-align: center;"><img class="rich_pages wxw-img" data-ratio="0.75" '
                         f'data-type="png" data-w="1080" data-src="https://mmbiz.qpic.cn/mmbiz_png/{media_id(i, j)}'
                         f'/640?wx_fmt=png&amp;from=appmsg" style="width: 100%;"></p>')
            j += 1
    parts.append("<h2><strong>小结</strong></h2><p>这是正文的最后一句话。</p>")
    return "\n".join(parts)


VARIANTS = 4  # distinct script sets; generating one takes ~0.2 s, so a 1,000-article batch reuses them


def _tag(s: str, n: int) -> str:
    return f'<script type="text/javascript" nonce="{n}">\n{s}</script>\n'


_SHARES = ([0.48, 0.08, 0.055, 0.035, 0.03, 0.025]  # bundles of 64 KB and more
           + [0.0105] * 12 + [0.0025] * 8 + [0.0004] * 25)  # 16-64 KB, 4-16 KB, small
_OWN_BUNDLE = 0.075  # each page's copy differs by its server time
_DATA = (0.09, 0.27)  # each page's data script, a share of the script bytes


@functools.lru_cache(maxsize=16)
def _script_bytes(variant: int, seed: int, size: int) -> tuple[bytes, bytes, bytes, bytes, bytes, tuple[str, ...]]:
    """The shared scripts, encoded once per variant, in runs that each page's own scripts and its
    globals go between: (before, own bundle's head, its tail, middle, after, the chunk pool)."""
    rnd = random.Random(seed * 7919 + variant)
    budget = int(max(0, size - 80_000) * 0.88)  # the rest: head, body, globals, the page's data script
    pool = [_chunk(rnd) for _ in range(POOL)]
    tags = [_tag(_js(rnd, int(budget * s), pool), rnd.randrange(10**9)) for s in _SHARES]
    own = _js(rnd, int(budget * _OWN_BUNDLE), pool)
    cut = own.rfind("\n", 0, len(own) - 2000) + 1
    head = f'<script type="text/javascript" nonce="{rnd.randrange(10**9)}">\n{own[:cut]}'
    a, b = len(tags) // 2, len(tags) - 3
    return (*(("".join(part)).encode("utf-8") for part in (tags[:a],)), head.encode(), (own[cut:] + "</script>\n").encode(),
            *(("".join(part)).encode("utf-8") for part in (tags[a:b], tags[b:])), tuple(pool))  # type: ignore[return-value]


def _own_scripts(rnd: random.Random, i: int, size: int, variant: tuple[bytes, ...]) -> tuple[bytes, bytes]:
    """The page's own: the server time written into its bundle copy, and its data script."""
    pool = list(variant[5])
    ct = 1700000000 + i * 3600
    svr = f"            var svrDate = '{ct + 86400 + rnd.randrange(10**5)}';\n            var oriCreateTime = '{ct}';\n"
    data = _js(rnd, int(max(0, size - 80_000) * rnd.uniform(*_DATA)), pool)
    return svr.encode(), _tag(f"    window.__appmsg_data = {{ sessionid: JsDecode('svr_{sn(i)[:11]}') }};\n{data}",
                              rnd.randrange(10**9)).encode()


def real_page(i: int, size: int = 3 * 1024 * 1024, images: int = 20, seed: int = 13, kind: str = "article") -> bytes:
    """Article ``i`` as WeChat serves it: ~``size`` bytes, most of it inline script.

    ``kind`` "text" or "picture" makes a text post (item_show_type 10) or a picture post (8) instead,
    shaped as the 2025 corpus pages of those kinds: ``#js_content`` holds only the follow card (and a
    text post's title and empty text slot), the words are ``cgiDataNew.content_noencode`` with
    ``\\x0a`` line breaks, a picture post's images its ``picture_page_info_list``.
    """
    rnd = random.Random(seed * 1_000_003 + i)
    title = f"第{i}期：用 Python 整理公众号文章的{i % 7 + 3}个办法"
    ct = 1700000000 + i * 3600
    link = f"http://mp.weixin.qq.com/s?__biz={BIZ}&amp;mid={MID0 + i}&amp;idx=1&amp;sn={sn(i)}"
    body = _body(rnd, i, images, paragraphs=rnd.randrange(40, 90))
    show, text, pics, desc = "0", "", "", ""  # an article page stays as it was
    if kind != "article":  # a short post: its words and pictures live in the scripts
        show = "10" if kind == "text" else "8"
        text = "\\x0a".join(rnd.choice(_paragraphs()) for _ in range(rnd.randrange(3, 12)))
        n_pics = images if kind == "picture" else 0
        pics = ", ".join(f"{{ cdn_url: 'https://mmbiz.qpic.cn/mmbiz_jpg/{media_id(i, j)}/0?wx_fmt=jpeg', "
                         "width: '1080', height: '1440' }" for j in range(n_pics))
        pics = f"picture_page_info_list: [{pics}], "
        desc = f'<meta property="og:description" content="第{i}篇基准文章的摘要">\n'
        body = ('<div id="js_top_profile"><img class="wx_follow_avatar_pic" src="https://wx.qlogo.cn/mmhead/x/0">'
                '<span class="wx_follow_nickname">基准测试号</span></div>'
                + (f'<h1 id="js_text_title">{html.escape(title)}</h1><p id="js_text_desc"></p>' if kind == "text" else ""))
    globals_js = (f'var msg_title = "{title}";\nvar ct = "{ct}";\nvar nickname = "基准测试号";\n'
                  f'var biz = "" || "{BIZ}"; var mid = "" || "{MID0 + i}"; var idx = "" || "1"; var sn = "" || "{sn(i)}";\n'
                  f'var msg_link = "{link}#rd";\n'
                  f'var msg_cdn_url = "https://mmbiz.qpic.cn/mmbiz_png/{media_id(i, 999)}/0?wx_fmt=png";\n'
                  f'var msg_desc = "第{i}篇基准文章的摘要";\nvar _copyright_stat = "1";\nvar item_show_type = "{show}";\n')
    cgi = (f"window.cgiDataNew = {{ title: '{title}', nick_name: '基准测试号', create_time: '{ct}', "
           f"bizuin: '{BIZ}', mid: '{MID0 + i}', idx: '1', sn: '{sn(i)}', item_show_type: '{show}', "
           f"content_noencode: '{text}', {pics}copyright_info: {{ copyright_stat: 1 }} }};\n")
    head = (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8">\n'
            f'<meta property="og:title" content="{html.escape(title)}">\n<meta property="og:url" content="{link}">\n'
            f'{desc}'
            f"<title>{html.escape(title)}</title>\n"
            '<script src="https://res.wx.qq.com/mmbizappmsg/zh_CN/htmledition/js/appmsg.js"></script>\n</head>\n'
            '<body id="activity-detail" class="zh_CN">\n<div id="js_article" class="rich_media">\n'
            f'<h1 class="rich_media_title" id="activity-name">{html.escape(title)}</h1>\n'
            '<div id="meta_content" class="rich_media_meta_list"><span class="rich_media_meta rich_media_meta_nickname"'
            ' id="profileBt"><a id="js_name">基准测试号</a></span><em id="publish_time"></em></div>\n'
            f'<div class="rich_media_content js_underline_content" id="js_content" style="visibility: hidden;">\n'
            f"{body}\n</div>\n</div>\n")
    variant = _script_bytes(i % VARIANTS, seed, size)
    pre, own_head, own_tail, mid, post, _ = variant
    svr, data = _own_scripts(rnd, i, size, variant)
    n = rnd.randrange(10**9)
    return b"".join((head.encode(), pre, own_head, svr, own_tail, _tag(globals_js, n).encode(), data, mid,
                     _tag(cgi, n + 1).encode(), post, b"</body></html>\n"))


def article_url(i: int) -> str:
    """The long form a user's list holds (with tracking parameters WeChat adds)."""
    return (f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid={MID0 + i}&idx=1&sn={sn(i)}"
            f"&chksm=ea{i:06x}&scene=21#wechat_redirect")


def real_size_pages(corpus: Path | None, limit: int = 0) -> list[tuple[str, bytes]]:
    """Pages of real size (>= 1 MB): the corpus's when present (read at bench time, never copied into the
    repo), else generated ones. ``limit`` keeps an even spread of that many, by size."""
    pages: list[tuple[str, bytes]] = []
    if corpus is not None and Path(corpus).is_dir():
        for p in sorted(Path(corpus).glob("*.html")):
            if p.stat().st_size >= 1024 * 1024:
                pages.append((p.stem, p.read_bytes()))
    if not pages:
        pages = [(f"generated-{i}", real_page(i, size=(2 + i % 3) * 1024 * 1024)) for i in range(max(limit, 6))]
    pages.sort(key=lambda x: len(x[1]))
    if limit and len(pages) > limit:
        step = len(pages) / limit
        pages = [pages[int(k * step + step / 2)] for k in range(limit)]
    return pages


def pages_of_kind(corpus: Path | None, kind: str, limit: int = 0) -> list[tuple[str, bytes]]:
    """Posts of one kind ("text", "picture"), whatever their size: the corpus's, as its sidecar ``.json``
    names them (read at bench time), else generated 2-3 MB ones. ``limit`` keeps an even spread, by size."""
    pages: list[tuple[str, bytes]] = []
    if corpus is not None and Path(corpus).is_dir():
        for p in sorted(Path(corpus).glob("*.json")):
            try:
                said = json.loads(p.read_text(encoding="utf-8")).get("kind")
            except (OSError, ValueError, AttributeError):
                continue
            if said == kind and p.with_suffix(".html").is_file():
                pages.append((p.stem, p.with_suffix(".html").read_bytes()))
    if not pages:
        pages = [(f"generated-{kind}-{i}", real_page(i, size=(2 + i % 2) * 1024 * 1024, images=9, kind=kind))
                 for i in range(max(limit, 3))]
    pages.sort(key=lambda x: len(x[1]))
    if limit and len(pages) > limit:
        step = len(pages) / limit
        pages = [pages[int(k * step + step / 2)] for k in range(limit)]
    return pages
