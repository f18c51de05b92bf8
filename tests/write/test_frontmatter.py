"""The one front-matter reader (``write/frontmatter.py``): the inverse of render's writer, safe on anyone's post."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from wxarchive.models import SHANGHAI, Article, Choices
from wxarchive.settings import Settings
from wxarchive.write.frontmatter import MAX_FRONT_MATTER, FrontMatterError, fenced, read_front_matter
from wxarchive.write.original import Fate, SourceStatus
from wxarchive.write.render import front_matter, render

ART = Article(url="https://mp.weixin.qq.com/s/Tok", title="yes", account="1,000", author="某作者",
              published=dt.datetime(2024, 1, 2, 7, 5, tzinfo=SHANGHAI), biz="MzIy", mid="2247491356", idx="1",
              canonical_url="https://mp.weixin.qq.com/s?__biz=MzIy&mid=2247491356&idx=1&sn=ab", body_html="<p>{{ x }}</p>",
              archived_at=dt.datetime(2024, 5, 6, 1, 2, 3, tzinfo=dt.timezone.utc))


@pytest.mark.parametrize("choices", [Choices(), Choices(keep_footers=True), Choices(no_images=True),
                                     Choices(keep_footers=True, no_images=True)])
def test_what_render_writes_reads_back(choices: Choices) -> None:
    text = render(ART, Settings(), Fate(SourceStatus.DELETED, checked_at=1.7e9, since=1.7e9), choices)
    fm = read_front_matter(text)
    assert fm is not None and text[fm.end:].startswith("\n> 转载")
    written = front_matter(ART, Settings(), None, choices)
    assert fm.text("title") == "yes" and fm.text("account") == "1,000" and fm.text("mid") == "2247491356"
    assert fm.source_url == written["source_url"]
    assert fm.choices == choices
    assert fm.time("archived_at") == ART.archived_at and fm.time("date") == ART.published
    assert fm.liquid is False  # the body holds {{ and the post needs no Liquid itself


def test_values_are_read_by_type() -> None:
    fm = read_front_matter("---\ntitle: [a, b]\nmid: 12\nkeep_footers: 'true'\narchived_at: 2020-01-01 08:00:00\n"
                           "date: 2020-01-01\n---\nbody")
    assert fm is not None
    assert fm.text("title") == "" and fm.text("mid") == "12" and fm.text("none") == ""
    assert fm.choices == Choices()  # only a YAML true is a choice
    assert fm.time("archived_at") == dt.datetime(2020, 1, 1, 8, tzinfo=SHANGHAI)  # no zone: WeChat's
    assert fm.time("date") is None and fm.liquid


@pytest.mark.parametrize("text", ["no front matter", "---\nnot closed\n", "", "---\n---\n"])
def test_no_front_matter_is_none(text: str) -> None:
    assert read_front_matter(text) is None


@pytest.mark.parametrize("head", ["x: !!python/object/apply:os.system ['true']\n", "a: &a [x]\nb: [*a, *a]\n",
                                  "- a\n", "a: b: c\n", "[" * 5000 + "\n"])
def test_untrusted_front_matter_is_refused(head: str) -> None:
    with pytest.raises(FrontMatterError):
        read_front_matter(f"---\n{head}---\n\nbody\n")


def test_the_front_matter_is_bounded() -> None:
    big = "---\n" + "k: v\n" * (MAX_FRONT_MATTER // 5 + 1) + "---\nbody"
    with pytest.raises(FrontMatterError):
        read_front_matter(big)
    fits = "---\n" + "k: v\n" * (MAX_FRONT_MATTER // 5 - 1) + "---\nbody"
    assert fenced(fits) is not None


def test_choices_names_are_its_fields() -> None:
    assert Choices.NAMES == tuple(f.name for f in dataclasses.fields(Choices))
