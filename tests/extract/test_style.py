"""Structure written in CSS (issue 22): the computed inline style, and what readers see of it.

The helper (``wxarchive.extract.style``) is checked alone; then the two fixtures written for it
(``structure-2024-mdnice-headings``, ``structure-2026-css-emphasis``) are archived and their
posts rendered by CommonMark (markdown-it) and kramdown, and read as a reader would: which
text is bold, which lines are headings, which numbers stand before a line. Last, Liquid-like
article text: ``render_with_liquid: false`` and a clean body.
"""
from __future__ import annotations

import json
import subprocess

import lxml.html
import pytest
from lxml import etree

from conftest import FIXTURES
from test_reader_view import _KRAMDOWN, KRAMDOWN, commonmark, jekyll_view
from wxarchive.extract.clean import clean_fragment
from wxarchive.extract.htmltree import fragment
from wxarchive.write.markdown import to_markdown
from wxarchive.models import Article, Image
from wxarchive.write.render import render, split_post
from wxarchive.settings import Settings
from wxarchive.extract.style import EMPHASIS_TAGS, Computed, compute, declarations, font_size, font_weight

# ---------------------------------------------------------------- the helper


def test_declarations_last_wins_but_important_stays() -> None:
    d = declarations("font-weight: bold; color: red; FONT-WEIGHT: normal;paddingLeft: 20px")
    assert d["font-weight"] == "normal"
    d = declarations("color: #000 !important; color: red; font-size:15px")
    assert d["color"] == "#000" and d["font-size"] == "15px"


@pytest.mark.parametrize(("value", "parent", "want"), [
    ("bold", 400, 700), ("600", 400, 600), ("normal", 700, 400), ("initial", 700, 400),
    ("bolder", 400, 700), ("bolder", 700, 900), ("lighter", 700, 400), ("inherit", 700, 700),
    ("var(--w)", 400, 400), (None, 700, 700), ("1200", 400, 400),
])
def test_font_weight(value: str | None, parent: int, want: int) -> None:
    assert font_weight(value, parent) == want


@pytest.mark.parametrize(("value", "parent", "want"), [
    ("22px", 16.0, 22.0), ("15pt", 16.0, 20.0), ("1.5em", 16.0, 24.0), ("150%", 14.0, 21.0),
    ("2rem", 10.0, 32.0), ("x-large", 16.0, 24.0), ("calc(1em + 2px)", 17.0, 17.0), (None, 15.0, 15.0),
    ("1em", None, None), ("-3px", 15.0, 15.0),
])
def test_font_size(value: str | None, parent: float | None, want: float | None) -> None:
    assert font_size(value, parent) == want


def test_the_nearest_setting_wins_and_fonts_are_inherited() -> None:
    root = fragment('<div style="font-size: 15px"><strong><span style="font-weight: normal">普通</span>'
                    '<em>粗</em></strong><section style="font-weight: 600; font-size: 1.5em"><p>标题</p></section>'
                    '<h2><span>小标题</span></h2></div>')
    fonts = compute(root)
    by_text = {el.text: fonts[el] for el in root.iter() if isinstance(el.tag, str) and el.text}
    assert not by_text["普通"].bold
    assert by_text["粗"].bold
    assert by_text["标题"] == Computed(600, 22.5)
    assert by_text["小标题"].bold and by_text["小标题"].size == 22.5  # h2: bold, 1.5em of 15px
    emphasis = compute(root, tags=EMPHASIS_TAGS)  # only the tags that mean emphasis
    assert not {el.text: emphasis[el] for el in root.iter() if isinstance(el.tag, str)}["小标题"].bold


@pytest.mark.parametrize(("style", "want"), [
    ("font-weight: bold; font-weight: normal", Computed(400, 15.0)),
    ("font-weight: bold !important; font-weight: normal", Computed(700, 15.0)),
    ("font: bold 20px/1.5 serif", Computed(700, 20.0)),
    ("font-weight: bold; font: 14px serif", Computed(400, 14.0)),  # the shorthand resets the weight
    ("font: 14px serif; font-weight: 600", Computed(600, 14.0)),
    ("font: inherit", Computed(400, 15.0)),
    ("font-size: 2em", Computed(400, 30.0)),
    ("font-family: bold, 20px", Computed(400, 15.0)),
])
def test_inline_declarations_in_order(style: str, want: Computed) -> None:
    root = fragment(f'<div style="font-size: 15px"><span style="{style}">字</span></div>')
    span = root.find(".//span")
    assert compute(root)[span] == want


