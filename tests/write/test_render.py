"""Front matter through YAML, Liquid escaping, Markdown body details."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wxarchive.extract.clean import clean_fragment
from wxarchive.models import Article, Image
from wxarchive.extract.parse import SHANGHAI
from wxarchive.write.render import render, render_body, split_post
from wxarchive.settings import Settings
from wxarchive.archive.site import slugify

def cleaned_html(fragment: str) -> str:
    res = clean_fragment(fragment)
    return res.html if hasattr(res, "html") else res[0]


PUBLISHED = dt.datetime(2024, 1, 2, 7, 5, tzinfo=SHANGHAI)


def article(**kw) -> Article:
    base = dict(url="https://mp.weixin.qq.com/s/Tok", title="标题", account="某公众号", author="某作者",
                published=PUBLISHED, biz="MzIyNjg5MDQwNg==", mid="2247491356", idx="1",
                canonical_url="https://mp.weixin.qq.com/s?__biz=MzIyNjg5MDQwNg==&mid=2247491356&idx=1&sn=ab",
                body_html="<p>正文</p>", copyright_stat=1)
    base.update(kw)
    return Article(**base)


def fm_of(text: str) -> dict:
    m = re.match(r"---\n(.*?\n)---\n", text, re.S)
    assert m, text[:200]
    return yaml.safe_load(m.group(1))


HOSTILE = [
    "a: b", "key: value: more", '"quoted"', "'single'", "yes", "no", "on", "null", "~", "true", "123", "0x1F", "1e3",
    "#not a comment", "- list?", "---", "...", "[1, 2]", "{a: 1}", "&anchor *ref", "!tag value", "%YAML", "@at", "`tick`",
    "emoji 🚀🎉", "多行\n标题", "trailing space ", " leading", "tab\tinside", "\u200f\u202eRTL mark", "back\\slash",
    "| pipe", "> folded", "100% sure", "{{ site.title }}", "{% raw %}", "C:\\path", "\u2028line sep",
]


@pytest.mark.parametrize("title", HOSTILE)
def test_front_matter_round_trips(title):
    a = article(title=title, author=title, account=title, digest=title)
    text = render(a)
    fm = fm_of(text)
    assert fm["title"] == title
    assert fm["account"] == title
    assert fm["digest"] == title
    # the file name is always safe
    slug = slugify(title)
    assert slug and "/" not in slug and "\\" not in slug and "\n" not in slug and not slug.startswith("-")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=1, max_size=60))
def test_front_matter_round_trips_any_text(title):
    a = article(title=title, author=title, account=title)
    text = render(a)
    fm, body = split_post(text)
    # YAML cannot carry some characters (lone surrogates, most C0 controls); the rest must round-trip
    if all(c.isprintable() or c in "\n\t" for c in title):
        assert fm["title"] == title


def test_front_matter_keys_and_types():
    a = article(read_more_url="https://example.com/x", digest="摘要", cover="https://mmbiz.qpic.cn/c/0")
    fm = fm_of(render(a, Settings(header_img="img/the-first.png", catalog=False)))
    for key in ("layout", "title", "date", "author", "account", "source_url", "header-img", "catalog", "tags",
                "digest", "cover", "read_more_url", "original", "biz", "mid", "idx"):
        assert key in fm, key
    assert fm["date"] == "2024-01-02 07:05:00 +0800"
    assert fm["original"] is True and fm["catalog"] is False
    assert fm["mid"] == "2247491356" and isinstance(fm["mid"], str)
    assert isinstance(fm["tags"], list)


def test_site_defaults_apply():
    fm = fm_of(render(article(), Settings(layout="page", author="转载", tags=("反诈", "转载"), catalog=True,
                                          header_img="img/x.png")))
    assert (fm["layout"], fm["author"], fm["tags"], fm["catalog"], fm["header-img"]) == \
        ("page", "转载", ["反诈", "转载"], True, "img/x.png")
    assert fm["article_author"] == "某作者"


def test_attribution_block_and_switch():
    text = render(article(account="南宁市反诈骗"))
    assert "> 转载：南宁市反诈骗" in text and "来源：微信公众号" in text
    assert "转载：" not in render(article(), Settings(attribution=False))


def test_liquid_in_text_is_escaped():
    a = article(body_html="<p>写 {{ page.title }} 或 {% include x.html %} 都会被替换</p>")
    body = render_body(a)
    # strip Jekyll's raw wrappers: what the reader sees is the original text
    seen = body.replace("{% raw %}", "").replace("{% endraw %}", "")
    assert "{{ page.title }}" in seen and "{% include x.html %}" in seen
    outside = re.sub(r"\{% raw %\}.*?\{% endraw %\}", "", body)
    assert "{{" not in outside and "{%" not in outside


def test_liquid_in_code_block_is_escaped():
    html_ = "<pre><code>{% for p in site.posts %}\n  {{ p.title }}\n{% endfor %}</code></pre>"
    body = render_body(article(body_html=html_))
    outside = re.sub(r"\{% raw %\}.*?\{% endraw %\}", "", body)
    assert "{{" not in outside and "{%" not in outside
    assert body.replace("{% raw %}", "").replace("{% endraw %}", "").count("\n") >= 4


def test_liquid_escaping_can_be_turned_off():
    body = render_body(article(body_html="<p>{{ x }}</p>"), liquid=False)
    assert body.strip() == "{{ x }}"


def test_local_images_use_prefix():
    url = "https://mmbiz.qpic.cn/mmbiz_png/AbCdEfGhIjKlMnOpQrSt/640?wx_fmt=png"
    a = article(body_html=f'<p><img src="{url}"/></p>', images=(Image(url=url, name="AbCdEfGhIjKlMnOpQrSt",
                                                                      local="AbCdEfGhIjKlMnOpQrSt.png"),))
    assert "![]({{ site.baseurl }}/postimg/AbCdEfGhIjKlMnOpQrSt.png)" in render(a)
    assert "![](/assets/AbCdEfGhIjKlMnOpQrSt.png)" in render(a, Settings(image_prefix="/assets/"))


def test_failed_image_keeps_remote_url():
    url = "https://mmbiz.qpic.cn/mmbiz_png/AbCdEfGhIjKlMnOpQrSt/640?wx_fmt=png"
    a = article(body_html=f'<p><img src="{url}"/></p>', images=(Image(url=url, name="x", error="HTTP 404"),))
    text = render(a)
    assert f"![]({url})" in text and "postimg" not in text


def test_no_markdown_debris():
    html_ = ('<p><strong></strong><strong> </strong>文字<b><br></b></p><p><strong>粗</strong><strong>体</strong></p>'
             '<h2><strong>小标题</strong></h2><p>#话题 不是标题</p><p>#</p>')
    body = render_body(article(body_html=cleaned_html(html_)))
    assert "****" not in body
    assert not re.search(r"(?m)^#[^#\s]", body), body
    assert not re.search(r"(?m)^#+\s*$", body), body
    assert "## 小标题" in body


def test_double_underscores_in_text_stay_literal():
    """`__exit__` in prose must not turn into bold 'exit' under Markdown."""
    body = render_body(article(body_html="<p>__exit__ 返回 True 会吞掉异常</p>"))
    from markdown_it import MarkdownIt

    html_out = MarkdownIt("commonmark").render(body)
    assert "__exit__" in html_out and "<strong>" not in html_out


def test_code_block_keeps_newlines_and_indentation():
    html_ = ('<pre><code>def f():<br>&nbsp;&nbsp;&nbsp;&nbsp;return 1<br><br>print(f())</code></pre>')
    body = render_body(article(body_html=cleaned_html(html_)))
    assert "```\ndef f():\n    return 1\n\nprint(f())\n```" in body


def test_render_is_deterministic():
    a = article(archived_at=dt.datetime(2025, 1, 1, 12, 0, tzinfo=SHANGHAI))
    assert render(a) == render(dataclasses.replace(a))
