"""Reliability: URL safety and network faults against real local servers (no mocks of httpx).

Every fault ends as a per-article or per-image outcome recorded in the state; the rest of the batch
(a good article before and after the faulty one) is archived regardless.
"""
from __future__ import annotations

import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from conftest import TESTS

sys.path.insert(0, str(TESTS / "fuzz"))
import wxpages  # noqa: E402
from wxpages import RawServer, check_archive, path_of, reset, rows  # noqa: E402

from wxarchive.net.fetch import Fetcher  # noqa: E402
from wxarchive.jobs.pipeline import Archiver, Options  # noqa: E402

GOOD1, GOOD2, BAD = 2650000101, 2650000102, 2650000199
PY = sys.executable


def opts(out: Path, base: str, img_base: str | None = None, **kw) -> Options:
    routes = {"mp.weixin.qq.com": base, "mmbiz.qpic.cn": img_base or base}
    import httpx
    return Options(out=out, delay=(0.0, 0.0), backoff=0.01, timeout=kw.pop("timeout", 2.0), retries=3,
                   connect_to={h: httpx.URL(u) for h, u in routes.items()}, **kw)


def serve_good(server: HTTPServer, *mids: int, images: bool = False) -> None:
    for mid in mids:
        imgs = (wxpages.img_url(f"GOODIMG{mid}AAAAAAAAAA"),) if images else ()
        server.expect_request("/s", query_string={"__biz": wxpages.BIZ, "mid": str(mid), "idx": "1",
                                                  "sn": f"abc{mid}"}).respond_with_data(
            wxpages.page(f"好文章 {mid}", mid=mid, images=imgs), content_type="text/html; charset=utf-8")
        if images:
            server.expect_request(f"/mmbiz_png/GOODIMG{mid}AAAAAAAAAA/640").respond_with_data(
                wxpages.PNG, content_type="image/png")


def batch(out: Path, o: Options, bad_mid: int = BAD) -> dict[str, object]:
    srcs = [wxpages.article_url(GOOD1), wxpages.article_url(bad_mid), wxpages.article_url(GOOD2)]
    with Archiver(o) as arch:
        outs = arch.archive_many(srcs)
    assert [x.status for x in outs][0::2] == ["archived", "archived"], [x.as_json() for x in outs]
    archived = check_archive(out)
    assert {f"{wxpages.BIZ}:{GOOD1}:1", f"{wxpages.BIZ}:{GOOD2}:1"} <= set(archived)
    return {"outcome": outs[1], "state": rows(out, "SELECT status, error_code, error_msg FROM articles WHERE key=?",
                                              (f"{wxpages.BIZ}:{bad_mid}:1",))}


def bad_path() -> str:
    return "/s"


def _is_bad(request) -> bool:
    return request.args.get("mid") == str(BAD)


# ---------------------------------------------------------------- URL safety

@pytest.mark.parametrize("src", [
    "file:///etc/passwd", "ftp://mp.weixin.qq.com/s/abc", "javascript:alert(1)", "gopher://mp.weixin.qq.com/s/x",
    "http://127.0.0.1/s?__biz=x&mid=1&idx=1", "https://mp.weixin.qq.com.evil.com/s/abc",
    "https://evil.com/?u=https://mp.weixin.qq.com/s/abc", "https://mp.weixin.qq.com@127.0.0.1/s/abc",
    "data:text/html,<title>x</title>", "//mp.weixin.qq.com/s/abc",
])
def test_only_wechat_article_urls_are_fetched(tmp_path: Path, httpserver: HTTPServer, src: str) -> None:
    o = opts(tmp_path, httpserver.url_for("/"))
    o.connect_to.update({"127.0.0.1": o.connect_to["mp.weixin.qq.com"], "evil.com": o.connect_to["mp.weixin.qq.com"],
                         "mp.weixin.qq.com.evil.com": o.connect_to["mp.weixin.qq.com"]})
    with Archiver(o) as arch:
        out = arch.archive_many([src])[0]
    assert out.status == "failed" and out.error == "usage", out.as_json()
    assert len(httpserver.log) == 0
    check_archive(tmp_path)


