"""Images outside the allow-list (wxarchive.net.allowlist): out of the post's body, kept in the record as refused."""
from __future__ import annotations

from wxarchive.models import Article, Image
from wxarchive.net.allowlist import REFUSED, drop_foreign_images

OK = "https://mmbiz.qpic.cn/mmbiz_png/abc/0?wx_fmt=png"
FOREIGN = "https://tracker.example/pixel.gif"
LOOKALIKE = "https://evilmmbiz.qpic.cn/mmbiz_png/abc/0"


def article(body: str, *urls: str) -> Article:
    return Article(url="https://mp.weixin.qq.com/s/x", title="t", body_html=body,
                   images=tuple(Image(url=u, name=f"img{i}", local=f"img{i}.png") for i, u in enumerate(urls)))


def test_a_foreign_image_leaves_the_body_and_is_recorded_refused() -> None:
    a = article(f'<div><p>前<img src="{FOREIGN}">后</p><p><img src="{OK}"></p></div>', FOREIGN, OK)
    out = drop_foreign_images(a)
    assert FOREIGN not in out.body_html and OK in out.body_html
    assert "前后" in out.body_html  # the text around the image stays, in its place
    refused, kept = out.images
    assert refused.url == FOREIGN and refused.error == REFUSED and refused.local is None
    assert kept == a.images[1]


def test_a_host_that_only_ends_like_wechats_is_foreign() -> None:
    out = drop_foreign_images(article(f'<p><img src="{LOOKALIKE}"></p>', LOOKALIKE))
    assert LOOKALIKE not in out.body_html and out.images[0].error == REFUSED


def test_an_article_with_only_allowed_images_is_returned_as_it_was() -> None:
    a = article(f'<p><img src="{OK}"></p>', OK)
    assert drop_foreign_images(a) is a


def test_the_caller_may_allow_another_host() -> None:
    a = article(f'<p><img src="{FOREIGN}"></p>', FOREIGN)
    assert drop_foreign_images(a, hosts=("tracker.example",)) is a


def test_a_body_that_cannot_be_read_is_left_alone() -> None:
    a = article("", FOREIGN)
    out = drop_foreign_images(a)
    assert out.body_html == ""
