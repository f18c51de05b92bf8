"""URL recognition, normalisation and identity keys."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wxarchive.urls import article_key, find_article_urls, is_article_url, normalize_article_url, url_ids

BIZ = "MzA5NjE2MjQ4Mw=="
LONG = f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=2650812483&idx=2&sn=8d3c2f64a1b7e09c55f2a6d1c3e4b5a7"


@pytest.mark.parametrize("url", [
    "https://mp.weixin.qq.com/s/Xq3bR7mK2pLs9TvA0cZy1w",
    "http://mp.weixin.qq.com/s/Xq3bR7mK2pLs9TvA0cZy1w?scene=1#rd",
    LONG,
    LONG.replace("&", "&amp;"),
    "https://mp.weixin.qq.com/s?src=11&timestamp=1700000000&ver=4900&signature=abc&new=1",
    "https://mp.weixin.qq.com/mp/appmsg/show?__biz=MzA5NjE2MjQ4Mw==&appmsgid=10000001&itemidx=1",
])
def test_is_article_url(url):
    assert is_article_url(url)


@pytest.mark.parametrize("url", [
    "https://example.com/s/abc",
    "ftp://mp.weixin.qq.com/s/abc",
    "https://mp.weixin.qq.com/mp/profile_ext?action=home",
    "https://mp.weixin.qq.com.evil.example/s/abc",
    "mp.weixin.qq.com/s/abc",
    "javascript:alert(1)",
    "",
])
def test_not_article_url(url):
    assert not is_article_url(url)


def test_short_form_drops_query_and_fragment():
    assert normalize_article_url("http://mp.weixin.qq.com/s/Xq3bR7mK2pLs9TvA0cZy1w?scene=1&from=timeline#rd") == \
        "https://mp.weixin.qq.com/s/Xq3bR7mK2pLs9TvA0cZy1w"


def test_long_form_with_amp_and_tracking():
    noisy = (f"http://mp.weixin.qq.com/s?__biz={BIZ}&amp;mid=2650812483&amp;idx=2&amp;sn=8d3c2f64a1b7e09c55f2a6d1c3e4b5a7"
             "&amp;chksm=84a1c2d3e4f5&amp;scene=21&amp;mpshare=1&amp;srcid=0315abc&amp;sharer_sharetime=1&amp;"
             "exportkey=xyz&amp;pass_ticket=abc#wechat_redirect")
    assert normalize_article_url(noisy) == LONG


def test_js_escaped_link():
    raw = f"http://mp.weixin.qq.com/s?__biz={BIZ}\\x26amp;mid=2650812483\\x26amp;idx=2\\x26amp;sn=8d3c2f64a1b7e09c55f2a6d1c3e4b5a7#rd"
    assert normalize_article_url(raw) == LONG


def test_parameter_order_does_not_matter():
    shuffled = f"https://mp.weixin.qq.com/s?sn=8d3c2f64a1b7e09c55f2a6d1c3e4b5a7&idx=2&scene=45&mid=2650812483&__biz={BIZ}"
    assert normalize_article_url(shuffled) == LONG


def test_aliases_appmsgid_itemidx_sign():
    alias = f"https://mp.weixin.qq.com/s?__biz={BIZ}&appmsgid=2650812483&itemidx=2&sign=8d3c2f64a1b7e09c55f2a6d1c3e4b5a7"
    assert normalize_article_url(alias) == LONG
    assert article_key(alias) == f"{BIZ}:2650812483:2"


def test_keys():
    assert article_key(LONG) == f"{BIZ}:2650812483:2"
    assert article_key(LONG + "&chksm=1#rd") == article_key(LONG)
    assert article_key("https://mp.weixin.qq.com/s/Xq3bR7mK2pLs9TvA0cZy1w") == "s:Xq3bR7mK2pLs9TvA0cZy1w"
    assert article_key("https://mp.weixin.qq.com/s?src=11&timestamp=1&ver=1&signature=x") is None


def test_percent_encoded_biz_gives_same_key():
    enc = "http://mp.weixin.qq.com/s?__biz=MzA5NjE2MjQ4Mw%3D%3D&mid=2650812483&idx=2&sn=8d3c2f64a1b7e09c55f2a6d1c3e4b5a7"
    assert url_ids(enc)["biz"] == BIZ
    assert article_key(enc) == f"{BIZ}:2650812483:2"


def test_find_article_urls_in_free_text():
    text = (f'见 <a href="{LONG.replace("&", "&amp;")}&amp;scene=21#rd">上一篇</a>，以及'
            "https://mp.weixin.qq.com/s/Xq3bR7mK2pLs9TvA0cZy1w。还有 https://example.com/s/x 和重复的 "
            f"{LONG}")
    assert find_article_urls(text) == [LONG, "https://mp.weixin.qq.com/s/Xq3bR7mK2pLs9TvA0cZy1w"]


# ---- a URL is not HTML: only &amp; is decoded (issue 11)
TEMP = "https://mp.weixin.qq.com/s?src=11&timestamp=1700000000&ver=4900&signature=abcdef&new=1"


@pytest.mark.parametrize("param", ["timestamp", "copy", "para", "not", "reg", "lt", "gt", "times", "sect"])
def test_raw_url_keeps_parameters_named_like_entities(param: str) -> None:
    raw = f"https://mp.weixin.qq.com/s?src=11&{param}=1&ver=1&signature=abc"
    out = normalize_article_url(raw)
    assert "%C3" not in out and "%C2" not in out
    if param == "timestamp":
        assert out == "https://mp.weixin.qq.com/s?src=11&timestamp=1&ver=1&signature=abc"
    assert find_article_urls(f"{raw}\n") == [out]
    assert is_article_url(raw)


def test_temporary_link_requested_as_written() -> None:
    assert normalize_article_url(TEMP) == TEMP
    assert normalize_article_url(TEMP.replace("&", "&amp;")) == TEMP
    assert normalize_article_url(TEMP.replace("&", "&amp;amp;")) == TEMP
    assert find_article_urls(f'<a href="{TEMP.replace("&", "&amp;")}">x</a>') == [TEMP]
    assert find_article_urls(f"&quot;{TEMP}&quot;") == [TEMP]


# ---- the canonical-form fast path (issue 13): same answers as the full route, for any biz/mid/idx/sn
_B64 = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=%", min_size=1, max_size=24)


@settings(max_examples=300, deadline=None)
@given(biz=_B64, mid=st.integers(0, 10**12), idx=st.integers(0, 99),
       sn=st.one_of(st.none(), st.text("0123456789abcdef", min_size=1, max_size=32)))
def test_canonical_fast_path_agrees_with_the_full_route(biz: str, mid: int, idx: int, sn: str | None) -> None:
    raw = (f"http://mp.weixin.qq.com/s?__biz={biz}&amp;mid={mid}&amp;idx={idx}" + (f"&amp;sn={sn}" if sn else "")
           + "&amp;chksm=ea01&amp;scene=21#wechat_redirect")
    canon = normalize_article_url(raw)  # the full route (scheme, entities, tracking parameters)
    assert normalize_article_url(canon) == canon
    assert is_article_url(canon)
    ids = url_ids(canon)  # the full route to the key
    slow = f"{ids['biz']}:{ids['mid']}:{ids['idx']}" if ids.get("biz") and ids.get("mid") and ids.get("idx") else None
    assert article_key(canon) == slow
    assert article_key(raw) == slow


_TRACK = st.sampled_from(["chksm", "scene", "srcid", "sharer_shareinfo", "mpshare", "para", "key", "ascene", "devicetype"])


@pytest.mark.parametrize("biz", ["%", "%41", "%2b", "%2B%2F", "Mz%3D%3D", "a+b"])
def test_percent_in_biz_takes_the_full_route(biz: str) -> None:
    from wxarchive.urls import _normalize

    for url in (f"https://mp.weixin.qq.com/s?__biz={biz}&mid=1&idx=1&sn=ab",
                f"http://mp.weixin.qq.com/s?__biz={biz}&mid=1&idx=1&sn=ab&scene=1#rd"):
        assert normalize_article_url(url) == _normalize(url)
        canon = normalize_article_url(url)
        assert normalize_article_url(canon) == canon == _normalize(canon)
        ids = url_ids(canon)
        assert article_key(canon) == f"{ids['biz']}:{ids['mid']}:{ids['idx']}"


@settings(max_examples=500, deadline=None)
@given(biz=_B64, mid=st.text("0123456789", min_size=1, max_size=12), idx=st.text("0123456789", min_size=1, max_size=2),
       sn=st.text("0123456789abcdef", min_size=1, max_size=32),
       extra=st.lists(st.tuples(_TRACK, st.text("abcXYZ019_.%-&;#=", max_size=8)), max_size=4),
       frag=st.sampled_from(["", "#rd", "#wechat_redirect", "#"]), scheme=st.sampled_from(["http", "https"]))
def test_raw_long_form_fast_path_agrees_with_the_full_route(biz, mid, idx, sn, extra, frag, scheme) -> None:
    from wxarchive.urls import _normalize

    url = f"{scheme}://mp.weixin.qq.com/s?__biz={biz}&mid={mid}&idx={idx}&sn={sn}" \
        + "".join(f"&{k}={v}" for k, v in extra) + frag
    assert normalize_article_url(url) == _normalize(url)
    canon = _normalize(url)
    assert normalize_article_url(canon) == _normalize(canon)


def test_a_double_encoded_biz_names_the_same_article() -> None:
    """A link whose ``__biz`` was %-encoded twice (``%253D``) is the article the page names, not a mismatch."""
    from wxarchive.extract.parse import _check_ids

    biz = "MzA5NjQ0MjY2Mw=="
    for link in (f"https://mp.weixin.qq.com/s?__biz={biz}&mid=2650&idx=1",
                 "https://mp.weixin.qq.com/s?__biz=MzA5NjQ0MjY2Mw%3D%3D&mid=2650&idx=1",
                 "https://mp.weixin.qq.com/s?__biz=MzA5NjQ0MjY2Mw%253D%253D&mid=2650&idx=1"):
        assert url_ids(link)["biz"] == biz, link
        _check_ids(link, biz, "2650", "1")   # raises IdMismatch if the ids disagree


# WeRead lists a short link's token with '~' where WeChat's base64url has '_' (WeChat answers the '~'
# spelling with 参数错误); some clients copy it back as '_'. Both spellings are one article.
TILDE_TOKEN = "9gm5eWle7~rEYNiwBGaaOQ"
UNDERSCORE_TOKEN = "9gm5eWle7_rEYNiwBGaaOQ"


@pytest.mark.parametrize("spelling", [
    f"https://mp.weixin.qq.com/s/{TILDE_TOKEN}",
    f"https://mp.weixin.qq.com/s/{UNDERSCORE_TOKEN}",
    f"http://mp.weixin.qq.com/s/{TILDE_TOKEN}?scene=1#rd",
    f"https://mp.weixin.qq.com/s/{TILDE_TOKEN.replace('~', '%7E')}",
    f"https://mp.weixin.qq.com/s/{TILDE_TOKEN.replace('~', '%7e')}",
])
def test_short_token_tilde_and_underscore_are_one_article(spelling: str) -> None:
    assert is_article_url(spelling)
    assert normalize_article_url(spelling) == f"https://mp.weixin.qq.com/s/{UNDERSCORE_TOKEN}"
    assert article_key(spelling) == f"s:{UNDERSCORE_TOKEN}"
    assert find_article_urls(f"见 {spelling}，转发") == [f"https://mp.weixin.qq.com/s/{UNDERSCORE_TOKEN}"]


def test_short_token_still_ends_at_markup() -> None:
    assert normalize_article_url('https://mp.weixin.qq.com/s/Ab~c"><script>') == "https://mp.weixin.qq.com/s/Ab_c"
    assert article_key("https://mp.weixin.qq.com/s/Ab~c%22x") == "s:Ab_c"
