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
