"""Nothing lost: an incomplete, junk or foreign answer never becomes a post, and one
poisoned article never stops a run (issue 12, "Data loss").

Each test runs the real pipeline against a real local server and checks what a user
finds afterwards: the posts on disk, their text, and the state a later run reads.
"""
from __future__ import annotations

import gzip
import sys
import zlib
from pathlib import Path

import httpx
import pytest

from conftest import TESTS

sys.path.insert(0, str(TESTS / "fuzz"))
import wxpages  # noqa: E402
from wxpages import RawServer, check_archive, path_of, rows  # noqa: E402

from wxarchive.net.fetch import Fetcher  # noqa: E402
from wxarchive.jobs.pipeline import Archiver, Options  # noqa: E402
from wxarchive.write.render import split_post  # noqa: E402

GOOD1, GOOD2, BAD = 2650000301, 2650000302, 2650000399
LAST = "全文最后一段：这句话必须留在存档里。"


def opts(out: Path, base: str, **kw) -> Options:
    return Options(out=out, delay=(0.0, 0.0), backoff=0.01, timeout=kw.pop("timeout", 2.0), retries=2,
                   connect_to={"mp.weixin.qq.com": httpx.URL(base), "mmbiz.qpic.cn": httpx.URL(base)}, **kw)


def long_page(mid: int, **kw) -> bytes:
    # each page's own words (three posts of one account ending alike would teach the archive that ending
    # as the account's footer, and the run that learns it cleans the earlier posts too)
    body = "\n".join(f"<p>第 {i} 段：{mid} 的正文内容 text {i}。</p>" for i in range(1, 201)) + f"\n<p>{LAST}（{mid}）</p>"
    return wxpages.page(f"长文 {mid}", mid=mid, body=body, **kw)


def http(body: bytes, headers: bytes = b"Content-Type: text/html; charset=utf-8\r\n", length: bool = True) -> bytes:
    head = b"HTTP/1.1 200 OK\r\nConnection: close\r\n" + headers
    if length:
        head += b"Content-Length: %d\r\n" % len(body)
    return head + b"\r\n" + body


class Site:
    """A raw server: ``answers[mid]`` is the full HTTP answer for that article (else a whole page)."""

    def __init__(self) -> None:
        self.answers: dict[int, bytes] = {}
        self.server = RawServer(self._handle)

    def _handle(self, conn, req) -> None:
        path = path_of(req)
        for mid, answer in self.answers.items():
            if f"mid={mid}&" in path:
                conn.sendall(answer)
                return
        for mid in (GOOD1, GOOD2, BAD):
            if f"mid={mid}&" in path:
                conn.sendall(http(long_page(mid)))
                return
        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    def __enter__(self) -> "Site":
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.close()


def run(out: Path, site: Site, mids: list[int], **kw):
    with Archiver(opts(out, site.server.url, **kw)) as arch:
        return arch.archive_many([wxpages.article_url(m) for m in mids])


def post_text(out: Path, outcome) -> str:
    p = Path(outcome.post)
    return (p if p.is_absolute() else out / p).read_text(encoding="utf-8")


def state(out: Path, mid: int) -> tuple:
    return rows(out, "SELECT status, error_code, permanent FROM articles WHERE key=?",
                (f"{wxpages.BIZ}:{mid}:1",))[0]


def _cut_in_body(page: bytes) -> int:
    return page.index("第 100 段".encode())


