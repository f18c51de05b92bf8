"""An outage is not a verdict (issue 11): with the network down a run stops early, counts nothing
against the articles, and says so in one line; attempts are spaced in time."""
from __future__ import annotations

import socket
import sqlite3
import time
from pathlib import Path

import pytest
from werkzeug.wrappers import Request, Response

from batch_fake import FakeWeChat, connect_args, make_articles, posts, server  # noqa: F401  (fixture)
from wxarchive.net.fetch import Fetcher
from wxarchive.archive.store import Store


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(Fetcher, "_wait", lambda self, state: 0.0)


def _dead_port() -> int:
    """A port on which nothing listens: every connection is refused, as with the network down."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _states(root: Path) -> list[tuple]:
    db = root / ".wxarchive" / "state.sqlite3"
    if not db.exists():
        return []
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT key, status, attempts FROM articles ORDER BY key").fetchall()
    finally:
        con.close()


def test_import_with_the_network_down_stops_early_and_counts_nothing(run_cli, tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    arts = make_articles(8)
    lst = tmp_path / "links.txt"
    lst.write_text("\n".join(a.url() for a in arts) + "\n", encoding="utf-8")
    root = tmp_path / "arch"
    down = f"http://127.0.0.1:{_dead_port()}"
    dead = ["--connect-to", f"mp.weixin.qq.com={down}", "--connect-to", f"mmbiz.qpic.cn={down}"]
    for _ in range(4):  # four offline cron runs: nothing is given up
        r = run_cli("import", lst, "--out", root, "--delay", "0", "--max-attempts", "3", "--attempt-gap", "0", *dead)
        assert r.code == 1
        lines = r.err.strip().splitlines()
        assert len(lines) == 1 and "network looks down" in lines[0] and "5 link(s) not tried" in lines[0], r.err
        assert r.out == ""
        assert all(s[1] != "gave_up" and s[2] == 0 for s in _states(root)), _states(root)
    # --json: a line per link, the ones never reached say so
    r = run_cli("import", lst, "--out", root, "--delay", "0", "--json", *dead)
    assert [x["error"] for x in r.lines] == ["network"] * 8
    assert sum("not tried" in x["message"] for x in r.lines) == 5
    # the network is back: everything is archived
    FakeWeChat(server, arts).install()
    r = run_cli("import", lst, "--out", root, "--delay", "0", *connect_args(server))
    assert r.code == 0, r.err
    assert len(posts(root)) == 8


def test_get_with_the_network_down_counts_nothing(run_cli, tmp_path: Path) -> None:
    arts = make_articles(2)
    root = tmp_path / "arch"
    down = f"http://127.0.0.1:{_dead_port()}"
    r = run_cli("get", *(a.url() for a in arts), "--out", root, "--attempt-gap", "0", "--max-attempts", "1",
                "--connect-to", f"mp.weixin.qq.com={down}")
    assert r.code == 1
    lines = r.err.strip().splitlines()
    assert len(lines) == 2 and all("not counted" in ln for ln in lines), r.err
    assert all(s[2] == 0 and s[1] != "gave_up" for s in _states(root))


def test_harvest_with_the_network_down_keeps_everything_pending(run_cli, tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    arts = make_articles(5)
    lst = tmp_path / "links.txt"
    lst.write_text("\n".join(a.url() for a in arts) + "\n", encoding="utf-8")
    root = tmp_path / "arch"
    root.mkdir()
    (root / "wxarchive.toml").write_text(f'[[sources]]\npath = "{lst}"\n', encoding="utf-8")
    down = f"http://127.0.0.1:{_dead_port()}"
    for _ in range(3):
        r = run_cli("harvest", "--out", root, "--delay", "0", "--attempt-gap", "0",
                    "--connect-to", f"mp.weixin.qq.com={down}")
        assert r.code == 1
        assert len(r.err.strip().splitlines()) == 1 and "network looks down" in r.err
    assert all(s[2] == 0 for s in _states(root))
    FakeWeChat(server, arts).install()
    r = run_cli("harvest", "--out", root, "--delay", "0", *connect_args(server))
    assert (r.code, r.err) == (0, "")
    assert len(posts(root)) == 5


def test_a_timeout_while_the_network_works_is_counted(run_cli, tmp_path: Path, server) -> None:  # type: ignore[no-untyped-def]
    arts = make_articles(3)
    fake = FakeWeChat(server, arts)
    slow = arts[1]
    real = fake._article

    def handler(request: Request) -> Response:
        if request.args.get("mid") == str(slow.mid):
            time.sleep(1.5)  # longer than --timeout: no answer, though the network works
        return real(request)

    fake._article = handler  # type: ignore[method-assign]
    fake.install()
    lst = tmp_path / "links.txt"
    lst.write_text("\n".join(a.url() for a in arts) + "\n", encoding="utf-8")
    root = tmp_path / "arch"
    r = run_cli("import", lst, "--out", root, "--delay", "0", "--timeout", "0.3", "--json", *connect_args(server))
    assert r.code == 1
    assert [x["status"] for x in r.lines] == ["archived", "failed", "archived"]
    assert dict((k, a) for k, _s, a in _states(root))[slow.key] == 1  # a real failure of that article


def test_attempts_are_spaced_in_time(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite3") as st:
        key, url = "b:1:1", "https://mp.weixin.qq.com/s?__biz=b&mid=1&idx=1"
        assert st.record_failure(key, url, "layout", "x", False, 3, min_gap=3600) == 1
        assert st.record_failure(key, url, "layout", "y", False, 3, min_gap=3600) == 1  # same hour: same attempt
        assert st.get(key).error_msg == "y"
        st.db.execute("UPDATE articles SET updated_at = updated_at - 7200")
        assert st.record_failure(key, url, "layout", "z", False, 3, min_gap=3600) == 2
        assert st.record_failure(key, url, "deleted", "gone", True, 3, min_gap=3600) == 3  # permanent: at once
        assert st.get(key).status == "gave_up"
