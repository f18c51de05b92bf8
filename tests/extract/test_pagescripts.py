"""Lifting a page's big scripts out before lxml reads it (``pagescripts``) changes nothing that is read:
the article parsed, and every inline script's bytes, are what reading the whole page gives, on the
fixtures, generated real-size pages, the corpus when it is there, and pages made to trip the HTML
tokenizer's rules (comments, escaped script data, end tags in other cases, raw-text elements)."""
from __future__ import annotations

import datetime as dt
import sys

import lxml.html
import pytest

from wxarchive.extract import jsdata
from wxarchive.extract import pagescripts
from wxarchive.extract import parse as parse_mod
from wxarchive.errors import WxError
from wxarchive.models import Page
from conftest import REPO

sys.path.insert(0, str(REPO))
from bench.realpage import article_url, real_page  # noqa: E402  (a page generator, not the bench)

CORPUS = REPO.parent / "shared" / "corpus" / "pages"
URL = "https://mp.weixin.qq.com/s?__biz=MzA5&mid=1&idx=1&sn=abc"
BIG = "/*" + "x" * 9000 + "*/"  # over pagescripts.MIN_LIFT


@pytest.fixture(autouse=True)
def fresh_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pagescripts, "_KNOWN", pagescripts._Known())
    monkeypatch.setattr(jsdata, "_BUNDLES", jsdata._Bundles())


