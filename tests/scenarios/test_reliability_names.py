"""Reliability: titles, names and bodies that attack the file system, YAML, Liquid or HTML."""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import TESTS

sys.path.insert(0, str(TESTS / "fuzz"))
import wxpages  # noqa: E402
from wxpages import check_archive  # noqa: E402

from wxarchive.models import Article, Image  # noqa: E402
from wxarchive.jobs.pipeline import Archiver, Options  # noqa: E402
from wxarchive.write.render import front_matter, render, split_post  # noqa: E402
from wxarchive.settings import Settings  # noqa: E402
from wxarchive.archive.site import Site, slugify  # noqa: E402

LONG = os.environ.get("WXARCHIVE_LONG_TESTS") == "1"
SH = dt.timezone(dt.timedelta(hours=8))

HOSTILE = [
    "/", "\\", "..", "../../etc/passwd", "..\\..\\windows", "a/b\\c", "\x00nul\x00", "\x01\x07\x1b[31mred",
    "CON", "nul.txt", "PRN", "com1", "LPT9.md", "aux", "x" * 1000, "长" * 1000, "\u202eevil\u202dgpj.exe",
    "\u200f\u200e", "🎉🔥" * 30, "yes", "no", "null", "~", "true", "1e3", "0x10", "a: b", "#comment", "---",
    "...", "'quoted'", '"double"', "line1\nline2", "\n---\nlayout: evil\n---\n", "{{ site.title }}",
    "{% include x %}", "{% raw %}", "{% endraw %}", "<script>alert(1)</script>", "javascript:alert(1)",
    "&lt;b&gt;", " ", "\t", "%2e%2e%2f", "@", "!tag", "*alias", "&anchor", "? key", "- item", "|", ">",
    "\ufeffbom", "\u2028sep", "\x85nel", "a\rb", ".hidden", "-leading-dash",
]


def _article(title: str, i: int = 0, **kw) -> Article:
    return Article(url=wxpages.article_url(2650002000 + i), title=title, biz=wxpages.BIZ, mid=str(2650002000 + i),
                   idx="1", canonical_url=wxpages.article_url(2650002000 + i), published=dt.datetime(2021, 5, 4, tzinfo=SH),
                   body_html=kw.pop("body_html", "<p>x</p>"), **kw)


def _fm_block(text: str) -> str:
    m = re.match(r"---\n(.*?\n)---\n", text, re.S)
    assert m
    return m.group(1)


@settings(max_examples=2000 if LONG else 200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(title=st.one_of(st.sampled_from(HOSTILE), st.text(min_size=1, max_size=300)),
       account=st.text(max_size=50), author=st.text(max_size=50), digest=st.text(max_size=100))
def test_front_matter_round_trips_exactly(title: str, account: str, author: str, digest: str) -> None:
    a = _article(title, account=account, author=author, digest=digest)
    text = render(a)
    fm_text = _fm_block(text)
    for line in fm_text.splitlines():
        assert not re.match(r"^(---|\.\.\.)\s*$", line), "a front-matter line would end the block early"
    assert yaml.safe_load(fm_text) == front_matter(a, Settings())
    assert split_post(text)[0]["title"] == title


@settings(max_examples=2000 if LONG else 300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=400)))
def test_slug_and_post_path_stay_inside_posts(title: str) -> None:
    site = Site(root=Path("/archive"), settings=Settings(posts_dir="_posts"))
    slug = slugify(title)
    assert slug and not re.search(r"[/\\\x00-\x1f\x7f\u200e\u200f\u202a-\u202e]", slug)
    assert slug not in (".", "..") and not slug.startswith(".")
    assert slug.split(".")[0].lower() not in {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                                              *(f"lpt{i}" for i in range(10))}
    p = site.post_path(_article(title))
    assert p.parent == Path("/archive/_posts") and len(p.name.encode("utf-8")) <= 255


