"""WeChat's player and page UI never reaches the post; the media do, where they sat.

Each fixture page is archived and its post rendered as readers see it (CommonMark by markdown-it,
and kramdown when Ruby has it); the checks read the rendered HTML, not the Markdown.
"""
from __future__ import annotations

import json
import re
import subprocess

import lxml.html
import pytest

from conftest import fixture_page, posts
from test_reader_view import _KRAMDOWN, KRAMDOWN, commonmark, jekyll_view
from wxarchive.extract.clean import clean_fragment
from wxarchive.write.render import split_post
from wxarchive.urls import video_url

RENDERERS = ["commonmark", "kramdown"]


def _render(md: str, renderer: str) -> str:
    if renderer == "commonmark":
        return commonmark(md)
    if not KRAMDOWN:
        pytest.skip("Ruby with kramdown is not installed")
    out = subprocess.run(["ruby", "-e", _KRAMDOWN], input=json.dumps([md]), capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)[0]


def _post(case: str, archive, run_cli) -> str:  # type: ignore[no-untyped-def]
    res = run_cli("get", fixture_page(case), "--out", archive, "--no-images", "--json")
    assert res.code == 0, res.err
    return split_post(posts(archive)[0].read_text(encoding="utf-8"))[1]


def _lines(rendered: str) -> list[str]:
    """The rendered post's lines as a reader sees them (blocks and <br> end a line)."""
    root = lxml.html.fragment_fromstring(rendered or "<p></p>", create_parent="div")
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    for el in root.iter("p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre"):
        el.tail = "\n" + (el.tail or "")
    return [" ".join(ln.split()) for ln in root.text_content().split("\n") if ln.strip()]


def _links(rendered: str) -> list[tuple[str, str]]:
    root = lxml.html.fragment_fromstring(rendered or "<p></p>", create_parent="div")
    return [(a.get("href") or "", a.text_content()) for a in root.iter("a")]


def _index(lines: list[str], needle: str) -> int:
    found = [i for i, ln in enumerate(lines) if needle in ln]
    assert len(found) == 1, f"{needle!r} on {len(found)} lines: {lines}"
    return found[0]


@pytest.mark.parametrize("renderer", RENDERERS)
def test_audio_card_frame_is_not_text(renderer: str, archive, run_cli) -> None:  # type: ignore[no-untyped-def]
    """A browser save keeps the audio card WeChat drew beside <mpvoice>: its "来自…" line and times go,
    the audio stays as one linked line where the card was."""
    html = _render(jekyll_view(_post("audio-2019-browsersave-frame", archive, run_cli)), renderer)
    lines = _lines(html)
    text = "\n".join(lines)
    assert "来自鹿鸣书房" not in text and "00:00" not in text and "08:12" not in text, lines
    audio = [(h, t) for h, t in _links(html) if "getvoice" in h]
    assert audio == [("https://res.wx.qq.com/voice/getvoice?mediaid=MzA5NjI4ODQ3MV8yNjUwNDcxMzE5", "城南旧事·惠安馆")]
    at = _index(lines, "城南旧事·惠安馆")
    assert _index(lines, "本期朗读") < at < _index(lines, "英子，跟着爸爸妈妈")


@pytest.mark.parametrize("renderer", RENDERERS)
def test_video_player_is_not_text_and_the_video_sits_in_place(renderer: str, archive, run_cli) -> None:  # type: ignore[no-untyped-def]
    """A re-serialised post-JS page keeps the video frame as a <span class="video_iframe"> nested in
    the player WeChat drew (error box, replay, follow): one video link, in place, and no player words."""
    html = _render(jekyll_view(_post("video-2023-postjs-player", archive, run_cli)), renderer)
    lines = _lines(html)
    for ui in ("Refresh", "Replay", "Share", "Like", "Follow", "Video Details", "视频加载失败"):
        assert not any(ui in ln for ln in lines), (ui, lines)
    player = video_url("wxv_2871456320917503488")
    assert [h for h, _ in _links(html) if "vid=" in h] == [player]
    at = _index(lines, "▶ 视频")
    assert _index(lines, "先看成品视频") < at < _index(lines, "第一步")
    assert html.count("<img") == 1  # the poster, once


@pytest.mark.parametrize("renderer", RENDERERS)
def test_scroll_hint_goes_the_scrolled_text_stays(renderer: str, archive, run_cli) -> None:  # type: ignore[no-untyped-def]
    lines = _lines(_render(jekyll_view(_post("structure-2018-scroll-box", archive, run_cli)), renderer))
    assert not any("滑动" in ln for ln in lines), lines
    for words in ("盼望着，盼望着", "小草偷偷地", "（节选）", "读书会时间"):
        _index(lines, words)


