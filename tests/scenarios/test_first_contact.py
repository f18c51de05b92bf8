"""A new user's first commands (issue 11): every common mistake is one clear line, never a traceback,
and a bug met on one article fails that article only."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from batch_fake import server  # noqa: F401  (fixture)
from conftest import fixture_page, posts

PAGE = fixture_page("article-2024-modern")
OTHER = fixture_page("article-2017-legacy")


def one_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("wxarchive: ")
    return lines[0]


def test_log_into_a_missing_folder_is_made(run_cli, tmp_path: Path) -> None:
    log = tmp_path / "new" / "deeper" / "run.log"
    r = run_cli("get", PAGE, "--out", tmp_path / "a", "--no-images", "--log", log)
    assert r.code == 0, r.err
    assert "archived" in log.read_text(encoding="utf-8")


def test_log_at_a_folder(run_cli, tmp_path: Path) -> None:
    r = run_cli("get", PAGE, "--out", tmp_path / "a", "--no-images", "--log", tmp_path)
    assert r.code == 2
    assert "is a folder" in one_line(r.err)


def test_log_where_a_file_blocks_the_folder(run_cli, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    r = run_cli("get", PAGE, "--out", tmp_path / "a", "--log", tmp_path / "f" / "run.log")
    assert r.code == 2
    assert "log file" in one_line(r.err)


def test_init_onto_a_file_and_under_a_file(run_cli, tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    r = run_cli("init", f)
    assert r.code == 2 and "is a file" in one_line(r.err)
    r = run_cli("init", f / "site")
    assert r.code == 1 and "cannot lay down a site" in one_line(r.err)
    assert f.read_text() == "x"


@pytest.mark.parametrize("cmd", ["get", "rebuild"])
def test_out_pointing_at_a_file(run_cli, tmp_path: Path, cmd: str) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    r = run_cli(*([cmd, PAGE] if cmd == "get" else [cmd]), "--out", f)
    assert r.code == 2 and "is a file, not a folder" in one_line(r.err)


@pytest.mark.parametrize("value", ["-5", "0"])
def test_timeout_must_be_positive(run_cli, tmp_path: Path, value: str) -> None:
    r = run_cli("get", "https://mp.weixin.qq.com/s/abc", "--out", tmp_path / "a", "--timeout", value)
    assert r.code == 2 and "--timeout" in one_line(r.err)
    assert not (tmp_path / "a").exists()


@pytest.mark.parametrize("env", ["mp.weixin.qq.com=http://127.0.0.1:1;mmbiz.qpic.cn=http://127.0.0.1:1",
                                 "mp.weixin.qq.com=http://127.0.0.1:1 mmbiz.qpic.cn=http://127.0.0.1:1",
                                 "mp.weixin.qq.com=http://127.0.0.1:99999"])
def test_connect_to_env_with_a_wrong_separator(run_cli, tmp_path: Path, monkeypatch, env: str) -> None:
    monkeypatch.setenv("WXARCHIVE_CONNECT_TO", env)
    r = run_cli("get", "https://mp.weixin.qq.com/s/abc", "--out", tmp_path / "a")
    assert r.code == 2 and "WXARCHIVE_CONNECT_TO" in one_line(r.err)


@pytest.mark.parametrize("line", ['tags = "abc"', "tags = 5", "catalog = \"no\"", "attribution = 1"])
def test_settings_of_the_wrong_type(run_cli, tmp_path: Path, line: str) -> None:
    root = tmp_path / "a"
    root.mkdir()
    (root / "wxarchive.toml").write_text(f"[site]\n{line}\n", encoding="utf-8")
    r = run_cli("get", PAGE, "--out", root, "--no-images")
    assert r.code == 2 and "wxarchive.toml" in one_line(r.err)
    assert posts(root) == []


def test_get_a_folder_says_folder(run_cli, tmp_path: Path) -> None:
    r = run_cli("get", tmp_path, "--out", tmp_path / "a")
    line = one_line(r.err)
    assert r.code == 2 and "is a folder" in line and "no such file" not in line


def test_json_into_head_is_quiet(tmp_path: Path) -> None:
    """``… --json | head -1``: the reader leaves; no BrokenPipeError traceback, the articles written are whole."""
    cmd = (f"{sys.executable} -m wxarchive get {PAGE} {OTHER} {PAGE} --out {tmp_path / 'a'} --no-images --json"
           " --force | head -c 1 >/dev/null; echo ${PIPESTATUS[0]} >&2")
    p = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=60)
    assert "Traceback" not in p.stderr and "BrokenPipe" not in p.stderr, p.stderr
    assert p.stderr.strip().splitlines()[-1] in ("0", "141")


# ---- a bug met on one article fails that article, never the run
def _boom_on(title_part: str, real):  # type: ignore[no-untyped-def]
    def fn(article, *a, **kw):  # type: ignore[no-untyped-def]
        if title_part in (article.title or ""):
            raise KeyError("unexpected layout detail")
        return real(article, *a, **kw)
    return fn


@pytest.mark.parametrize("stage", ["clean", "render"])
def test_unexpected_exception_fails_one_article(run_cli, tmp_path: Path, monkeypatch, stage: str) -> None:
    # (the pipeline imports the cleaner and the renderer when it first needs them: patched at the source)
    if stage == "clean":
        import wxarchive.extract.clean as cl

        monkeypatch.setattr(cl, "clean", _boom_on("重试风暴", cl.clean))
    else:
        import wxarchive.write.render as rd

        monkeypatch.setattr(rd, "render", _boom_on("重试风暴", rd.render))
    root = tmp_path / "a"
    r = run_cli("get", OTHER, PAGE, "--out", root, "--no-images", "--json")
    assert r.code == 1
    assert "Traceback" not in r.err
    by_src = {x["source"]: x for x in r.lines}
    assert by_src[str(OTHER)]["status"] == "archived"
    bad = by_src[str(PAGE)]
    assert bad["status"] == "failed" and bad["error"] == "internal"
    kept = list((root / ".wxarchive" / "layout").glob("*.html"))
    assert len(kept) == 1 and kept[0].read_bytes() == PAGE.read_bytes()
    assert len(posts(root)) == 1
    # -v shows the traceback
    r = run_cli("get", PAGE, "--out", root, "--no-images", "-v")
    assert r.code == 1 and "Traceback" in r.err and "KeyError" in r.err


def test_unexpected_exception_in_parse_fails_one_of_an_import(tmp_path: Path, server, monkeypatch,  # type: ignore[no-untyped-def]
                                                              run_cli) -> None:
    import wxarchive.extract.parse as pa
    from batch_fake import FakeWeChat, connect_args, make_articles

    arts = make_articles(3)
    FakeWeChat(server, arts).install()
    real = pa.parse

    def parse(page):  # type: ignore[no-untyped-def]
        if f"mid={arts[1].mid}" in page.url:
            raise AttributeError("'NoneType' object has no attribute 'text'")
        return real(page)

    monkeypatch.setattr(pa, "parse", parse)
    lst = tmp_path / "links.txt"
    lst.write_text("\n".join(a.url() for a in arts), encoding="utf-8")
    root = tmp_path / "a"
    r = run_cli("import", lst, "--out", root, "--delay", "0", "--json", *connect_args(server))
    assert r.code == 1, r.err
    assert [x["status"] for x in r.lines] == ["archived", "failed", "archived"]
    assert r.lines[1]["error"] == "internal" and "raw page kept" in r.lines[1]["message"]
    assert "Traceback" not in r.err


def test_unexpected_exception_while_writing_keeps_the_whole_page(tmp_path: Path, server, monkeypatch,  # type: ignore[no-untyped-def]
                                                                    run_cli) -> None:
    """A bug met while writing fails that article and keeps its page as it was served, whole (the page
    waits for its images compressed; the report unpacks it), and the run goes on."""
    import re

    import wxarchive.write.render as rd
    from batch_fake import FakeWeChat, connect_args, make_articles

    arts = make_articles(3)
    FakeWeChat(server, arts).install()
    real = rd.render

    def render(article, *a, **kw):  # type: ignore[no-untyped-def]
        if article.mid == str(arts[1].mid):
            raise KeyError("boom")
        return real(article, *a, **kw)

    monkeypatch.setattr(rd, "render", render)
    lst = tmp_path / "links.txt"
    lst.write_text("\n".join(a.url() for a in arts), encoding="utf-8")
    r = run_cli("import", lst, "--out", tmp_path / "a", "--delay", "0", "--json", *connect_args(server))
    assert r.code == 1, r.err
    assert [x["status"] for x in r.lines] == ["archived", "failed", "archived"]
    kept = re.search(r"raw page kept at (\S+\.html)", r.lines[1]["message"])
    assert kept, r.lines[1]
    assert Path(kept[1]).read_bytes() == arts[1].html().encode("utf-8")


# ---- get -a FILE / get - / an album or a list given to get
def test_get_batch_file_and_stdin_are_import(tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    from batch_fake import FakeWeChat, connect_args, make_articles

    arts = make_articles(2)
    FakeWeChat(server, arts).install()
    lst = tmp_path / "links.txt"
    lst.write_text("\n".join(a.url() for a in arts) + "\n", encoding="utf-8")
    base = [sys.executable, "-m", "wxarchive", "get"]
    tail = ["--out", str(tmp_path / "a"), "--delay", "0", *connect_args(server)]
    p = subprocess.run(base + ["-a", str(lst)] + tail, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "get: 2 archived" in p.stderr and len(posts(tmp_path / "a")) == 2
    p = subprocess.run(base + ["-"] + tail, input=lst.read_text(), capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "get: 0 archived; 2 skipped" in p.stderr and "import" not in p.stderr, p.stderr


def test_get_an_album_or_a_link_list_points_elsewhere(run_cli, tmp_path: Path) -> None:
    album = "https://mp.weixin.qq.com/mp/appmsgalbum?__biz=MzA5NjQ0MjY2Mw==&album_id=1234567890123456789"
    r = run_cli("get", album, "--out", tmp_path / "a")
    assert r.code == 2 and "[[sources]]" in one_line(r.err) and "harvest" in r.err
    lst = tmp_path / "links.txt"
    lst.write_text("https://mp.weixin.qq.com/s/abc\n")
    r = run_cli("get", lst, "--out", tmp_path / "a")
    assert r.code == 2 and "wxarchive import" in one_line(r.err)
    assert not (tmp_path / "a").exists()
