"""Every fixture's cleaned text survives Markdown rendering (CommonMark via markdown-it-py),
and everything the cleaner stripped is named by a rule, the learned footer or the list marker."""
from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from pathlib import Path

import lxml.html
import pytest
from markdown_it import MarkdownIt

from wxarchive.extract import boilerplate
from wxarchive.extract import players
from wxarchive.extract.clean import clean
from wxarchive.errors import WxError
from wxarchive.models import Page
from wxarchive.extract.parse import parse
from wxarchive.write.render import render_body
from conftest import REPO

FIXTURES = sorted(p for p in (REPO / "fixtures").glob("*/page.html"))
KNOWN_REASONS = ({why for _, why in boilerplate.TAIL_RULES} | {why for _, why in boilerplate.HEAD_RULES}
                 | {why for _, why in boilerplate.STRONG_TAIL_RULES} | {why for _, why in boilerplate.UI_RULES}
                 | boilerplate.EXTRA_REASONS | {boilerplate.LEARNED, boilerplate.SECTION, boilerplate.FOOTER_IMAGE, boilerplate.EMPTY}
                 | players.REASONS)


def _alnum(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if ch.isalnum())


# What each fixture is: the kind of post it gives, or the error code it must raise. A fixture that starts
# failing (or an error page that starts giving a post) fails here instead of being skipped.
EXPECTED = {
    "article-2017-legacy": "article", "article-2020-mdnice": "article", "article-2024-modern": "article",
    "audio-2018-mpvoice": "article", "cards-2021-miniprogram": "article", "hostile-2023-liquid": "article",
    "picture-2025": "picture", "reprint-2019-sharecard": "reprint", "reprint-2025-banner": "reprint",
    "text-2024-untitled": "text", "text-2025-titled": "text", "video-2018": "video",
    "audio-2019-browsersave-frame": "article", "video-2023-postjs-player": "article",
    "structure-2018-scroll-box": "article", "video-2019-wxv-page": "video", "text-2025-links": "text",
    "error-account-closed": "error:account_closed", "error-deleted-en": "error:deleted",
    "error-deleted-zh": "error:deleted", "error-expired": "error:expired", "error-migrated": "error:migrated",
    "error-removed-violation": "error:removed", "error-unavailable": "error:unavailable",
    "error-verify": "error:verify",
    "footer-2019-signed-statement": "article", "footer-2020-text-closing": "text",
    "footer-2023-motto-and-reply": "article", "footer-2025-credit-and-promo": "article",
    "footer-2022-135editor-titles": "article", "footer-2023-xiumi-scan-slogan": "article",
    "footer-2024-mdnice-reward-card": "article", "footer-2025-editor-cards-star": "article",
    **{name: "article" for name in (
        "structure-2016-verse-br", "structure-2018-h1-paragraphs", "structure-2020-code-fence",
        "structure-2021-qr-tail", "structure-2022-bold-cjk", "structure-2023-pipes-numbers",
        "structure-2024-nbsp-indent", "structure-2025-display-block", "structure-2026-footer-images",
        "structure-2024-mdnice-headings", "structure-2026-css-emphasis", "structure-2019-xiumi-footer-upload")},
}
ARTICLES = [p for p in FIXTURES if not EXPECTED.get(p.parent.name, "").startswith("error:")]


def _outcome(page: Path):
    data = page.read_bytes()
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    try:
        article = clean(parse(Page(url=page.as_uri(), final_url=page.as_uri(), status=200, content=data,
                                   fetched_at=now)))
    except WxError as e:
        return f"error:{e.code}", None
    return article.kind, article


def _article(page: Path):
    got, article = _outcome(page)
    assert got == EXPECTED[page.parent.name]
    return article


def test_every_fixture_has_an_expected_outcome() -> None:
    assert sorted(EXPECTED) == sorted(p.parent.name for p in FIXTURES)