@pytest.mark.parametrize("renderer", RENDERERS)
def test_video_page_wxv_id_goes_to_the_mp_player_with_its_description(renderer: str, archive, run_cli) -> None:  # type: ignore[no-untyped-def]
    """A video page's WeChat id (wxv_…) is no Tencent Video id: v.qq.com has no such page. The
    description a script fills in is in the body, under the video."""
    md = _post("video-2019-wxv-page", archive, run_cli)
    assert "v.qq.com" not in md
    html = _render(jekyll_view(md), renderer)
    lines = _lines(html)
    assert ("https://mp.weixin.qq.com/mp/videoplayer?vid=wxv_1120458831926861824", "装饰器") in _links(html)
    assert _index(lines, "▶ 视频") < _index(lines, "五分钟讲清楚Python的装饰器。") < _index(lines, "代码在评论区置顶。")
    assert not any("展开" in ln for ln in lines)


@pytest.mark.parametrize("renderer", RENDERERS)
def test_text_post_links_are_links(renderer: str, archive, run_cli) -> None:  # type: ignore[no-untyped-def]
    """A text post's text holds WeChat's <a … data-itemshowtype=…> markup: a link to read, not tags."""
    html = _render(jekyll_view(_post("text-2025-links", archive, run_cli)), renderer)
    lines = _lines(html)
    text = "\n".join(lines)
    assert "<a" not in text and "data-itemshowtype" not in text and "href" not in text, lines
    assert ("https://mp.weixin.qq.com/s?__biz=MzkzNTE2ODQ3Mg==&mid=2247483911&idx=1"
            "&sn=1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d&scene=21#wechat_redirect", "为什么我不再用 Vim") in _links(html)
    assert "推荐一篇旧文：为什么我不再用 Vim，写于三年前。" in lines
    assert "新的配置放在小程序里：终端手记工具箱，欢迎取用。" in lines  # a link to no page keeps its words
    assert any("而 a < b 这种比较" in ln for ln in lines)  # the author's own "<" is text


def test_text_post_title_from_its_words_not_its_markup(archive, run_cli) -> None:  # type: ignore[no-untyped-def]
    run_cli("get", fixture_page("text-2025-links"), "--out", archive, "--no-images")
    text = posts(archive)[0].read_text(encoding="utf-8")
    assert "\ntitle: 推荐一篇旧文：为什么我不再用 Vim，写于三年前。\n" in text


# ---- the mechanisms, one at a time -----------------------------------------------------------------

def test_scroll_words_in_the_authors_sentence_stay() -> None:
    """Beside a scroll box, the author's own sentence that says the words is the author's: kept."""
    out = clean_fragment('<section><p>原文较长，请向上滑动阅览。</p>'
                         '<section style="height: 200px; overflow-y: auto;"><p>原文。</p></section></section>').html
    assert "原文较长，请向上滑动阅览。" in out


def test_scroll_hint_beside_a_horizontal_box_goes() -> None:
    out = clean_fragment(
        '<section><p style="text-align:center">左右滑动查看更多</p>'
        '<section style="overflow-x: scroll; white-space: nowrap;"><p>图一说明</p><p>图二说明</p></section>'
        '</section>').html
    assert "滑动" not in out and "图一说明" in out and "图二说明" in out


def test_audio_frame_without_its_mpvoice_is_the_audio() -> None:
    """A capture that lost <mpvoice> but kept WeChat's card: the card's file id and title make the audio."""
    c = clean_fragment(
        '<p>听：</p><p><span class="js_audio_frame db"><span id="voice_main_MzI1NjQ3XzI2NTA_0" '
        'class="share_audio_context"><strong class="share_audio_title">晚安故事</strong>'
        '<span class="share_audio_tips">来自某账号</span><em>00:00</em><em>03:20</em></span></span></p>')
    assert "来自某账号" not in c.html and "00:00" not in c.html and "03:20" not in c.html
    assert 'href="https://res.wx.qq.com/voice/getvoice?mediaid=MzI1NjQ3XzI2NTA"' in c.html
    assert [(m.kind, m.title) for m in c.media] == [("audio", "晚安故事")]


def test_a_video_inside_player_parts_is_kept() -> None:
    """The video element itself may sit inside a part of the player: the part goes, the video stays."""
    c = clean_fragment('<p>前文</p><div class="mp-video-player"><iframe class="video_iframe" '
                       'data-mpvid="wxv_42"></iframe><div class="js_error_area">Refresh</div></div><p>后文</p>')
    assert "Refresh" not in c.html
    assert c.html.count("videoplayer?vid=wxv_42") == 1
    assert c.html.index("前文") < c.html.index("wxv_42") < c.html.index("后文")


