"""The archive's settings: one typed object, its defaults in one place, read from wxarchive.toml's [site]."""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from wxarchive.errors import UsageError
from wxarchive.settings import Settings
from wxarchive.archive.site import Site, _default_table, _default_toml


def test_the_file_laid_down_says_what_the_defaults_are() -> None:
    """The commented template a new archive gets and ``Settings()`` agree (the theme keys only for our own site)."""
    assert Settings.from_table(tomllib.loads(_default_toml(False))["site"], "t") == Settings()
    own = Settings.from_table(tomllib.loads(_default_toml(True))["site"], "t")
    assert own == Settings().replace(header_img="img/the-first.png", catalog=False)


@pytest.mark.parametrize("own_site", [True, False])
def test_the_run_that_lays_the_file_down_reads_what_it_says(tmp_path: Path, own_site: bool) -> None:
    """The settings a first run takes without reading the file back are the file's, as any later run reads them."""
    assert _default_table(own_site) == tomllib.loads(_default_toml(own_site))["site"]
    if not own_site:  # someone's blog: their _config.yml is there
        (tmp_path / "_config.yml").write_text("title: mine\n", encoding="utf-8")
    site = Site.open(tmp_path)
    site.init()
    assert site.settings == Site.open(tmp_path).settings
    assert (site.settings != Settings()) is own_site  # (our own site's file names its theme keys)


def test_read_from_the_archive(tmp_path: Path) -> None:
    (tmp_path / "wxarchive.toml").write_text(
        '[site]\nlayout = "page"\ntags = ["a", "b"]\nliquid = false\nposts_dir = "p"\nunknown = 3\n', encoding="utf-8")
    site = Site.open(tmp_path)
    assert site.settings == Settings().replace(layout="page", tags=("a", "b"), liquid=False, posts_dir="p")
    assert site.posts_dir == tmp_path / "p"
    assert Site.open(tmp_path / "none").settings == Settings()
    with pytest.raises(AttributeError):
        site.settings.layout = "x"  # type: ignore[misc]


@pytest.mark.parametrize(("table", "message"), [
    ({"tags": "abc"}, "t: tags must be a list of strings, like tags = [\"其他\"]; got 'abc'"),
    ({"tags": ["a", 1]}, "t: tags must be a list of strings, like tags = [\"其他\"]; got ['a', 1]"),
    ({"catalog": "no"}, "t: catalog must be a bool, got 'no'"),
    ({"attribution": 1}, "t: attribution must be a bool, got 1"),
    ({"header_img": False}, "t: header_img must be a str, got False"),
    ({"layout": 5}, "t: layout must be a str, got 5"),
    ([1], "t: [site] must be a table"),
])
def test_a_value_of_the_wrong_type_is_a_usage_error(table: object, message: str) -> None:
    with pytest.raises(UsageError) as e:
        Settings.from_table(table, "t")
    assert e.value.message == message


def test_equal_hashable_and_shown() -> None:
    a = Settings(tags=["x"])  # type: ignore[arg-type]
    assert a == Settings(tags=("x",)) and a != Settings() and hash(a) == hash(Settings(tags=("x",)))
    assert a.tags == ("x",) and "tags=('x',)" in repr(a)
    assert a.replace(liquid=False).liquid is False and a.liquid is True
