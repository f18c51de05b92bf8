"""The data shape every stage passes on (wxarchive/models.py): an article's identity, its kind, and that no
stage can change a value another stage holds."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from wxarchive.models import SHANGHAI, Article, Image, Kind

URL = "https://mp.weixin.qq.com/s/AbC"
CANON = "https://mp.weixin.qq.com/s?__biz=MzA5&mid=265&idx=1&sn=ff"


def test_an_article_is_known_by_its_ids_when_it_has_all_three() -> None:
    a = Article(url=URL, title="t", biz="MzA5", mid="265", idx="1", canonical_url=CANON)
    assert a.key == "MzA5:265:1"
    assert dataclasses.replace(a, url="https://mp.weixin.qq.com/s/other").key == a.key  # same article, other link


@pytest.mark.parametrize("missing", ["biz", "mid", "idx"])
def test_without_all_three_ids_the_canonical_url_is_its_identity(missing: str) -> None:
    a = dataclasses.replace(Article(url=URL, title="t", biz="MzA5", mid="265", idx="1", canonical_url=CANON),
                            **{missing: ""})
    assert a.key == CANON
    assert dataclasses.replace(a, canonical_url="").key == URL


def test_original_means_wechats_original_mark_only() -> None:
    assert [Article(url=URL, title="t", copyright_stat=n).original for n in (0, 1, 2)] == [False, True, False]


def test_a_kind_writes_as_its_plain_name() -> None:
    """Front matter and --json lines carry ``kind: reprint``, never ``Kind.REPRINT``."""
    assert str(Kind.REPRINT) == "reprint" and f"{Kind.VIDEO}" == "video" and Kind("text") is Kind.TEXT
    assert Kind.ARTICLE == "article"


def test_values_are_frozen_so_a_stage_returns_a_new_one() -> None:
    a = Article(url=URL, title="t", images=(Image(url="https://mmbiz.qpic.cn/x", name="x"),))
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.title = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.images[0].local = "x.png"  # type: ignore[misc]


def test_shanghai_is_utc_plus_8_all_year() -> None:
    for month in (1, 7):
        assert dt.datetime(2024, month, 1, tzinfo=SHANGHAI).utcoffset() == dt.timedelta(hours=8)
