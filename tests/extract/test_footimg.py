"""Pictures go with the footer they belong to (issue 22), and only those.

Each case is a small body written for the rule it tests: the pictures a reader would see as the
account's footer (QR code, follow banner, promo poster, cards to other articles) go with a reason;
the author's pictures stay, in the middle and at the end, however they look.
"""
from __future__ import annotations

import re

import pytest
from lxml import etree

from wxarchive.extract import footimg
from wxarchive.extract.clean import clean_fragment
from conftest import TESTS

PARAS = "".join(f"<p>第{i}段正文：社区食堂每天中午开门，老人们在这里吃一顿热饭，十二块钱两荤一素，周末也不休息。</p>"
                for i in range(1, 7))


def img(name: str, ratio: float | None = None, gif: bool = False, href: str = "") -> str:
    fmt = "gif" if gif else "jpeg"
    url = f"https://mmbiz.qpic.cn/mmbiz_{fmt}/{name}Vb1sCkQn8bZtXh0YgEoiaicAn/640?wx_fmt={fmt}"
    attrs = f'data-src="{url}" data-type="{fmt}"' + (f' data-ratio="{ratio}" data-w="1080"' if ratio else "")
    tag = f"<img {attrs}>"
    return f'<p><a href="{href}">{tag}</a></p>' if href else f"<p>{tag}</p>"


def kept(html: str) -> list[str]:
    return re.findall(r"mmbiz_\w+/([A-Za-z]+?)Vb1sCk", html)


def run(body: str, **kw) -> tuple[list[str], list[str]]:
    c = clean_fragment(body, **kw)
    return kept(c.html), [why for why, text in c.stripped if text.startswith("[image]")]


def test_images_below_a_footer_block_go() -> None:
    body = PARAS + img("photo", 0.66) + "<p>欢迎分享到朋友圈~</p>" + img("followgif", 0.5, gif=True) + img("qr", 1.12) + img("poster", 0.36)
    pics, why = run(body)
    assert pics == ["photo"]
    assert why.count(footimg.BELOW) == 3


def test_a_closing_picture_after_the_credits_stays() -> None:
    body = PARAS + "<p>撰稿：黄某</p><p>审核：刘某</p>" + img("schoollogo", 1.68, gif=True)
    pics, _ = run(body)
    assert pics == ["schoollogo"]


def test_a_divider_opens_the_footer_above_its_first_block() -> None:
    body = (PARAS + img("lastphoto", 0.7) + "<p>2021年7月19日</p>" + img("divider", 0.057) + img("banner", 0.4)
            + "<p>公众号：社区观察（ID：shequ）</p>")
    pics, why = run(body)
    assert pics == ["lastphoto"]
    assert why.count(footimg.BESIDE) == 2


def test_a_pointer_gif_goes_with_the_prompt_it_points_at() -> None:
    body = PARAS + img("poster", 0.72) + img("arrow", 0.87, gif=True) + "<p>点击【阅读原文】，马上报名吧！</p>"
    pics, why = run(body)
    assert pics == ["poster"]
    assert why == [footimg.BESIDE]


def test_the_picture_above_a_qr_prompt_is_the_code() -> None:
    body = PARAS + img("lastphoto", 0.66) + img("qrcode", 1.0) + "<p>长按识别二维码关注我们</p>"
    pics, why = run(body)
    assert pics == ["lastphoto"]
    assert why == [footimg.BESIDE]
    middle = img("podcastqr", 1.0) + "<p>长按识别二维码查看原文</p>"  # the author's: text follows
    assert run(PARAS + middle + PARAS)[0] == ["podcastqr"]


def test_a_gif_of_the_author_before_a_like_plea_stays() -> None:
    body = PARAS + img("kitten", 0.8, gif=True) + "<p>点个在看再走吧</p>"
    pics, _ = run(body)
    assert pics == ["kitten"]


def test_an_avatar_in_the_footer_box_goes_and_comic_panels_in_a_box_stay() -> None:
    card = ("<section><section>" + img("avatar", 1.05) + "</section><section><p>社区观察</p><p>微信：shequ</p>"
            "</section></section>")
    pics, why = run(PARAS + "<section>" + img("panel", 0.66) + "</section>" + card, account="社区观察")
    assert pics == ["panel"]
    assert why == [footimg.BOXED]
    promo = "<section>" + img("panelA", 0.5625) + img("panelB", 0.5625) + "<p>靠枕所剩不多，要拿下</p></section>"
    pics, _ = run(PARAS + promo, account="社区观察")
    assert pics == ["panelA", "panelB"]