@settings(max_examples=1000 if LONG else 150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(st.text(alphabet=st.sampled_from(list("{}%#-*_[]()<>!`\\|: \nabc")), max_size=200))
def test_liquid_in_body_is_always_escaped(text: str) -> None:
    """Jekyll never runs the article's text as Liquid: the post turns Liquid off, or guards each ``{{``/``{%``."""
    import html
    a = _article("t", body_html="<p>" + html.escape(text) + "</p>")
    fm, body = split_post(render(a, Settings(attribution=False)))
    if fm.get("render_with_liquid") is False:
        assert "{{" in body or "{%" in body  # turned off only when needed
        return
    rest = re.sub(r"\{% raw %\}(\{\{|\{%)\{% endraw %\}", "", body)
    assert "{{" not in rest and "{%" not in rest


def test_hostile_titles_through_the_pipeline(tmp_path: Path) -> None:
    """Saved pages with hostile titles, links and bodies: each gets its own post inside _posts/."""
    files = []
    for i, title in enumerate(HOSTILE):
        f = tmp_path / "in" / f"p{i}.html"
        f.parent.mkdir(exist_ok=True)
        f.write_bytes(wxpages.page(title.strip() or "x", mid=2650003000 + i, ct=1600000000,
                                   body="<p>{{ site.secret }} {% include evil %}</p><script>alert(1)</script>"
                                        "<p><a href=\"javascript:alert(1)\">js</a> <a href=\"JaVaScRiPt:x\">js2</a></p>",
                                   images=(wxpages.img_url("../../../../etc/passwd"), "https://mmbiz.qpic.cn/%2e%2e/x"),
                                   links=("javascript:alert(2)", "data:text/html,<script>x</script>", "vbscript:x")))
        files.append(str(f))
    out = tmp_path / "archive"
    with Archiver(Options(out=out, no_images=True, delay=(0, 0))) as arch:
        outs = arch.archive_many(files)
    bad = [o.as_json() for o in outs if o.status != "archived"]
    assert not bad, bad
    archived = check_archive(out)
    assert len(archived) == len(HOSTILE) and len(set(archived.values())) == len(HOSTILE)
    for rel in archived.values():
        text = (out / rel).read_text(encoding="utf-8")
        fm, body = split_post(text)
        assert isinstance(fm["title"], str) and fm["layout"] == "post"
        assert "<script" not in body and "javascript:" not in body.lower() and "vbscript:" not in body
        assert "](data:" not in body
        assert fm.get("render_with_liquid") is False and "{% raw %}" not in body  # Liquid off, body clean
    assert sorted(p.name for p in out.iterdir()) == sorted([".wxarchive", ".wxarchive-tmp", "_config.yml", "_layouts",
                                                            "_posts", "gone.html", "index.html", "postimg",
                                                            "wxarchive.toml"])


def test_same_title_same_day_never_share_a_file(tmp_path: Path) -> None:
    files = []
    for i in range(12):
        f = tmp_path / f"s{i}.html"
        f.write_bytes(wxpages.page("同名 / Same: title" if i % 2 else "同名 \\ Same: title", mid=2650004000 + i))
        files.append(str(f))
    out = tmp_path / "archive"
    with Archiver(Options(out=out, no_images=True, delay=(0, 0))) as arch:
        arch.archive_many(files)
        arch.opts.force = True
        arch.archive_many(list(reversed(files)))  # re-archive: names stay distinct
    archived = check_archive(out)
    assert len(archived) == 12 and len(set(archived.values())) == 12
    assert len(list((out / "_posts").glob("*.md"))) == 12


@pytest.mark.parametrize("rel", ["../outside", "/abs/posts", "a/../../b", "..", "\\..\\x"])
def test_configured_folders_cannot_escape_the_archive(tmp_path: Path, rel: str) -> None:
    site = Site(root=tmp_path, settings=Settings(posts_dir=rel, image_dir=rel))
    for d in (site.posts_dir, site.image_dir):
        assert d.resolve().is_relative_to(tmp_path.resolve())


def test_image_names_stay_in_image_folder(tmp_path: Path) -> None:
    from wxarchive.extract.clean import image_name
    for u in ["https://mmbiz.qpic.cn/../../etc/passwd", "https://mmbiz.qpic.cn/mmbiz_png/..%2f..%2fx/0",
              "https://mmbiz.qpic.cn/a/\x00b", "https://mmbiz.qpic.cn/" + "a" * 5000, "https://mmbiz.qpic.cn/.."]:
        n = image_name(u)
        assert n and "/" not in n and "\\" not in n and n not in (".", "..") and len(n) < 100
        assert (tmp_path / f"{n}.png").resolve().parent == tmp_path.resolve()
    assert dataclasses.is_dataclass(Image)
