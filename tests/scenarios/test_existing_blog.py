"""Someone's existing Jekyll blog is theirs (issue 11): no layout that shadows their theme, their
_config.yml untouched, one line of advice, no theme-specific front matter assumed."""
from __future__ import annotations

from pathlib import Path

from conftest import fixture_page, posts
from wxarchive.write.render import split_post

PAGE = fixture_page("article-2024-modern")
CONFIG = "title: My blog\ntheme: minima\nplugins:\n  - jekyll-feed\n"


def _blog(tmp_path: Path) -> Path:
    blog = tmp_path / "myblog"
    blog.mkdir()
    (blog / "_config.yml").write_text(CONFIG, encoding="utf-8")
    (blog / "index.md").write_text("---\nlayout: home\n---\n", encoding="utf-8")
    return blog


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".wxarchive" not in p.parts}


def test_get_into_a_themed_blog_adds_no_layout_and_keeps_config(run_cli, tmp_path: Path) -> None:
    blog = _blog(tmp_path)
    r = run_cli("get", PAGE, "--out", blog, "--no-images")
    assert r.code == 0, r.err
    assert (blog / "_config.yml").read_text(encoding="utf-8") == CONFIG
    assert not (blog / "_layouts").exists() and not (blog / "index.html").exists()
    assert _files(blog) == {"_config.yml", "index.md", "wxarchive.toml", str(posts(blog)[0].relative_to(blog))}
    advice = [ln for ln in r.err.splitlines() if "_config.yml" in ln]
    assert len(advice) == 1 and "timezone: Asia/Shanghai" in advice[0] and "wxarchive.toml" in advice[0]
    assert "exclude" in advice[0] and "not changed" in advice[0]
    fm, _ = split_post(posts(blog)[0].read_text(encoding="utf-8"))
    assert "header-img" not in fm and "catalog" not in fm  # theme-specific keys are not assumed
    # said once, on first use
    r = run_cli("get", PAGE, "--out", blog, "--no-images", "--force")
    assert r.code == 0 and "_config.yml" not in r.err


def test_init_into_a_blog_that_has_what_it_needs_says_nothing(run_cli, tmp_path: Path) -> None:
    blog = _blog(tmp_path)
    cfg = CONFIG + "timezone: Asia/Shanghai\nexclude:\n  - wxarchive.toml\n"
    (blog / "_config.yml").write_text(cfg, encoding="utf-8")
    r = run_cli("init", blog)
    assert r.code == 0 and r.err == ""
    assert (blog / "_config.yml").read_text(encoding="utf-8") == cfg
    assert not (blog / "_layouts").exists()


def test_theme_keys_come_from_wxarchive_toml(run_cli, tmp_path: Path) -> None:
    blog = _blog(tmp_path)
    assert run_cli("init", blog).code == 0
    toml = blog / "wxarchive.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('# header_img = "img/the-first.png"',
                                                            'header_img = "img/cover.png"'), encoding="utf-8")
    assert run_cli("get", PAGE, "--out", blog, "--no-images").code == 0
    fm, _ = split_post(posts(blog)[0].read_text(encoding="utf-8"))
    assert fm["header-img"] == "img/cover.png" and "catalog" not in fm


def test_a_fresh_folder_still_gets_a_whole_site(run_cli, tmp_path: Path) -> None:
    root = tmp_path / "new"
    assert run_cli("get", PAGE, "--out", root, "--no-images").code == 0
    assert (root / "_layouts" / "post.html").is_file() and (root / "_config.yml").is_file()
    fm, _ = split_post(posts(root)[0].read_text(encoding="utf-8"))
    assert fm["header-img"] == "img/the-first.png" and fm["catalog"] is False