def page(raw: bytes, url: str = URL) -> Page:
    return Page(url=url, final_url=url, status=200, content=raw, content_type="text/html; charset=utf-8",
                fetched_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


def read(p: Page) -> object:
    try:
        return parse_mod.parse(p)
    except WxError as e:
        return type(e).__name__, str(e)


def whole_scripts(raw: bytes) -> list[bytes]:
    return parse_mod._script_list(lxml.html.document_fromstring(raw))


def same_as_whole(raw: bytes, url: str, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Whether the page was read with its scripts lifted; asserts it reads as the whole page reads."""
    lifted = read(page(raw, url))
    again = read(page(raw, url))  # the second time, the texts are remembered
    try:
        loaded = parse_mod.load(page(raw, url))
    except WxError:
        loaded = None
    with monkeypatch.context() as m:
        m.setattr(parse_mod, "lift", lambda _raw: None)
        whole = read(page(raw, url))
    assert lifted == whole and again == whole
    if loaded is not None:
        assert loaded.scripts == whole_scripts(loaded.raw)
    return loaded is not None and loaded.lifted is not None


def article(head_scripts: str, body: str = "<p>正文第一段。</p>", tail: str = "") -> bytes:
    return (f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>t</title>{head_scripts}</head>
<body><div id="js_article"><h1 id="activity-name">标题</h1><a id="js_name">号</a>
<div id="js_content">{body}</div></div>
<script>var msg_title = "脚本标题"; var nickname = "号"; var ct = "1700000000";
var biz = "MzA5"; var mid = "1"; var idx = "1"; var sn = "abc";</script>{tail}
<script src="https://res.wx.qq.com/x.js"></script></body></html>""").encode()


def test_a_wechat_shaped_page_is_read_with_its_scripts_lifted(monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(3):
        raw = real_page(i, size=2 * 1024 * 1024, images=3)
        assert same_as_whole(raw, article_url(i), monkeypatch)
        assert len(parse_mod.load(page(raw, article_url(i))).doc.xpath("string(//script)")) < 200


def test_the_fixtures_generated_pages_and_corpus_read_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    pages = [(p.parent.name, p.read_bytes()) for p in sorted((REPO / "fixtures").glob("*/page.html"))]
    if CORPUS.is_dir():
        pages += [(p.name, p.read_bytes()) for p in sorted(CORPUS.glob("*.html"))]
    lifted = sum(same_as_whole(raw, URL, monkeypatch) for _, raw in pages)
    assert len(pages) >= 20
    assert lifted >= 3 or not CORPUS.is_dir()  # (the fixtures' scripts are small: none is lifted)


@pytest.mark.parametrize("scripts, lifted", [
    (f"<script>{BIG}var t = '</div></span></section>';</script>", True),
    (f"<script>{BIG}</SCRIPT ><p>after</p>", True),  # an end tag in capitals ends it
    (f"<script>{BIG}</script\n>", True),
    (f"<script>{BIG}\r\nvar a = 1;\r</script>", True),  # line ends become \n as the parser makes them
    (f"<script>{BIG}var a = '<!--<script>';</script>var b = 2;</script>", False),  # escaped script data
    (f"<script>{BIG}var a = '<!-- x -->';</script>", False),
    (f"<script>{BIG}var a = '</scriptx>';</script>", False),
    (f"<script>{BIG}var a = '</sCrIpT>';</script>", True),  # ends at the first, whatever its case
    (f"<!-- <script>{BIG}</script> --><script>{BIG}</script>", True),  # in a comment: no script at all
    (f"<textarea><script>{BIG}</script></textarea>", True),
    (f'<script data-x="a>b">{BIG}</script>', True),  # the tag's end is not the first '>'
    (f'<script src="x.js">{BIG}</script>', False),  # a script with a src is left in the tree
    (f"<SCRIPT>{BIG}</SCRIPT><script>{BIG}var q = 1;</script>", True),
    (f"<script>{BIG}</script><script>{BIG}", True),  # the last one never ends
    (f"<script>/*wxarchive-lifted-0000000000000000-0*/{BIG}</script>", True),  # a forged mark
])
def test_pages_made_to_trip_the_tokenizer_read_the_same(scripts: str, lifted: bool,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    same_as_whole(article(scripts), URL, monkeypatch)
    assert bool(pagescripts.spans(article(scripts))) or not lifted


def test_a_mark_that_lands_in_a_comment_makes_the_page_read_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = article(f"<!-- <script>{BIG}</script> -->")
    assert pagescripts.lift(raw) is not None  # the byte scan takes it for a script ...
    assert parse_mod.load(page(raw)).lifted is None  # ... lxml does not, so the page is read whole
    assert same_as_whole(raw, URL, monkeypatch) is False


def test_scripts_in_the_article_body_are_given_back_to_the_cleaner(monkeypatch: pytest.MonkeyPatch) -> None:
    body = f'<p>前文</p><script>{BIG}document.write("脚本写出的正文");</script><p>后文</p>'
    raw = article(f"<script>{BIG}</script>", body=body)
    assert same_as_whole(raw, URL, monkeypatch)
    from wxarchive.extract.clean import clean

    art = parse_mod.parse(page(raw))
    assert "脚本写出的正文" in clean(art, learned=frozenset(), keep_footers=False).body_html


def test_error_pages_read_what_their_lifted_scripts_write(monkeypatch: pytest.MonkeyPatch) -> None:
    # (WeChat's own page: it loads WeChat's script; a page with no WeChat mark is no verdict, issue 25)
    raw = (f"<html><head><title></title><script>{BIG}document.write('该内容已被发布者删除');</script>"
           '<script src="https://res.wx.qq.com/mmbizappmsg/zh_CN/htmledition/js/appmsg.js"></script></head>'
           "<body><div class='x'></div></body></html>").encode()
    assert pagescripts.spans(raw)
    with monkeypatch.context() as m:
        m.setattr(parse_mod, "lift", lambda _raw: None)
        whole = read(page(raw))
    assert whole[0] == "Unavailable" and read(page(raw)) == whole


def test_a_remembered_text_is_the_same_object_and_still_compared() -> None:
    first = article(f"<script>{BIG}var k = 1;</script>")
    a = pagescripts.spans(first)
    b = pagescripts.spans(first)
    assert a[0][2] is b[0][2]
    other = article(f"<script>{BIG}var k = 2;</script>")  # same first 64 bytes, other text
    assert pagescripts.spans(other)[0][2].endswith(b"var k = 2;")