# ---------------------------------------------------------------- what the cleaner and writer make of it


def md_of(html: str) -> str:
    return to_markdown(fragment(clean_fragment(html).html))


def test_strong_around_normal_spans_is_not_bold() -> None:
    md = md_of('<p><strong><span style="font-weight: normal">读者留言：写得很实在。</span></strong></p>'
               '<p><b>重<span style="font-weight:400">轻</span></b></p>')
    assert md == "读者留言：写得很实在。\n\n**重**轻\n"


def test_css_bold_and_big_lines_stay_bold() -> None:
    body = "<p>正文说的是今年的调整，讲了背景、原因和几个大家关心的问题，也讲了以后怎么办。</p>" * 2
    md = md_of('<section style="font-size: 15px">' + body +
               '<p><span style="font-weight: 700">一、迫切性</span></p>'
               '<p><span style="font-size: 22px">大号的标题</span></p>'
               '<p><span style="font-size: 22px">大号但很长的一段话，有好几句。第二句在这里。第三句也在。</span></p></section>')
    assert "**一、迫切性**" in md and "**大号的标题**" in md
    assert "**大号但很长" not in md


@pytest.mark.parametrize("renderer", ["commonmark", "kramdown"])
def test_bold_set_span_by_span_is_one_run(renderer: str) -> None:
    """Editors set bold word by word; the spaces between are bold too: one run, not four."""
    md = md_of('<p><span style="font-weight:bold">(Windows)一个</span> <strong><code>WM_KEYDOWN</code></strong> '
               '<b>消息</b> <b>|</b> 正文</p>')
    assert md == "**(Windows)一个 `WM_KEYDOWN` 消息 \\|** 正文\n"
    if renderer == "kramdown" and not KRAMDOWN:
        pytest.skip("Ruby with kramdown is not installed")
    html = commonmark(md) if renderer == "commonmark" else _kramdown(md)
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    assert _texts(root, "//strong") == ["(Windows)一个 WM_KEYDOWN 消息 |"]


def test_heading_keeps_its_text_whatever_wraps_it() -> None:
    md = md_of('<h2 style="display:block"><span style="display:none"></span>'
               '<span style="font-weight:bold;display:block">尝试定位</span><span style="display:none"></span></h2>'
               '<h3><span>浏览器</span><span><br></span></h3><h4><span style="display:block"><code>f()</code></span></h4>')
    assert md == "## 尝试定位\n\n### 浏览器\n\n#### `f()`\n"


def test_heading_keeps_its_break_and_icon() -> None:
    md = md_of('<h2>第一部分<br><span>标题</span><br></h2>'
               '<h3><img src="https://mmbiz.qpic.cn/mmbiz_png/Fq3xKd9mVb2LtR7cWn4JpHs8/640"> 图标之后</h3>')
    assert md == "## 第一部分<br>标题\n\n### ![](https://mmbiz.qpic.cn/mmbiz_png/Fq3xKd9mVb2LtR7cWn4JpHs8/640) 图标之后\n"


def test_paragraph_long_heading_is_body_text() -> None:
    md = md_of("<h1>● 塞拉利昂最大反对党塞拉利昂人民党总统候选人朱利叶斯·马达·比奥在大选宣布获胜后不久，"
               "在首都弗里敦宣誓就任总统。</h1><h1>短标题</h1>")
    assert md.startswith("● 塞拉利昂") and "# 短标题" in md


# ---------------------------------------------------------------- the fixtures as readers see them


def _post(case: str) -> str:
    text = (FIXTURES / case / "expected.md").read_text(encoding="utf-8")
    return jekyll_view(split_post(text[text.index("---\n"):])[1])


def _kramdown(md: str) -> str:
    return json.loads(subprocess.run(["ruby", "-e", _KRAMDOWN], input=json.dumps([md]), capture_output=True,
                                     text=True, check=True).stdout)[0]


def _renderers() -> list[str]:
    return ["commonmark", "kramdown"] if KRAMDOWN else ["commonmark"]


def _rendered(case: str, renderer: str) -> etree._Element:
    md = _post(case)
    return lxml.html.fragment_fromstring((commonmark if renderer == "commonmark" else _kramdown)(md),
                                         create_parent="div")


def _texts(root: etree._Element, xpath: str) -> list[str]:
    return ["".join(e.itertext()).strip() for e in root.xpath(xpath)]


