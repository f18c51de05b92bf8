"""A cookie file that cannot be sent is a usage error at start (issue 25, data loss 7): a non-ASCII value
made every page request fail before it was sent, and each failure counted against an article."""
from __future__ import annotations

from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from conftest import fixture_page


@pytest.mark.parametrize("name,value", [("wap_sid2", "值"), ("名", "x"), ("a", "b\x01c"), ("a", "b;c")])
def test_an_unsendable_cookie_is_exit_2_and_nothing_is_counted(run_cli, tmp_path: Path, httpserver: HTTPServer,
                                                               name: str, value: str) -> None:
    httpserver.expect_request("/s/CookieTestAAAAAAAAAAAAA").respond_with_data(
        fixture_page("article-2024-modern").read_bytes(), content_type="text/html; charset=utf-8")
    jar = tmp_path / "cookies.txt"
    jar.write_text(f"# Netscape HTTP Cookie File\n.mp.weixin.qq.com\tTRUE\t/\tTRUE\t0\t{name}\t{value}\n",
                   encoding="utf-8")
    out = tmp_path / "a"
    r = run_cli("get", "https://mp.weixin.qq.com/s/CookieTestAAAAAAAAAAAAA", "--out", out, "--cookies", jar,
                "--connect-to", f"mp.weixin.qq.com={httpserver.url_for('/')}", "--no-images")
    assert r.code == 2 and "cookie" in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert not (out / ".wxarchive" / "state.sqlite3").exists() and httpserver.log == []


def test_a_sendable_cookie_is_sent(run_cli, tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/s/CookieTestAAAAAAAAAAAAA").respond_with_data(
        fixture_page("article-2024-modern").read_bytes(), content_type="text/html; charset=utf-8")
    jar = tmp_path / "cookies.txt"
    jar.write_text(".mp.weixin.qq.com\tTRUE\t/\tFALSE\t0\twap_sid2\tCg==abc-_.~\"x\"\n", encoding="utf-8")
    r = run_cli("get", "https://mp.weixin.qq.com/s/CookieTestAAAAAAAAAAAAA", "--out", tmp_path / "a", "--cookies",
                jar, "--connect-to", f"mp.weixin.qq.com={httpserver.url_for('/')}", "--no-images")
    assert r.code == 0, r.err
    assert "wap_sid2=Cg==abc-_.~\"x\"" in httpserver.log[0][0].headers.get("Cookie", "")
