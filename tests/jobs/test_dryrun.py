"""--dry-run for import and harvest (issue 11): new against known, no article page requested, nothing written."""
from __future__ import annotations

import json
from pathlib import Path

from batch_fake import FakeWeChat, connect_args, make_articles, rss, server  # noqa: F401  (fixture)


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


def test_import_dry_run(run_cli, tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    arts = make_articles(3)
    fake = FakeWeChat(server, arts).install()
    lst = tmp_path / "links.txt"
    lst.write_text("\n".join(a.url() for a in arts) + "\n", encoding="utf-8")
    root = tmp_path / "arch"
    r = run_cli("import", lst, "--out", root, "--dry-run", *connect_args(server))
    assert r.code == 0 and not root.exists() and server.log == []
    assert r.out.count("new ") == 3 and "3 would be fetched, 0 already archived" in r.err
    assert run_cli("get", arts[0].url(), "--out", root, "--delay", "0", *connect_args(server)).code == 0
    n, before = len(server.log), _tree(root)
    r = run_cli("import", lst, "--out", root, "--dry-run", "--json", *connect_args(server))
    assert r.code == 0 and len(server.log) == n and _tree(root) == before
    rows = [json.loads(ln) for ln in r.out.splitlines()]
    assert [x["status"] for x in rows] == ["known", "new", "new"] and all(x["dry_run"] for x in rows)
    assert Path(rows[0]["post"]).is_file()
    assert len(fake.article_requests()) == 1


def test_harvest_dry_run_lists_sources_but_fetches_no_article(run_cli, tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    arts = make_articles(2)
    fake = FakeWeChat(server, arts).install()
    server.expect_request("/feed.xml").respond_with_data(rss(arts), content_type="application/rss+xml")
    root = tmp_path / "arch"
    root.mkdir()
    (root / "wxarchive.toml").write_text('[[sources]]\nurl = "https://rsshub.example.org/feed.xml"\nkind = "feed"\n',
                                         encoding="utf-8")
    r = run_cli("harvest", "--out", root, "--dry-run", *connect_args(server))
    assert r.code == 0, r.err
    assert r.out.count("new ") == 2 and fake.article_requests() == []
    assert _tree(root) == ["wxarchive.toml"]
