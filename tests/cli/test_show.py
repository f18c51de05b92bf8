"""Nothing removed without a way back: ``show KEY --removed`` lists what cleaning took out of a post, and
``rebuild KEY --keep-footers`` puts it back, for good (a later plain rebuild keeps it)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from conftest import TESTS

sys.path.insert(0, str(TESTS / "fuzz"))
import wxpages  # noqa: E402

FOOTER = "".join(f"<p>河西读书会 第{i}期</p>" for i in range(4))   # no rule knows it: learned from three posts


def _archive(tmp: Path, run_cli) -> Path:
    root = tmp / "blog"
    for n in range(3):
        page = tmp / f"p{n}.html"
        body = f"<p>第{n}篇：读书会这次读了一本旧书。</p><p>第{n}篇：大家说了各自的看法。</p>{FOOTER}"
        page.write_bytes(wxpages.page(f"第{n}篇", mid=2650003000 + n, account="河西读书会", body=body))
        assert run_cli("get", page, "--out", root, "--no-images").code == 0
    return root


def _post(root: Path, n: int) -> str:
    return next(p for p in (root / "_posts").glob("*.md") if f"第{n}篇" in p.name).read_text(encoding="utf-8")


def test_show_lists_what_was_removed_and_rebuild_keep_footers_puts_it_back(tmp_path: Path, run_cli) -> None:
    root = _archive(tmp_path, run_cli)
    key = f"{wxpages.BIZ}:2650003000:1"
    assert "第3期" not in _post(root, 0), "the learned footer is removed"

    shown = run_cli("show", key, "--out", root, "--removed")
    assert shown.code == 0, shown.err
    assert "河西读书会 第3期" in shown.out and "learned" in shown.out
    as_json = json.loads(run_cli("show", wxpages.article_url(2650003000), "--out", root, "--json").out)
    assert as_json["key"] == key and any("第3期" in r["text"] for r in as_json["removed"])

    assert run_cli("rebuild", key, "--out", root, "--keep-footers", "--no-images").code == 0
    assert "河西读书会 第3期" in _post(root, 0), "the removed blocks are back"
    assert "第3期" not in _post(root, 1), "only the post named was made again with them"
    assert run_cli("rebuild", "--out", root, "--no-images").code == 0
    assert "河西读书会 第3期" in _post(root, 0), "the choice is kept by a later rebuild"
    assert json.loads(run_cli("show", key, "--out", root, "--json").out)["keep_footers"] is True


def test_show_and_rebuild_refuse_an_unknown_article(tmp_path: Path, run_cli) -> None:
    root = _archive(tmp_path, run_cli)
    assert run_cli("show", "nope:1:1", "--out", root).code == 2
    assert run_cli("rebuild", "nope:1:1", "--out", root, "--no-images").code == 2
