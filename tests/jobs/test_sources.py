"""Listing article URLs: text/CSV/JSON/bookmarks, feeds, albums; the archive lock and the partial-file sweep."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batch_fake import (BIZ, BIZ_Q, album_page, album_url, atom, make_articles, rss, serve_album,
                        server)  # noqa: F401  (fixture)

from wxarchive.errors import LayoutChanged, LockedError, RateLimited, UsageError
from wxarchive.net.fetch import Fetcher, parse_connect_to
from wxarchive.archive.lock import ArchiveLock, sweep_partials
from wxarchive.jobs.sources import AlbumRef, SourceSpec, extract_urls, guess_kind, list_album, parse_album_page, parse_album_url, parse_feed
from wxarchive.urls import article_key, find_article_urls

A, B, C = make_articles(3)


# ---------------------------------------------------------------- lists, CSV, JSON, bookmarks
def test_text_list_comments_tracking_and_identity_dedupe() -> None:
    text = f"""# my reading list
{A.url(tracking=True)}
  # {B.url()}   (commented out)
{A.url().replace('%3D%3D', '==')}   # the same article, other spelling
https://mp.weixin.qq.com/s/AbCdEf-123_x?scene=1#rd
https://mp.weixin.qq.com/s/AbCdEf-123_x
{C.url().replace('&', '&amp;')}
https://example.com/not-wechat
"""
    got = extract_urls(text)
    assert [article_key(u) for u in got] == [A.key, "s:AbCdEf-123_x", C.key]
    assert all("chksm" not in u and "scene" not in u and "#" not in u for u in got)


def test_csv_export() -> None:
    text = ("title,url,date\n"
            f"第一篇,{A.url(tracking=True)},2024-01-01\n"
            f"\"第二篇, 有逗号\",\"{B.url()}\",2024-01-02\n"
            "短链,https://mp.weixin.qq.com/s/ShortTok1,2024-01-03\n")
    got = extract_urls(text)
    assert [article_key(u) for u in got] == [A.key, B.key, "s:ShortTok1"]


def test_json_export_with_escaped_slashes() -> None:
    data = [{"title": "一", "link": A.url()}, {"title": "二", "nested": {"href": B.url().replace("&", "\\u0026")}}]
    text = json.dumps(data, ensure_ascii=False).replace("/", "\\/")
    assert [article_key(u) for u in extract_urls(text)] == [A.key, B.key]
    jsonl = "\n".join(json.dumps({"url": a.url()}) for a in (C, A))
    assert [article_key(u) for u in extract_urls(jsonl)] == [C.key, A.key]


def test_html_bookmarks() -> None:
    html = f"""<!DOCTYPE NETSCAPE-Bookmark-file-1>
