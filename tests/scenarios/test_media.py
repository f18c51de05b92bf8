"""``--media`` saves audio beside the images and the post links the local copy; without it, nothing is fetched."""
from __future__ import annotations

from conftest import fixture_page, posts

MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 64
FILE_ID = "MjM5NzAxNjY2MF8yNjUyMzE0ODU3"


def _serve_voice(wx) -> None:
    wx.server.expect_request("/voice/getvoice", query_string={"mediaid": FILE_ID}).respond_with_data(
        MP3, content_type="audio/mpeg")


def test_media_saves_audio_and_links_it(archive, run_cli, wx) -> None:
    _serve_voice(wx)
    res = run_cli("get", fixture_page("audio-2018-mpvoice"), "--out", archive, "--media", "--json",
                  *wx.connect_args, "--connect-to", f"res.wx.qq.com={wx.url}")
    assert res.code == 0, res.err
    saved = archive / "postimg" / f"{FILE_ID}.mp3"
    assert saved.read_bytes() == MP3
    text = posts(archive)[0].read_text(encoding="utf-8")
    assert f"({{{{ site.baseurl }}}}/postimg/{FILE_ID}.mp3)" in text  # the body links the local copy
    assert f"file: {FILE_ID}.mp3" in text  # and front matter says where it is


def test_without_media_no_audio_request(archive, run_cli, wx) -> None:
    _serve_voice(wx)
    res = run_cli("get", fixture_page("audio-2018-mpvoice"), "--out", archive, "--json",
                  *wx.connect_args, "--connect-to", f"res.wx.qq.com={wx.url}")
    assert res.code == 0, res.err
    assert not wx.requests("/voice/getvoice")
    assert "https://res.wx.qq.com/voice/getvoice?mediaid=" + FILE_ID in posts(archive)[0].read_text(encoding="utf-8")


def test_media_that_is_not_audio_stays_remote(archive, run_cli, wx) -> None:
    wx.server.expect_request("/voice/getvoice").respond_with_data("<html>error</html>", content_type="text/html")
    res = run_cli("get", fixture_page("audio-2018-mpvoice"), "--out", archive, "--media", "--json",
                  *wx.connect_args, "--connect-to", f"res.wx.qq.com={wx.url}")
    assert res.code == 0
    assert not list((archive / "postimg").glob(f"{FILE_ID}.*"))
    assert "https://res.wx.qq.com/voice/getvoice?mediaid=" + FILE_ID in posts(archive)[0].read_text(encoding="utf-8")


VIDEO_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title></title></head><body>
<div id="js_article"><h1 id="activity-name">带视频的文章</h1>
<div id="js_content" style="visibility: hidden;">
<p>开头一段文字，说明下面的视频。</p>
<iframe class="video_iframe rich_pages" data-mpvid="wxv_3141592653589793238" data-cover="https%3A%2F%2Fmmbiz.qpic.cn%2Fmmbiz_jpg%2Fcover%2F0"
 data-src="https://mp.weixin.qq.com/mp/readtemplate?t=pages/video_player_tmpl&amp;auto=0&amp;vid=wxv_3141592653589793238"></iframe>
<p>结尾一段文字。</p>
</div></div>
<script type="text/javascript">
var msg_title = "带视频的文章";
var nickname = "视频号测试";
var ct = "1700000000";
var biz = "MzA5NjQ0MjY2Mw==";
var mid = "2650000777";
var idx = "1";
var sn = "0123456789abcdef0123456789abcdef";
var videoPageInfos = [
  {
    video_id: 'wxv_3141592653589793238',
    is_mp_video: '1' * 1,
    cover_url: 'https://mmbiz.qpic.cn/mmbiz_jpg/VideoCoverMediaId0123456789abcdefABCDEF/0?wx_fmt=jpeg',
    mp_video_trans_info: [
      {url: 'https://mpvideo.qpic.cn/0bc3lowlow.f10002.mp4?dis_k=abc\\x26amp;dis_t=1', video_quality_level: '1' * 1, filesize: '100' * 1},
      {url: 'https://mpvideo.qpic.cn/0bc3hd.f10003.mp4?dis_k=abc\\x26amp;dis_t=1', video_quality_level: '3' * 1, filesize: '900' * 1},
    ],
  },
];
</script></body></html>"""
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200


def test_media_saves_the_best_in_article_video(archive, run_cli, wx, tmp_path) -> None:
    page = tmp_path / "video.html"
    page.write_text(VIDEO_PAGE, encoding="utf-8")
    wx.server.expect_request("/0bc3hd.f10003.mp4").respond_with_data(MP4, content_type="video/mp4")
    wx.server.expect_request("/mmbiz_jpg/VideoCoverMediaId0123456789abcdefABCDEF/0").respond_with_data(
        b"\xff\xd8\xff\xe0" + b"\x00" * 64, content_type="image/jpeg")
    res = run_cli("get", page, "--out", archive, "--media", "--json", *wx.connect_args,
                  "--connect-to", f"mpvideo.qpic.cn={wx.url}")
    assert res.code == 0, res.err
    assert (archive / "postimg" / "wxv_3141592653589793238.mp4").read_bytes() == MP4
    assert not wx.requests("/0bc3lowlow.f10002.mp4")  # the best quality only
    text = posts(archive)[0].read_text(encoding="utf-8")
    assert "/postimg/wxv_3141592653589793238.mp4)" in text  # the link points at the local file
    assert "VideoCoverMediaId0123456789abcdefABCDEF.jpg" in text  # the poster is localized
    assert "v.qq.com" not in text
