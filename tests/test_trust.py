"""The trust boundary's own checks (wxarchive/trust.py): URL schemes, the HTML sanitizer, terminal text."""
from __future__ import annotations

import pytest

from wxarchive.trust import safe_url, sanitize_html


@pytest.mark.parametrize("url", ["https://mp.weixin.qq.com/s/x", "http://e.com/a?b=1&amp;c=2", "/postimg/a.png",
                                 "{{ site.baseurl }}/postimg/a.png", "a.html", "#top", "//e.com/x", "?q=1"])
def test_safe_url_accepts_web_and_site_paths(url: str) -> None:
    assert safe_url(url)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JaVaScRiPt:x", " javascript:x", "java\tscript:x",
                                 "jav&#x09;ascript:x", "javascript&colon;x", "&#106;avascript:x",
                                 "java&NewLine;script:x", "\x01javascript:x", "data:text/html,x", "vbscript:x",
                                 "DATA:image/svg+xml,x", "weixin://x", "file:///etc/passwd"])
def test_safe_url_refuses_every_other_scheme(url: str) -> None:
    assert not safe_url(url)


def test_sanitizer_keeps_a_table_and_drops_what_could_run() -> None:
    out = sanitize_html('<table><tr><td colspan="2" onclick="x"><x<script>alert(1)</script>a'
                        '<a href="javascript:x">j</a><img src="/p.png" onerror="x"><iframe src="https://e"></iframe>'
                        '</td></tr></table>')
    assert "<script" not in out and "onclick" not in out and "onerror" not in out and "javascript" not in out
    assert "<iframe" not in out
    assert '<td colspan="2">' in out and '<img src="/p.png">' in out