<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=UTF-8">
<DL><p>
<DT><A HREF="{A.url(tracking=True).replace('&', '&amp;')}" ADD_DATE="1700000000">第一篇</A>
<DT><A HREF="https://t.example/r?u=https%3A%2F%2Fmp.weixin.qq.com%2Fs%2FWrApPeD01">跳转</A>
<DT><A HREF="https://mp.weixin.qq.com/mp/appmsgalbum?__biz={BIZ_Q}&amp;album_id=1">合集 (not an article)</A>
# not a comment in HTML: <A HREF="{B.url()}">二</A>
</DL>"""
    assert [article_key(u) for u in extract_urls(html)] == [A.key, "s:WrApPeD01", B.key]


def test_find_article_urls_stops_at_cjk_and_brackets() -> None:
    text = "见https://mp.weixin.qq.com/s/Tok_1点击，或[链接](https://mp.weixin.qq.com/s/Tok_2)。"
    assert find_article_urls(text) == ["https://mp.weixin.qq.com/s/Tok_1", "https://mp.weixin.qq.com/s/Tok_2"]


# ---------------------------------------------------------------- feeds
def test_rss_links_and_content_links() -> None:
    assert [article_key(u) for u in parse_feed(rss([A, B]))] == [A.key, B.key]
    assert [article_key(u) for u in parse_feed(rss([C], in_content=True))] == [C.key]


def test_atom_feed() -> None:
    assert [article_key(u) for u in parse_feed(atom([B, A]).encode())] == [B.key, A.key]


def test_json_feed() -> None:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "t",
           "items": [{"id": "1", "url": A.url()}, {"id": "2", "url": "https://mirror.example/2",
                                                    "content_html": f'<a href="{B.url()}">原文</a>'}]}
    assert [article_key(u) for u in parse_feed(json.dumps(doc))] == [A.key, B.key]


@pytest.mark.parametrize("doc", [
    # GBK bytes under an XML declaration that says UTF-8 (a misconfigured feed server)
    ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>中文频道</title><item><title>标题'
     '</title><description>&lt;a href="https://mp.weixin.qq.com/s/FeedTok01"&gt;原文&lt;/a&gt; 中文</description>'
     '</item></channel></rss>').encode("gbk"),
    b'<?xml version="1.0"?><feed version="0.3" xmlns="http://purl.org/atom/ns#"><entry><link rel="alternate" '
    b'type="text/html" href="https://mp.weixin.qq.com/s/FeedTok01"/><id>tag:x</id></entry></feed>',  # Atom 0.3
    b'<rss version="0.91"><channel><item><title>x</title><link>https://mp.weixin.qq.com/s/FeedTok01</link>'
    b'</item></channel></rss>',  # RSS 0.91
    b'<rss version="2.0"><channel><item><title>a & b</title><link>https://mp.weixin.qq.com/s/FeedTok01</link>'
    b'</item>',  # broken XML: a bare & and no closing tags
    b'<rss version="2.0"><channel><item><guid isPermaLink="false">https://mp.weixin.qq.com/s/NotALink0</guid>'
    b'<link>https://mp.weixin.qq.com/s/FeedTok01</link></item></channel></rss>',  # a guid that is only a name
], ids=["wrong-encoding", "atom-0.3", "rss-0.91", "broken-xml", "guid-not-permalink"])
def test_feed_variants(doc: bytes) -> None:
    assert parse_feed(doc) == ["https://mp.weixin.qq.com/s/FeedTok01"]


def test_feed_parser_does_not_expand_entities() -> None:
    evil = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<rss><channel><item><link>&x;</link></item></channel></rss>')
    assert parse_feed(evil) == []


def test_not_a_feed() -> None:
    with pytest.raises(LayoutChanged):
        parse_feed("<html><body>hello</body></html>")


# ---------------------------------------------------------------- albums
REF = AlbumRef(BIZ, "3456")


def test_album_url_and_kind_guessing() -> None:
    assert parse_album_url(album_url("3456")) == REF
    assert parse_album_url(A.url()) is None
    assert guess_kind(SourceSpec("x", url=album_url("1"))) == "album"
    assert guess_kind(SourceSpec("x", path="links.txt")) == "list"
    assert guess_kind(SourceSpec("x", url="https://rsshub.example.org/wechat/mp/1")) == "feed"
    assert guess_kind(SourceSpec("x", url="https://lists.example.org/x", kind="list")) == "list"
    with pytest.raises(UsageError):
        SourceSpec.from_config({"url": "https://a", "path": "b"}, 1)
    with pytest.raises(UsageError):
        SourceSpec.from_config({"url": "https://a", "kind": "podcast"}, 1)


def test_album_page_quirks() -> None:
    one = parse_album_page(album_page([A], True, single_object=True), REF)
    assert [article_key(i.url) for i in one.items] == [A.key] and one.more
    assert one.items[0].msgid == str(A.mid) and "&amp;" not in one.items[0].url and "chksm" not in one.items[0].url
    end = parse_album_page(album_page(None, False), REF)
    assert end.items == [] and not end.more
    with pytest.raises(RateLimited):
        parse_album_page(album_page([A], True, ret=200013), REF)
    with pytest.raises(RateLimited):
        parse_album_page("<html><title>环境异常</title>当前环境异常，完成验证后即可继续访问。</html>", REF)
    with pytest.raises(LayoutChanged):
        parse_album_page("<html>something else</html>", REF)


def _fetcher(srv) -> Fetcher:  # type: ignore[no-untyped-def]
    base = f"http://127.0.0.1:{srv.port}"
    return Fetcher(connect_to=parse_connect_to([f"mp.weixin.qq.com={base}"]), delay=(0, 0), retries=1)


def test_list_album_pages_by_last_item_and_ends(server) -> None:  # type: ignore[no-untyped-def]
    arts = make_articles(5)
    newest_first = arts[::-1]
    serve_album(server, "3456", [(newest_first[:2], True, False), (newest_first[2:3], True, True),
                                 (newest_first[3:], True, False), (None, False, False)])
    with _fetcher(server) as f:
        urls, complete = list_album(f, REF)
    assert [article_key(u) for u in urls] == [a.key for a in newest_first] and complete
    assert len(server.log) == 4
    cursors = [r.args.get("begin_msgid") for r, _ in server.log]
    assert cursors == [None, str(newest_first[1].mid), str(newest_first[2].mid), str(newest_first[4].mid)]


def test_list_album_stops_at_first_known(server) -> None:  # type: ignore[no-untyped-def]
    arts = make_articles(5)[::-1]
    serve_album(server, "3456", [(arts[:2], True, False), (arts[2:4], True, False), (arts[4:], False, False)])
    known = {arts[2].key}
    with _fetcher(server) as f:
        urls, complete = list_album(f, REF, lambda u: article_key(u) in known)
    assert [article_key(u) for u in urls] == [arts[0].key, arts[1].key] and complete
    assert len(server.log) == 2  # the third page was never asked for


def test_list_album_oldest_first_reads_to_the_end(server) -> None:  # type: ignore[no-untyped-def]
    arts = make_articles(4)  # ascending create_time: an album shown oldest first
    serve_album(server, "3456", [(arts[:2], True, False), (arts[2:], False, False)])
    with _fetcher(server) as f:
        urls, _ = list_album(f, REF, lambda u: article_key(u) == arts[0].key)
    assert [article_key(u) for u in urls] == [a.key for a in arts[1:]]


def test_list_album_ret_nonzero_is_rate_limited(server) -> None:  # type: ignore[no-untyped-def]
    server.expect_request("/mp/appmsgalbum").respond_with_data(album_page([A], True, ret=-6))
    with _fetcher(server) as f, pytest.raises(RateLimited):
        list_album(f, REF)


# ---------------------------------------------------------------- lock and sweep
def test_lock_is_exclusive_and_released(tmp_path: Path) -> None:
    with ArchiveLock(tmp_path / ".wxarchive"):
        with pytest.raises(LockedError) as ei:
            ArchiveLock(tmp_path / ".wxarchive").acquire()
        assert f"pid {os.getpid()}" in ei.value.message and ei.value.exit_code == 3
    with ArchiveLock(tmp_path / ".wxarchive"):
        pass


def test_lock_of_a_killed_process_is_recovered(tmp_path: Path) -> None:
    code = ("import sys,time; from wxarchive.archive.lock import ArchiveLock; ArchiveLock(sys.argv[1]).acquire(); "
            "print('held', flush=True); time.sleep(60)")
    p = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / ".wxarchive")], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "held"
        with pytest.raises(LockedError):
            ArchiveLock(tmp_path / ".wxarchive").acquire()
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    with ArchiveLock(tmp_path / ".wxarchive"):  # the kernel dropped the dead holder's flock
        pass


def test_sweep_removes_partials_of_dead_writers_only(tmp_path: Path) -> None:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    dead = tmp_path / f".tmp-{p.pid}-abc123.part"
    mine = tmp_path / f".tmp-{os.getpid()}-def456.part"
    old = tmp_path / ".tmp-zz9.part"
    keep = tmp_path / "post.md"
    for f in (dead, mine, old, keep):
        f.write_text("x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    removed = sweep_partials([tmp_path])
    assert sorted(removed) == sorted([dead, old])
    assert mine.exists() and keep.exists()
