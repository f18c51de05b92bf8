"""The footer decision (wxarchive.extract.boilerplate): what goes at the head and tail of a body, and what stays.

Precision first: a block goes only on evidence (a clear footer block, two of them, a QR image below a
follow prompt); a phrase inside the author's own sentence is not enough. Each test builds a small body
of its own words; the reasons asserted are the ones ``--json`` shows as ``removed``.
"""
from __future__ import annotations

import pytest

from wxarchive.extract import boilerplate
from wxarchive.extract.clean import clean_fragment

QR = '<p><img data-src="https://mmbiz.qpic.cn/mmbiz_jpg/QrCodeAaBbCcDdEeFfGgHhIiJj/640?wx_fmt=jpeg"></p>'


def _body(*paragraphs: str, lead: int = 8) -> str:
    """A body of ``lead`` plain paragraphs, then the given blocks (HTML, or text put in a <p>)."""
    text = "".join(f"<p>正文第{i}段，讲社区食堂每天中午的热饭，十二块钱两荤一素，老人们都说好。</p>" for i in range(lead))
    return "<div>" + text + "".join(p if p.startswith("<") else f"<p>{p}</p>" for p in paragraphs) + "</div>"


def _reasons(body: str, **kw: str) -> list[str]:
    return [why for why, _ in clean_fragment(body, **kw).stripped if why != boilerplate.EMPTY]


# ---- the author's closing words stay ---------------------------------------------------------------

CLOSING_LIKE = ("最后想说，这一年写下来，收到了很多读者的来信，有人说看了文章以后去社区食堂做了志愿者，"
                "有人把文章转给了父母。你们的每一个点赞和留言我都认真看过，它们让我相信这些平凡的故事值得被记下来，"
                "明年我还会继续走访更多的社区。")


def test_a_long_closing_paragraph_that_mentions_likes_stays() -> None:
    """An 81-160 character closing paragraph with 点赞 in it is the author's text (a mutant of issue 21)."""
    assert 80 < len(CLOSING_LIKE) <= 160
    c = clean_fragment(_body(CLOSING_LIKE))
    assert "每一个点赞和留言" in c.html
    assert c.stripped == ()


def test_a_long_closing_paragraph_with_one_plea_stays_above_a_footer() -> None:
    """Above a real footer block it stays too: one phrase in a long paragraph is not evidence."""
    c = clean_fragment(_body(CLOSING_LIKE, "长按识别二维码关注", QR))
    assert "每一个点赞和留言" in c.html
    assert "长按识别二维码" not in c.html


ONE_PLEA_WORD = "上一篇讲连接池的文章，评论区点赞最多的问题就是“为什么不直接调大超时”，这篇算是一个完整的回答。"


def test_a_closing_sentence_with_one_plea_word_stays_above_a_footer() -> None:
    """41-80 characters, one plea word (点赞) in the author's sentence, right above a real footer: the
    sentence stays and the footer goes."""
    assert 40 <= len(ONE_PLEA_WORD) <= 80
    links = [f'<p><a href="https://mp.weixin.qq.com/s/Abc{i}">往期文章标题第{i}篇</a></p>' for i in range(3)]
    c = clean_fragment(_body(ONE_PLEA_WORD, "往期推荐", *links))
    assert "评论区点赞最多" in c.html and "往期推荐" not in c.html
    c = clean_fragment(_body(ONE_PLEA_WORD, "长按识别二维码关注", QR))
    assert "评论区点赞最多" in c.html and "二维码" not in c.html


def test_a_sentence_with_one_plea_word_between_footer_blocks_goes() -> None:
    """The same kind of sentence between two footer blocks is the footer's own (a promo's pitch)."""
    pitch = "回复“问卷”，领取我们整理的社区调研资料。这些问卷用了两年，改过很多次，希望对你的调研有一点用。"
    assert 40 <= len(pitch) <= 80
    c = clean_fragment(_body("长按识别二维码关注", QR, pitch, "欢迎分享到朋友圈~"))
    assert "社区调研资料" not in c.html and "朋友圈" not in c.html


def test_a_scan_caption_naming_the_account_goes_with_its_code_and_motto() -> None:
    """"扫一扫，和山城慢行一起慢慢走" under a picture: the account's name with a scan word is the caption of
    its code; the motto below goes with it. Without the account's name the words are kept."""
    last = "下次去重庆，记得替我多吃一碗小面。"
    c = clean_fragment(_body(last, QR, "扫一扫，和山城慢行一起慢慢走", "一座城 · 慢慢看"), account="山城慢行")
    assert last in c.html
    assert "扫一扫" not in c.html and "一座城" not in c.html and "<img" not in c.html
    c = clean_fragment(_body(last, QR, "扫一扫，和我们一起慢慢走", "一座城 · 慢慢看"), account="山城慢行")
    assert "扫一扫" in c.html and "<img" in c.html


