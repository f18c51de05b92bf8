"""Image naming, type sniffing, de-duplication and failures (images served by a real local server)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import GIF, JPEG, PNG, WEBP, fixture_page, posts
from wxarchive.extract.clean import image_name, image_url_ok
from wxarchive.net.images import sniff
from wxarchive.archive.site import TMP_DIR
from wxarchive.archive.store import Store

SHORT = "/s/Xq3bR7mK2pLs9TvA0cZy1w"
URL = "https://mp.weixin.qq.com" + SHORT
IMG_OTHER = "Vb1sCkQn8bZtXh0YgEoiaicAnpGj4e9Ia3kGz1bq7YtP0x9lR2mVd8ZcWfJ4aNh6oIu5sXe3rT1yKp0gBnLq2vA"
IMG_BG = "Vb1sCkQn8bZtXh0YgEoiaicAnpGj4e9Ia3Rr0ZtV5nHk2eYc8pLq1aOw3dTf6sJm9uXb4iGyN7vQ2lCz0KhEoA"


def page_bytes(case: str = "article-2024-modern") -> bytes:
    return fixture_page(case).read_bytes()


# ---- pure helpers -------------------------------------------------------------------------------

@pytest.mark.parametrize("url,name", [
    ("https://mmbiz.qpic.cn/mmbiz_png/" + IMG_OTHER + "/640?wx_fmt=other&from=appmsg", IMG_OTHER),
    ("https://mmbiz.qpic.cn/sz_mmbiz_jpg/" + IMG_BG + "/0?wx_fmt=jpeg", IMG_BG),
    ("http://mmbiz.qpic.cn/mmbiz/" + IMG_BG + "/640", IMG_BG),
])
def test_image_name_is_media_id(url, name):
    assert image_name(url) == name


def test_same_media_id_same_name_across_sizes_and_params():
    a = image_name("https://mmbiz.qpic.cn/mmbiz_png/" + IMG_OTHER + "/640?wx_fmt=png&from=appmsg&tp=webp")
    b = image_name("http://mmbiz.qpic.cn/mmbiz_png/" + IMG_OTHER + "/0?wx_fmt=other")
    assert a == b == IMG_OTHER


def test_non_mmbiz_name_is_stable_and_safe():
    u = "https://puui.qpic.cn/vpic/0/k0716x2m9qe.png/0"
    # pinned: a name that changed between versions would store every such image twice
    assert image_name(u) == "0-a962f3fa5963"
    assert re.fullmatch(r"[A-Za-z0-9_-]+", image_name(u))
    assert image_name(u) != image_name(u + "?x=1")


@pytest.mark.parametrize("head,ext", [(PNG, "png"), (JPEG, "jpg"), (GIF, "gif"), (WEBP, "webp"),
                                      (b"<?xml version='1.0'?>\n<svg xmlns='http://www.w3.org/2000/svg'/>", "svg"),
                                      (b"<!DOCTYPE html><html><body>forbidden</body></html>", None),
                                      (b"", None), (b"RIFF\x00\x00\x00\x00WAVEfmt ", None)])
def test_sniff(head, ext):
    assert sniff(head) == ext


@pytest.mark.parametrize("url,ok", [
    ("https://mmbiz.qpic.cn/mmbiz_png/abc/640?wx_fmt=png", True),
    ("http://wx.qlogo.cn/mmhead/Q3auHgzwzM6Wz3Yk7cJx8PpE5dFhb2o1/0", False),
    ("https://res.wx.qq.com/mmbizwap/zh_CN/htmledition/images/pic/pic_blank.gif", False),
    ("data:image/gif;base64,R0lGODlhAQABAAAAACw=", False),
    ("//mmbiz.qpic.cn/mmbiz_jpg/abc/0", True),
])
def test_image_url_ok(url, ok):
    assert image_url_ok(url) is ok


# ---- downloads through the local server -----------------------------------------------------------

def serve_article(wx, body: bytes | None = None, path: str = SHORT) -> None:
    wx.server.expect_request(path).respond_with_data(body or page_bytes(), content_type="text/html; charset=utf-8")


def get(run_cli, wx, archive: Path, *urls: str, extra=()):
    return run_cli("get", *urls, "--out", archive, "--json", "--delay", "0", *wx.connect_args, *extra)


def test_images_saved_by_media_id_with_sniffed_extension(wx, archive, run_cli):
    serve_article(wx)
    # wx_fmt=other, served with a misleading Content-Type: the bytes decide
    wx.server.expect_request(f"/mmbiz_png/{IMG_OTHER}/640").respond_with_data(PNG, content_type="application/octet-stream")
    wx.server.expect_request(f"/mmbiz_jpg/{IMG_BG}/640").respond_with_data(JPEG, content_type="image/jpeg")
    res = get(run_cli, wx, archive, URL)
    assert res.code == 0, res.err
    assert res.json["images"] == {"found": 2, "saved": 2, "failed": 0}
    files = sorted(p.name for p in (archive / "postimg").iterdir() if not p.name.startswith("."))
    assert files == sorted([f"{IMG_OTHER}.png", f"{IMG_BG}.jpg"])
    text = posts(archive)[0].read_text(encoding="utf-8")
    assert f"{{{{ site.baseurl }}}}/postimg/{IMG_OTHER}.png" in text
    assert f"{{{{ site.baseurl }}}}/postimg/{IMG_BG}.jpg" in text
    assert "mmbiz.qpic.cn" not in text.split("---\n", 2)[2].split("原文链接")[1], "no remote image left in the body"
    assert "127.0.0.1" not in text and "localhost" not in text, "--connect-to target leaked into the post"
    assert not list((archive / "postimg").glob("*.part")) and not list((archive / "postimg").glob(".tmp-*"))


def test_shared_image_is_stored_once(wx, archive, run_cli):
    other = (page_bytes().replace(b"2247491356", b"2247491400")
             .replace("一次线上故障复盘".encode(), "第二次故障复盘".encode()))
    serve_article(wx)
    serve_article(wx, other, "/s/SecondPost0000000000001")
    wx.server.expect_request(f"/mmbiz_png/{IMG_OTHER}/640").respond_with_data(PNG, content_type="image/png")
    wx.server.expect_request(f"/mmbiz_jpg/{IMG_BG}/640").respond_with_data(JPEG, content_type="image/jpeg")
    res = get(run_cli, wx, archive, URL, "https://mp.weixin.qq.com/s/SecondPost0000000000001")
    assert res.code == 0, res.err
    assert [ln["status"] for ln in res.lines] == ["archived", "archived"]
    assert len(posts(archive)) == 2
    files = [p.name for p in (archive / "postimg").iterdir() if not p.name.startswith(".")]
    assert sorted(files) == sorted([f"{IMG_OTHER}.png", f"{IMG_BG}.jpg"])
    for post in posts(archive):
        assert f"/postimg/{IMG_OTHER}.png" in post.read_text(encoding="utf-8")


def test_already_saved_image_is_not_fetched_again(wx, archive, run_cli):
    serve_article(wx)
    wx.server.expect_request(f"/mmbiz_png/{IMG_OTHER}/640").respond_with_data(PNG, content_type="image/png")
    wx.server.expect_request(f"/mmbiz_jpg/{IMG_BG}/640").respond_with_data(JPEG, content_type="image/jpeg")
    assert get(run_cli, wx, archive, URL).code == 0
    wx.server.clear_log()
    assert get(run_cli, wx, archive, URL, extra=["--force"]).code == 0
    assert wx.requests(f"/mmbiz_png/{IMG_OTHER}/640") == []


@pytest.mark.parametrize("status,body,ctype", [
    (200, b"<!DOCTYPE html><html><body>\xe6\xad\xa4\xe5\x9b\xbe\xe7\x89\x87</body></html>", "text/html"),
    (200, b"<!DOCTYPE html><html><body>blocked</body></html>", "image/jpeg"),  # lies about its type
    (200, b"", "image/png"),
    (404, b"not found", "text/plain"),
])
def test_failed_image_keeps_remote_url_and_is_recorded(wx, archive, run_cli, status, body, ctype):
    serve_article(wx)
    wx.server.expect_request(f"/mmbiz_png/{IMG_OTHER}/640").respond_with_data(body, status=status, content_type=ctype)
    wx.server.expect_request(f"/mmbiz_jpg/{IMG_BG}/640").respond_with_data(JPEG, content_type="image/jpeg")
    res = get(run_cli, wx, archive, URL)
    assert res.code == 4, "an image failure never fails the post; exit 4 tells a script images are missing"
    assert res.json["status"] == "archived"
    assert res.json["images"] == {"found": 2, "saved": 1, "failed": 1}
    assert not list((archive / "postimg").glob(f"{IMG_OTHER}*")), "no file for a non-image body"
    text = posts(archive)[0].read_text(encoding="utf-8")
    assert f"https://mmbiz.qpic.cn/mmbiz_png/{IMG_OTHER}/640?wx_fmt=other" in text
    assert f"postimg/{IMG_OTHER}" not in text
    assert f"/postimg/{IMG_BG}.jpg" in text
    with Store(archive / ".wxarchive" / "state.sqlite3") as st:
        failed = st.failed_images()
    assert [f["name"] for f in failed] == [IMG_OTHER]
    assert failed[0]["url"].startswith("https://mmbiz.qpic.cn/"), "the state keeps the real URL"


def test_no_images_downloads_nothing(wx, archive, run_cli):
    serve_article(wx)
    res = get(run_cli, wx, archive, URL, extra=["--no-images", "--no-learn"])
    assert res.code == 0
    assert [r.path for r in wx.requests()] == [SHORT]
    assert not [p for p in (archive / "postimg").iterdir() if not p.name.startswith(".")]
    assert f"https://mmbiz.qpic.cn/mmbiz_png/{IMG_OTHER}/640" in posts(archive)[0].read_text(encoding="utf-8")


def test_json_line_shape(wx, archive, run_cli):
    serve_article(wx)
    res = get(run_cli, wx, archive, URL, extra=["--no-images"])
    line = res.json
    assert {"source", "status", "error", "post", "title", "images"} <= set(line)
    assert line["source"] == URL and line["error"] is None
    assert line["title"] == "一次线上故障复盘：重试风暴是怎么形成的"
    assert Path(line["post"]).exists()
    json.dumps(line)


def test_css_background_image_url_kept_whole():
    from wxarchive.extract.clean import clean_fragment

    url = f"https://mmbiz.qpic.cn/mmbiz_jpg/{IMG_BG}/640?wx_fmt=jpeg&from=appmsg"
    res = clean_fragment(f'<section style="height: 180px;background-image: url(&quot;{url.replace("&", "&amp;")}'
                         f'&quot;);background-size: cover;">截图</section><p>正文</p>')
    images = res.images if hasattr(res, "images") else res[1]
    assert [i.url for i in images] == [url]


def test_downloads_keep_to_their_slots(tmp_path: Path) -> None:
    """``concurrency`` requests at once, never more, though twice as many workers run (the others make
    or rename their files meanwhile); every image is saved, no temp file is left behind."""
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from wxarchive.net.fetch import Fetcher
    from wxarchive.net.images import ImageSaver
    from wxarchive.models import Image

    lock, seen = threading.Lock(), {"now": 0, "most": 0, "served": 0}

    class Slow(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            with lock:
                seen["now"] += 1
                seen["most"] = max(seen["most"], seen["now"])
            time.sleep(0.05)
            with lock:
                seen["now"] -= 1
                seen["served"] += 1
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    folder = tmp_path / "postimg"
    fetcher = Fetcher(connect_to={"mmbiz.qpic.cn": f"http://127.0.0.1:{srv.server_address[1]}"}, delay=(0, 0))
    saver = ImageSaver(fetcher, folder, concurrency=3)
    try:
        imgs = [Image(url=f"https://mmbiz.qpic.cn/mmbiz_png/slot{i}/640", name=f"slot{i}") for i in range(15)]
        done = [f.result() for f in [saver.pool.submit(saver.save_one, i) for i in imgs]]
    finally:
        saver.close()
        fetcher.close()
        srv.shutdown()
    assert [d.local for d in done] == [f"slot{i}.png" for i in range(15)]
    assert seen["served"] == 15 and seen["most"] == 3
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == sorted(f"slot{i}.png" for i in range(15))
    assert not list((folder / TMP_DIR).iterdir()), "no temp file left"
