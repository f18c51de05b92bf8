"""Cards that are not text (mini-programs, products, polls, music, paid previews) are never dropped silently."""
from __future__ import annotations

import datetime as dt

from wxarchive.extract.clean import clean, clean_fragment
from wxarchive.models import Page
from wxarchive.extract.parse import parse
from wxarchive.write.render import front_matter
from wxarchive.settings import Settings


def test_music_card_becomes_a_line() -> None:
    c = clean_fragment('<div><p>听歌：</p><mp-common-qqmusic music_name="晴天" singer="周杰伦" mid="x"></mp-common-qqmusic>'
                       "<p>正文继续。</p></div>")
    assert "〔音乐：晴天 — 周杰伦〕" in c.html


def test_poll_and_product_cards_become_lines() -> None:
    c = clean_fragment('<div><p>正文。</p><mpvote data-title="你最喜欢哪一季"></mpvote>'
                       '<mpcps data-product_name="折叠靠枕"></mpcps><p>结尾正文足够长的一句话。</p></div>')
    assert "〔投票：你最喜欢哪一季〕" in c.html and "〔商品卡片：折叠靠枕〕" in c.html


PAID = """<html><head><meta charset="utf-8"></head><body><div id="js_article"><h1 id="activity-name">付费文章</h1>
<div id="js_content"><p>试读部分的文字。</p><div class="mp-pay-preview-filter"></div></div></div>
<script>var msg_title = "付费文章"; var nickname = "付费号"; var ct = "1700000000"; var biz = "MzA5NjQ0MjY2Mw==";
var mid = "2650000888"; var idx = "1"; var isPaySubscribe = '1' * 1;</script></body></html>"""


def test_paid_preview_is_flagged() -> None:
    page = Page(url="file:///paid.html", final_url="file:///paid.html", status=200, content=PAID.encode(),
                fetched_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    a = clean(parse(page))
    assert a.paid_preview and front_matter(a, Settings())["paid_preview"] is True
    assert "试读部分的文字" in a.body_html