def test_a_thank_you_inside_the_authors_last_sentence_stays() -> None:
    c = clean_fragment(_body("感谢大家的关注，我会继续努力，把更多社区里的故事写出来。"))
    assert "我会继续努力" in c.html and c.stripped == ()


def test_a_bare_thank_you_plea_goes() -> None:
    assert _reasons(_body("感谢阅读！")) == ["thank-you plea"]


def test_a_thank_you_sentence_backed_by_a_follow_prompt_and_qr_goes() -> None:
    c = clean_fragment(_body("感谢大家的关注，我会继续努力写下去。", "长按识别二维码关注", QR))
    assert "继续努力" not in c.html and "二维码" not in c.html and "<img" not in c.html


def test_a_signed_statement_keeps_its_signature_above_the_follow_prompt() -> None:
    """A role, a name and a date under the last paragraph sign the author's text: never an account slogan."""
    c = clean_fragment(_body("以上意见，请予采纳。", "受托代理人", "周明远律师", "二〇二三年三月二日", "关注我们：", QR))
    for kept in ("受托代理人", "周明远律师", "二〇二三年三月二日"):
        assert kept in c.html
    assert "关注我们" not in c.html and "<img" not in c.html
    assert _reasons(_body("受托代理人", "周明远律师", "关注我们：", QR)) == ["follow prompt", boilerplate.FOOTER_IMAGE]


def test_a_date_line_ends_the_tail_walk() -> None:
    c = clean_fragment(_body("长按识别二维码关注", "2023年3月2日", "编辑：林夏", lead=8))
    assert "2023年3月2日" in c.html and "长按识别二维码" in c.html and "编辑" not in c.html


def test_slogan_lines_go_beside_a_real_qr_prompt() -> None:
    c = clean_fragment(_body("正文最后一句，明年还会再开两家。", QR, "简单 好玩 有温度", "长按二维码关注"))
    assert "简单 好玩 有温度" not in c.html
    assert boilerplate.SLOGAN in _reasons(_body(QR, "简单 好玩 有温度", "长按二维码关注"))


# ---- footers of accounts never seen go ------------------------------------------------------------

def test_a_follow_prompt_after_an_emoji_goes_with_its_qr() -> None:
    assert _reasons(_body("🙋\u200d♀️ 关注我们", QR)) == ["follow prompt", boilerplate.FOOTER_IMAGE]


def test_a_follow_prompt_naming_the_account_goes() -> None:
    body = _body("源码获取方式：请关注社区观察公众号，在后台回复 0314", "<hr>", "感谢关注/点赞/分享",
                 "Small steps, every day!")
    c = clean_fragment(body, account="社区观察")
    assert "后台回复" not in c.html and "感谢关注" not in c.html and "Small steps" not in c.html
    assert "正文第7段" in c.html
    assert boilerplate.ACCOUNT_PROMPT in _reasons(body, account="社区观察")


def test_a_closing_motto_stays_below_a_mere_phrase() -> None:
    """Short unmatched lines at the very end go only below a clear footer block."""
    c = clean_fragment(_body("感谢大家的关注，我们下个月再见。", "社区的故事", "未完待续"))
    assert "未完待续" in c.html and "下个月再见" in c.html


def test_links_to_other_articles_go_above_a_promo() -> None:
    links = "".join(f'<p><a href="https://mp.weixin.qq.com/s/Abc{i}">另一篇文章的标题{i}</a></p>' for i in range(2))
    promo = ("最后推荐一下我的知识星球，里面有《从零开始学数据分析》等课程内容，还沉淀了大量答疑和学习路线，欢迎加入学习。"
             "另外如果你想系统地学，也欢迎添加我的好友，报名下一期的训练营，名额有限，先到先得，报满即止。")
    assert 80 < len(promo) <= 160
    c = clean_fragment(_body(links, "<hr>", promo, QR, "👇添加微信好友报名学习👇", QR))
    assert "另一篇文章的标题" not in c.html and "知识星球" not in c.html and "添加微信好友" not in c.html
    assert "正文第7段" in c.html
    assert boilerplate.ARTICLE_LINK in _reasons(_body(links, "<hr>", promo, QR, "👇添加微信好友报名学习👇", QR))


