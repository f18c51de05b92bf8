"""First meeting with an account: its footer is learned from two of its linked articles before the first
post is written (real local server; ``--no-learn`` reads only the page asked for)."""
from __future__ import annotations

import sys

from conftest import TESTS, posts

sys.path.insert(0, str(TESTS / "fuzz"))
import wxpages  # noqa: E402

# five tail lines no rule knows: only learning can tell them from the author's words
FOOTER = "".join(f"<p>城南旧事编辑部 第{i}栏</p>" for i in range(5))
MIDS = (2650002001, 2650002002, 2650002003)


def _body(mid: int, links: tuple[int, ...] = ()) -> str:
    refs = "".join(f'<p><a href="{wxpages.article_url(m).replace("&", "&amp;")}">往期 {m}</a></p>' for m in links)
    return (f"<p>{mid} 这一篇讲巷子口的老店。</p><p>{mid} 店主说起三十年前的旧事。</p>"
            f"<p>{mid} 作者的最后一句话。</p>{refs}{FOOTER}")


def _serve(wx) -> None:
    first, *others = MIDS
    pages = {first: _body(first, tuple(others))} | {m: _body(m) for m in others}
    for mid, body in pages.items():
        wx.server.expect_request("/s", query_string={"__biz": wxpages.BIZ, "mid": str(mid), "idx": "1",
                                                     "sn": f"abc{mid}"}).respond_with_data(
            wxpages.page(f"第{mid}篇", mid=mid, account="城南旧事", body=body), content_type="text/html")


def test_the_first_post_of_an_unseen_account_is_written_without_its_footer(wx, archive, run_cli) -> None:
    _serve(wx)
    res = run_cli("get", wxpages.article_url(MIDS[0]), "--out", archive, "--no-images", "--delay", "0",
                  *wx.connect_args)
    assert res.code == 0, res.err
    text = posts(archive)[0].read_text(encoding="utf-8")
    assert "编辑部" not in text, text
    assert "作者的最后一句话" in text and "老店" in text
    assert len(posts(archive)) == 1, "the pages read to learn are not archived"
    assert len(wx.requests()) == 3


def test_no_learn_reads_only_the_page_asked_for(wx, archive, run_cli) -> None:
    _serve(wx)
    res = run_cli("get", wxpages.article_url(MIDS[0]), "--out", archive, "--no-images", "--delay", "0",
                  "--no-learn", *wx.connect_args)
    assert res.code == 0, res.err
    assert len(wx.requests()) == 1
    assert "编辑部" in posts(archive)[0].read_text(encoding="utf-8"), "nothing learned: the footer stays"


def test_a_known_account_costs_no_extra_request(wx, archive, run_cli) -> None:
    _serve(wx)
    assert run_cli("get", wxpages.article_url(MIDS[1]), "--out", archive, "--no-images", "--delay", "0",
                   "--no-learn", *wx.connect_args).code == 0
    before = len(wx.requests())
    assert run_cli("get", wxpages.article_url(MIDS[0]), "--out", archive, "--no-images", "--delay", "0",
                   *wx.connect_args).code == 0
    assert len(wx.requests()) - before == 1
