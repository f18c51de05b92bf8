"""A local stand-in for mp.weixin.qq.com and mmbiz.qpic.cn: generated article pages and PNGs.

Reached through ``--connect-to mp.weixin.qq.com=<base>/mp`` and
``mmbiz.qpic.cn=<base>/img``. Every response can be delayed by ``latency``
seconds; the server counts the requests it answered, by kind.
"""
from __future__ import annotations

import hashlib
import html
import struct
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

BIZ = "MzI0NTc1OTk5Ng=="
MID0 = 2650100000


def png(width: int, height: int, level: int = 9) -> bytes:
    """A valid RGB PNG of the given size (grey gradient)."""
    row = bytes(range(256)) * (width * 3 // 256 + 1)
    raw = b"".join(b"\x00" + row[(y % 256):(y % 256) + width * 3] for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, level)) + chunk(b"IEND", b"")


SMALL_PNG = png(32, 24)


def big_png(size: int = 2 * 1024 * 1024) -> bytes:
    """A PNG of about ``size`` bytes (stored, not compressed)."""
    width = 1024
    height = size // (width * 3 + 1) + 1
    return png(width, height, level=0)


def media_id(i: int, j: int) -> str:
    """A long, unique mmbiz media id like WeChat's (base64url-ish, 60+ chars)."""
    h = hashlib.sha256(f"{i}/{j}".encode()).hexdigest()
    return f"Q3auHgzwzM{i:06d}x{j:03d}" + h[:48]


def sn(i: int) -> str:
    return hashlib.md5(f"sn{i}".encode()).hexdigest()


def article_url(i: int) -> str:
    """The long form a user's list holds (with tracking parameters WeChat adds)."""
    return (f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid={MID0 + i}&idx=1&sn={sn(i)}"
            f"&chksm=ea{i:06x}&scene=21#wechat_redirect")


def article_html(i: int, images: int) -> bytes:
    """A small but realistic WeChat article page (2018-2021 layout)."""
    title = f"第{i}期：用 Python 整理公众号文章的{i % 7 + 3}个办法"
    ct = 1600000000 + i * 3600
    paras = []
    for j in range(images):
        paras.append(
            f'<section style="margin:0 8px;"><p style="text-align:justify;"><span style="font-size:15px;">'
            f"这是第{i}篇文章的第{j + 1}段正文，讲述归档、解析与渲染之间的取舍，以及为什么要把图片保存到本地。"
            f"</span></p></section>"
            f'<p style="text-align:center;"><img class="rich_pages wxw-img" data-ratio="0.75" data-type="png" '
            f'data-w="1080" data-src="https://mmbiz.qpic.cn/mmbiz_png/{media_id(i, j)}/640?wx_fmt=png&amp;from=appmsg" '
            f'style="width:100%;"></p>'
        )
    paras.append('<h2><strong>小结</strong></h2><ul><li><p>页面按节奏抓取</p></li><li><p>图片并发下载</p></li></ul>')
    paras.append("<p>这是正文的最后一句话。</p>")
    paras.append('<p style="text-align:center;">- END -</p><p>长按识别二维码关注我们</p>'
                 "<p>欢迎分享到朋友圈，点个在看</p>")
    body = "\n".join(paras)
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<meta property="og:title" content="{html.escape(title)}">
<meta property="og:url" content="http://mp.weixin.qq.com/s?__biz={BIZ}&amp;mid={MID0 + i}&amp;idx=1&amp;sn={sn(i)}">
<title>{html.escape(title)}</title>
<script src="https://res.wx.qq.com/mmbizappmsg/zh_CN/htmledition/js/appmsg.js"></script>
</head><body id="activity-detail" class="zh_CN">
<div id="js_article" class="rich_media">
<h2 class="rich_media_title" id="activity-name">{html.escape(title)}</h2>
<div id="meta_content" class="rich_media_meta_list">
<span class="rich_media_meta rich_media_meta_text">本地作者</span>
<span class="rich_media_meta rich_media_meta_nickname" id="profileBt"><a id="js_name">基准测试号</a></span>
<em id="publish_time" class="rich_media_meta rich_media_meta_text"></em>
</div>
<div class="rich_media_content" id="js_content" style="visibility: hidden;">
{body}
</div>
<div id="js_pc_qr_code" class="qr_code_pc"><img src="https://mp.weixin.qq.com/mp/qrcode?scene=10000004"></div>
</div>
<script type="text/javascript">
var msg_title = "{title}";
var ct = "{ct}";
var nickname = "基准测试号";
var biz = "" || "{BIZ}"; var mid = "" || "{MID0 + i}"; var idx = "" || "1"; var sn = "" || "{sn(i)}";
var msg_link = "http://mp.weixin.qq.com/s?__biz={BIZ}&amp;mid={MID0 + i}&amp;idx=1&amp;sn={sn(i)}#rd";
var msg_cdn_url = "https://mmbiz.qpic.cn/mmbiz_png/{media_id(i, 999)}/0?wx_fmt=png";
var msg_desc = "第{i}篇基准文章的摘要";
var _copyright_stat = "1";
var item_show_type = "0";
</script>
</body></html>
"""
    return page.encode("utf-8")


class WxServer:
    """ThreadingHTTPServer in a thread; use as a context manager."""

    def __init__(self, *, images: int = 20, latency: float = 0.0, image_bytes: bytes = SMALL_PNG,
                 page_size: int = 0) -> None:
        """``page_size`` > 0 serves real-size pages (``bench.realpage``, ~that many bytes, mostly script)."""
        self.images = images
        self.page_size = page_size
        self.latency_seen: list[float] = []  # measured time in the handler per response, sleep included
        self.latency = latency
        self.image_bytes = image_bytes
        self.counts = {"page": 0, "image": 0, "other": 0}
        self._lock = threading.Lock()
        self._pages: dict[int, bytes] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else header and body writes meet delayed ACKs (+40 ms a request)

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                t0 = time.perf_counter()
                try:
                    self._get()
                finally:
                    with server._lock:
                        server.latency_seen.append(time.perf_counter() - t0)

            def _get(self) -> None:
                parts = urlsplit(self.path)
                if server.latency:
                    time.sleep(server.latency)
                if parts.path.startswith("/mp/s"):
                    q = dict(parse_qsl(parts.query))
                    try:
                        i = int(q.get("mid", "0")) - MID0
                    except ValueError:
                        i = -1
                    kind, ctype = "page", "text/html; charset=utf-8"
                    body = server.page(i) if i >= 0 else b""
                elif parts.path.startswith("/img/"):
                    kind, ctype, body = "image", "image/png", server.image_bytes
                else:
                    kind, ctype, body = "other", "text/plain", b""
                with server._lock:
                    server.counts[kind] += 1
                if not body:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def page(self, i: int) -> bytes:
        if self.page_size:  # generated per request (~20 ms): 1,000 pages of 3 MB are not kept in memory
            from .realpage import real_page

            return real_page(i, size=self.page_size, images=self.images)
        with self._lock:
            p = self._pages.get(i)
        if p is None:
            p = article_html(i, self.images)
            with self._lock:
                self._pages[i] = p
        return p

    @property
    def connect_to(self) -> list[str]:
        return [f"mp.weixin.qq.com={self.base}/mp", f"mmbiz.qpic.cn={self.base}/img"]

    def total(self) -> int:
        with self._lock:
            return sum(self.counts.values())

    def reset(self) -> None:
        with self._lock:
            for k in self.counts:
                self.counts[k] = 0
            self.latency_seen.clear()

    def __enter__(self) -> "WxServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)
