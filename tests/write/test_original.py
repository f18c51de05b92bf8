"""The fate of an original on a post (front matter, attribution line) and the state's schema upgrade."""
from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from markdown_it import MarkdownIt

from wxarchive.write.original import Fate, SourceStatus
from wxarchive.models import Article
from wxarchive.write.render import render, split_post
from wxarchive.settings import Settings
from wxarchive.archive.store import SCHEMA_VERSION, Store

SH = dt.timezone(dt.timedelta(hours=8))
GONE_AT = dt.datetime(2026, 12, 3, 9, 30, tzinfo=SH).timestamp()
URL = "https://mp.weixin.qq.com/s?__biz=MzA5NjQ0MjY2Mw==&mid=2247480001&idx=1&sn=abc"


def article() -> Article:
    return Article(url=URL, canonical_url=URL, title="标题", account="测试公众号", body_html="<p>正文一段。</p>",
                   published=dt.datetime(2026, 1, 2, 3, 4, tzinfo=SH), biz="MzA5NjQ0MjY2Mw==", mid="2247480001",
                   idx="1")


def test_unchecked_post_has_no_fate_fields_and_a_plain_link() -> None:
    fm, body = split_post(render(article()))
    assert not {k for k in fm if k.startswith("source_") and k != "source_url"}
    assert f"> 来源：微信公众号 [原文链接]({URL})\n" in body


def test_deleted_original_struck_through_with_date_and_fields() -> None:
    fate = Fate(SourceStatus.DELETED, checked_at=GONE_AT + 60, since=GONE_AT, gone_at=GONE_AT,
                reason="该内容已被发布者删除")
    text = render(article(), None, fate)
    fm, body = split_post(text)
    assert fm["source_status"] == "deleted"
    assert fm["source_gone_at"] == "2026-12-03 09:30:00 +0800"
    assert fm["source_checked_at"] == "2026-12-03 09:31:00 +0800"
    assert fm["source_reason"] == "该内容已被发布者删除"
    assert f"> 来源：微信公众号 ~~[原文链接]({URL})~~（原文已于 2026-12-03 被发布者删除）\n" in body
    html = MarkdownIt("commonmark").enable("strikethrough").render(body)
    assert "<s><a href=" in html and "原文已于 2026-12-03 被发布者删除" in html
    # the text of the article is what it was without a fate
    assert body.split("\n\n", 1)[1] == split_post(render(article()))[1].split("\n\n", 1)[1]


def test_removed_keeps_the_reason_and_alive_keeps_the_link() -> None:
    removed = Fate(SourceStatus.REMOVED, checked_at=GONE_AT, since=GONE_AT, gone_at=GONE_AT,
                   reason="此内容因违规无法查看 *涉嫌* [侵权]")
    _, body = split_post(render(article(), None, removed))
    assert "~~[原文链接]" in body and "被微信删除：此内容因违规无法查看 \\*涉嫌\\* \\[侵权\\]）" in body
    alive = Fate(SourceStatus.ALIVE, checked_at=GONE_AT, since=GONE_AT)
    fm, body = split_post(render(article(), None, alive))
    assert fm["source_status"] == "alive" and "source_gone_at" not in fm
    assert f"> 来源：微信公众号 [原文链接]({URL})\n" in body


def test_an_old_state_file_is_upgraded_on_open(tmp_path: Path) -> None:
    db = tmp_path / "state.sqlite3"
    with Store(db) as st:  # then made as the version before check was: no check tables, user_version 1
        st.record_archived("k", [], url="u", title="t")
    old = sqlite3.connect(db)
    old.executescript("DROP TABLE checks; DROP TABLE fates; PRAGMA user_version = 1;")
    old.close()
    with Store(db) as st:
        assert st.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        st.record_check("k", at=5.0, seen="deleted", http_status=200, detail="gone", previous="alive", changed=True,
                        fate=Fate(SourceStatus.DELETED, checked_at=5.0, since=5.0, gone_at=5.0))
        assert st.fate("k") == Fate(SourceStatus.DELETED, checked_at=5.0, since=5.0, gone_at=5.0)
        assert st.get("k").url == "u"
    with Store(db) as st:  # opening again changes nothing
        assert [c["seen"] for c in st.checks("k")] == ["deleted"]


def test_check_rewrite_equals_a_fresh_render_and_keeps_everything_else() -> None:
    from wxarchive.jobs.check import apply_fate, post_text_after_head

    alive = Fate(SourceStatus.ALIVE, checked_at=GONE_AT - 86400, since=GONE_AT - 86400 * 9)
    removed = Fate(SourceStatus.REMOVED, checked_at=GONE_AT, since=GONE_AT, gone_at=GONE_AT, reason="涉嫌侵权: 'x' #1")
    import dataclasses

    reprint = dataclasses.replace(article(), reprint_of=(("account", "原来的号"), ("url", "https://mp.weixin.qq.com/s/x")))
    for art in (article(), reprint):  # a reprint's attribution has a third line after the source line
        for site in (Settings(), Settings(liquid=False), Settings(attribution=False)):
            plain = render(art, site)
            once = apply_fate(plain, alive, site)
            assert once == render(art, site, alive)
            assert apply_fate(once, removed, site) == render(art, site, removed)
            assert apply_fate(apply_fate(once, removed, site), alive, site) == once
    # a hand edit elsewhere in the front matter and the text survive a check
    edited = render(article()).replace("tags:\n- 其他\n", "tags:\n- 其他\n- 手加\nnote: 我加的\n")
    out = apply_fate(apply_fate(edited, alive, Settings()), removed, Settings())
    assert "- 手加\nnote: 我加的\n" in out
    assert post_text_after_head(out) == post_text_after_head(edited) == "正文一段。\n"
    assert split_post(out)[0]["source_status"] == "removed" and "source_checked_at" in split_post(out)[0]


def test_fate_times_have_the_type_of_archived_at() -> None:
    """Issue 23: source_checked_at (and source_gone_at) were quoted strings where archived_at is a YAML
    timestamp; one type for every date-time of a post."""
    from wxarchive.write.original import Fate as _Fate, SourceStatus as _Status
    from wxarchive.write.render import dump_yaml

    fm = {"archived_at": "2026-11-27 06:41:56 +0800",
          **_Fate(_Status.DELETED, checked_at=1764197000.0, since=1764197000.0, gone_at=1764197000.0).front_matter()}
    import re as _re

    text = dump_yaml(fm)  # Ruby's YAML (Jekyll) reads an unquoted one as a Time, a quoted one as a String
    for key in ("archived_at", "source_checked_at", "source_gone_at"):
        assert _re.search(rf"^{key}: \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d \+0800$", text, _re.M), text