def test_a_single_article_link_at_the_end_stays() -> None:
    """One link to another article, nothing else: the author may point to a follow-up."""
    c = clean_fragment(_body('<p><a href="https://mp.weixin.qq.com/s/Abc">上一篇：食堂开张的那一天</a></p>'))
    assert "食堂开张的那一天" in c.html


def test_an_editor_credit_under_the_lead_paragraph_goes() -> None:
    body = ("<div><p>本期看点：社区食堂的账本、志愿者排班表，以及一次意外的停电。</p><p>编辑：林夏、老周</p>"
            + "".join(f"<p>条目{i}：社区食堂的一件小事，写得足够长，是正文。</p>" for i in range(40)) + "</div>")
    c = clean_fragment(body)
    assert "编辑：林夏" not in c.html and "本期看点" in c.html
    assert _reasons(body) == ["editor credit at the head"]


def test_a_motto_under_the_head_follow_prompt_goes_but_a_byline_stays() -> None:
    body = "<div><p>点击上方蓝字关注社区观察</p><p>记录身边 | 看见平凡</p>" + _body()[5:]
    c = clean_fragment(body)
    assert "记录身边" not in c.html and boilerplate.HEAD_SLOGAN in _reasons(body)
    byline = "<div><p>点击上方蓝字关注社区观察</p><p>文 | 周野</p>" + _body()[5:]
    assert "文 | 周野" in clean_fragment(byline).html


def test_a_more_articles_pointer_a_contact_mail_and_a_reward_plea_go() -> None:
    body = _body("戳这里，还有更多好文等你解锁", "商务联系 hello@example.org", "喜欢就打赏一下吧")
    c = clean_fragment(body)
    assert "戳这里" not in c.html and "hello@example.org" not in c.html and "打赏" not in c.html
    assert _reasons(body) == ["more-articles pointer", "contact mail", "share/like prompt"]


def test_a_star_prompt_at_the_head_goes() -> None:
    body = "<div><p>👆加星标，每天读一点社区的故事</p>" + _body()[5:]
    assert _reasons(body) == ["star prompt at the head"]


def test_a_reply_keyword_prompt_at_the_head_goes() -> None:
    body = "<div><p>点击上方蓝字关注社区观察</p><p>回复「食堂」，获取全部走访记录</p>" + _body()[5:]
    assert _reasons(body) == ["follow prompt at the head", "reply-keyword prompt at the head"]


def test_the_account_named_in_the_authors_closing_sentence_stays() -> None:
    body = _body("这是社区观察公众号的第一百篇文章，写到这里，想起了第一篇里的那位老人。")
    assert "第一百篇文章" in clean_fragment(body, account="社区观察").html


def test_a_subtitle_under_the_head_follow_prompt_stays() -> None:
    body = "<div><p>点击上方蓝字关注社区观察</p><p>一家社区食堂的第一年</p>" + _body()[5:]
    assert "一家社区食堂的第一年" in clean_fragment(body).html


def test_the_authors_sign_off_below_a_plea_stays() -> None:
    """A name under the last plea signs the author's text: the plea may go, the name stays."""
    for name in ("阿树", "—— 周野"):
        c = clean_fragment(_body("觉得有用的话，点个在看吧", name))
        assert name in c.html


def test_a_last_sentence_that_merely_holds_the_letters_of_a_plea_stays() -> None:
    """在看 inside 现在看来, 点…赞 across 有点不赞同, 进群 inside 走进群山, 要拿下 in the author's resolve:
    none of them is a plea."""
    for last in ("我现在看来，那一年的决定是对的", "我有点不赞同这种说法", "第二天我们走进群山深处",
                 "这个项目我们今年一定要拿下", "我们从档案馆获取资料，花了整整一周"):
        c = clean_fragment(_body(last))
        assert last in c.html, last


def test_plea_forms_still_go() -> None:
    for plea in ("记得点个“在看”哦", "欢迎分享、点赞、在看", "别忘了点在看", "喜欢就点个赞吧"):
        assert _reasons(_body(plea)) == ["share/like prompt"], plea


def test_a_recommended_reading_section_of_the_authors_prose_stays() -> None:
    review = ("《{}》：作者用了十年时间走访各地的社区食堂，记下了掌勺师傅、志愿者和老人们的故事，"
              "文字朴素，却让人读完很久都忘不了，推荐给每一个关心身边人的读者。")
    body = _body("推荐阅读", *(review.format(name) for name in ("一碗热饭", "街角的灯", "午后")), lead=3)
    c = clean_fragment(body)
    assert "推荐阅读" in c.html and "街角的灯" in c.html and c.stripped == ()


