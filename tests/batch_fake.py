"""A small fake WeChat for the batch tests: article pages, images, album JSON, feeds.

Everything is written here by hand (no corpus pages). The server is a real
pytest-httpserver; the tool reaches it through ``--connect-to``, so every URL the
tool records stays a real ``mp.weixin.qq.com`` / ``mmbiz.qpic.cn`` URL.
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

BIZ = "MzA5NjQ0MjY2Mw=="
BIZ_Q = "MzA5NjQ0MjY2Mw%3D%3D"
# a 1x1 PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")

ARTICLE_TEMPLATE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title>
<meta property="og:title" content="{title}" />
<meta property="og:url" content="{link}" />
</head>
<body id="activity-detail" class="zh_CN">
<div class="rich_media_area_primary">
<div id="js_article" class="rich_media">
<h1 class="rich_media_title" id="activity-name">{title}</h1>
<div id="meta_content" class="rich_media_meta_list">
<span class="rich_media_meta rich_media_meta_nickname" id="profileBt"><a id="js_name">{account}</a></span>
</div>
<div class="rich_media_content js_underline_content" id="js_content" style="visibility: hidden;">
<section><p>{body}</p>
<p><img class="rich_pages wxw-img" data-src="https://mmbiz.qpic.cn/mmbiz_png/{media}/640?wx_fmt=png&amp;from=appmsg" data-type="png" /></p>
<p>第二段：{title}。</p></section>
</div>
</div></div>
<script type="text/javascript">
var biz = "{biz}" || "";
var mid = "{mid}" || "";
var idx = "{idx}" || "";
var sn = "{sn}" || "";
var ct = "{ct}";
var nickname = htmlDecode("{account}");
var msg_title = '{title}'.html(false);
var msg_link = "{link}";
</script>
</body></html>
"""