def _chunked(body: bytes) -> bytes:
    half = body[: _cut_in_body(body)]
    return (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n" + b"%x\r\n" % len(half) + half + b"\r\n0\r\n\r\n")


def _gzip_cut(body: bytes) -> bytes:
    gz = gzip.compress(body)
    return http(gz[: len(gz) * 2 // 3], b"Content-Type: text/html; charset=utf-8\r\nContent-Encoding: gzip\r\n",
                length=False)


def _body_cut_doc_closed(body: bytes) -> bytes:
    return http(body[: _cut_in_body(body)] + b"\n</body></html>")


TRUNCATIONS = {
    "ends at connection close": lambda b: http(b[: _cut_in_body(b)], length=False),
    "gzip stream loses its end": _gzip_cut,
    "chunked body stops early": _chunked,
    "#js_content cut in half, document closed": _body_cut_doc_closed,
}


@pytest.mark.parametrize("case", list(TRUNCATIONS))
def test_truncated_page_is_retryable_and_writes_nothing(tmp_path: Path, case: str) -> None:
    with Site() as site:
        site.answers[BAD] = TRUNCATIONS[case](long_page(BAD))
        outs = run(tmp_path, site, [GOOD1, BAD, GOOD2])
        assert [o.status for o in outs] == ["archived", "failed", "archived"], [o.as_json() for o in outs]
        assert outs[1].error in ("truncated", "network"), outs[1].as_json()
        assert state(tmp_path, BAD)[0] == "failed" and state(tmp_path, BAD)[2] == 0  # tried again later
        assert not [p for p in (tmp_path / "_posts").glob("*.md") if f"长文 {BAD}" in p.read_text()]
        # the next run gets the whole page: the whole article, to its last line, is archived
        del site.answers[BAD]
        again = run(tmp_path, site, [BAD])[0]
    assert again.status == "archived", again.as_json()
    assert LAST in post_text(tmp_path, again)
    check_archive(tmp_path)


@pytest.mark.parametrize("junk", [b"", b"502 Bad Gateway", b"<html><body><h1>502 Bad Gateway</h1></body></html>"])
def test_one_off_junk_answer_is_not_a_verdict(tmp_path: Path, junk: bytes) -> None:
    with Site() as site:
        site.answers[BAD] = http(junk, b"Content-Type: text/html\r\n")
        out = run(tmp_path, site, [BAD], max_attempts=3)[0]
        assert out.status == "failed" and out.error == "network" and not out.gave_up, out.as_json()
        assert state(tmp_path, BAD)[:1] == ("failed",) and state(tmp_path, BAD)[2] == 0
        del site.answers[BAD]
        again = run(tmp_path, site, [BAD])[0]
    assert again.status == "archived" and LAST in post_text(tmp_path, again)


def test_page_with_another_articles_ids_is_not_aliased_or_overwritten(tmp_path: Path) -> None:
    with Site() as site:
        first = run(tmp_path, site, [GOOD1])[0]
        b_post = post_text(tmp_path, first)
        # A's URL answers once with B's page
        site.answers[BAD] = http(long_page(GOOD1))
        for force in (False, True):
            out = run(tmp_path, site, [BAD], force=force)[0]
            assert out.status == "failed" and out.error == "mismatch", out.as_json()
            assert post_text(tmp_path, first) == b_post  # B's post untouched, even with --force
        assert rows(tmp_path, "SELECT key FROM aliases WHERE alias=?", (f"{wxpages.BIZ}:{BAD}:1",)) == [
            (f"{wxpages.BIZ}:{BAD}:1",)]  # A is its own (failed) article, no alias of B
        assert state(tmp_path, BAD)[0] == "failed"
        del site.answers[BAD]
        again = run(tmp_path, site, [BAD])[0]
    assert again.status == "archived" and f"长文 {BAD}" in post_text(tmp_path, again)
    assert len(list((tmp_path / "_posts").glob("*.md"))) == 2


@pytest.mark.parametrize("depth", [260, 1000])
def test_deep_nesting_keeps_the_text_after_the_deep_point(tmp_path: Path, depth: int) -> None:
    body = "<p>开头</p>" + "<div>" * depth + "<p>最深处的文字</p>" + "</div>" * depth + f"<p>{LAST}</p>"
    with Site() as site:
        site.answers[BAD] = http(wxpages.page("深层嵌套", mid=BAD, body=body))
        out = run(tmp_path, site, [BAD])[0]
    assert out.status == "archived", out.as_json()
    _, text = split_post(post_text(tmp_path, out))
    assert "开头" in text and "最深处的文字" in text and LAST in text and "结尾段落" in text


def test_nesting_past_the_parser_limit_fails_by_name(tmp_path: Path) -> None:
    body = "<div>" * 5000 + "深" + "</div>" * 5000 + f"<p>{LAST}</p>"
    with Site() as site:
        site.answers[BAD] = http(wxpages.page("太深", mid=BAD, body=body))
        outs = run(tmp_path, site, [BAD, GOOD1])
    assert outs[0].status == "failed" and outs[0].error == "layout" and "nested" in outs[0].message
    assert outs[1].status == "archived"
    assert len(list((tmp_path / "_posts").glob("*.md"))) == 1


def _double_gzip(body: bytes) -> bytes:
    return http(gzip.compress(gzip.compress(body)),
                b"Content-Type: text/html; charset=utf-8\r\nContent-Encoding: gzip, gzip\r\n")


def test_poisoned_articles_are_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    long_id = "L" * 300
    poisons = {
        2650000311: http(wxpages.page("日期越界", mid=2650000311, ct=10**17)),
        2650000312: http(wxpages.page("端口不是数字", mid=2650000312,
                                      images=("https://mmbiz.qpic.cn:abc/mmbiz_png/PORTIMGAAAAAAAAAAAAA/640",))),
        2650000313: _double_gzip(wxpages.page("双重压缩", mid=2650000313)),
        2650000314: http(wxpages.page("超长媒体名", mid=2650000314, images=(wxpages.img_url(long_id),))),
    }

    def handler(conn, req):
        path = path_of(req)
        if long_id in path:
            conn.sendall(http(wxpages.PNG, b"Content-Type: image/png\r\n"))
            return
        for mid, answer in poisons.items():
            if f"mid={mid}&" in path:
                conn.sendall(answer)
                return
        conn.sendall(http(long_page(GOOD1)))

    with RawServer(handler) as srv:
        with Archiver(opts(tmp_path, srv.url)) as arch:
            outs = arch.archive_many([wxpages.article_url(m) for m in [*poisons, GOOD1]])
    by_title = {o.title: o for o in outs}
    assert all(o.status == "archived" for o in outs), [o.as_json() for o in outs]
    assert "第一段" in post_text(tmp_path, by_title["日期越界"])
    port = by_title["端口不是数字"]
    assert port.images == {"found": 1, "saved": 0, "failed": 1}
    assert rows(tmp_path, "SELECT status FROM images WHERE url LIKE '%:abc/%'") == [("failed",)]
    assert "第二段" in post_text(tmp_path, by_title["双重压缩"])
    long_post = post_text(tmp_path, by_title["超长媒体名"])
    saved = [p.name for p in (tmp_path / "postimg").iterdir() if p.name.startswith("LLLL")]
    assert len(saved) == 1 and len(saved[0]) < 120 and saved[0] in long_post
    check_archive(tmp_path)


def test_double_gzip_feed_is_read(tmp_path: Path) -> None:
    feed = b"<rss><channel>" + b"<item><title>x</title></item>" * 50 + b"</channel></rss>"

    def handler(conn, req):
        conn.sendall(http(gzip.compress(gzip.compress(feed)),
                          b"Content-Type: application/rss+xml\r\nContent-Encoding: gzip, gzip\r\n"))

    with RawServer(handler) as srv, Fetcher(timeout=2, delay=(0, 0)) as f:
        assert f.text(srv.url + "/feed.xml", hosts=("127.0.0.1",)) == feed.decode()


def _bomb_layers(total: int) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    inner = b"".join([z.compress(b"\0" * 2**20) for _ in range(total // 2**20)] + [z.flush()])
    return gzip.compress(inner, 9)


def test_double_gzip_bomb_is_capped_while_streaming(tmp_path: Path) -> None:
    bomb = _bomb_layers(200 * 2**20)  # 200 MB of zeros behind two gzip layers, a few KB on the wire

    def handler(conn, req):
        conn.sendall(http(bomb, b"Content-Type: text/html\r\nContent-Encoding: gzip, gzip\r\n"))

    import tracemalloc

    with RawServer(handler) as srv, Fetcher(timeout=5, delay=(0, 0), retries=1,
                                            connect_to={"mp.weixin.qq.com": httpx.URL(srv.url)}) as f:
        import wxarchive.net.fetch as fetch_mod

        tracemalloc.start()
        old = fetch_mod.MAX_PAGE_BYTES
        fetch_mod.MAX_PAGE_BYTES = 8 * 2**20
        try:
            with pytest.raises(Exception) as info:
                f.page(wxpages.article_url(BAD))
        finally:
            fetch_mod.MAX_PAGE_BYTES = old
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    assert "larger than 8 MB" in str(info.value)
    assert peak < 40 * 2**20, f"peak {peak} bytes"


# ---------------------------------------------------------------- wrong post: charsets, hostile msg_link

GBK_TEXT = "第一段：这是正文"


def _gbk_page(meta: bool) -> bytes:
    page = wxpages.page("国标编码的文章", mid=BAD).decode("utf-8")
    page = page.replace('<meta charset="utf-8">', '<meta charset="gbk">' if meta else "")
    return page.encode("gbk")


@pytest.mark.parametrize("header,meta", [("text/html; charset=GBK", False), ("text/html", False),
                                         ("text/html", True), ("text/html; charset=gb2312", True)])
def test_gbk_page_is_decoded(tmp_path: Path, header: str, meta: bool) -> None:
    """Charset from the HTTP header, else <meta>, else detected: the post holds the real text."""
    with Site() as site:
        site.answers[BAD] = http(_gbk_page(meta), f"Content-Type: {header}\r\n".encode())
        out = run(tmp_path, site, [BAD])[0]
    assert out.status == "archived", out.as_json()
    fm, text = split_post(post_text(tmp_path, out))
    assert GBK_TEXT in text and "结尾段落" in text and "\ufffd" not in text
    assert fm["title"] == "国标编码的文章" and fm["account"] == "测试号"


def test_msg_link_without_ids_cannot_carry_markup(tmp_path: Path) -> None:
    """A page with no id variables takes its canonical URL from msg_link: never markup from it."""
    page = wxpages.page("无编号", mid=BAD).decode()
    for name in ("biz", "mid", "idx", "sn"):
        page = page.replace(f"var {name} = ", f"var x_{name} = ")
    page = page.replace(page[page.index("var msg_link"):page.index("var _copyright")],
                        'var msg_link = "https://mp.weixin.qq.com/s/Ab\\"\\x3e\\x3cscript\\x3ealert(1)\\x3c/script\\x3e";\n')
    src = tmp_path / "saved.html"
    src.write_text(page, encoding="utf-8")
    with Archiver(Options(out=tmp_path / "a", delay=(0, 0))) as arch:
        out = arch.archive_many([str(src)])[0]
    assert out.status == "archived", out.as_json()
    text = post_text(tmp_path / "a", out)
    assert "<script" not in text and "alert(1)" not in text
    assert split_post(text)[0]["source_url"] == "https://mp.weixin.qq.com/s/Ab"


# ---------------------------------------------------------------- runs that end

def test_trickling_image_is_cut_off_at_its_deadline(tmp_path: Path) -> None:
    """An image server sending a byte every 0.1 s (each read well inside --timeout) is hung up
    on at the image's wall-clock deadline; the article is archived, the image recorded failed."""
    trickle_id = "TRICKLEIMGAAAAAAAAAAA"
    hung_up = []

    def handler(conn, req):
        path = path_of(req)
        if trickle_id not in path:
            conn.sendall(http(wxpages.page("慢图", mid=GOOD1, images=(wxpages.img_url(trickle_id),))))
            return
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n" + wxpages.PNG[:8])
        try:
            for _ in range(300):  # 30 s of trickle unless the client gives up first
                conn.sendall(b"\0")
                __import__("time").sleep(0.1)
        except OSError:
            hung_up.append(True)

    with RawServer(handler) as srv:
        with Archiver(opts(tmp_path, srv.url, timeout=2.0)) as arch:
            arch.saver.deadline = 1.5
            out = arch.archive_many([wxpages.article_url(GOOD1)])[0]
        srv.close()
    assert hung_up, "the download was not cut off: the run waited for the whole trickle"
    assert out.status == "archived" and out.images == {"found": 1, "saved": 0, "failed": 1}
    assert rows(tmp_path, "SELECT status, error FROM images")[0][0] == "failed"
    assert "deadline" in rows(tmp_path, "SELECT error FROM images")[0][0]