@pytest.mark.parametrize("target", ["http://127.0.0.1:{other}/internal", "https://evil.example/x",
                                    "http://169.254.169.254/latest/meta-data/", "file:///etc/passwd",
                                    "ftp://mp.weixin.qq.com/s/abc"])
def test_page_redirect_off_wechat_is_refused(tmp_path: Path, httpserver: HTTPServer, target: str) -> None:
    serve_good(httpserver, GOOD1, GOOD2)
    with RawServer(lambda c, r: c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")) as other:
        httpserver.expect_request("/s", query_string={"__biz": wxpages.BIZ, "mid": str(BAD), "idx": "1", "sn": f"abc{BAD}"}
                                  ).respond_with_response(Response(status=302, headers={"Location": target.format(other=other.port)}))
        r = batch(tmp_path, opts(tmp_path, httpserver.url_for("/")))
        assert other.requests == []
    assert r["outcome"].status == "failed" and r["outcome"].error == "network"
    assert "not an allowed WeChat host" in r["outcome"].message
    assert r["state"] and r["state"][0][0] in ("failed", "gave_up")


def test_image_on_non_wechat_host_is_not_fetched(tmp_path: Path, httpserver: HTTPServer) -> None:
    with RawServer(lambda c, r: c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n"
                                          % len(wxpages.PNG) + wxpages.PNG)) as other:
        evil = [f"http://127.0.0.1:{other.port}/a.png", f"http://localhost:{other.port}/b.png",
                "http://169.254.169.254/c.png", f"https://mmbiz.qpic.cn.evil.example/mmbiz_png/{'E' * 20}/0",
                f"https://evilmmbiz.qpic.cn/mmbiz_png/{'F' * 20}/0"]
        httpserver.expect_request("/s").respond_with_data(wxpages.page(mid=GOOD1, images=tuple(evil)))
        with Archiver(opts(tmp_path, httpserver.url_for("/"))) as arch:
            out = arch.archive_many([wxpages.article_url(GOOD1)])[0]
        assert other.requests == []
    assert out.status == "archived" and out.images == {"found": 5, "saved": 0, "failed": 5}
    imgs = rows(tmp_path, "SELECT url, status, error FROM images")
    assert len(imgs) == 5 and all(s == "failed" and "not an allowed" in e for _, s, e in imgs)
    # left out of the post too: a reader's browser must not ask those hosts either
    post = Path(out.post) if Path(out.post).is_absolute() else tmp_path / out.post
    text = post.read_text(encoding="utf-8")
    assert not any(host in text for host in ("127.0.0.1", "localhost", "169.254", "evil.example", "evilmmbiz"))
    assert "结尾段落" in text
    check_archive(tmp_path)


@pytest.mark.parametrize("url,ok", [
    ("https://mmbiz.qpic.cn/x.png", True), ("https://a.mmbiz.qpic.cn/x.png", True),
    ("https://evilmmbiz.qpic.cn/x.png", False), ("https://mmbiz.qpic.cn.evil.example/x.png", False),
    ("https://xmp.weixin.qq.com/s/abc", False), ("https://mp.weixin.qq.com.evil/s/abc", False),
    ("https://mp.weixin.qq.com/s/abc", True), ("https://MMBIZ.QPIC.CN/x.png", True),
])
def test_host_checks_match_whole_labels(url: str, ok: bool) -> None:
    """Every host check ends at a dot boundary: evilmmbiz.qpic.cn is not mmbiz.qpic.cn."""
    from wxarchive.urls import IMAGE_HOSTS, is_image_host

    hosts = (*IMAGE_HOSTS, "mp.weixin.qq.com")
    assert Fetcher()._allowed(url, hosts) is ok
    assert is_image_host(url, hosts) is ok


