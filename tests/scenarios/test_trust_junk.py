"""A 200 page that is not WeChat's is never a verdict (issue 25, wrong post 8).

A proxy, filter, captive portal or CDN answering an article's URL with its own page says "503 Service
Temporarily Unavailable", "Access blocked", "Policy violation"...: words that, read as WeChat's, made
`check` record the article gone and archiving give it up for good. The page is classified as WeChat's
own (its message box, its hosts) before its error text is read; anything else is a transient failure.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from wxarchive.errors import FetchError, Unavailable, WxError
from wxarchive.models import Page
from wxarchive.extract.parse import parse

URL = "https://mp.weixin.qq.com/s/JunkTestAAAAAAAAAAAAAA"


def _page(title: str, body: str) -> bytes:
    return f"<!DOCTYPE html><html><head><title>{title}</title></head><body>{body}</body></html>".encode()


JUNK = {
    "nginx 503": _page("503 Service Temporarily Unavailable",
                       "<center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center>"),
    "access blocked": _page("Access blocked", "<h1>Access blocked</h1><p>Your organisation's policy blocks this site.</p>"),
    "policy violation": _page("Policy violation", "<h2>Policy violation</h2><p>The URL was blocked by the proxy.</p>"),
    "cloudflare": _page("Attention Required! | Cloudflare", "<h1>Sorry, you have been blocked</h1>"),
    "cms deleted": _page("Page has been deleted", "<p>The page you requested has been deleted.</p>"),
    "captive portal": _page("Session expired", "<p>Your Wi-Fi session expired. Log in again.</p>"),
    "maintenance": _page("Migrating", "<p>We are migrating to a new server.</p>"),
    "gateway": _page("Invalid parameter", "<p>invalid parameter: token</p>"),
    "isp": _page("Cannot be viewed", "<p>This content cannot be viewed in your region.</p>"),
}


@pytest.mark.parametrize("name", sorted(JUNK))
def test_a_junk_page_is_no_verdict(name: str) -> None:
    page = Page(url=URL, final_url=URL, status=200, content=JUNK[name], fetched_at=dt.datetime.now(dt.UTC))
    with pytest.raises(WxError) as got:
        parse(page)
    assert not isinstance(got.value, Unavailable), got.value.message
    assert isinstance(got.value, FetchError) and not got.value.permanent


def test_wechats_own_error_pages_still_are(tmp_path: Path) -> None:
    """The same words on WeChat's own page (its message box) are a verdict, as before."""
    from conftest import FIXTURES

    for case in ("error-unavailable", "error-deleted-en", "error-account-closed"):
        page = Page(url=URL, final_url=URL, status=200, content=(FIXTURES / case / "page.html").read_bytes(),
                    fetched_at=dt.datetime.now(dt.UTC))
        with pytest.raises(Unavailable):
            parse(page)


@pytest.mark.parametrize("name", ["policy violation", "access blocked", "cms deleted"])
def test_get_through_a_junk_proxy_never_gives_up_for_good(run_cli, tmp_path: Path, httpserver: HTTPServer,
                                                          name: str) -> None:
    httpserver.expect_request("/s/JunkTestAAAAAAAAAAAAAA").respond_with_data(JUNK[name],
                                                                             content_type="text/html")
    out = tmp_path / "a"
    r = run_cli("get", URL, "--out", out, "--no-images", "--connect-to", f"mp.weixin.qq.com={httpserver.url_for('/')}")
    assert r.code == 1, r.err
    with sqlite3.connect(out / ".wxarchive" / "state.sqlite3") as c:
        status, permanent = c.execute("SELECT status, permanent FROM articles").fetchone()
    assert not permanent and status != "gave_up", status