@pytest.mark.parametrize("renderer", _renderers())
def test_mdnice_headings_read_as_headings(renderer: str) -> None:
    root = _rendered("structure-2024-mdnice-headings", renderer)
    assert _texts(root, "//h1") == ["前言"]
    assert _texts(root, "//h2") == ["状态从哪里来", "最后"]  # the last one after an icon
    assert root.xpath("//h2[last()]/img"), "the heading's icon stays in it"
    assert _texts(root, "//h3") == ["按下回车之后", "第三部分常见的坑"]
    assert root.xpath("//h3[2]/br"), "a heading of two lines keeps its line break"
    assert _texts(root, "//h4") == ["static getDerivedStateFromProps()"]
    paras = _texts(root, "//p")
    assert any(p.startswith("● 本市今年新建") for p in paras)  # a news item in <h1>: body text
    assert any(p.startswith("● 城东的快速路") for p in paras)


@pytest.mark.parametrize("renderer", _renderers())
def test_css_emphasis_reads_as_the_page_shows_it(renderer: str) -> None:
    root = _rendered("structure-2026-css-emphasis", renderer)
    bold = _texts(root, "//strong")
    assert "一、提高农民养老金的迫切性" in bold
    assert "基础养老金多年只涨了几十元" in bold
    assert "网络热梗，互联网时代的“方言”" in bold  # 22 px in a 15 px body
    assert "重点" in bold and "先说重点" not in bold and "结论" in bold
    assert "记忆负担" in bold
    assert not any("读者留言" in b for b in bold)  # <strong> around font-weight: normal
    assert not any(b.startswith("这是正文") for b in bold)


@pytest.mark.parametrize("renderer", _renderers())
def test_list_numbers_read_as_the_page_shows_them(renderer: str) -> None:
    root = _rendered("structure-2026-css-emphasis", renderer)
    assert not root.xpath("//ol"), "a list whose first number a renderer may drop"
    lines = _texts(root, "//p")
    assert "1.记忆负担：时间久了，记忆文件会变得臃肿。" in lines  # typed numbers, shown once
    assert "3. 第三步：在浏览器中打开网页，点击分享按钮。" in lines  # <ol start=3>: 3, not 1
    assert "4. 第四步：找到保存图标，点一下即可。" in lines


# ---------------------------------------------------------------- Liquid-like text


def _article(**kw: object) -> Article:
    import datetime as dt

    from wxarchive.extract.parse import SHANGHAI
    base: dict[str, object] = dict(
        url="https://mp.weixin.qq.com/s/Tok", title="模板", account="号", author="作者",
        published=dt.datetime(2024, 1, 2, 7, 5, tzinfo=SHANGHAI), biz="MzIyNjg5MDQwNg==", mid="1", idx="1",
        body_html="<p>写 {{ page.title }} 和 {% include x.html %}</p><pre><code>{{ name }}</code></pre>")
    base.update(kw)
    return Article(**base)  # type: ignore[arg-type]


def test_liquid_text_turns_liquid_off_and_keeps_the_body_clean() -> None:
    fm, body = split_post(render(_article()))
    assert fm["render_with_liquid"] is False
    assert "{% raw %}" not in body
    assert "写 {{ page.title }} 和 {% include x.html %}" in body and "{{ name }}" in body


def test_no_liquid_text_no_front_matter_key() -> None:
    fm, _ = split_post(render(_article(body_html="<p>普通的正文</p>")))
    assert "render_with_liquid" not in fm


def test_a_post_whose_images_need_liquid_keeps_the_guards() -> None:
    """Saved images behind ``{{ site.baseurl }}`` need Liquid: the article's own ``{{`` is guarded then."""
    img = Image(url="https://mmbiz.qpic.cn/a/b/640", name="b", local="b.png")
    a = _article(body_html='<p>写 {{ page.title }}</p><p><img src="https://mmbiz.qpic.cn/a/b/640"></p>',
                 images=(img,))
    fm, body = split_post(render(a, Settings()))
    assert "render_with_liquid" not in fm
    assert "{% raw %}{{{% endraw %} page.title }}" in body and "{{ site.baseurl }}/postimg/b.png" in body
    fm, body = split_post(render(a, Settings(image_prefix="/postimg/")))  # a prefix without Liquid
    assert fm["render_with_liquid"] is False and "{% raw %}" not in body


def test_liquid_off_setting_writes_no_key() -> None:
    fm, body = split_post(render(_article(), Settings(liquid=False)))
    assert "render_with_liquid" not in fm and "{% raw %}" not in body

