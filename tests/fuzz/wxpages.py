"""Small WeChat-like pages written for the reliability tests (no corpus page is copied here).

Also: a raw-socket HTTP server for faults pytest-httpserver cannot produce
(resets, trickle, truncation, endless bodies), and archive invariant checks.
"""
from __future__ import annotations

import html
import socket
import sqlite3
import threading
from pathlib import Path
from typing import Callable

from wxarchive.archive.site import TMP_DIR

BIZ = "MzA5OTk5OTk5OQ=="
IMG_HOST = "mmbiz.qpic.cn"
ARTICLE_HOST = "mp.weixin.qq.com"

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"


def js_str(s: str) -> str:
    """A JS double-quoted string literal (every non-ASCII/special char escaped)."""
    out = []
    for ch in s:
        o = ord(ch)
        if ch.isalnum() and o < 128 or ch in " .,-_:/?=&":
            out.append(ch)
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            o -= 0x10000
            out.append(f"\\u{0xD800 + (o >> 10):04x}\\u{0xDC00 + (o & 0x3FF):04x}")
    return '"' + "".join(out) + '"'


def img_url(media_id: str, host: str = IMG_HOST) -> str:
    return f"https://{host}/mmbiz_png/{media_id}/640?wx_fmt=png"


def article_url(mid: int, idx: int = 1) -> str:
    return f"https://{ARTICLE_HOST}/s?__biz={BIZ}&mid={mid}&idx={idx}&sn=abc{mid}"


def page(title: str = "测试文章 Test", *, mid: int = 2650000001, idx: int = 1, account: str = "测试号",
         author: str = "作者", ct: int = 1600000000, body: str | None = None, images: tuple[str, ...] = (),
         links: tuple[str, ...] = ()) -> bytes:
    """A small article page in the 2018-2021 layout: script vars plus #js_content."""
    if body is None:
        body = "<p>第一段：这是正文 <strong>加粗</strong> 和 <em>斜体</em>。</p>\n<section><p>第二段 text &amp; more</p></section>"
    imgs = "".join(f'<p><img data-src="{html.escape(u)}" alt="图"/></p>' for u in images)
    anchors = "".join(f'<p><a href="{html.escape(u)}">link {i}</a></p>' for i, u in enumerate(links))
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta property="og:title" content="{html.escape(title)}"/>
<script type="text/javascript">
var biz = "{BIZ}" || "";
var mid = "{mid}" || "";
var idx = "{idx}" || "";
var sn = "abc{mid}" || "";
var ct = "{ct}";
var nickname = {js_str(account)};
var msg_title = {js_str(title)}.html(false);
var msg_desc = "digest";
var msg_link = "http://mp.weixin.qq.com/s?__biz={BIZ}&amp;mid={mid}&amp;idx={idx}&amp;sn=abc{mid}#rd";
var _copyright_stat = "1";
</script></head>
<body><div id="js_article" class="rich_media">
<h1 class="rich_media_title" id="activity-name">{html.escape(title)}</h1>
<span id="js_author_name">{html.escape(author)}</span><a id="js_name">{html.escape(account)}</a>
<div class="rich_media_content" id="js_content">
{body}
{imgs}
{anchors}
<p>结尾段落。</p>
</div></div>
<script src="https://res.wx.qq.com/mmbizappmsg/zh_CN/htmledition/js/appmsg.js"></script>
</body></html>""".encode("utf-8")


# ---------------------------------------------------------------- invariants

def integrity(root: Path) -> None:
    db = root / ".wxarchive" / "state.sqlite3"
    if not db.exists():
        return
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()


def rows(root: Path, sql: str, args: tuple = ()) -> list[tuple]:
    con = sqlite3.connect(root / ".wxarchive" / "state.sqlite3")
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def check_archive(root: Path) -> dict[str, str]:
    """The invariants every archive must keep; returns {key: post_path} of archived articles."""
    integrity(root)
    posts = root / "_posts"
    imgs = root / "postimg"
    for d in (posts, imgs, posts / TMP_DIR, imgs / TMP_DIR):
        if d.exists():
            temps = [p.name for p in d.iterdir() if p.name.startswith(".tmp-")]
            assert not temps, f"orphan temp files in {d}: {temps}"
    db = root / ".wxarchive" / "state.sqlite3"
    if not db.exists():
        return {}
    archived = dict(rows(root, "SELECT key, post_path FROM articles WHERE status='archived'"))
    seen: dict[str, str] = {}
    for key, rel in archived.items():
        p = (root / rel).resolve()
        assert p.parent == posts.resolve(), f"post outside _posts/: {rel}"
        assert p.is_file(), f"state claims {key} but {rel} is missing"
        text = p.read_text(encoding="utf-8")
        assert text.startswith("---\n") and "\n---\n" in text[4:], f"{rel} is not a whole post"
        assert rel not in seen, f"{key} and {seen[rel]} share {rel}"
        seen[rel] = key
    for (local,) in rows(root, "SELECT local FROM images WHERE local IS NOT NULL"):
        p = (imgs / local).resolve()
        assert p.parent == imgs.resolve() and p.is_file() and p.stat().st_size > 0, local
    return archived


# ---------------------------------------------------------------- raw socket server

Handler = Callable[[socket.socket, bytes], None]


class RawServer:
    """A tiny threaded TCP server; ``handler(conn, request_bytes)`` writes whatever it likes."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self.sent = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _loop(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            self.requests.append(data)
            self.handler(conn, data)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        self.sent += len(data)

    def close(self) -> None:
        self._stop.set()
        self._t.join(2)
        self.sock.close()
        for t in self._threads:
            t.join(2)

    def __enter__(self) -> "RawServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def reset(conn: socket.socket) -> None:
    """Close with RST instead of FIN."""
    import struct

    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def path_of(request: bytes) -> str:
    return request.split(b" ", 2)[1].decode("latin-1")