def test_a_recommended_articles_list_goes() -> None:
    links = [f'<p><a href="https://mp.weixin.qq.com/s/Abc{i}">往期文章标题第{i}篇</a></p>' for i in range(3)]
    c = clean_fragment(_body("往期推荐", *links))
    assert "往期推荐" not in c.html and "往期文章标题" not in c.html
    assert {why for why, _ in c.stripped} == {boilerplate.SECTION}


def test_an_account_card_of_contact_lines_goes() -> None:
    c = clean_fragment(_body("扫码关注我们", QR, "微信号 : shequ2024", "新浪微博：@社区观察"))
    assert "shequ2024" not in c.html and "新浪微博" not in c.html and "<img" not in c.html


def test_a_thank_you_sentence_above_the_authors_closing_photo_stays() -> None:
    c = clean_fragment(_body("感谢大家的关注，我会继续把社区里的故事写下去。", QR))
    assert "继续把社区里的故事写下去" in c.html and "<img" in c.html.split("继续把社区")[1]


def test_bylines_and_sources_above_a_qr_footer_stay() -> None:
    """A source, a byline or a signature right above 长按识别二维码关注 is the author's, not the account's slogan."""
    for line in ("来源：社区观察员手记", "作者：修伊", "文/张三", "（本文作者为社区志愿者）", "周明远律师"):
        c = clean_fragment(_body(line, "长按识别二维码关注", QR))
        assert line in c.html and "长按识别二维码" not in c.html, line


def test_a_one_phrase_slogan_goes_between_footer_blocks() -> None:
    c = clean_fragment(_body("微信号：shequ2024", "社区的温度", "长按识别二维码关注", QR))
    assert "社区的温度" not in c.html
    assert boilerplate.SLOGAN in _reasons(_body("微信号：shequ2024", "社区的温度", "长按识别二维码关注", QR))


def test_a_byline_above_the_account_masthead_stays() -> None:
    body = "<div><p>作者：修伊</p><p>公众号：社区观察（ID：shequ2024）</p>" + _body()[5:]
    c = clean_fragment(body)
    assert "作者：修伊" in c.html and "shequ2024" not in c.html


def test_a_statement_with_a_plea_word_as_the_last_line_stays() -> None:
    """"这条视频在抖音上有两万个点赞。" ends the article alone: a statement the phrase covers little of is
    no evidence of a footer; the plea forms (a phrase that is most of the line) still go."""
    last = "这条视频在抖音上有两万个点赞。"
    c = clean_fragment(_body(last))
    assert last in c.html and c.stripped == ()
    assert _reasons(_body("喜欢就点个赞吧。")) == ["share/like prompt"]


def test_a_head_prompt_naming_the_account_goes() -> None:
    """"👆点击上方“社区观察”，设为星标" at the head: the account's name with 星标 is its follow prompt;
    a lead line that names the account without one stays."""
    c = clean_fragment("<p>👆点击上方“社区观察”，设为星标</p>" + _body(), account="社区观察")
    assert "设为星标" not in c.html
    lead = "<p>社区观察去年写过这家食堂，今年我们又去了一次。</p>"
    c = clean_fragment(lead + _body(), account="社区观察")
    assert "今年我们又去了一次" in c.html


def test_an_english_copyright_line_goes() -> None:
    c = clean_fragment(_body("Copyright © 2024 社区观察. All rights reserved."))
    assert "Copyright" not in c.html


@pytest.mark.parametrize("marker", ["—— 往期回顾 ——", "▼往期精彩回顾▼", "往期 · 推荐"])
def test_a_recommended_section_marker_in_its_editors_dress_goes_with_its_list(marker: str) -> None:
    links = [f'<p><a href="https://mp.weixin.qq.com/s/Abc{i}">社区里的故事之{i}</a></p>' for i in range(3)]
    c = clean_fragment(_body(marker, *links))
    assert "往期" not in c.html and "社区里的故事" not in c.html
    assert {why for why, _ in c.stripped} == {boilerplate.SECTION}


@pytest.mark.parametrize("end", ["- THE END -", "— 完 —", "END"])
def test_end_ornaments_in_any_dress_go(end: str) -> None:
    assert _reasons(_body(end)) == ["END ornament"]
