"""An archive is reproducible: the same pages give the same posts, byte for byte, whatever order they
were archived in, once ``rebuild`` has run (learned account footers included)."""
from __future__ import annotations

import re
import sys
from pathlib import Path

from conftest import TESTS

sys.path.insert(0, str(TESTS / "fuzz"))
import wxpages  # noqa: E402

# eight footer lines no rule knows: only learning strips them; the window of tail blocks read is eight
FOOTER = "".join(f"<p>城市更新研究小组 栏目{i}</p>" for i in range(8))
CLOSING = "<p>以上内容仅代表作者观点</p>"  # the last line of posts 3-5 only, just above the footer


def _pages(tmp: Path) -> list[Path]:
    out = []
    for n in range(6):
        body = (f"<p>第{n}篇的正文第一段，讲社区里的一件小事。</p><p>第{n}篇的正文第二段，说说后来的变化和大家的看法。</p>"
                + (CLOSING if n >= 3 else "") + FOOTER)
        p = tmp / f"page{n}.html"
        p.write_bytes(wxpages.page(f"第{n}篇", mid=2650001000 + n, ct=1600000000 + 86400 * n, account="城市研究",
                                   body=body))
        out.append(p)
    return out


def _posts(root: Path) -> dict[str, str]:
    return {p.name: re.sub(r"(?m)^archived_at: .*$", "", p.read_text(encoding="utf-8"))
            for p in sorted((root / "_posts").glob("*.md"))}


def test_two_orders_give_the_same_posts_after_rebuild(tmp_path: Path, run_cli) -> None:
    pages = _pages(tmp_path)
    one, two = tmp_path / "one", tmp_path / "two"
    for p in pages:
        assert run_cli("get", p, "--out", one, "--no-images").code == 0
    for p in reversed(pages):
        assert run_cli("get", p, "--out", two, "--no-images").code == 0
    before = _posts(one), _posts(two)
    # the run that learns the footer cleans the posts archived before it: no rebuild needed for that
    assert before[0] == before[1]
    for root in (one, two):
        assert run_cli("rebuild", "--out", root).code == 0
    after_one, after_two = _posts(one), _posts(two)
    assert after_one == after_two
    assert all("栏目7" not in text for text in after_one.values()), "the learned footer is stripped"
    assert all("正文第二段" in text for text in after_one.values())
    assert sum("以上内容仅代表作者观点" in text for text in after_one.values()) == 3, "article text is not footer"


def test_the_run_that_learns_a_footer_cleans_the_posts_that_taught_it(tmp_path: Path, run_cli) -> None:
    """Posts 1 and 2 of an account keep its unknown footer until the third teaches it; that run cleans them."""
    pages, root = _pages(tmp_path)[:3], tmp_path / "blog"
    for p in pages[:2]:
        assert run_cli("get", p, "--out", root, "--no-images").code == 0
    assert all("栏目7" in text for text in _posts(root).values()), "two posts teach nothing yet"
    assert run_cli("get", pages[2], "--out", root, "--no-images").code == 0
    posts = _posts(root)
    assert len(posts) == 3 and all("栏目7" not in text for text in posts.values()), posts
    assert all("正文第二段" in text for text in posts.values())


def test_a_keep_footers_post_keeps_its_footer_when_the_account_footer_is_learned(tmp_path: Path, run_cli) -> None:
    pages, root = _pages(tmp_path)[:3], tmp_path / "blog"
    assert run_cli("get", pages[0], "--out", root, "--no-images", "--keep-footers").code == 0
    assert run_cli("get", *pages[1:], "--out", root, "--no-images").code == 0
    kept = [text for text in _posts(root).values() if "第0篇的正文" in text]
    assert kept and "栏目7" in kept[0]


def test_one_run_cleans_again_only_the_posts_written_before_it_learned(tmp_path: Path, run_cli) -> None:
    """In one run of sixteen posts the third teaches the footer: the posts written until then, and those
    cleaned ahead of it (the pipeline reads ahead), are cleaned again at the end; the ones cleaned after
    it already went without it and are not read again (the end's second pass once read every post of
    the account, as long as the import itself)."""
    pages = []
    for n in range(16):
        body = f"<p>第{n}篇的正文第一段，讲社区里的一件小事。</p><p>第{n}篇的正文第二段，说说后来的变化。</p>" + FOOTER
        pages.append(tmp_path / f"page{n}.html")
        pages[-1].write_bytes(wxpages.page(f"第{n}篇", mid=2650002000 + n, ct=1600000000 + 86400 * n,
                                           account="城市研究", body=body))
    root = tmp_path / "blog"
    res = run_cli("get", *pages, "--out", root, "--no-images", "--concurrency", "1", "-v")
    assert res.code == 0, res.err
    posts = _posts(root)
    assert len(posts) == 16 and all("栏目7" not in text for text in posts.values()), posts
    assert all("正文第二段" in text for text in posts.values())
    again = re.search(r"footer; (\d+) of its archived posts were cleaned again \((\d+) changed\)", res.err)
    assert again, res.err
    assert int(again[2]) >= 3 and int(again[1]) < 16, again[0]
