"""Odd values from options, config files and a state are one line naming the value, never an internal
error (issue 25, items 10 and 11)."""
from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from conftest import fixture_page

PAGE = fixture_page("article-2024-modern")


def _one_line(r, code: int = 2) -> bool:  # type: ignore[no-untyped-def]
    lines = [ln for ln in r.err.splitlines() if ln.strip()]
    return r.code == code and len(lines) == 1 and "internal error" not in r.err


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    d = tmp_path / "xdg"
    (d / "wxarchive").mkdir(parents=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(d))
    return d / "wxarchive" / "config.toml"


@pytest.mark.parametrize("flag,value", [("--timeout", "inf"), ("--timeout", "1e308"), ("--delay", "inf"),
                                        ("--delay", "1e308"), ("--delay", "nan"), ("--attempt-gap", "inf")])
def test_a_huge_number_of_seconds_is_one_line(run_cli, tmp_path: Path, xdg: Path, flag: str, value: str) -> None:
    r = run_cli("get", PAGE, "--out", tmp_path / "a", "--no-images", flag, value)
    assert _one_line(r) and flag in r.err, r.err
    xdg.write_text(f"{flag[2:]} = {value}\n", encoding="utf-8")  # TOML has inf and nan too
    r = run_cli("get", PAGE, "--out", tmp_path / "a", "--no-images")
    assert _one_line(r) and flag in r.err, r.err


def test_a_user_config_nested_3000_deep_is_one_line(run_cli, tmp_path: Path, xdg: Path) -> None:
    xdg.write_text("delay = " + "[" * 3000 + "]" * 3000 + "\n", encoding="utf-8")
    r = run_cli("get", PAGE, "--out", tmp_path / "a", "--no-images")
    assert _one_line(r) and "nested too deep" in r.err, r.err


@pytest.mark.parametrize("table,needle", [("max = inf", "max"), ("max = -1", "max"), ("account = ['x']", "account"),
                                          ("refetch_edited = 'false'", "refetch_edited"), ("older_than = 1.5", "older_than"),
                                          ("maxx = 3", "maxx")])
def test_a_bad_check_table_is_one_line(run_cli, tmp_path: Path, xdg: Path, table: str, needle: str) -> None:
    blog = tmp_path / "blog"
    assert run_cli("init", blog).code == 0
    toml = blog / "wxarchive.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + f"\n[check]\n{table}\n", encoding="utf-8")
    r = run_cli("harvest", "--out", blog)
    assert _one_line(r) and "[check]" in r.err and needle in r.err, r.err


def _archive(run_cli, out: Path) -> Path:  # type: ignore[no-untyped-def]
    assert run_cli("get", PAGE, "--out", out, "--no-images", "-q").code == 0
    return out / ".wxarchive" / "state.sqlite3"


def test_odd_values_in_a_valid_state(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "a"
    db = _archive(run_cli, out)
    with sqlite3.connect(db) as c:
        c.execute("INSERT OR REPLACE INTO kv(k, v) VALUES ('backoff', ?)", (json.dumps({"until": "abc", "level": "x"}),))
        key = c.execute("SELECT key FROM articles").fetchone()[0]
        c.execute("INSERT INTO fates(key, status, since, checked_at, tried_at, written) VALUES (?, 'bogus', 1, 1, 1, 1)",
                  (key,))
    for cmd in (["status"], ["ls"], ["ls", "--gone"], ["get", PAGE, "--no-images"], ["rebuild"]):
        r = run_cli(*cmd, "--out", out)
        assert r.code == 0 and "internal error" not in r.err, (cmd, r.err)


def test_1200_gzip_layers_are_one_failure_line(run_cli, tmp_path: Path, httpserver: HTTPServer) -> None:
    body = PAGE.read_bytes()
    for _ in range(1200):
        body = gzip.compress(body, 1)
    httpserver.expect_request("/s/GzipLayersAAAAAAAAAAAAA").respond_with_data(
        body, headers={"Content-Encoding": ", ".join(["gzip"] * 1200)}, content_type="text/html")
    r = run_cli("get", "https://mp.weixin.qq.com/s/GzipLayersAAAAAAAAAAAAA", "--out", tmp_path / "a", "--no-images",
                "--connect-to", f"mp.weixin.qq.com={httpserver.url_for('/')}")
    assert r.code == 1 and "Content-Encoding layers" in r.err and "internal error" not in r.err, r.err


@pytest.mark.parametrize("kind", ["folder", "foreign database"])
def test_a_state_that_is_not_ours_is_one_line_and_left_alone(run_cli, tmp_path: Path, kind: str) -> None:
    out = tmp_path / "a"
    db = out / ".wxarchive" / "state.sqlite3"
    db.parent.mkdir(parents=True)
    (out / "_posts").mkdir()
    if kind == "folder":
        db.mkdir()
    else:
        with sqlite3.connect(db) as c:
            c.execute("CREATE TABLE notes(x)")
            c.execute("INSERT INTO notes VALUES ('mine')")
        c.close()
        before = db.read_bytes()
    for cmd in (["status"], ["ls"], ["check"], ["rebuild"], ["get", PAGE, "--no-images"]):
        r = run_cli(*cmd, "--out", out)
        assert r.code != 0 and "internal error" not in r.err and "state.sqlite3" in r.err, (cmd, r.err)
    if kind != "folder":
        assert db.read_bytes() == before  # never migrated into a wxarchive state