def test_the_same_video_twice_with_words_between_is_shown_twice() -> None:
    frame = '<iframe class="video_iframe" data-mpvid="wxv_7"></iframe>'
    c = clean_fragment(f"<p>{frame}</p><p>再看一遍：</p><p>{frame}</p>")
    assert c.html.count("videoplayer?vid=wxv_7") == 2
    c = clean_fragment(f"<p>{frame}</p><div>{frame}</div>")
    assert c.html.count("videoplayer?vid=wxv_7") == 1


def test_two_videos_side_by_side_are_both_kept() -> None:
    c = clean_fragment('<p><iframe class="video_iframe" data-mpvid="wxv_1"></iframe>'
                       '<iframe class="video_iframe" data-mpvid="wxv_2"></iframe></p>')
    assert "wxv_1" in c.html and "wxv_2" in c.html


def test_a_player_template_source_names_a_wechat_video() -> None:
    """A frame with no data-mpvid whose source is WeChat's player template: its wxv_ id, never v.qq.com."""
    c = clean_fragment('<iframe class="video_iframe" data-src="https://v.qq.com/iframe/preview.html?vid=wxv_99&amp;'
                       'width=500"></iframe>')
    assert "v.qq.com" not in c.html and "videoplayer?vid=wxv_99" in c.html


def test_video_url() -> None:
    assert video_url("wxv_1096567789898350592") == "https://mp.weixin.qq.com/mp/videoplayer?vid=wxv_1096567789898350592"
    assert video_url("k0716x2m9qe") == "https://v.qq.com/x/page/k0716x2m9qe.html"
    assert not re.search(r"v\.qq\.com/\S*wxv_", video_url("wxv_1"))


def test_music_card_beside_its_qqmusic_is_not_text() -> None:
    c = clean_fragment(
        '<p>配乐：</p><qqmusic class="res_iframe qqmusic_iframe" music_name="夜空中最亮的星" singer="逃跑计划" '
        'musicid="102065756"></qqmusic><span class="db qqmusic_area"><span class="tc tips_global unsupport_tips">'
        '当前浏览器不支持播放音乐或语音，请在微信或其他浏览器中播放</span><span class="db qqmusic_wrp">'
        '<span class="db qqmusic_bd"><span class="db access_area"><span class="db qqmusic_songname">夜空中最亮的星'
        '</span><span class="db qqmusic_singername">逃跑计划</span></span></span>'
        '<span class="db qqmusic_ft"><span class="db qqmusic_source">来自QQ音乐</span></span></span></span>'
        '<p>正文继续。</p>')
    assert "来自QQ音乐" not in c.html and "不支持播放" not in c.html
    assert c.html.count("夜空中最亮的星") == 1 and "〔音乐：夜空中最亮的星 — 逃跑计划〕" in c.html


def test_music_card_without_its_qqmusic_is_the_music() -> None:
    c = clean_fragment('<p>配乐：</p><span class="db qqmusic_area"><span class="db qqmusic_songname">平凡之路</span>'
                       '<span class="db qqmusic_singername">朴树</span><span class="qqmusic_source">来自QQ音乐</span>'
                       '</span><p>正文继续。</p>')
    assert "来自QQ音乐" not in c.html and "〔音乐：平凡之路 — 朴树〕" in c.html
    assert c.html.index("配乐") < c.html.index("平凡之路") < c.html.index("正文继续")


def test_new_audio_card_beside_its_element_is_not_text() -> None:
    c = clean_fragment(
        '<mp-common-mpaudio name="第12期：慢慢来" author="晚风电台" voice_encode_fileid="MzkxNl8yMjQ3"></mp-common-mpaudio>'
        '<div class="audio_card"><div class="audio_card_title">第12期：慢慢来</div>'
        '<div class="audio_card_desc">来自晚风电台</div><span>00:00</span><span>12:40</span></div><p>正文。</p>')
    assert "来自晚风电台" not in c.html and "12:40" not in c.html
    assert c.html.count("第12期：慢慢来") == 1 and [m.ident for m in c.media] == ["MzkxNl8yMjQ3"]