@pytest.mark.parametrize("page", FIXTURES, ids=[p.parent.name for p in FIXTURES])
def test_fixture_gives_its_expected_outcome(page: Path) -> None:
    assert _outcome(page)[0] == EXPECTED[page.parent.name]


@pytest.mark.parametrize("page", ARTICLES, ids=[p.parent.name for p in ARTICLES])
def test_cleaned_text_survives_markdown(page: Path) -> None:
    article = _article(page)
    kept = _alnum(lxml.html.fragment_fromstring(article.body_html or "<div></div>", create_parent="div").text_content())
    md = render_body(article, liquid=False)
    shown = _alnum(lxml.html.fragment_fromstring(MarkdownIt("commonmark").enable("table").render(md) or "<p></p>",
                                                 create_parent="div").text_content())
    assert kept, "fixture has no text"
    matcher = difflib.SequenceMatcher(None, kept, shown, autojunk=False)
    survived = sum(b.size for b in matcher.get_matching_blocks()) / len(kept)
    assert survived >= 0.995, f"only {survived:.2%} of the cleaned text reaches the reader"


@pytest.mark.parametrize("page", ARTICLES, ids=[p.parent.name for p in ARTICLES])
def test_every_stripped_block_has_a_known_reason(page: Path) -> None:
    article = _article(page)
    for reason, text in article.stripped:
        assert reason in KNOWN_REASONS, f"{text!r} stripped for an unknown reason {reason!r}"


def test_a_mid_article_follow_sentence_stays() -> None:
    body = ("<div><p>第一段。</p><p>欢迎关注我们的后续报道，我们会持续跟进这起事件的进展。</p>"
            + "".join(f"<p>正文段落{i}，内容足够长，不是页脚。</p>" for i in range(8)) + "<p>长按识别二维码关注</p></div>")
    from wxarchive.extract.clean import clean_fragment

    c = clean_fragment(body)
    assert "欢迎关注我们的后续报道" in c.html
    assert "长按识别二维码" not in c.html
    assert [r for r, _ in c.stripped] == ["QR-code follow prompt"]


def test_a_trailing_read_more_prompt_goes() -> None:
    """A body ending with WeChat's 阅读原文 link text: the prompt goes, named by its rule; the text stays."""
    from wxarchive.extract.clean import clean_fragment

    body = ("<div><p>正文第一段，内容足够长，不是页脚。</p><p>正文第二段，同样是正文。</p>"
            "<p><a href=\"https://example.org/x\">阅读原文</a></p></div>")
    c = clean_fragment(body)
    assert "正文第二段" in c.html
    assert "阅读原文" not in c.html
    assert c.stripped == (("read-more prompt", "阅读原文"),)


def test_a_mid_article_read_more_mention_stays() -> None:
    from wxarchive.extract.clean import clean_fragment

    body = "<div><p>正文。</p><p>阅读原文</p><p>之后还有正文，足够长的一段文字。</p></div>"
    assert "阅读原文" in clean_fragment(body).html


def test_keep_footers_keeps_everything() -> None:
    from wxarchive.extract.clean import clean_fragment

    body = "<div><p>正文。</p><p>往期推荐</p><p>另一篇文章的标题</p></div>"
    assert "往期推荐" in clean_fragment(body, keep_footers=True).html
    assert "往期推荐" not in clean_fragment(body).html


def test_learned_footer_is_stripped_only_at_the_tail() -> None:
    from wxarchive.extract.clean import clean_fragment

    learned = frozenset({"本号专注本地新闻，每日更新。"})
    body = "<div><p>本号专注本地新闻，每日更新。</p><p>正文内容，足够长的一段文字。</p><p>本号专注本地新闻，每日更新。</p></div>"
    c = clean_fragment(body, learned=learned)
    assert c.html.count("本号专注") == 1 and re.search(r"本号专注.*正文内容", c.html)
    assert c.stripped == ((boilerplate.LEARNED, "本号专注本地新闻，每日更新。"),)