def test_an_avatar_beside_a_kept_card_name_goes_with_the_card() -> None:
    """A card's name line that is not the account's name is kept (it could be a signature), but the
    avatar beyond it in the card's own box is the card's: it went only when the name went too."""
    card = ("<section><section>" + img("avatar", 1.05) + "</section><section><p>老张说社区</p><p>微信：shequ</p>"
            "</section></section>")
    c = clean_fragment(PARAS + "<section>" + img("panel", 0.66) + "</section>" + card, account="社区观察")
    assert kept(c.html) == ["panel"]
    assert "老张说社区" in c.html
    assert [why for why, text in c.stripped if text.startswith("[image]")] == [footimg.BOXED]
    # the author's words in the box beside the name: the photo is the author's
    story = ("<section><section>" + img("portrait", 1.05) + "<p>这是我在社区食堂门口拍的。</p></section>"
             "<section><p>老张说社区</p><p>微信：shequ</p></section></section>")
    assert run(PARAS + story, account="社区观察")[0] == ["portrait"]
    # a sentence above the ID line is the author's, not a card's name
    said = ("<section><section>" + img("portrait", 1.05) + "</section><section><p>有事可以找我聊聊。</p>"
            "<p>微信：shequ</p></section></section>")
    assert run(PARAS + said, account="社区观察")[0] == ["portrait"]


def test_linked_cards_after_the_article_go_with_their_frame() -> None:
    art = "https://mp.weixin.qq.com/s?__biz=MzI2NDk5NzA0Mw==&mid=1&idx=1&sn=abc"
    body = (PARAS + "<p>参考资料：《城市老人餐调查》，某某日报</p>" + img("endphoto", 0.66) + img("strip", 0.067)
            + img("cardA", 0.23, href=art) + img("cardB", 0.23, href=art) + img("morearrow", 0.42, gif=True))
    pics, why = run(body)
    assert pics == ["endphoto"]
    assert why == [footimg.CARDS] * 4


def test_a_closing_banner_goes_and_a_closing_photo_stays() -> None:
    pics, why = run(PARAS + img("endphoto", 0.66) + img("followbanner", 0.23, gif=True))
    assert pics == ["endphoto"]
    assert why == [footimg.CLOSING]
    pics, _ = run(PARAS + img("endphoto", 0.66))
    assert pics == ["endphoto"]


def test_a_linked_promo_before_the_first_words_goes() -> None:
    body = img("coursead", 0.56, href="https://course.example.com/s/6YT") + img("headphoto", 0.56) + PARAS
    pics, why = run(body)
    assert pics == ["headphoto"]
    assert why == [footimg.HEAD_PROMO]


def test_pictures_in_the_middle_are_never_touched() -> None:
    art = "https://mp.weixin.qq.com/s?__biz=MzI2NDk5NzA0Mw==&mid=1&idx=1&sn=abc"
    middle = img("divider", 0.03) + img("meme", 0.9, gif=True) + img("related", 0.4, href=art) + img("qr", 1.0)
    body = PARAS + middle + "<p>欢迎分享到朋友圈~</p>" + PARAS + "<p>点个在看</p>"
    pics, _ = run(body)
    assert pics == ["divider", "meme", "related", "qr"]


def test_a_picture_posts_pictures_are_the_post() -> None:
    body = PARAS + "<p>“透视图”是新推出的数据图文栏目，本栏目每周更新</p>" + img("chartA", 1.3) + img("chartB", 1.3)
    assert run(body)[0] == []  # what an article would do with them
    assert run(body, gallery=True)[0] == ["chartA", "chartB"]


def test_a_masthead_divider_goes_and_its_banner_stays() -> None:
    head = ('<p><img data-src="https://mmbiz.qpic.cn/mmbiz_jpg/bannerVb1sCkQn8bZtXh0YgEoiaicAn/640" data-ratio="0.54">'
            '<img data-src="https://mmbiz.qpic.cn/mmbiz_jpg/dividerVb1sCkQn8bZtXh0YgEoiaicAn/640" data-ratio="0.057">'
            "锐眼观天下</p><p>公众号：社区观察（ID：shequ）</p>")
    pics, why = run(head + PARAS)
    assert pics == ["banner"]
    assert why == [footimg.BESIDE]


def test_keep_footers_keeps_every_picture() -> None:
    body = PARAS + "<p>欢迎分享到朋友圈~</p>" + img("qr", 1.0)
    assert run(body, keep_footers=True)[0] == ["qr"]


@pytest.mark.parametrize(("attrs", "want"), [
    ('data-ratio="0.05" data-type="png"', footimg.Shape(0.05, False)),
    ('style="width: 578px;height: 39px;"', footimg.Shape(39 / 578, False)),
    ('data-type="gif" style="max-width: 100%;"', footimg.Shape(None, True)),
    ('data-ratio="abc"', footimg.Shape(None, False)),
])
def test_shape_from_attributes(attrs: str, want: footimg.Shape) -> None:
    el = etree.fromstring(f"<img {attrs}/>")
    assert footimg.shape_of(el, "https://mmbiz.qpic.cn/mmbiz_png/x/640") == want


def test_shape_gif_from_url() -> None:
    el = etree.fromstring("<img/>")
    assert footimg.shape_of(el, "https://mmbiz.qpic.cn/mmbiz_gif/x/640?wx_fmt=gif").gif
    assert footimg.Shape(0.1, False).thin and not footimg.Shape(0.5, False).thin
    assert footimg.Shape(0.3, True).banner_gif and not footimg.Shape(0.9, True).banner_gif