def test_what_went_is_recorded_with_its_reason() -> None:
    """Nothing goes silently: each removed player part and scroll hint is in ``stripped``."""
    from wxarchive.extract import players

    c = clean_fragment('<p>前文</p><div class="mp-video-player"><iframe class="video_iframe" data-mpvid="wxv_42">'
                       '</iframe><div class="js_error_area">Refresh</div></div>'
                       '<section><p>向上滑动阅览</p><section style="height:90px;overflow-y:scroll"><p>长文。</p>'
                       '</section></section>')
    assert (players.PLAYER_UI, "Refresh") in c.stripped
    assert (players.SCROLL_HINT, "向上滑动阅览") in c.stripped


def test_a_hint_far_from_any_scroll_box_stays_for_the_rules() -> None:
    """A code block's overflow-x elsewhere in the body is no scroll box beside the words."""
    from wxarchive.extract import players

    c = clean_fragment('<p>第一段。</p><section><p>左右滑动查看更多</p><p>图说。</p></section>'
                       '<pre style="overflow-x: auto"><code>x = 1</code></pre>', keep_footers=True)
    assert "左右滑动查看更多" in c.html and players.SCROLL_HINT not in {r for r, _ in c.stripped}


def test_an_api_uploaded_video_goes_to_the_mp_player() -> None:
    """A video uploaded through WeChat's API has an apiv_ id: WeChat's player too, never v.qq.com."""
    c = clean_fragment('<iframe class="video_iframe rich_pages" data-mpvid="apiv_4557370031474425862" '
                       'data-src="https://mp.weixin.qq.com/mp/readtemplate?t=pages/video_player_tmpl&amp;'
                       'action=mpvideo&amp;vid=apiv_4557370031474425862"></iframe>')
    assert "v.qq.com" not in c.html and "videoplayer?vid=apiv_4557370031474425862" in c.html
    assert video_url("apiv_1") == "https://mp.weixin.qq.com/mp/videoplayer?vid=apiv_1"


def test_player_ui_held_inside_the_video_frame_goes_with_it() -> None:
    """Some captures keep the whole player inside the frame element: speed, quality, 继续观看."""
    c = clean_fragment(
        '<p>看视频：</p><span class="video_iframe rich_pages" data-mpvid="wxv_5" data-cover="https%3A%2F%2F'
        'mmbiz.qpic.cn%2Fmmbiz_jpg%2Fabcdefghijklmnopqrstu%2F0"><div class="video_tail_module">已关注 分享 赞</div>'
        '<div class="video_quick_play_context">倍速播放中</div><div>0.5倍 1.0倍 1.5倍</div><div>继续观看</div></span>'
        '<p>正文。</p>')
    for ui in ("已关注", "倍速", "1.5倍", "继续观看"):
        assert ui not in c.html
    assert "videoplayer?vid=wxv_5" in c.html and 'src="https://mmbiz.qpic.cn/mmbiz_jpg/abcdefghijklmnopqrstu/0"' in c.html


def test_player_menus_beside_the_frame_go() -> None:
    """The player's speed and quality menus and quick-play tip, drawn next to the frame: UI, by class family."""
    c = clean_fragment(
        '<p>看视频：</p><iframe class="video_iframe" data-mpvid="wxv_8"></iframe>'
        '<div class="video_quick_play_context">倍速播放中</div>'
        '<div class="video_full-screen__sub-setting__speed">0.5倍 1.0倍 1.5倍 2.0倍</div>'
        '<div class="video_full-screen__sub-setting__ratio">超清 流畅</div><p>正文。</p>')
    for ui in ("倍速", "1.5倍", "超清", "流畅"):
        assert ui not in c.html
    assert "videoplayer?vid=wxv_8" in c.html and "正文。" in c.html


def test_text_post_entity_encoded_links_are_links(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """When a text post gives only the entity-encoded copy of its text, its links are links too."""
    import datetime as dt

    from wxarchive.models import Page
    from wxarchive.extract.parse import parse

    page = fixture_page("text-2025-links").read_text(encoding="utf-8")
    page = page.replace("content_noencode: JsDecode(", "content: JsDecode(")
    page = page.replace("\\x3ca ", "\\x26lt;a ").replace("\\x3c/a\\x3e", "\\x26lt;/a\\x26gt;")
    page = page.replace("\\x22\\x3e", "\\x22\\x26gt;").replace("a \\x3c b", "a \\x26lt; b")
    art = parse(Page(url="https://mp.weixin.qq.com/s/x", final_url="https://mp.weixin.qq.com/s/x", status=200,
                     content=page.encode("utf-8"), fetched_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)))
    assert '<a href="https://mp.weixin.qq.com/s?__biz=MzkzNTE2ODQ3Mg==&amp;mid=2247483911' in art.body_html
    assert "&lt;a" not in art.body_html and "a &lt; b" in art.body_html
