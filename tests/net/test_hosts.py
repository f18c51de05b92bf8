"""Every host check matches a whole DNS label: ``evilmmbiz.qpic.cn`` is not ``mmbiz.qpic.cn``."""
from __future__ import annotations

import pytest

from wxarchive.net.fetch import Fetcher
from wxarchive.urls import IMAGE_HOSTS


@pytest.mark.parametrize("url,ok", [
    ("https://mmbiz.qpic.cn/mmbiz_png/x/0", True),
    ("https://a.mmbiz.qpic.cn/mmbiz_png/x/0", True),
    ("https://evilmmbiz.qpic.cn/mmbiz_png/x/0", False),  # the suffix without its dot
    ("https://mmbiz.qpic.cn.evil.example/x/0", False),
    ("https://xmp.weixin.qq.com/s/abc", False),
    ("https://mp.weixin.qq.com/s/abc", True),
    ("ftp://mmbiz.qpic.cn/x/0", False),
])
def test_allowed_hosts_match_whole_labels(url: str, ok: bool) -> None:
    with Fetcher(delay=(0, 0)) as f:
        hosts = (*IMAGE_HOSTS, "mp.weixin.qq.com")
        assert f._allowed(url, hosts) is ok
