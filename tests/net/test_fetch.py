"""Fetching through a real local HTTP server routed with --connect-to: retries, statuses, verification,
timeouts, no requests for archived articles, --force, and usage errors."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from werkzeug import Response

from conftest import fixture_page, posts
from wxarchive.jobs.pipeline import Archiver, Options

SHORT = "/s/Xq3bR7mK2pLs9TvA0cZy1w"
URL = "https://mp.weixin.qq.com" + SHORT
BIZ = "MzIyNjg5MDQwNg=="
LONG = f"https://mp.weixin.qq.com/s?__biz={BIZ}&mid=2247491356&idx=1&sn=6c1d9e2f3a4b5c6d7e8f9a0b1c2d3e4f"
PAGE = fixture_page("article-2024-modern").read_bytes()


def fast_options(wx, out: Path, **kw) -> Options:
    base = dict(out=out, no_images=True, delay=(0.0, 0.0), backoff=0.01, retries=3, timeout=5.0,
                connect_to=wx.connect_to())
    base.update(kw)
    return Options(**base)


def get(run_cli, wx, archive, *sources, extra=()):
    return run_cli("get", *sources, "--out", archive, "--json", "--no-images", "--delay", "0", *wx.connect_args, *extra)


def test_5xx_is_retried_then_succeeds(wx, archive):
    wx.server.expect_oneshot_request(SHORT).respond_with_data("busy", status=503)
    wx.server.expect_oneshot_request(SHORT).respond_with_data("busy", status=503)
    wx.server.expect_request(SHORT).respond_with_data(PAGE, content_type="text/html")
    with Archiver(fast_options(wx, archive)) as arch:
        out = arch.archive_one(URL)
    assert out.status == "archived", out
    assert [r.path for r in wx.requests()] == [SHORT] * 3
    assert len(posts(archive)) == 1


def test_5xx_gives_up_after_retries(wx, archive):
    wx.server.expect_request(SHORT).respond_with_data("down", status=502)
    with Archiver(fast_options(wx, archive, retries=2)) as arch:
        out = arch.archive_one(URL)
    assert (out.status, out.error) == ("failed", "http")
    assert len(wx.requests(SHORT)) == 2
    assert posts(archive) == []


def test_404_is_requested_once(wx, archive, run_cli):
    wx.server.expect_request(SHORT).respond_with_data("not here", status=404)
    res = get(run_cli, wx, archive, URL)
    assert res.code == 1
    assert res.json["status"] == "failed" and res.json["error"] == "http"
    assert len(wx.requests(SHORT)) == 1
    assert posts(archive) == []
    assert "Traceback" not in res.err


def test_redirect_is_followed_and_real_url_kept(wx, archive, run_cli):
    wx.server.expect_request("/s/OldToken").respond_with_response(
        Response(status=302, headers={"Location": "https://mp.weixin.qq.com" + SHORT}))
    wx.server.expect_request(SHORT).respond_with_data(PAGE, content_type="text/html")
    res = get(run_cli, wx, archive, "https://mp.weixin.qq.com/s/OldToken")
    assert res.code == 0, res.err
    text = posts(archive)[0].read_text(encoding="utf-8")
    assert "source_url: https://mp.weixin.qq.com/s?__biz=" in text
    assert "localhost" not in text and "127.0.0.1" not in text


def test_captcha_redirect_is_verify_and_stops_the_run(wx, archive, run_cli):
    wx.server.expect_request(SHORT).respond_with_response(Response(status=302, headers={
        "Location": "https://mp.weixin.qq.com/mp/wappoc_appmsgcaptcha?poc_token=HBx1&target_url=https%3A%2F%2Fmp.weixin.qq.com%2Fs%2FXq3b"}))
    wx.server.expect_request("/mp/wappoc_appmsgcaptcha").respond_with_data(
        fixture_page("error-verify").read_bytes(), content_type="text/html")
    wx.server.expect_request("/s/SecondOne").respond_with_data(PAGE, content_type="text/html")
    res = get(run_cli, wx, archive, URL, "https://mp.weixin.qq.com/s/SecondOne")
    assert res.code == 3
    assert [ln["error"] for ln in res.lines] == ["verify", "verify"]
    assert wx.requests("/s/SecondOne") == [], "no page request after a verification page"
    assert posts(archive) == []
    assert "Traceback" not in res.err and res.err.strip()


def test_verification_is_not_a_permanent_failure(wx, archive, run_cli):
    wx.server.expect_oneshot_request(SHORT).respond_with_data(fixture_page("error-verify").read_bytes(),
                                                              content_type="text/html")
    wx.server.expect_request(SHORT).respond_with_data(PAGE, content_type="text/html")
    assert get(run_cli, wx, archive, URL).code == 3
    res = get(run_cli, wx, archive, URL)
    assert res.code == 0 and res.json["status"] == "archived", res.out + res.err


def test_deleted_page_over_the_network(wx, archive, run_cli):
    wx.server.expect_request(SHORT).respond_with_data(fixture_page("error-deleted-zh").read_bytes(),
                                                      content_type="text/html")
    res = get(run_cli, wx, archive, URL)
    assert res.code == 1 and res.json["error"] == "deleted"
    assert URL in res.json["message"] or "Xq3bR7mK2pLs9TvA0cZy1w" in res.json["message"]
    assert posts(archive) == []


def test_migrated_page_follows_target_once(wx, archive, run_cli):
    wx.server.expect_request(SHORT).respond_with_data(fixture_page("error-migrated").read_bytes(),
                                                      content_type="text/html")
    wx.server.expect_request("/s", query_string={"__biz": "MzI3NDE0OTg1Nw==", "mid": "2247484312", "idx": "1",
                                                 "sn": "90a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4"}).respond_with_data(
        # the target's page carries the target's ids (a page with other ids would be another article)
        fixture_page("article-2020-mdnice").read_bytes().replace(b"MzIzMzA4NTE0Nw==", b"MzI3NDE0OTg1Nw==")
        .replace(b"2247486321", b"2247484312"), content_type="text/html")
    res = get(run_cli, wx, archive, URL)
    assert res.code == 0, res.out + res.err
    assert res.json["status"] == "archived"
    assert len(wx.requests("/s")) == 1


def test_slow_server_times_out(wx, archive):
    def slow(request):
        time.sleep(1.2)
        return Response(PAGE, content_type="text/html")

    wx.server.expect_request(SHORT).respond_with_handler(slow)
    with Archiver(fast_options(wx, archive, timeout=0.5, retries=1)) as arch:
        out = arch.archive_one(URL)
    assert (out.status, out.error) == ("failed", "network")
    assert "timed out" in out.message
    assert posts(archive) == []


def test_timeout_flag_reaches_the_fetcher():
    from wxarchive.cli import build_parser
    from wxarchive.cli.common import options_from

    args = build_parser().parse_args(["get", URL, "--timeout", "0.5", "--delay", "0"])
    opts = options_from(args)
    assert opts.timeout == 0.5 and opts.delay == (0.0, 0.0)


def test_rerun_of_archived_long_url_makes_no_request(wx, archive, run_cli):
    wx.server.expect_request("/s").respond_with_data(PAGE, content_type="text/html")
    assert get(run_cli, wx, archive, LONG).code == 0
    post = posts(archive)[0]
    before = post.read_bytes()
    wx.server.clear_log()
    res = get(run_cli, wx, archive, LONG + "&chksm=e88b1e2a&scene=21#wechat_redirect")
    assert res.code == 0 and res.json["status"] == "skipped"
    assert wx.server.log == [], "an archived long-form URL must not be fetched again"
    assert post.read_bytes() == before and posts(archive) == [post]


def test_rerun_of_archived_short_url_and_its_long_form(wx, archive, run_cli):
    wx.server.expect_request(SHORT).respond_with_data(PAGE, content_type="text/html")
    assert get(run_cli, wx, archive, URL).code == 0
    wx.server.clear_log()
    for src in (URL, URL + "?scene=1#rd", LONG, LONG.replace("&", "&amp;")):
        res = get(run_cli, wx, archive, src)
        assert res.json["status"] == "skipped", (src, res.json)
    assert wx.server.log == []


def test_force_archives_again(wx, archive, run_cli):
    wx.server.expect_request("/s").respond_with_data(PAGE, content_type="text/html")
    assert get(run_cli, wx, archive, LONG).code == 0
    wx.server.clear_log()
    res = get(run_cli, wx, archive, LONG, extra=["--force"])
    assert res.code == 0 and res.json["status"] == "archived"
    assert len(wx.requests("/s")) == 1
    assert len(posts(archive)) == 1


def test_raw_page_is_kept_compressed(wx, archive, run_cli):
    import zstandard

    wx.server.expect_request(SHORT).respond_with_data(PAGE, content_type="text/html")
    assert get(run_cli, wx, archive, URL).code == 0
    raws = [p for p in (archive / ".wxarchive" / "raw").iterdir() if p.is_file()]
    assert [p.name.endswith(".html.zst") for p in raws] == [True]
    assert zstandard.ZstdDecompressor().decompress(raws[0].read_bytes()) == PAGE


def test_connect_to_from_environment(wx, archive, run_proc):
    wx.server.expect_request(SHORT).respond_with_data(PAGE, content_type="text/html")
    res = run_proc("get", URL, "--out", archive, "--json", "--no-images", "--delay", "0",
                   env={"WXARCHIVE_CONNECT_TO": f"mp.weixin.qq.com={wx.url},mmbiz.qpic.cn={wx.url}"})
    assert res.code == 0, res.err
    assert res.json["status"] == "archived"


# ---- bad input: one line, no traceback -------------------------------------------------------------

USAGE_SOURCES = ["https://example.com/s/abc", "ftp://mp.weixin.qq.com/s/abc", "mp.weixin.qq.com-not-a-url",
                 "MISSING_FILE"]


def _src(source: str, tmp_path: Path) -> str:
    return str(tmp_path / "nope.html") if source == "MISSING_FILE" else source


@pytest.mark.parametrize("source", USAGE_SOURCES)
def test_usage_errors_one_line_no_traceback(archive, run_cli, tmp_path, source):
    res = run_cli("get", _src(source, tmp_path), "--out", archive, "--json")
    assert res.code != 0
    assert res.json["status"] == "failed" and res.json["error"] == "usage"
    assert "Traceback" not in res.err
    err_lines = [ln for ln in res.err.splitlines() if ln.strip()]
    assert len(err_lines) == 1, res.err
    assert posts(archive) == []


@pytest.mark.parametrize("source", USAGE_SOURCES)
def test_usage_errors_exit_2(archive, run_cli, tmp_path, source):
    res = run_cli("get", _src(source, tmp_path), "--out", archive, "--json")
    assert res.code == 2


def test_html_file_that_is_not_wechat(archive, run_cli, tmp_path):
    f = tmp_path / "blog.html"
    f.write_text("<html><head><title>My blog</title></head><body><h1>Hi</h1><p>text</p></body></html>",
                 encoding="utf-8")
    res = run_cli("get", f, "--out", archive, "--json")
    assert res.code in (1, 2)
    assert res.json["status"] == "failed" and res.json["error"] in ("not_article", "usage")
    assert "Traceback" not in res.err
    assert len([ln for ln in res.err.splitlines() if ln.strip()]) == 1, res.err
    assert posts(archive) == []


def test_bad_connect_to_is_usage_error(archive, run_cli):
    res = run_cli("get", URL, "--out", archive, "--connect-to", "mp.weixin.qq.com")
    assert res.code == 2 and "Traceback" not in res.err


def test_no_command_is_usage(run_cli):
    res = run_cli()
    assert res.code == 2


def test_usage_error_in_subprocess_has_no_traceback(archive, run_proc):
    res = run_proc("get", "https://example.com/s/abc", "--out", archive)
    assert res.code != 0
    assert "Traceback" not in res.err
    assert res.err.strip().count("\n") == 0, res.err


def test_get_blocked_by_verification_records_the_back_off(wx, archive, run_cli):
    """A `get` that meets 环境异常 tells the archive, so a cron harvest on it waits too."""
    wx.server.expect_request(SHORT).respond_with_data(fixture_page("error-verify").read_bytes(),
                                                      content_type="text/html")
    assert get(run_cli, wx, archive, URL).code == 3
    status = run_cli("status", "--out", archive, "--json")
    backoff = json.loads(status.out)["backoff"]
    assert backoff and backoff["in_force"] and backoff["until"] > time.time() + 10 * 60
    res = get(run_cli, wx, archive, URL)  # an explicit get still asks, and says why a harvest would not
    assert res.code == 3 and "harvest waits until" in res.err
