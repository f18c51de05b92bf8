"""Reading the script globals one script at a time, the big scripts remembered (``jsdata.script_vars_each``),
gives exactly what one scan of all the scripts joined gives: on the fixtures, on generated real-size pages
(whose scripts repeat from page to page, as WeChat's bundles do), on the corpus when it is there, and on
scripts made to trip it (a value cut off at a script's end, look-alike bundles, callers that change what
they were given)."""
from __future__ import annotations

import sys

import lxml.html
import pytest

from wxarchive.extract import jsdata
from wxarchive.extract.jsdata import GLOBALS, LEGACY, SCRIPT_END, script_vars, script_vars_each
from wxarchive.extract.parse import _VARS, _script_list
from conftest import REPO

sys.path.insert(0, str(REPO))
from bench.realpage import real_page  # noqa: E402  (a page generator, not the bench)

CORPUS = REPO.parent / "shared" / "corpus" / "pages"


def pages() -> list[tuple[str, bytes]]:
    out = [(p.parent.name, p.read_bytes()) for p in sorted((REPO / "fixtures").glob("*/page.html"))]
    out += [(f"generated-{i}", real_page(i, size=2 * 1024 * 1024, images=3)) for i in range(6)]
    if CORPUS.is_dir():
        out += [(p.name, p.read_bytes()) for p in sorted(CORPUS.glob("*.html"))]
    return out


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> jsdata._Bundles:
    cache = jsdata._Bundles()
    monkeypatch.setattr(jsdata, "_BUNDLES", cache)
    return cache


def test_same_values_as_one_scan_of_the_joined_scripts(fresh_cache: jsdata._Bundles) -> None:
    checked = 0
    for name, raw in pages():
        parts = _script_list(lxml.html.document_fromstring(raw))
        joined = SCRIPT_END.join(parts)
        for prefixes in (GLOBALS, LEGACY):
            want = script_vars(joined, _VARS, prefixes)
            assert script_vars_each(parts, _VARS, prefixes) == want, name  # first sight
            assert script_vars_each(parts, _VARS, prefixes) == want, name  # remembered
        checked += 1
    assert checked >= 6 and fresh_cache.size > 0  # the generated pages' bundles were remembered


def big(body: str, fill: int = 70_000) -> bytes:
    return (body + "\n/*" + "x" * fill + "*/\n").encode()


def test_values_cut_off_at_a_script_end_and_split_assignments() -> None:
    parts = [big('var msg_title = "a";') + b'var ct = "1" ||', b'"2"; var nickname = "n"',
             big("var desc = 'unterminated\n") + b"window.title = \"w\"", b"= 5; var sn = 'abc'"]
    want = script_vars(SCRIPT_END.join(parts), _VARS, GLOBALS)
    assert script_vars_each(parts, _VARS, GLOBALS) == want
    assert script_vars_each(parts, _VARS, GLOBALS) == want
    assert want["msg_title"] == ["a"] and want["nickname"] == ["n"] and want["title"] == ["w"]


def test_look_alike_bundles_are_told_apart() -> None:
    """Same length, same first and last 64 bytes, another value in the middle."""
    a = big('var msg_title = "first";')
    b = big('var msg_title = "other";')
    head = b"/*" + b"h" * 100 + b"*/\n"
    a, b = head + a, head + b
    assert len(a) == len(b) and a[:64] == b[:64] and a[-64:] == b[-64:] and a != b
    assert script_vars_each([a], _VARS, GLOBALS) == {"msg_title": ["first"]}
    assert script_vars_each([b], _VARS, GLOBALS) == {"msg_title": ["other"]}
    assert script_vars_each([a], _VARS, GLOBALS) == {"msg_title": ["first"]}


def test_what_a_caller_changes_is_not_remembered(fresh_cache: jsdata._Bundles) -> None:
    plain = big('var biz = "" || "MzI0";')
    got = script_vars_each([plain], _VARS, GLOBALS)
    got["biz"].append("changed")
    assert script_vars_each([plain], _VARS, GLOBALS) == {"biz": ["MzI0"]}
    # a list or object value is never kept: a caller could change it in place
    nested = big('var videoPageInfos = [{"vid": "wxv_1"}];')
    first = script_vars_each([nested], _VARS, GLOBALS)
    first["videoPageInfos"][0].append({"vid": "changed"})
    assert script_vars_each([nested], _VARS, GLOBALS) == {"videoPageInfos": [[{"vid": "wxv_1"}]]}
    assert fresh_cache.size == jsdata._held(plain, (("biz", "MzI0"),))  # the text and what was read from it


def test_the_memory_budget_holds(fresh_cache: jsdata._Bundles) -> None:
    fresh_cache.budget = 200_000
    scripts = [big(f'var msg_title = "{i}";') for i in range(6)]  # ~70 KB each
    for s in scripts:
        script_vars_each([s], _VARS, GLOBALS)
    assert fresh_cache.size <= 200_000 and len(fresh_cache._seen) == 2
    assert script_vars_each([scripts[0]], _VARS, GLOBALS) == {"msg_title": ["0"]}  # dropped, read again


def test_text_and_picture_posts_read_legacy_forms_and_cgi_data_one_script_at_a_time(
        fresh_cache: jsdata._Bundles) -> None:
    """A text or picture post (item_show_type 10 / 8) is not a "complete" article, so the legacy forms and
    ``window.cgiDataNew`` are read too: one script at a time (the big bundles remembered for the next post
    of the batch, issue 24), never joining the 2-3 MB of scripts, with the same values as from the join."""
    import datetime as dt

    from wxarchive.extract.parse import Sources, _cgi, load
    from wxarchive.models import Page

    for kind in ("text", "picture"):
        data = real_page(5, size=2 * 1024 * 1024, images=3, kind=kind)
        page = Page(url="", final_url="", status=200, content=data, fetched_at=dt.datetime.now(dt.timezone.utc))
        doc, _, parts, _ = load(page)
        s = Sources(doc, "", parts)
        assert s.cgi.get("item_show_type") == ("10" if kind == "text" else "8")
        assert s.cgi == _cgi([SCRIPT_END.join(parts)])  # as the joined scripts give it
        assert "scripts" not in s.__dict__, kind  # the join was never made
        assert any(key[1] == LEGACY for key in fresh_cache._seen), kind  # the bundles' legacy hits remembered
