"""The Markdown writer's decisions (wxarchive.write.markdown), read as a reader sees them: rendered by CommonMark.

Each case is a small body written for one decision: article text that looks like Markdown stays text,
a "heading" that is really a paragraph is written as one, breaks stay where they were, nesting past
``MAX_DEPTH`` is written flat with every word kept, a link target cannot end early. The rendered HTML
is what is checked, never the Markdown's spelling.
"""
from __future__ import annotations

import re

import pytest
from lxml import html as lxml_html
from markdown_it import MarkdownIt

from wxarchive.extract.htmltree import fragment
from wxarchive.write.markdown import MAX_DEPTH, to_markdown


def md(body: str) -> str:
    return to_markdown(fragment(body))


def rendered(body: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(md(body))


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", lxml_html.fragment_fromstring(html, create_parent="div").text_content()).strip()


MARKUP = re.compile(r"<(em|strong|h\d|ol|ul|li|blockquote|table|code|pre|a|del|hr)\b")


@pytest.mark.parametrize("text", [
    "*不是强调*，只是星号",
    "变量名 snake_case_name 与 _前后_ 下划线",
    "# 不是标题",
    "1. 不是列表",
    "2024) 年份后的括号",
    "> 不是引用",
    "- 不是列表",
    "+ 也不是列表",
    "= 等号开头",
    "[不是链接](https://example.com/)",
    "<b>尖括号里的字</b>",
    "&amp; 与 &#169; 照原样",
    "a | b | c 不是表格",
    "`不是代码`",
    "反斜杠 \\ 与 \\* 照原样",
    "~~不是删除线~~",
    "***",
    "---",
])
def test_text_that_looks_like_markdown_reads_as_the_author_wrote_it(text: str) -> None:
    body = "<p>" + text.replace("&", "&amp;").replace("<", "&lt;") + "</p>"
    out = rendered(body)
    assert text_of(out) == text, md(body)
    assert not MARKUP.search(out), out


def test_four_leading_spaces_make_no_code_block() -> None:
    out = rendered("<p>\u00a0\u00a0\u00a0\u00a0    缩进开头的一段话</p>")
    assert "<pre" not in out and text_of(out) == "缩进开头的一段话"


def test_a_short_heading_stays_a_heading() -> None:
    out = rendered("<h2>第一部分：背景</h2><p>正文。</p>")
    assert "<h2>第一部分：背景</h2>" in out


def test_a_title_of_one_sentence_ending_in_a_full_stop_is_still_a_heading() -> None:
    assert "<h3>" in rendered("<h3>Step 1. 准备好需要的材料和工具</h3>")
    assert "<h3>" in rendered("<h3>这是一个以句号结尾的小标题。</h3>")


@pytest.mark.parametrize("heading", [
    "这一段本来是正文但被作者用标题样式写了出来所以字数明显多于一个标题应有的长度还在继续写下去",
    "今天天气很好，我们一家人一起去了城东的公园散步。回来以后又一起动手做了一顿丰盛的晚饭。",
])
def test_a_heading_that_is_really_a_paragraph_is_written_as_one(heading: str) -> None:
    out = rendered(f"<h2>{heading}</h2>")
    assert "<h2>" not in out and "<p>" in out
    assert text_of(out) == heading


def test_a_break_stays_a_break_and_two_start_a_new_paragraph() -> None:
    one = rendered("<p>第一行<br>第二行</p>")
    assert one.count("<p>") == 1 and "<br" in one and text_of(one) == "第一行 第二行"
    two = rendered("<p>第一段<br><br>第二段</p>")
    assert two.count("<p>") == 2 and "<br" not in two


@pytest.mark.parametrize("line", ["===", "---", "- 项", "1. 项", "> 引"])
def test_a_line_after_a_break_is_not_read_as_markup(line: str) -> None:
    """After a ``<br>`` a line starts again: ``===`` would turn the line above into a heading, ``- `` into a list."""
    out = rendered(f"<p>第一行<br>{line.replace('>', '&gt;')}</p>")
    assert not MARKUP.search(out) and "<br" in out, out
    assert text_of(out) == f"第一行 {line}"


def test_a_break_at_the_end_of_a_paragraph_leaves_nothing_behind() -> None:
    out = rendered("<p>一句话<br></p><p>下一段</p>")
    assert "<br" not in out and "\\" not in text_of(out)
    assert text_of(out) == "一句话 下一段"


def test_bold_next_to_cjk_punctuation_still_renders_bold() -> None:
    """``**【天气】**今天`` is not emphasis by CommonMark's flanking rules: the writer must not spell it so."""
    out = rendered("<p><strong>【天气】</strong>今天晴。</p>")
    assert "<strong>【天气】</strong>今天晴。" in out


@pytest.mark.parametrize("tag", ["ul", "blockquote"])
def test_nesting_past_max_depth_is_written_flat_and_keeps_every_word(tag: str) -> None:
    depth = MAX_DEPTH + 6
    words = [f"第{i}层" for i in range(depth)]
    if tag == "ul":
        body = "".join(f"<ul><li>{w}" for w in words) + "</li></ul>" * depth
    else:
        body = "".join(f"<blockquote><p>{w}</p>" for w in words) + "</blockquote>" * depth
    out = rendered(body)
    assert text_of(out).split() == words
    assert out.count(f"<{tag}>") <= MAX_DEPTH


@pytest.mark.parametrize("href", [
    "https://example.com/a_(b)",
    "https://example.com/a)b",
    "https://example.com/path with space",
    "https://example.com/q?x=<y>&z='1'",
])
def test_a_link_target_cannot_end_early(href: str) -> None:
    out = rendered(f'<p>看<a href="{href.replace("&", "&amp;")}">这里</a>的说明。</p>')
    links = lxml_html.fragment_fromstring(out, create_parent="div").findall(".//a")
    assert len(links) == 1 and links[0].text_content() == "这里"
    assert links[0].get("href").startswith("https://example.com/")
    assert text_of(out) == "看这里的说明。"


def test_a_bracket_in_a_link_label_stays_in_the_label() -> None:
    out = rendered('<p><a href="https://example.com/">[置顶] 第一篇]</a></p>')
    links = lxml_html.fragment_fromstring(out, create_parent="div").findall(".//a")
    assert [a.text_content() for a in links] == ["[置顶] 第一篇]"]


def test_the_same_tree_gives_the_same_text() -> None:
    body = "<h2>标题</h2><p>一段<strong>加粗</strong>的话<br>换行</p><ul><li>一</li><li>二</li></ul>"
    assert md(body) == md(body) and md(body).endswith("\n") and md("") == ""
