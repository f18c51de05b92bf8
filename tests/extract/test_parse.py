"""Metadata of every page era, kinds, error classification and the time zone."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from conftest import fixture_page, posts, run_subprocess
from wxarchive.extract.clean import clean
from wxarchive.errors import LayoutChanged, NotAnArticle, RateLimited, Unavailable
from wxarchive.models import Page
from wxarchive.extract.parse import SHANGHAI, parse

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def page_of(case: str, url: str = "") -> Page:
    data = fixture_page(case).read_bytes()
    url = url or fixture_page(case).resolve().as_uri()
    return Page(url=url, final_url=url, status=200, content=data, fetched_at=NOW)


def art(case: str):
    return parse(page_of(case))


def html_page(body: str, url: str = "https://mp.weixin.qq.com/s/TestToken123") -> Page:
    return Page(url=url, final_url=url, status=200, content=body.encode("utf-8"), fetched_at=NOW)


# ---- metadata, era by era -------------------------------------------------------------------------

def test_legacy_2017_metadata():
    a = art("article-2017-legacy")
    assert a.title == "春日登山记：从黄山到天都峰"
    assert a.account == "山野行记"
    assert (a.biz, a.mid, a.idx, a.sn) == ("MzA5NjE2MjQ4Mw==", "2650812483", "2", "8d3c2f64a1b7e09c55f2a6d1c3e4b5a7")
    assert a.key == "MzA5NjE2MjQ4Mw==:2650812483:2"
    assert a.published == dt.datetime(2017, 3, 15, 6, 20, 31, tzinfo=SHANGHAI)
    assert a.read_more_url == "https://www.huangshan.com.cn/guide/tiandu"
    assert a.copyright_stat == 1 and a.original
    assert a.canonical_url == ("https://mp.weixin.qq.com/s?__biz=MzA5NjE2MjQ4Mw==&mid=2650812483&idx=2"
                               "&sn=8d3c2f64a1b7e09c55f2a6d1c3e4b5a7")
    assert a.kind == "article"


def test_legacy_2017_author_from_unlabelled_em():
    """Legacy pages (no #meta_content) name the author in the <em> after #post-date."""
    assert art("article-2017-legacy").author == "林间"


def test_2020_metadata():
    a = art("article-2020-mdnice")
    assert a.title == "Python 的上下文管理器，你真的会用吗？"
    assert a.account == "编程小川"
    assert a.author == "小川"
    assert a.published == dt.datetime(2020, 8, 7, 21, 45, 10, tzinfo=SHANGHAI)
    assert a.digest == "with 语句背后的协议，以及 contextlib 的几个实用工具。"
    assert a.cover.startswith("http://mmbiz.qpic.cn/mmbiz_jpg/7QRTvkK2")
    assert a.copyright_stat == 1
    assert a.key == "MzIzMzA4NTE0Nw==:2247486321:1"


def test_2024_metadata_with_empty_title_tag():
    a = art("article-2024-modern")
    assert a.title == "一次线上故障复盘：重试风暴是怎么形成的"
    assert a.account == "后端观察"
    assert a.author == "周野"
    assert a.published == dt.datetime(2024, 1, 2, 7, 5, 0, tzinfo=SHANGHAI)
    assert a.key == "MzIyNjg5MDQwNg==:2247491356:1"
    assert a.sn == "6c1d9e2f3a4b5c6d7e8f9a0b1c2d3e4f"
    assert a.read_more_url == "https://github.com/backend-watch/postmortems/blob/main/2023-12-28.md"
    assert a.original


def test_2024_cleaned_body():
    a = clean(art("article-2024-modern"))
    body = a.body_html
    assert "后端观察" not in body and "分布式系统、可靠性工程" not in body, "profile card leaked"
    assert "往期推荐" not in body and "熔断器的三种状态" not in body, "recommended list kept"
    assert "长按识别二维码" not in body
    assert "visibility" not in body and "leaf" not in body
    assert "max_attempts: 3" in body and "per_try_timeout" in body
    assert "改进：只在最外层重试" in body  # the last real sentence survives
    names = [i.name for i in a.images]
    assert "Vb1sCkQn8bZtXh0YgEoiaicAnpGj4e9Ia3kGz1bq7YtP0x9lR2mVd8ZcWfJ4aNh6oIu5sXe3rT1yKp0gBnLq2vA" in names
    # CSS background image is a content image
    assert any("Ia3Rr0ZtV5nHk2eY" in i.url for i in a.images)
    # the QR code after the footer prompt is not
    assert not any("qrC0dEo9FgHw1iJk2L" in i.url for i in a.images)
    # the code-snippet line numbers are gone and the lines are separate
    assert "<li></li>" not in body


def test_modern_reprint():
    a = art("reprint-2025-banner")
    assert a.kind == "reprint" and a.copyright_stat == 2 and not a.original
    assert dict(a.reprint_of) == {"account": "城市周刊", "author": "何舟",
                                  "note": "老城区的菜市场，是很多人童年的记忆。\n这篇文章值得一读。"}
    body = clean(a).body_html
    assert "以下文章来源于" not in body and "记录城市里的人与事" not in body


def test_sharecard_reprint():
    a = art("reprint-2019-sharecard")
    assert a.kind == "reprint"
    ro = dict(a.reprint_of)
    assert ro["title"] == "谁在维护你依赖的那个库"
    assert ro["account"] == "开源周报"
    assert "mid=2651093317" in ro["url"]
    body = clean(a).body_html
    assert "我们用着免费的软件" in body  # the script-injected note
    assert "mid=2651093317" in body  # a working link to the original


def test_picture_post_uses_pictures_not_watermarks():
    a = clean(art("picture-2025"))
    assert a.kind == "picture" and a.item_show_type == 8
    assert a.title == "周末去了趟植物园" and a.account == "植物笔记"
    assert a.published == dt.datetime(2025, 3, 4, 12, 15, tzinfo=SHANGHAI)
    assert "熊童子" in a.body_html
    urls = [i.url for i in a.images]
    assert len(urls) == 2
    assert all("&from=appmsg" in u and "amp;" not in u for u in urls)
    for bad in ("WmK8x2PqZ0vTn4ib", "ScV0b9NwX3pLq7tY", "Tq3rYw8Xz0nLk5vB", "Lm2nXc7bVz0qTr5k"):
        assert bad not in a.body_html, "watermark/share cover must not be content"


def test_text_post_with_user_title():
    a = clean(art("text-2025-titled"))
    assert a.kind == "text" and a.title == "关于周报停更一周的说明" and not a.title_derived
    assert "9 月 19 日恢复" in a.body_html
    assert not a.images, "the account avatar in a text post is not content"


def test_text_post_keeps_its_last_sentence():
    """'投稿' in the author's own closing sentence is content, not a contact footer."""
    a = clean(art("text-2025-titled"))
    assert "会在下期集中回复" in a.body_html


def test_text_post_without_title_gets_derived_one():
    a = art("text-2024-untitled")
    assert a.kind == "text" and a.title_derived
    assert a.title == "今天在地铁上看到一位老人在读纸质书"
    assert len(a.title) <= 30


def test_video_page():
    a = clean(art("video-2018"))
    assert a.kind == "video" and a.item_show_type == 5
    assert a.title == "三分钟看懂榫卯结构" and a.account == "木作日常"
    assert a.published == dt.datetime(2018, 4, 28, 22, 36, 35, tzinfo=SHANGHAI)
    assert a.key == "MzI5NDExNTY4OA==:2247483921:1"
    assert [m.url for m in a.media] == ["https://v.qq.com/x/page/k0716x2m9qe.html"]
    assert len(a.images) == 1 and "Rk3vWp8qLz2TnYc0" in a.images[0].url


def test_audio_in_article():
    a = clean(art("audio-2018-mpvoice"))
    assert [(m.kind, m.url, m.title) for m in a.media] == [
        ("audio", "https://res.wx.qq.com/voice/getvoice?mediaid=MjM5NzAxNjY2MF8yNjUyMzE0ODU3", "早安江城3月19日")]
    assert "getvoice?mediaid=MjM5NzAxNjY2MF8yNjUyMzE0ODU3" in a.body_html
    assert a.published == dt.datetime(2018, 3, 19, 7, 2, 18, tzinfo=SHANGHAI)


def test_cards_are_placeholders_not_dropped():
    body = clean(art("cards-2021-miniprogram")).body_html
    assert "正山小种 250g 礼盒装" in body
    assert "家用迷你电烤箱 12L" in body and "https://item.jd.com/100013529107.html" in body
    assert "祝大家新年快乐" in body


def test_hostile_title_decoded():
    a = art("hostile-2023-liquid")
    assert a.title == 'yes: "Jekyll" 模板里的 {{ 花括号 }} #坑 🚀\n---\nnull'
    assert a.author == "O'Neil"
    assert a.digest == "#1 null: '引号' 与 {% raw %}"


# ---- error pages --------------------------------------------------------------------------------

@pytest.mark.parametrize("case,code", [
    ("error-deleted-zh", "deleted"), ("error-deleted-en", "deleted"), ("error-removed-violation", "removed"),
    ("error-expired", "expired"), ("error-unavailable", "unavailable"), ("error-account-closed", "account_closed"),
    ("error-migrated", "migrated"),
])
def test_error_pages_are_typed(case, code):
    with pytest.raises(Unavailable) as ei:
        art(case)
    assert ei.value.code == code


def test_removed_keeps_wechats_reason():
    with pytest.raises(Unavailable) as ei:
        art("error-removed-violation")
    assert "涉嫌欺诈" in ei.value.message


def test_migrated_names_its_target():
    with pytest.raises(Unavailable) as ei:
        art("error-migrated")
    assert ei.value.target == ("https://mp.weixin.qq.com/s?__biz=MzI3NDE0OTg1Nw==&mid=2247484312&idx=1"
                               "&sn=90a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4#rd")
    assert not ei.value.permanent


def test_verify_page_is_rate_limit():
    with pytest.raises(RateLimited):
        art("error-verify")


def test_captcha_final_url_is_rate_limit_whatever_the_body():
    url = "https://mp.weixin.qq.com/s/AbC"
    page = Page(url=url, final_url="https://mp.weixin.qq.com/mp/wappoc_appmsgcaptcha?poc_token=x&target_url=y",
                status=200, content=b"<html><body>ok</body></html>", fetched_at=NOW)
    with pytest.raises(RateLimited):
        parse(page)


def test_old_frequency_box_is_verify():
    body = ('<html><head><title>验证</title></head><body><div class="weui-msg"><h2 class="weui-msg__title">验证身份</h2>'
            '<p class="weui-msg__desc">你的访问过于频繁，需要从微信打开验证身份，是否需要继续访问当前页面？</p></div></body></html>')
    with pytest.raises(RateLimited):
        parse(html_page(body))


def test_non_wechat_html_is_not_an_article():
    with pytest.raises(NotAnArticle):
        parse(html_page("<html><head><title>My blog</title></head><body><p>Hello</p></body></html>",
                        url="file:///tmp/blog.html"))


def test_wechat_shell_without_body_is_layout():
    body = ('<html><head><title></title></head><body><div id="js_article" class="rich_media"></div>'
            '<script>var biz = "MzA5NjE2MjQ4Mw==" || "";</script></body></html>')
    with pytest.raises(LayoutChanged):
        parse(html_page(body))


def test_article_with_hidden_message_template_is_not_an_error():
    """A real article may carry weui-msg templates (comment dialogs) - still an article."""
    data = fixture_page("article-2020-mdnice").read_text(encoding="utf-8").replace(
        "</body>", '<div class="weui-msg" style="display:none"><h2 class="weui-msg__title">该内容已被发布者删除</h2></div></body>')
    a = parse(html_page(data))
    assert a.title.startswith("Python")


# ---- time zone ------------------------------------------------------------------------------------

def test_published_is_shanghai_aware():
    a = art("article-2024-modern")
    assert a.published.utcoffset() == dt.timedelta(hours=8)
    # 2024-01-01 23:05 UTC is already 2 January in Shanghai
    assert a.published.astimezone(dt.timezone.utc).date() == dt.date(2024, 1, 1)
    assert a.published.date() == dt.date(2024, 1, 2)


@pytest.mark.parametrize("case", ["article-2017-legacy", "article-2024-modern"])
@pytest.mark.slow
def test_post_identical_under_any_process_tz(case, tmp_path: Path):
    """The publish date crosses midnight UTC: file name and front matter must not depend on TZ."""
    texts = {}
    for tz in ("UTC", "Asia/Shanghai", "America/Los_Angeles"):
        out = tmp_path / tz.replace("/", "_")
        res = run_subprocess("get", fixture_page(case), "--out", out, "--no-images", "--json", env={"TZ": tz})
        assert res.code == 0, res.err
        [post] = posts(out)
        texts[tz] = (post.name, re.sub(r"(?m)^archived_at: .*$", "", post.read_text(encoding="utf-8")))
    assert len(set(texts.values())) == 1, texts
    name, text = texts["UTC"]
    assert name.startswith("2017-03-15-" if "2017" in case else "2024-01-02-")
    assert "+0800" in text