def test_image_redirect_to_internal_address_is_refused(tmp_path: Path, httpserver: HTTPServer) -> None:
    with RawServer(lambda c, r: c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")) as other:
        img = wxpages.img_url("REDIRECTIMGAAAAAAAAAA")
        httpserver.expect_request("/s").respond_with_data(wxpages.page(mid=GOOD1, images=(img,)))
        httpserver.expect_request("/mmbiz_png/REDIRECTIMGAAAAAAAAAA/640").respond_with_response(
            Response(status=301, headers={"Location": f"http://127.0.0.1:{other.port}/secret"}))
        with Archiver(opts(tmp_path, httpserver.url_for("/"))) as arch:
            out = arch.archive_many([wxpages.article_url(GOOD1)])[0]
        assert other.requests == []
    assert out.status == "archived" and out.images["failed"] == 1
    assert rows(tmp_path, "SELECT status FROM images") == [("failed",)]
    check_archive(tmp_path)


def test_image_redirect_within_wechat_is_followed_and_counted(tmp_path: Path, httpserver: HTTPServer) -> None:
    """An image's request is made ready before its download slot; a redirect's target (another WeChat
    image URL) is checked and made ready in turn, and the image is saved from there."""
    img = wxpages.img_url("MOVEDIMGAAAAAAAAAAAAA")
    httpserver.expect_request("/s").respond_with_data(wxpages.page(mid=GOOD1, images=(img,)))
    httpserver.expect_request("/mmbiz_png/MOVEDIMGAAAAAAAAAAAAA/640").respond_with_response(
        Response(status=302, headers={"Location": "https://mmbiz.qpic.cn/mmbiz_png/NEWHOMEAAAAAAAAAAAAA/0"}))
    httpserver.expect_request("/mmbiz_png/NEWHOMEAAAAAAAAAAAAA/0").respond_with_data(wxpages.PNG,
                                                                                    content_type="image/png")
    with Archiver(opts(tmp_path, httpserver.url_for("/"))) as arch:
        out = arch.archive_many([wxpages.article_url(GOOD1)])[0]
        assert arch.fetcher.requests == 3  # the page, the image, its new home
    assert out.status == "archived" and out.images == {"found": 1, "saved": 1, "failed": 0}
    saved = list((tmp_path / "postimg").rglob("*.png"))
    assert len(saved) == 1 and saved[0].read_bytes() == wxpages.PNG
    check_archive(tmp_path)


# ---------------------------------------------------------------- HTTP status handling

def _count_bad(server: HTTPServer) -> int:
    return sum(1 for req, _ in server.log if req.args.get("mid") == str(BAD))


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_then_success_is_retried(tmp_path: Path, httpserver: HTTPServer, status: int) -> None:
    serve_good(httpserver, GOOD1, GOOD2)
    calls = []

    def flaky(request):
        calls.append(1)
        if len(calls) < 3:
            return Response("oops", status=status)
        return Response(wxpages.page("终于", mid=BAD), status=200, content_type="text/html")
    httpserver.expect_request("/s", query_string={"__biz": wxpages.BIZ, "mid": str(BAD), "idx": "1",
                                                  "sn": f"abc{BAD}"}).respond_with_handler(flaky)
    r = batch(tmp_path, opts(tmp_path, httpserver.url_for("/")))
    assert r["outcome"].status == "archived" and _count_bad(httpserver) == 3
    assert r["state"][0][0] == "archived"


@pytest.mark.parametrize("status,final", [(403, "failed"), (404, "gave_up"), (410, "gave_up"), (500, "failed")])
def test_4xx_not_retried_5xx_gives_up_after_retries(tmp_path: Path, httpserver: HTTPServer, status: int,
                                                    final: str) -> None:
    serve_good(httpserver, GOOD1, GOOD2)
    httpserver.expect_request("/s", query_string={"__biz": wxpages.BIZ, "mid": str(BAD), "idx": "1",
                                                  "sn": f"abc{BAD}"}).respond_with_data("no", status=status)
    r = batch(tmp_path, opts(tmp_path, httpserver.url_for("/")))
    assert r["outcome"].status == "failed" and r["outcome"].error == "http" and str(status) in r["outcome"].message
    assert _count_bad(httpserver) == (3 if status >= 500 else 1)
    assert r["state"][0][:2] == (final, "http")


def test_redirect_loop(tmp_path: Path, httpserver: HTTPServer) -> None:
    serve_good(httpserver, GOOD1, GOOD2)
    httpserver.expect_request("/s", query_string={"__biz": wxpages.BIZ, "mid": str(BAD), "idx": "1", "sn": f"abc{BAD}"}
                              ).respond_with_response(Response(status=302, headers={"Location": "/loop"}))
    httpserver.expect_request("/loop").respond_with_response(
        Response(status=302, headers={"Location": f"https://mp.weixin.qq.com/s?__biz={wxpages.BIZ}&mid={BAD}&idx=1&sn=abc{BAD}"}))
    r = batch(tmp_path, opts(tmp_path, httpserver.url_for("/")))
    assert r["outcome"].error == "network" and "too many redirects" in r["outcome"].message
    assert len([1 for req, _ in httpserver.log if req.path == "/loop"]) <= 11
    assert r["state"][0][0] == "failed"


@pytest.mark.parametrize("ctype", [None, "image/png", "application/octet-stream", "text/plain; charset=gbk",
                                   "text/html; charset=nonsense"])
def test_wrong_or_missing_page_content_type(tmp_path: Path, httpserver: HTTPServer, ctype: str | None) -> None:
    serve_good(httpserver, GOOD1, GOOD2)
    headers = {"Content-Type": ctype} if ctype else {}
    resp = Response(wxpages.page("类型不对", mid=BAD), status=200, headers=headers)
    if ctype is None:
        del resp.headers["Content-Type"]
    httpserver.expect_request("/s", query_string={"__biz": wxpages.BIZ, "mid": str(BAD), "idx": "1",
                                                  "sn": f"abc{BAD}"}).respond_with_response(resp)
    r = batch(tmp_path, opts(tmp_path, httpserver.url_for("/")))
    assert r["outcome"].status == "archived" and r["outcome"].title == "类型不对"


# ---------------------------------------------------------------- raw-socket faults on the page

def _page_server(bad_handler):
    """A raw server: good articles answered normally, the BAD one by ``bad_handler``."""
    def handler(conn, req):
        path = path_of(req)
        if f"mid={BAD}" in path:
            return bad_handler(conn, req)
        for mid in (GOOD1, GOOD2):
            if f"mid={mid}" in path:
                body = wxpages.page(f"好文章 {mid}", mid=mid)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
                             % len(body) + body)
                return
        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    return RawServer(handler)