def test_a_picture_ending_several_posts_of_an_account_is_learned(tmp_path, run_cli) -> None:
    """The account's poster closes each post with no footer text around it: no rule can tell it from
    a last photo, but after three posts it is the account's footer, and a rebuild strips it from all."""
    import sys
    sys.path.insert(0, str(TESTS / "fuzz"))
    import wxpages

    poster = img("accountposter", 0.6)
    out = tmp_path / "site"
    for n in range(4):
        last = img("ownphoto", 0.66) if n == 0 else ""
        body = PARAS + f"<p>第{n}篇的最后一段，说说后来的变化。</p>" + last + poster
        page = tmp_path / f"page{n}.html"
        page.write_bytes(wxpages.page(f"第{n}篇", mid=2650002000 + n, ct=1600000000 + 86400 * n, account="城市研究",
                                      body=body))
        assert run_cli("get", page, "--out", out, "--no-images").code == 0
    assert run_cli("rebuild", "--out", out).code == 0
    posts = [p.read_text(encoding="utf-8") for p in sorted((out / "_posts").glob("*.md"))]
    assert len(posts) == 4
    assert not any("accountposter" in text for text in posts), "the learned footer picture is stripped"
    assert sum("ownphoto" in text for text in posts) == 1, "the author's own last photo stays"


def uploaded(upload: str, name: str, ratio: float, gif: bool = False) -> str:
    """A picture whose media id starts with its upload's shared characters, as WeChat's ids do
    (the account's 10, then the upload's, then the picture's own)."""
    fmt = "gif" if gif else "jpeg"
    mid = f"Qx7Lm2Vd9K{upload:<22.22}{name}Zt8"
    return (f'<p><img data-src="https://mmbiz.qpic.cn/mmbiz_{fmt}/{mid}/640?wx_fmt={fmt}" data-type="{fmt}" '
            f'data-ratio="{ratio}" data-w="640"></p>')


def uploads_kept(html: str) -> list[str]:
    return re.findall(r"mmbiz_\w+/Qx7Lm2Vd9K\w{22}([a-z]+)Zt8", html)


def test_a_banner_uploaded_with_the_footers_gif_goes_with_it() -> None:
    """The account's banner and its pointer GIF were uploaded together once and come back under each
    post; the post's panels come from the post's own upload. The GIF goes with the read-more prompt,
    and the banner beside it, shaped like a panel, goes because it came from the GIF's upload."""
    panels = "".join(uploaded("PanelsOfThisPostUpload", f"panel{c}", 0.5625) for c in "abc")
    tail = (uploaded("AccountFooterAssetsUpl", "banner", 0.5984) + "<p><br></p>"
            + uploaded("AccountFooterAssetsUpl", "pointer", 0.975, gif=True) + "<p>点“阅读原文”，更多精彩漫画</p>")
    c = clean_fragment(panels + PARAS + tail)
    assert uploads_kept(c.html) == ["panela", "panelb", "panelc"]
    assert [why for why, text in c.stripped if text.startswith("[image]")] == [footimg.SAME_UPLOAD, footimg.BESIDE]
    # the author's last panel came in the footer's upload, and so did another panel the post keeps: it says nothing
    mixed = panels + uploaded("AccountFooterAssetsUpl", "early", 0.5625) + PARAS
    c = clean_fragment(mixed + uploaded("AccountFooterAssetsUpl", "lastpanel", 0.5625) + tail[tail.index("<p><br>"):])
    assert uploads_kept(c.html) == ["panela", "panelb", "panelc", "early", "lastpanel"]
    # a post whose only photo shares the footer's upload: nothing to compare with, the photo stays
    c = clean_fragment(PARAS + tail)
    assert uploads_kept(c.html) == ["banner"]
    # a last photo from another upload beside the GIF stays
    c = clean_fragment(panels + PARAS + uploaded("SomeOlderUploadOfPhoto", "street", 0.5984) + tail[tail.index("<p><br>"):])
    assert uploads_kept(c.html) == ["panela", "panelb", "panelc", "street"]


def test_upload_of_reads_the_shared_leading_characters() -> None:
    a = "https://mmbiz.qpic.cn/mmbiz_jpg/FXFEabcdeX1EjhAwF5x9DibEFiauScEI3mEwictuT5U3yYhs/640?wx_fmt=jpeg"
    b = "https://mmbiz.qpic.cn/mmbiz_gif/FXFEabcdeX1EjhAwF5x9DibEFiauScEI3mwo39icRsf0fPnm/640?wx_fmt=gif"
    other = "https://mmbiz.qpic.cn/mmbiz_jpg/FXFEabcdeX1Vx2urwKshCmmTXpKibcsJTeUhg1eUabcdefg/640"
    assert footimg.upload_of(a) == footimg.upload_of(b) != footimg.upload_of(other)
    assert footimg.upload_of("https://mmbiz.qpic.cn/mmbiz_jpg/shortid1234567890/640") == ""
    assert footimg.upload_of("https://example.com/a.jpg") == ""
