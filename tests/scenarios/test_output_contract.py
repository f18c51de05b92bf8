"""The output contract (issue 11): one JSON shape for every status, real counts for skipped
articles, the source named once, a verification reported once, -v and --log tell the story."""
from __future__ import annotations

from pathlib import Path

from batch_fake import FakeWeChat, connect_args, make_articles, server  # noqa: F401  (fixture)
from conftest import fixture_page
from wxarchive.urls import normalize_article_url

PAGE = fixture_page("article-2024-modern")
FIELDS = {"source", "status", "error", "url", "key", "account", "title", "published", "post", "images", "removed"}


def test_json_lines_have_one_shape_for_every_status(run_cli, tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    arts = make_articles(2)
    fake = FakeWeChat(server, arts[:1]).install()  # the second is answered 参数错误 (invalid)
    root = tmp_path / "arch"
    first = run_cli("get", arts[0].url(), arts[1].url(), "--out", root, "--delay", "0", "--json",
                    *connect_args(server))
    again = run_cli("get", arts[0].url(), "--out", root, "--delay", "0", "--json", *connect_args(server))
    archived, failed = first.lines
    skipped = again.json
    assert (archived["status"], failed["status"], skipped["status"]) == ("archived", "failed", "skipped")
    for line in (archived, failed, skipped):
        assert FIELDS <= set(line), line
    # the same article reads the same whether archived now or earlier
    for k in ("url", "key", "account", "title", "published", "post", "images", "removed"):
        assert skipped[k] == archived[k], k
    assert Path(skipped["post"]).is_file()
    assert archived["images"] == {"found": 1, "saved": 1, "failed": 0}
    assert archived["account"] == "测试公众号" and archived["published"].startswith("2023-")
    assert failed["url"] == normalize_article_url(arts[1].url()) and failed["key"] == arts[1].key and failed["post"] is None
    assert len(fake.article_requests()) == 2  # the skipped one cost no request


def test_a_failure_names_its_source_once(run_cli, tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    arts = make_articles(1)
    FakeWeChat(server, []).install()
    r = run_cli("get", arts[0].url(), "--out", tmp_path / "a", "--delay", "0", *connect_args(server))
    assert r.code == 1
    assert len(r.err.strip().splitlines()) == 1
    assert r.err.count(f"mid={arts[0].mid}") == 1, r.err


def test_verification_is_reported_once(run_cli, tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    arts = make_articles(3)
    fake = FakeWeChat(server, arts, verify_all=True).install()
    r = run_cli("get", *(a.url() for a in arts), "--out", tmp_path / "a", "--delay", "0", *connect_args(server))
    assert r.code == 3
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wxarchive: stopped:") and "verification" in lines[0], r.err
    assert len(fake.article_requests()) == 1


def test_verbose_logs_each_request_and_log_file_holds_the_story(run_cli, tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    arts = make_articles(1)
    FakeWeChat(server, arts).install()
    log = tmp_path / "run.log"
    r = run_cli("get", arts[0].url(), "--out", tmp_path / "a", "--delay", "0", "-v", "--log", log,
                *connect_args(server))
    assert r.code == 0, r.err
    req = [ln for ln in r.err.splitlines() if ln.startswith("wxarchive: GET https://mp.weixin.qq.com/s?")]
    assert len(req) == 1 and "-> 200 (" in req[0] and req[0].endswith(" s)")
    assert any("GET https://mmbiz.qpic.cn/" in ln for ln in r.err.splitlines())
    text = log.read_text(encoding="utf-8")
    assert "GET https://mp.weixin.qq.com/s?" in text and "archived" in text


def test_verbose_shows_redirects(run_cli, tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    arts = make_articles(1)
    fake = FakeWeChat(server, arts, verify_all=True).install()
    r = run_cli("get", arts[0].url(), "--out", tmp_path / "a", "--delay", "0", "-v", *connect_args(server))
    assert r.code == 3
    assert any("-> 302 redirect to" in ln and "wappoc_appmsgcaptcha" in ln for ln in r.err.splitlines()), r.err
    assert len(fake.article_requests()) == 1


def test_every_removed_block_is_in_the_json_line_and_on_stderr_at_v(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Nothing removed silently: each footer block, text or picture, with its reason, in ``removed``
    (the same when the article is met again, from the state) and, with -v, on stderr."""
    page = fixture_page("footer-2025-credit-and-promo")
    r = run_cli("get", page, "--out", tmp_path / "a", "--no-images", "--json", "-v")
    removed = r.json["removed"]
    assert {"reason": "editor credit at the head", "text": "编辑：林夏、老周"} in removed
    assert {"reason": "follow prompt", "text": "🙋\u200d♀️ 关注我们"} in removed
    pictures = [d for d in removed if d["text"].startswith("[image] https://mmbiz.qpic.cn/")]
    assert len(pictures) == 3 and all(d["reason"] for d in pictures)
    assert not any("长按识别二维码收听本期" in d["text"] for d in removed)  # a caption of the content stays
    stderr = [ln for ln in r.err.splitlines() if ": removed " in ln]
    assert len(stderr) == len(removed) and any("removed follow prompt: 🙋" in ln for ln in stderr)
    again = run_cli("get", page, "--out", tmp_path / "a", "--no-images", "--json")
    assert again.json["status"] == "skipped" and again.json["removed"] == removed
    kept = run_cli("get", fixture_page("footer-2020-text-closing"), "--out", tmp_path / "b", "--no-images", "--json")
    assert kept.json["removed"] == []


def test_a_saved_verification_page_says_so_without_json(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A saved verification page is one file that is not an article: one line on stderr names it and
    what WeChat said (it printed nothing at all without --json), and the exit status says verify."""
    page = fixture_page("error-verify")
    r = run_cli("get", page, "--out", tmp_path / "a", "--no-images")
    assert r.code == 3
    assert r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wxarchive: ") and "环境异常" in lines[0], r.err
    assert "verification" in lines[0] and page.name in lines[0]
