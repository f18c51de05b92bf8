"""Issue 23 item 6: for every option that several sources can set, the command line wins over the
environment, which wins over the config file. Checked by which local server a real run asks."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TESTS

sys.path.insert(0, str(TESTS / "fuzz"))
import wxpages  # noqa: E402
from wxpages import RawServer  # noqa: E402

URL = wxpages.article_url(2650000801)


def _answer(conn, req) -> None:  # type: ignore[no-untyped-def]
    body = wxpages.page("先后", mid=2650000801)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body) + body)


def run(tmp_path: Path, config: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    home = tmp_path / "xdg"
    (home / "wxarchive").mkdir(parents=True, exist_ok=True)
    (home / "wxarchive" / "config.toml").write_text(config, encoding="utf-8")
    base = {k: v for k, v in os.environ.items() if not k.startswith("WXARCHIVE_") and "proxy" not in k.lower()}
    return subprocess.run([sys.executable, "-m", "wxarchive", "get", URL, "--out", str(tmp_path / "arch"),
                           "--no-images", "--delay", "0", "--timeout", "2", *args],
                          env={**base, "XDG_CONFIG_HOME": str(home), **env}, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("given", ["config", "config+env", "config+env+command line"])
def test_connect_to(tmp_path: Path, given: str) -> None:
    with RawServer(_answer) as conf, RawServer(_answer) as envs, RawServer(_answer) as cli:
        config = f'connect-to = ["mp.weixin.qq.com={conf.url}"]\n'
        env = {"WXARCHIVE_CONNECT_TO": f"mp.weixin.qq.com={envs.url}"} if "env" in given else {}
        args = ["--connect-to", f"mp.weixin.qq.com={cli.url}"] if "command line" in given else []
        r = run(tmp_path, config, env, *args)
        asked = {name: len(s.requests) for name, s in (("config", conf), ("env", envs), ("command line", cli))}
    assert r.returncode == 0, r.stderr
    want = given.split("+")[-1]
    assert asked == {k: int(k == want) for k in asked}, asked


@pytest.mark.parametrize("given", ["config", "config+env", "config+env+command line"])
def test_proxy(tmp_path: Path, given: str) -> None:
    """The proxies only record that they were asked (a CONNECT); the run itself fails, as it should."""
    def record(conn, req) -> None:  # type: ignore[no-untyped-def]
        conn.close()

    with RawServer(record) as conf, RawServer(record) as envs, RawServer(record) as cli:
        config = f'proxy = "{conf.url}"\n'
        env = {"HTTPS_PROXY": envs.url} if "env" in given else {}
        args = ["--proxy", cli.url] if "command line" in given else []
        run(tmp_path, config, env, "--max-attempts", "1", *args)
        asked = {name: len(s.requests) for name, s in (("config", conf), ("env", envs), ("command line", cli))}
    want = given.split("+")[-1]
    assert asked[want] >= 1 and all(n == 0 for k, n in asked.items() if k != want), asked


def test_v_says_the_versions_and_where_each_setting_came_from(tmp_path: Path) -> None:
    r = run(tmp_path, "delay = 4\ntimeout = 9\n", {"WXARCHIVE_CONNECT_TO": "mp.weixin.qq.com=http://127.0.0.1:9"},
            "--dry-run", "-v")
    lines = r.stderr.splitlines()
    assert lines[0].startswith("wxarchive: wxarchive ") and "Python 3." in lines[0] and "httpx" in lines[0], r.stderr
    settings = lines[1]
    assert "delay=0.0 (command line)" in settings and "timeout=2.0 (command line)" in settings, settings
    assert "connect-to='mp.weixin.qq.com=http://127.0.0.1:9' (environment WXARCHIVE_CONNECT_TO)" in settings
    r = run(tmp_path, "max-attempts = 7\n", {}, "--dry-run", "-v")
    assert "max-attempts=7 (config file)" in r.stderr.splitlines()[1], r.stderr


def test_one_post_path_form_joins_get_check_and_ls(tmp_path: Path) -> None:
    """Issue 23: every command names a post the same way in its output and --json (the path from the
    current directory, --out joined), so `check --json` and `ls --json` join on it."""
    import json

    with RawServer(_answer) as srv:
        route = ["--connect-to", f"mp.weixin.qq.com={srv.url}"]
        got = run(tmp_path, "", {}, "--json", *route)
        assert got.returncode == 0, got.stderr
        env = {k: v for k, v in os.environ.items() if not k.startswith("WXARCHIVE_")}
        out = ["--out", str(tmp_path / "arch")]
        check = subprocess.run([sys.executable, "-m", "wxarchive", "check", "--json", "--delay", "0", *out, *route],
                               capture_output=True, text=True, env=env, timeout=60)
        ls = subprocess.run([sys.executable, "-m", "wxarchive", "ls", "--json", *out], capture_output=True, text=True,
                            env=env, timeout=60)
    posts = [json.loads(p.stdout.splitlines()[0])["post"] for p in (got, check, ls)]
    assert posts[0] == posts[1] == posts[2], posts
    assert Path(posts[0]).is_file()
