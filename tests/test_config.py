"""User config file and the archive's [options] (issue 11): defaults for any option, the command line wins."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import fixture_page, posts

PAGE = fixture_page("article-2024-modern")


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    d = tmp_path / "xdg"
    (d / "wxarchive").mkdir(parents=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(d))
    work = tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.chdir(work)
    return d / "wxarchive" / "config.toml"


def test_user_config_sets_the_archive_and_options(run_cli, tmp_path: Path, xdg: Path) -> None:
    blog = tmp_path / "blog"
    xdg.write_text(f'out = "{blog}"\ntimeout = 7\n\n[get]\nno-images = true\n', encoding="utf-8")
    r = run_cli("get", PAGE, "--json")
    assert r.code == 0, r.err
    assert len(posts(blog)) == 1 and not Path("archive").exists()  # cron in any folder finds the same archive
    assert "mmbiz.qpic.cn" in posts(blog)[0].read_text(encoding="utf-8")  # [get] no-images applied
    # the command line wins
    other = tmp_path / "other"
    assert run_cli("get", PAGE, "--out", other).code == 0 and len(posts(other)) == 1
    # --ignore-config: the built-in default (./archive)
    assert run_cli("get", PAGE, "--no-images", "--ignore-config").code == 0
    assert len(posts(Path("archive"))) == 1


def test_config_file_flag_and_archive_options(run_cli, tmp_path: Path, xdg: Path) -> None:
    blog = tmp_path / "blog"
    alt = tmp_path / "alt.toml"
    alt.write_text(f'out = "{blog}"\n', encoding="utf-8")
    assert run_cli("init", blog).code == 0
    toml = blog / "wxarchive.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "\n[options]\nno-images = true\nkeep_footers = true\n",
                    encoding="utf-8")
    r = run_cli("get", PAGE, "--config", alt, "--json")
    assert r.code == 0, r.err
    assert r.json["images"]["failed"] == 0  # the archive's [options] no-images
    kept = posts(blog)[0].read_text(encoding="utf-8")
    ref = tmp_path / "ref"
    assert run_cli("get", PAGE, "--out", ref, "--no-images", "--ignore-config").code == 0
    assert len(kept) > len(posts(ref)[0].read_text(encoding="utf-8"))  # keep_footers from [options]


@pytest.mark.parametrize("text,needle", [("delay = \"soon\"\n", "delay"),
                                         ("no-images = \"yes\"\n", "true or false"),
                                         ("delay = [\n", "not valid TOML")])
def test_a_bad_config_is_one_line(run_cli, tmp_path: Path, xdg: Path, text: str, needle: str) -> None:
    xdg.write_text(text, encoding="utf-8")
    r = run_cli("get", PAGE, "--out", tmp_path / "a")
    assert r.code == 2 and needle in r.err and len(r.err.strip().splitlines()) == 1, r.err


def test_missing_config_file_flag(run_cli, tmp_path: Path, xdg: Path) -> None:
    r = run_cli("get", PAGE, "--config", tmp_path / "nope.toml")
    assert r.code == 2 and "no such file" in r.err


@pytest.mark.parametrize("xdg_value", [None, "", "   ", "/srv/cfg", "relative/cfg"])
def test_config_path_is_where_platformdirs_looks(monkeypatch, xdg_value: str | None) -> None:  # type: ignore[no-untyped-def]
    """The Linux fast path (no platformdirs import at start-up) names the file platformdirs would."""
    import platformdirs

    from wxarchive.config import user_config_path

    if xdg_value is None:
        monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CONFIG_HOME", xdg_value)
    assert user_config_path() == Path(platformdirs.user_config_dir("wxarchive")) / "config.toml"


def test_config_keys_are_still_checked_against_every_command(run_cli, tmp_path: Path, xdg: Path) -> None:
    """A config read by `get` is checked against every command: a top-level key
    only harvest has (max) is accepted, one no command has is refused, a table that is no command is named."""
    out = str(tmp_path / "a")
    xdg.write_text('max = 5\n[harvest]\nmax = 5\n', encoding="utf-8")
    r = run_cli("get", PAGE, "--json", "--no-images", "--out", out)
    assert r.code == 0, r.err
    xdg.write_text('maxx = 5\n', encoding="utf-8")
    r = run_cli("get", PAGE, "--json", "--no-images", "--out", out, "--force")
    assert r.code == 0 and "warning" in r.err and "unknown option 'maxx'" in r.err, r.err
    xdg.write_text('[gett]\ndelay = 5\n', encoding="utf-8")
    r = run_cli("get", PAGE, "--json", "--no-images", "--out", out, "--force")
    assert r.code == 0 and "[gett] is not a command" in r.err, r.err


@pytest.mark.parametrize("command", [["get", PAGE, "--no-images"], ["status"], ["ls"], ["rebuild", "--no-images"],
                                     ["check", "--dry-run"], ["show", "nope:1:1"]])
def test_an_unknown_key_in_the_user_config_is_a_warning_for_every_command(run_cli, tmp_path: Path, xdg: Path,
                                                                          command: list) -> None:
    """Issue 23: one config serves every command and every version: a key none knows is one warning line on
    stderr and is ignored, whatever the command; it never stops the command (a wrong value still does)."""
    blog = tmp_path / "blog"
    assert run_cli("get", PAGE, "--out", blog, "--no-images", "--ignore-config").code == 0
    xdg.write_text('dealy = 3\n[fetch]\ndelay = 1\n', encoding="utf-8")
    r = run_cli(*command, "--out", blog)
    warnings = [ln for ln in r.err.splitlines() if "warning" in ln]
    assert len(warnings) == 2 and "unknown option 'dealy'" in r.err and "[fetch] is not a command" in r.err, r.err
    assert r.code != 1 or command[0] == "show", r.err  # (show of an unknown key is a usage error, 2)


def test_an_unknown_key_in_an_archive_file_is_still_an_error(run_cli, tmp_path: Path, xdg: Path) -> None:
    blog = tmp_path / "blog"
    assert run_cli("init", blog).code == 0
    with (blog / "wxarchive.toml").open("a", encoding="utf-8") as f:
        f.write("\n[options]\ndealy = 3\n")
    r = run_cli("get", PAGE, "--out", blog, "--no-images")
    assert r.code == 2 and "unknown option 'dealy'" in r.err
