"""Issue 23, friction with option names: no abbreviations, -o is a folder (not a yt-dlp template),
--delay -1 and --user-agent '' refused, init --out DIR."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

PAGE = REPO / "fixtures" / "article-2024-modern" / "page.html"


def wx(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WXARCHIVE_")}
    return subprocess.run([sys.executable, "-m", "wxarchive", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=60, cwd=cwd)


@pytest.mark.parametrize("args", [["import", "x.txt", "--max", "3"], ["get", "x", "--retry"], ["check", "--old", "3d"],
                                  ["ls", "--js"]])
def test_abbreviations_are_not_options(tmp_path: Path, args: list[str]) -> None:
    r = wx(*args, "--out", tmp_path / "a", cwd=tmp_path)
    assert r.returncode == 2 and "unrecognized arguments" in r.stderr, r.stderr


def test_an_output_template_is_not_a_folder(tmp_path: Path) -> None:
    for args in (["get", PAGE, "-o", "%(title)s.md"], ["init", "%(title)s"]):
        r = wx(*args, cwd=tmp_path)
        assert r.returncode == 2 and "archive's folder" in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, said", [(["--delay", "-1"], "--delay must be 0 seconds or more"),
                                        (["--user-agent", ""], "--user-agent must not be empty"),
                                        (["--user-agent", "  "], "--user-agent must not be empty")])
def test_nonsense_values_are_refused(tmp_path: Path, args: list[str], said: str) -> None:
    r = wx("get", PAGE, "--out", tmp_path / "a", *args)
    assert r.returncode == 2 and said in r.stderr, r.stderr
    assert not (tmp_path / "a").exists()


def test_init_takes_out_as_every_command_does(tmp_path: Path) -> None:
    r = wx("init", "--out", tmp_path / "blog")
    assert r.returncode == 0 and (tmp_path / "blog" / "wxarchive.toml").is_file(), r.stderr
    r = wx("init", tmp_path / "x", "--out", tmp_path / "y")
    assert r.returncode == 2 and "once" in r.stderr


def test_get_dry_run_asks_nothing_and_writes_nothing(tmp_path: Path) -> None:
    url = "https://mp.weixin.qq.com/s?__biz=MzA5OTk5OTk5OQ==&mid=2650000901&idx=1&sn=abc&chksm=1#rd"
    r = wx("get", url, PAGE, "--out", tmp_path / "a", "--dry-run", "--connect-to", "mp.weixin.qq.com=http://127.0.0.1:9")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].split() == ["new", url.split("&chksm")[0]]
    assert "get --dry-run: 2 would be fetched" in r.stderr
    assert not (tmp_path / "a").exists()
    r = wx("get", PAGE, "--out", tmp_path / "a", "--no-images")
    assert r.returncode == 0, r.stderr
    r = wx("get", PAGE, "--out", tmp_path / "a", "--dry-run", "--json")
    assert r.returncode == 0 and '"dry_run": true' in r.stdout
    r = wx("get", "https://example.com/x", "--out", tmp_path / "a", "--dry-run")
    assert r.returncode == 2 and "not a WeChat article URL" in r.stderr


def test_get_from_stdin_says_get(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WXARCHIVE_")}
    r = subprocess.run([sys.executable, "-m", "wxarchive", "get", "-", "--out", str(tmp_path / "a"), "--dry-run"],
                       input="https://mp.weixin.qq.com/s/AAAAAAAAAAAAAAAAAAAAAA\n", capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 0 and "get --dry-run: 1 would be fetched" in r.stderr and "import" not in r.stderr


def test_images_not_saved_are_one_line_per_article(tmp_path: Path) -> None:
    """Issue 23: a newcomer offline saw one warning per image. Now one line for the article (how many,
    why, that the next run tries again); each image's URL at -v."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WXARCHIVE_")}
    env["WXARCHIVE_CONNECT_TO"] = "mmbiz.qpic.cn=http://127.0.0.1:9"  # nothing listens
    for verbose in ([], ["-v"]):
        r = subprocess.run([sys.executable, "-m", "wxarchive", "get", str(PAGE), "--out", str(tmp_path / "a"),
                            "--timeout", "2", "--force", *verbose], capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == 4, r.stderr
        said = [ln for ln in r.stderr.splitlines() if "not saved" in ln]
        one = [ln for ln in said if "2 images not saved" in ln]
        assert len(one) == 1 and "next run tries again" in one[0] and "mmbiz" not in one[0], r.stderr
        assert len(said) == (3 if verbose else 1), r.stderr
