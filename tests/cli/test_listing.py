"""`wxarchive ls` (issue 11): the archive's index for people and scripts."""
from __future__ import annotations

import json
from pathlib import Path

from werkzeug.wrappers import Response

from batch_fake import FakeWeChat, connect_args, make_articles, server  # noqa: F401  (fixture)


def test_ls_lists_every_article_with_its_post_status_and_missing_images(run_cli, tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    arts = make_articles(3)
    fake = FakeWeChat(server, arts[:2])
    server.expect_request("/s").respond_with_handler(fake._article)
    server.expect_request(f"/mmbiz_png/{arts[0].media}/640").respond_with_data(b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
                                                                                content_type="image/png")
    server.expect_request(f"/mmbiz_png/{arts[1].media}/640").respond_with_response(Response("no", status=404))
    root = tmp_path / "arch"
    r = run_cli("get", *(a.url() for a in arts), "--out", root, "--delay", "0", *connect_args(server))
    assert r.code == 1  # the third is 参数错误
    r = run_cli("ls", "--out", root, "--json")
    assert r.code == 0
    rows = {x["key"]: x for x in (json.loads(ln) for ln in r.out.splitlines())}
    assert set(rows) == {a.key for a in arts}
    ok, no_img, bad = rows[arts[0].key], rows[arts[1].key], rows[arts[2].key]
    assert ok["status"] == "archived" and Path(ok["post"]).is_file() and ok["images"]["missing"] == 0
    assert ok["account"] == "测试公众号" and ok["title"] == arts[0].title and ok["published"].startswith("2023-")
    assert no_img["images"] == {"found": 1, "saved": 0, "missing": 1}
    assert bad["status"] == "gave_up" and bad["error"] == "invalid" and bad["post"] is None
    text = run_cli("ls", "--out", root).out.splitlines()
    assert len(text) == 3
    assert any(arts[1].title in ln and "[1 image(s) missing]" in ln for ln in text)
    assert any("gave_up:invalid" in ln for ln in text)


def test_ls_outside_an_archive(run_cli, tmp_path: Path) -> None:
    r = run_cli("ls", "--out", tmp_path / "nothing")
    assert r.code == 2 and "holds no wxarchive archive" in r.err and not (tmp_path / "nothing").exists()
