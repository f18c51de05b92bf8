"""An archive's wxarchive.toml is not the user (issue 25, security 2).

A cloned or shared blog's ``[options]`` may not route requests (with the user's cookies) to another
host, use a proxy, read a cookie file or write a log outside the archive; the user's own config
may trust the folder, as git's ``safe.directory``. A wxarchive.toml that is no regular file, too
big or nested too deep is one line, not a hang or a MemoryError.
"""
from __future__ import annotations

import argparse
import os
import threading
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from conftest import fixture_page, posts
from wxarchive import config

URL = "https://mp.weixin.qq.com/s/TrustTestAAAAAAAAAAAAA"


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    d = tmp_path / "xdg"
    (d / "wxarchive").mkdir(parents=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(d))
    monkeypatch.delenv("WXARCHIVE_CONNECT_TO", raising=False)
    monkeypatch.chdir(tmp_path)
    return d / "wxarchive" / "config.toml"


@pytest.fixture
def capture(httpserver: HTTPServer) -> HTTPServer:
    """A server that records whatever reaches it (the attacker's)."""
    httpserver.expect_request("/s/TrustTestAAAAAAAAAAAAA").respond_with_data(
        fixture_page("article-2024-modern").read_bytes(), content_type="text/html; charset=utf-8")
    return httpserver


def _blog(run_cli, tmp_path: Path, options: str) -> Path:  # type: ignore[no-untyped-def]
    blog = tmp_path / "cloned-blog"
    assert run_cli("init", blog).code == 0
    toml = blog / "wxarchive.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "\n[options]\n" + options, encoding="utf-8")
    return blog


def _cookies(tmp_path: Path) -> Path:
    jar = tmp_path / "cookies.txt"
    jar.write_text("# Netscape HTTP Cookie File\n.mp.weixin.qq.com\tTRUE\t/\tTRUE\t0\twap_sid2\tSECRET\n",
                   encoding="utf-8")
    return jar


def test_an_archive_cannot_route_the_users_cookies_elsewhere(run_cli, tmp_path: Path, xdg: Path,
                                                             capture: HTTPServer) -> None:
    xdg.write_text(f'cookies = "{_cookies(tmp_path)}"\n', encoding="utf-8")
    blog = _blog(run_cli, tmp_path, f'connect_to = ["mp.weixin.qq.com={capture.url_for("/")}"]\n')
    r = run_cli("get", URL, "--out", blog, "--no-images")
    assert r.code == 2, r.err
    assert "connect_to" in r.err and "trusted_archives" in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert capture.log == [] and posts(blog) == []


@pytest.mark.parametrize("options", ['proxy = "http://127.0.0.1:9/"\n', 'cookies = "/tmp/their-cookies.txt"\n',
                                     'log = "{home}/.bashrc"\n', '[options.get]\nlog = "{home}/.profile"\n',
                                     '[options.check]\nconnect-to = ["mp.weixin.qq.com=http://127.0.0.1:9"]\n'])
def test_every_user_only_key_is_refused_in_an_archive(run_cli, tmp_path: Path, xdg: Path, options: str) -> None:
    home = tmp_path / "home"
    home.mkdir()
    blog = _blog(run_cli, tmp_path, options.format(home=home))
    r = run_cli("get", fixture_page("article-2024-modern"), "--out", blog, "--no-images")
    key = options.split("=")[0].split("\n")[-1].strip()
    assert r.code == 2 and f" {key} is refused" in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert list(home.iterdir()) == [] and posts(blog) == []


def test_a_trusted_archive_may_set_them(run_cli, tmp_path: Path, xdg: Path, capture: HTTPServer) -> None:
    blog = _blog(run_cli, tmp_path, f'connect_to = ["mp.weixin.qq.com={capture.url_for("/")}"]\n')
    xdg.write_text(f'trusted_archives = ["{blog}"]\n', encoding="utf-8")
    r = run_cli("get", URL, "--out", blog, "--no-images", "--json", "--no-learn")
    assert r.code == 0, r.err
    assert len(capture.log) == 1 and len(posts(blog)) == 1
    xdg.write_text('trusted_archives = "~/elsewhere"\n', encoding="utf-8")  # another folder: refused again
    assert run_cli("get", URL, "--out", blog, "--no-images", "--force").code == 2


def test_the_command_line_and_the_environment_still_route(run_cli, tmp_path: Path, xdg: Path, capture: HTTPServer,
                                                          monkeypatch) -> None:  # type: ignore[no-untyped-def]
    blog = _blog(run_cli, tmp_path, "no-images = true\n")  # harmless options stay accepted
    r = run_cli("get", URL, "--out", blog, "--no-learn", "--connect-to", f"mp.weixin.qq.com={capture.url_for('/')}")
    assert r.code == 0, r.err
    monkeypatch.setenv("WXARCHIVE_CONNECT_TO", f"mp.weixin.qq.com={capture.url_for('/')}")
    assert run_cli("get", URL, "--out", blog, "--force", "--no-learn").code == 0
    assert len(capture.log) == 2


def test_user_only_names_every_option_that_points_outside() -> None:
    """Any option taking a host, URL or file (but the archive itself) is user-only: a new one cannot slip by."""
    from wxarchive.cli import build_parser

    ap = build_parser()
    subs = next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction)).choices
    outward = {a.dest for p in subs.values() for a in p._actions if a.option_strings and a.dest != "out"
               and any(w in (a.metavar or "") for w in ("FILE", "URL", "HOST", "CMD", "COMMAND"))}
    user_only = getattr(config, "USER_ONLY", frozenset())
    assert outward and outward <= user_only, outward - user_only


def _one_line(r) -> bool:  # type: ignore[no-untyped-def]
    return r.code == 2 and len(r.err.strip().splitlines()) == 1


def test_a_fifo_as_wxarchive_toml_is_one_line_not_a_hang(run_cli, tmp_path: Path, xdg: Path) -> None:
    blog = tmp_path / "blog"
    blog.mkdir()
    os.mkfifo(blog / "wxarchive.toml")
    result: list = []
    t = threading.Thread(target=lambda: result.append(run_cli("get", fixture_page("article-2024-modern"), "--out",
                                                              blog, "--no-images")), daemon=True)
    t.start()
    t.join(20)
    if t.is_alive():  # unblock the reader so the test process can end, then fail
        with open(blog / "wxarchive.toml", "w"):
            pass
        pytest.fail("reading a FIFO wxarchive.toml hangs")
    assert _one_line(result[0]) and "not a regular file" in result[0].err, result[0].err


@pytest.mark.parametrize("make,needle", [
    (lambda p: p.symlink_to("/dev/zero"), "not a regular file"),
    (lambda p: p.mkdir(), "not a regular file"),
    (lambda p: p.write_bytes(b"# pad\n" * 200_000), "over 1 MB"),
    (lambda p: p.write_text("a = " + "[" * 3000 + "]" * 3000 + "\n"), "nested too deep"),
    (lambda p: p.write_text("a = " + "{b = " * 3000 + "1" + "}" * 3000 + "\n"), "nested too deep"),
])
def test_a_hostile_wxarchive_toml_is_one_line(run_cli, tmp_path: Path, xdg: Path, make, needle: str) -> None:  # type: ignore[no-untyped-def]
    blog = tmp_path / "blog"
    blog.mkdir()
    make(blog / "wxarchive.toml")
    for cmd in (["get", fixture_page("article-2024-modern"), "--no-images"], ["harvest"], ["check"]):
        r = run_cli(*cmd, "--out", blog)
        assert _one_line(r) and needle in r.err, (cmd, r.code, r.err[-400:])