def test_page_timeout(tmp_path: Path) -> None:
    stop = threading.Event()
    with _page_server(lambda c, r: stop.wait(10)) as srv:
        r = batch(tmp_path, opts(tmp_path, srv.url, timeout=0.3))
        stop.set()
        assert sum(1 for q in srv.requests if f"mid={BAD}".encode() in q) == 3
    assert r["outcome"].error == "network" and "timed out" in r["outcome"].message
    assert r["state"][0][0] == "failed"


def test_page_connection_reset(tmp_path: Path) -> None:
    with _page_server(lambda c, r: reset(c)) as srv:
        r = batch(tmp_path, opts(tmp_path, srv.url))
        assert sum(1 for q in srv.requests if f"mid={BAD}".encode() in q) == 3
    assert r["outcome"].error == "network" and r["state"][0][0] == "failed"


def test_page_truncated_body(tmp_path: Path) -> None:
    body = wxpages.page("截断", mid=BAD)
    with _page_server(lambda c, r: c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n"
                                             % (len(body) + 5000) + body[: len(body) // 2])) as srv:
        r = batch(tmp_path, opts(tmp_path, srv.url))
    assert r["outcome"].status == "failed" and r["outcome"].error == "network"
    assert r["state"][0][0] == "failed"


def test_page_bigger_than_cap_is_refused_while_streaming(tmp_path: Path) -> None:
    def endless(c, r):
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>")
        chunk = b"<p>" + b"x" * 65536 + b"</p>"
        try:
            for _ in range(2000):  # ~130 MB if nobody stops us
                srv.send(c, chunk)
        except OSError:
            pass
    with _page_server(endless) as srv:
        r = batch(tmp_path, opts(tmp_path, srv.url))
        assert srv.sent < 60 * 2**20
    assert r["outcome"].error == "network" and "40 MB" in r["outcome"].message


def _gzip_bomb(size: int) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    zero = b"\0" * 2**20
    return b"".join([z.compress(zero) for _ in range(size // 2**20)] + [z.flush()])


BOMB_EXPANDED = 512 * 2**20


def _rss_cli(args: list[str], **kw) -> tuple[subprocess.CompletedProcess, int]:
    """Run the CLI in a child; the peak of memory it allocated, in bytes (tracemalloc: the same on every
    platform, and unlike ru_maxrss not inherited from the test process that forked it)."""
    code = ("import sys, tracemalloc; tracemalloc.start(); from wxarchive.cli import main; rc = main(sys.argv[1:]); "
            "sys.stderr.write('PEAK_BYTES %d\\n' % tracemalloc.get_traced_memory()[1]); sys.exit(rc)")
    p = subprocess.run([PY, "-c", code, *args], capture_output=True, text=True, **kw)
    peak = int(p.stderr.rsplit("PEAK_BYTES ", 1)[1].split()[0]) if "PEAK_BYTES" in p.stderr else -1
    return p, peak


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return _gzip_bomb(BOMB_EXPANDED)  # 512 MB of zeros in about 0.5 MB


def test_gzip_bomb_page_bounded_memory(tmp_path: Path, bomb: bytes) -> None:
    def serve(c, r):
        try:
            srv.send(c, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
                     % len(bomb) + bomb)
        except OSError:
            pass
    with _page_server(serve) as srv:
        p, rss = _rss_cli(["get", wxpages.article_url(GOOD1), wxpages.article_url(BAD), wxpages.article_url(GOOD2),
                           "--out", str(tmp_path), "--json", "--delay", "0", "--no-images",
                           "--connect-to", f"mp.weixin.qq.com={srv.url}"], timeout=120)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    assert len(lines) == 3, p.stderr[-2000:]
    assert '"archived"' in lines[0] and '"archived"' in lines[2] and "40 MB" in lines[1]
    assert 0 < rss < BOMB_EXPANDED // 2, f"peak {rss // 2**20} MB allocated: the bomb was expanded in memory"
    check_archive(tmp_path)


def test_bad_content_encoding_on_page(tmp_path: Path, httpserver: HTTPServer) -> None:
    serve_good(httpserver, GOOD1, GOOD2)
    httpserver.expect_request("/s", query_string={"__biz": wxpages.BIZ, "mid": str(BAD), "idx": "1", "sn": f"abc{BAD}"}
                              ).respond_with_response(Response(b"this is not gzip" * 10, status=200,
                                                               headers={"Content-Encoding": "gzip", "Content-Type": "text/html"}))
    r = batch(tmp_path, opts(tmp_path, httpserver.url_for("/")))
    assert r["outcome"].status == "failed"


def test_trickling_server_is_bounded(tmp_path: Path) -> None:
    def trickle(c, r):
        try:
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n")
            for _ in range(100000):
                c.sendall(b" ")
                time.sleep(0.05)
        except OSError:
            pass
    with _page_server(trickle) as srv:
        try:
            p = subprocess.run([PY, "-m", "wxarchive", "get", wxpages.article_url(BAD), "--out", str(tmp_path),
                                "--json", "--delay", "0", "--timeout", "1", "--connect-to",
                                f"mp.weixin.qq.com={srv.url}"], capture_output=True, text=True, timeout=8)
        except subprocess.TimeoutExpired:
            pytest.fail("a trickling page held the run for more than 8 s with --timeout 1")
    assert '"failed"' in p.stdout


# ---------------------------------------------------------------- image faults

IMG_ID = "FAULTYIMAGEAAAAAAAAAAAA"


def _image_batch(tmp_path: Path, img_handler) -> tuple[object, list[tuple]]:
    """One article with a good image and a faulty one; the article is archived, the faulty image fails."""
    good_img = wxpages.img_url("GOODIMAGEAAAAAAAAAAAAA")
    bad_img = wxpages.img_url(IMG_ID)
    body = wxpages.page("带图", mid=GOOD1, images=(good_img, bad_img))

    def handler(c, req):
        path = path_of(req)
        if IMG_ID in path:
            return img_handler(c, req)
        if "GOODIMAGE" in path:
            data = wxpages.PNG
            ctype = b"image/png"
        else:
            data = body
            ctype = b"text/html"
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
                  % (ctype, len(data)) + data)
    with RawServer(handler) as srv:
        with Archiver(opts(tmp_path, srv.url, timeout=1.0)) as arch:
            out = arch.archive_many([wxpages.article_url(GOOD1)])[0]
        srv.sent_total = srv.sent
        images = rows(tmp_path, "SELECT name, status, local, error FROM images ORDER BY name")
        assert out.status == "archived", out.as_json()
        assert out.images == {"found": 2, "saved": 1, "failed": 1}, out.images
        check_archive(tmp_path)
        post = (tmp_path / out.post).read_text() if not Path(out.post).is_absolute() else Path(out.post).read_text()
        assert "GOODIMAGE" in post and IMG_ID in post  # the failed image keeps its remote URL
        assert [i[1] for i in images] == ["failed", "saved"]
        return srv, images


def _respond(c, status=b"200 OK", headers=b"", body=b"", length=None):
    length = len(body) if length is None else length
    c.sendall(b"HTTP/1.1 " + status + b"\r\nConnection: close\r\n" + headers
              + (b"Content-Length: %d\r\n" % length if length >= 0 else b"") + b"\r\n" + body)


@pytest.mark.parametrize("case,handler,msg", [
    ("html error page", lambda c, r: _respond(c, headers=b"Content-Type: text/html\r\n", body=b"<html>error</html>"),
     "not an image"),
    ("html as image/jpeg", lambda c, r: _respond(c, headers=b"Content-Type: image/jpeg\r\n", body=b"<html>error</html>"),
     "magic"),
    ("0 bytes", lambda c, r: _respond(c, headers=b"Content-Type: image/png\r\n", body=b""), "empty"),
    ("404", lambda c, r: _respond(c, status=b"404 Not Found", body=b"nope"), "404"),
    ("truncated", lambda c, r: _respond(c, headers=b"Content-Type: image/png\r\n", body=wxpages.PNG[:20], length=5000),
     ""),
    ("reset", lambda c, r: reset(c), ""),
    ("timeout", lambda c, r: time.sleep(2.5), "timed out"),
    ("json", lambda c, r: _respond(c, headers=b"Content-Type: application/json\r\n", body=b"{}"), "not an image"),
])
def test_image_faults(tmp_path: Path, case: str, handler, msg: str) -> None:
    srv, images = _image_batch(tmp_path, handler)
    assert msg in images[0][3]
    assert not list((tmp_path / "postimg").glob(f"{IMG_ID}*"))


@pytest.mark.parametrize("ctype", [b"", b"Content-Type: application/octet-stream\r\n", b"Content-Type: image/webp\r\n"])
def test_image_with_wrong_or_missing_content_type_is_sniffed(tmp_path: Path, httpserver: HTTPServer, ctype: bytes) -> None:
    def handler(c, r):
        c.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n" + ctype + b"Content-Length: %d\r\n\r\n" % len(wxpages.JPEG)
                  + wxpages.JPEG)
    img = wxpages.img_url("SNIFFMEAAAAAAAAAAAAAAA")
    with RawServer(handler) as imgsrv:
        httpserver.expect_request("/s").respond_with_data(wxpages.page(mid=GOOD1, images=(img,)))
        with Archiver(opts(tmp_path, httpserver.url_for("/"), imgsrv.url)) as arch:
            out = arch.archive_many([wxpages.article_url(GOOD1)])[0]
    assert out.images["saved"] == 1
    assert (tmp_path / "postimg" / "SNIFFMEAAAAAAAAAAAAAAA.jpg").read_bytes() == wxpages.JPEG
    check_archive(tmp_path)


def _endless_image(declare: bool):
    def handler(c, r):
        head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nConnection: close\r\n"
        head += b"Content-Length: %d\r\n" % (200 * 2**20) if declare else b""
        try:
            c.sendall(head + b"\r\n" + wxpages.PNG)
            chunk = b"\0" * 2**16
            for _ in range(200 * 16):  # 200 MB
                _srv_holder[0].send(c, chunk)
        except OSError:
            pass
    return handler


_srv_holder: list = [None]


@pytest.mark.parametrize("declare", [True, False], ids=["declared-length", "no-length"])
def test_image_over_cap_refused_without_reading_it_all(tmp_path: Path, declare: bool) -> None:
    class Holder:
        sent = 0

        def send(self, c, data):
            c.sendall(data)
            self.sent += len(data)
    _srv_holder[0] = Holder()
    srv, images = _image_batch(tmp_path, _endless_image(declare))
    assert "cap" in images[0][3] or "larger than" in images[0][3]
    sent = _srv_holder[0].sent
    assert sent < (8 * 2**20 if declare else 45 * 2**20), f"server managed to send {sent} bytes"


def test_gzip_bomb_image_bounded_memory(tmp_path: Path, bomb: bytes) -> None:
    img = wxpages.img_url("BOMBIMAGEAAAAAAAAAAAAA")

    def handler(c, req):
        path = path_of(req)
        if "BOMBIMAGE" in path:
            data, extra = wxpages.PNG[:8] + b"", b"Content-Type: image/png\r\nContent-Encoding: gzip\r\n"
            data = bomb
        else:
            data, extra = wxpages.page("炸弹", mid=GOOD1, images=(img,)), b"Content-Type: text/html\r\n"
        try:
            c.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n" + extra + b"Content-Length: %d\r\n\r\n" % len(data) + data)
        except OSError:
            pass
    with RawServer(handler) as srv:
        p, rss = _rss_cli(["get", wxpages.article_url(GOOD1), "--out", str(tmp_path), "--json", "--delay", "0",
                           "--connect-to", f"mp.weixin.qq.com={srv.url}", "--connect-to", f"mmbiz.qpic.cn={srv.url}"],
                          timeout=120)
    assert '"archived"' in p.stdout and '"failed": 1' in p.stdout, p.stdout + p.stderr[-2000:]
    assert 0 < rss < BOMB_EXPANDED // 2, f"peak {rss // 2**20} MB allocated: the bomb was expanded in memory"
    assert rows(tmp_path, "SELECT status FROM images") == [("failed",)]
    assert not any(p.is_file() for p in (tmp_path / "postimg").rglob("*")), "no image, no temp file left"
    check_archive(tmp_path)


def test_fetcher_request_count_for_404_image(httpserver: HTTPServer) -> None:
    """An image 404 is one request, not three."""
    import httpx
    httpserver.expect_request("/mmbiz_png/X/0").respond_with_data("no", status=404)
    with Fetcher(connect_to={"mmbiz.qpic.cn": httpx.URL(httpserver.url_for("/"))}, delay=(0, 0), backoff=0.01) as f:
        with f.stream_image("https://mmbiz.qpic.cn/mmbiz_png/X/0") as resp:
            assert resp.status_code == 404
    assert len(httpserver.log) == 1