VERIFY_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>环境异常</title></head>
<body><div class="weui-msg"><div class="weui-msg__text-area"><h2 class="weui-msg__title">环境异常</h2>
<p class="weui-msg__desc">当前环境异常，完成验证后即可继续访问。</p><a class="weui-btn">去验证</a></div></div></body></html>
"""


@dataclass
class Art:
    mid: int
    idx: int = 1
    title: str = ""
    ct: int = 0

    @property
    def sn(self) -> str:
        return f"{self.mid:08x}{self.idx:02x}aa55aa55aa55aa55aa55aa"[:32]

    @property
    def key(self) -> str:
        return f"{BIZ}:{self.mid}:{self.idx}"

    @property
    def path_query(self) -> dict[str, str]:
        return {"__biz": BIZ, "mid": str(self.mid), "idx": str(self.idx), "sn": self.sn}

    def url(self, tracking: bool = False) -> str:
        u = f"https://mp.weixin.qq.com/s?__biz={BIZ_Q}&mid={self.mid}&idx={self.idx}&sn={self.sn}"
        return u + ("&chksm=abcdef0123&scene=21#wechat_redirect" if tracking else "")

    @property
    def media(self) -> str:
        return f"Q3auHgzwzM{self.mid}x{self.idx}iaIMGmediaXYZ"

    def html(self) -> str:
        link = self.url().replace("&", "&amp;")
        return ARTICLE_TEMPLATE.format(title=self.title or f"测试文章 {self.mid}-{self.idx}", account="测试公众号",
                                       body=f"这是第 {self.mid} 篇文章的正文。", media=self.media, biz=BIZ,
                                       mid=self.mid, idx=self.idx, sn=self.sn, ct=self.ct or 1700000000 + self.mid,
                                       link=link)


def make_articles(n: int, start: int = 2247480001) -> list[Art]:
    return [Art(mid=start + i, idx=1, title=f"测试文章第{i + 1}篇", ct=1700000000 + i * 3600) for i in range(n)]


@dataclass
class FakeWeChat:
    """Routes on one HTTPServer; ``verify_after`` turns article pages into a captcha redirect."""

    server: HTTPServer
    articles: list[Art] = field(default_factory=list)
    verify_mids: set[int] = field(default_factory=set)
    verify_all: bool = False

    def install(self) -> "FakeWeChat":
        self.server.expect_request("/s").respond_with_handler(self._article)
        self.server.expect_request("/mp/wappoc_appmsgcaptcha").respond_with_data(
            VERIFY_PAGE, content_type="text/html; charset=utf-8")
        for a in self.articles:
            self.server.expect_request(f"/mmbiz_png/{a.media}/640").respond_with_data(PNG, content_type="image/png")
        return self

    def _article(self, request: Request) -> Response:
        mid = int(request.args.get("mid", "0") or 0)
        idx = int(request.args.get("idx", "1") or 1)
        if self.verify_all or mid in self.verify_mids:
            loc = "/mp/wappoc_appmsgcaptcha?poc_token=HLxyz&target_url=" + request.full_path.replace("&", "%26")
            return Response("", status=302, headers={"Location": loc})
        for a in self.articles:
            if a.mid == mid and a.idx == idx:
                return Response(a.html(), content_type="text/html; charset=utf-8")
        return Response("<html><body><div class='weui-msg'><h2 class='weui-msg__title'>参数错误</h2></div></body></html>",
                        content_type="text/html; charset=utf-8")

    # ---- server log helpers
    def requests(self, path: str) -> list[Request]:
        return [req for req, _resp in self.server.log if req.path == path]

    def article_requests(self) -> list[Request]:
        return self.requests("/s")


def album_item(a: Art) -> dict[str, Any]:
    url = ("http://mp.weixin.qq.com/s?__biz=" + BIZ_Q + f"&amp;mid={a.mid}&amp;idx={a.idx}&amp;sn={a.sn}"
           "&amp;chksm=9f1d2e3a&amp;scene=126#rd")
    return {"title": a.title, "url": url, "msgid": str(a.mid), "itemidx": str(a.idx),
            "create_time": str(a.ct), "cover_img_1_1": "https://mmbiz.qpic.cn/x/0", "item_show_type": "0",
            "is_pay_subscribe": "0", "pos_num": "0", "key": f"{a.mid}_{a.idx}", "is_read": "0"}


def album_page(items: list[Art] | None, cont: bool, *, single_object: bool = False, ret: int = 0) -> str:
    """One page of the getalbum JSON; ``items=None`` is the end page with no article_list at all."""
    resp: dict[str, Any] = {"base_info": {"title": "测试合集", "nickname": "测试公众号", "article_count": "9",
                                          "is_first_screen": "0"},
                            "continue_flag": "1" if cont else "0", "reverse_continue_flag": "1"}
    if items is not None:
        lst = [album_item(a) for a in items]
        resp["article_list"] = lst[0] if single_object and len(lst) == 1 else lst
    body: dict[str, Any] = {"base_resp": {"ret": ret, "exportkey_token": ""}, "getalbum_resp": resp}
    if ret:
        body = {"base_resp": {"ret": ret, "errmsg": "freq control"}}
    return json.dumps(body, ensure_ascii=False)


def rss(items: Iterable[Art], *, in_content: bool = False) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>',
           "<title>测试公众号</title><link>https://rsshub.example.org/</link><description>feed</description>"]
    for a in items:
        if in_content:
            link = "https://rsshub.example.org/item/" + str(a.mid)
            content = f'<content:encoded><![CDATA[<p>原文：<a href="{a.url(tracking=True)}">阅读原文</a></p>]]></content:encoded>'
        else:
            link = a.url(tracking=True).replace("&", "&amp;")
            content = ""
        out.append(f"<item><title>{a.title}</title><link>{link}</link><guid isPermaLink=\"false\">{a.mid}</guid>"
                   f"<description>摘要</description>{content}</item>")
    out.append("</channel></rss>")
    return "\n".join(out)


def atom(items: Iterable[Art]) -> str:
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<feed xmlns="http://www.w3.org/2005/Atom">',
           "<title>测试公众号</title><id>urn:test:feed</id><updated>2026-01-01T00:00:00Z</updated>"]
    for a in items:
        href = a.url(tracking=True).replace("&", "&amp;")
        out.append(f'<entry><title>{a.title}</title><id>urn:wx:{a.mid}</id><updated>2026-01-01T00:00:00Z</updated>'
                   f'<link rel="alternate" type="text/html" href="{href}"/>'
                   f'<summary type="html">摘要</summary></entry>')
    out.append("</feed>")
    return "\n".join(out)


def connect_args(server: HTTPServer) -> list[str]:
    base = f"http://127.0.0.1:{server.port}"
    return ["--connect-to", f"mp.weixin.qq.com={base}", "--connect-to", f"mmbiz.qpic.cn={base}",
            "--connect-to", f"rsshub.example.org={base}", "--connect-to", f"lists.example.org={base}"]


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real command in a subprocess (stdout/stderr captured separately, no TTY)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("WXARCHIVE_CONNECT_TO", None)
    return subprocess.run([sys.executable, "-m", "wxarchive", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def posts(root: Path) -> list[Path]:
    return sorted((root / "_posts").glob("*.md"))


def partial_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".tmp-") or p.name.endswith(".part")]


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    """A threaded server (a handler may block without stalling the others)."""
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    try:
        yield srv
    finally:
        srv.clear()
        if srv.is_running():
            srv.stop()


def album_query(album_id: str, begin: Art | None = None) -> dict[str, str]:
    q = {"action": "getalbum", "__biz": BIZ, "album_id": album_id, "count": "20", "f": "json"}
    if begin is not None:
        q.update(begin_msgid=str(begin.mid), begin_itemidx=str(begin.idx))
    return q


def serve_album(srv: HTTPServer, album_id: str, pages: list[tuple[list[Art] | None, bool, bool]]) -> None:
    """pages: (items or None for no article_list, continue?, single_object?); cursor = last item of the previous page."""
    prev: Art | None = None
    for items, cont, single in pages:
        srv.expect_request("/mp/appmsgalbum", query_string=album_query(album_id, prev)).respond_with_data(
            album_page(items, cont, single_object=single), content_type="application/json; charset=UTF-8")
        if items:
            prev = items[-1]


def album_url(album_id: str) -> str:
    return f"https://mp.weixin.qq.com/mp/appmsgalbum?__biz={BIZ_Q}&album_id={album_id}&scene=173#wechat_redirect"


def keys_on_disk(root: Path) -> list[str]:
    """``biz:mid:idx`` of every post file under ``root``, read from its front matter."""
    from wxarchive.write.render import split_post

    out = []
    for p in posts(root):
        fm, _ = split_post(p.read_text(encoding="utf-8"))
        out.append(f"{fm['biz']}:{fm['mid']}:{fm['idx']}")
    return out
