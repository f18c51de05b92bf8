"""The built site runs no one's script (issue 12, "Security: the built site"; issue 25, "Untrusted by default").

Every fixture page plus a hostile corpus made here (one page per attack) is archived with
``wxarchive get``; some posts then get a hostile fate written the way ``check`` writes it
(a removed page's reason, an edited title, a migrated account's target). The archive is built
by the real ``jekyll build``, and every HTML file of the built site is parsed as a browser
parses it (html5lib, the HTML5 algorithm); every post's Markdown is rendered by markdown-it
(CommonMark, raw HTML on) as well. A page passes when it holds

* no ``<script>`` the layout did not put there,
* no ``on*=`` event-handler attribute,
* no ``javascript:``, ``vbscript:`` or ``data:`` URL in ``href``/``src`` (or any other URL
  attribute) that the layout did not put there (its ``<link rel="icon" href="data:,">``),
* no ``<iframe>``, ``<object>``, ``<embed>``, ``<meta http-equiv=refresh>``, and no ``style``
  holding ``url(`` or ``expression`` beyond the layout's.

The cases a writer must escape (a ``)`` in a link, a ```` ``` ```` line in code, ``{: …}`` attribute
lists, ``[x](javascript:…)`` as text) failed before issue 10's writer; they are plain tests now.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import html5lib
import pytest
from lxml import html as lxml_html
from markdown_it import MarkdownIt

from wxarchive.jobs.check import apply_fate
from wxarchive.write.original import Fate, SourceStatus
from wxarchive.write.render import split_post
from wxarchive.settings import Settings
from conftest import REPO, TESTS

sys.path.insert(0, str(TESTS / "fuzz"))
import wxpages  # noqa: E402

ROOT = REPO
JEKYLL = shutil.which("jekyll")
REQUIRE = os.environ.get("WXARCHIVE_REQUIRE_JEKYLL", "") not in ("", "0")

_URL_ATTRS = ("href", "src", "action", "formaction", "srcset", "poster", "data", "xlink:href", "background", "cite")
_BAD_SCHEME = re.compile(r"^\s*(?:javascript|vbscript|data):", re.I)
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")
_EMBEDS = ("iframe", "frame", "object", "embed", "applet")
_BAD_STYLE = re.compile(r"url\s*\(|expression", re.I)


def _msg_link_page(mid: int) -> str:
    """A page with no id variables whose msg_link carries markup (canonical URL taken from it)."""
    page = wxpages.page("恶意链接 msg_link", mid=mid).decode()
    for name in ("biz", "mid", "idx", "sn"):
        page = page.replace(f"var {name} = ", f"var x_{name} = ")
    start, end = page.index("var msg_link"), page.index("var _copyright")
    return page[:start] + ('var msg_link = "https://mp.weixin.qq.com/s/Tok\\"\\x3e\\x3cscript\\x3ealert(3)'
                           '\\x3c/script\\x3e\\x3ca href=\\"javascript:alert(3)";\n') + page[end:]


def _share_card_page(mid: int, data_url: str) -> str:
    """An old share card (empty #js_content, the original's link in ``data-url``) pointing at ``data_url``."""
    page = wxpages.page("分享卡片", mid=mid, body="").decode().replace("<p>结尾段落。</p>", "")
    card = (f'<h2 id="original_panel_title">原文标题</h2><div id="js_share_author">原号</div>'
            f'<span data-url="{data_url}" id="js_share_source">阅读全文</span>')
    return page.replace("</body>", card + "</body>")


# name: whole page from its mid (cases a body cannot make)
HOSTILE_PAGES = {
    f"share card data-url {n}": (lambda mid, u=u: _share_card_page(mid, u))
    for n, u in enumerate(("javascript:alert(15)", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxNSk8L3NjcmlwdD4=",
                           "vbscript:msgbox(15)", "javascript&amp;colon;alert(15)", " JaVa&#x09;ScRiPt:alert(15)"))
}

# name: the fate `check` would write into an archived post (its reason, new title or target from a page)
_NOMARKDOWN = "{::nomarkdown}\\<svg/onload=alert(16)\\>{:/}"
HOSTILE_FATES = {
    "check: removed reason with nomarkdown": Fate(SourceStatus.REMOVED, 1.7e9, 1.7e9, 1.7e9, reason=_NOMARKDOWN),
    "check: edited title with nomarkdown": Fate(SourceStatus.EDITED, 1.7e9, 1.7e9, title=_NOMARKDOWN + "<script>alert(16)</script>"),
    "check: migrated target with markup": Fate(SourceStatus.MIGRATED, 1.7e9, 1.7e9, 1.7e9,
                                               target="https://mp.weixin.qq.com/s/x><script>alert(17)</script>"),
    "check: migrated target javascript:": Fate(SourceStatus.MIGRATED, 1.7e9, 1.7e9, 1.7e9,
                                               target="javascript:alert(17)//https://mp.weixin.qq.com/s/x"),
    "check: migrated target data:": Fate(SourceStatus.MIGRATED, 1.7e9, 1.7e9, 1.7e9,
                                         target="data:text/html,<script>alert(17)</script>"),
}

# name: (body HTML, page kwargs, mark). Every case gets its own mid, so its own post.
HOSTILE: dict[str, tuple[str, dict, object]] = {
    "href with )": ('<p><a href="https://example.com/a)&lt;script&gt;alert(1)&lt;/script&gt;">链接</a>。</p>'
                    '<p><a href="https://example.com/b)&lt;img src=x onerror=alert(1)&gt;">图链</a></p>', {}, None),
    "``` inside a code block": ('<pre><code>print(1)\n```\n&lt;script&gt;alert(2)&lt;/script&gt;\n'
                                '&lt;img src=x onerror=alert(2)&gt;\n```\n</code></pre><p>后文</p>', {}, None),
    "kramdown attribute list": ('<p>段落文字</p><p>{: onmouseover="alert(4)" }</p>'
                                '<p>行内 *强调*{: onclick="alert(4)"} 文字</p>', {}, None),
    "[x](javascript:) text": ('<p>[点我](javascript:alert(5)) 和 [数据](data:text/html;base64,PHNjcmlwdD4=) '
                              '和 ![图](javascript:alert(5))</p>', {}, None),
    "javascript: links and handlers in HTML": (
        '<p><a href="javascript:alert(6)">js</a> <a href="JaVaScRiPt:alert(6)">JS</a> '
        '<a href="jav&#x09;ascript:alert(6)">tab</a> <a href="data:text/html,x">data</a> '
        '<a href="vbscript:msgbox(6)">vb</a> <span onclick="alert(6)">点</span> '
        '<img src="javascript:alert(6)"> <img data-src="data:image/png;base64,AAAA"></p>', {}, None),
    "markup as text": ('<p>&lt;script&gt;alert(7)&lt;/script&gt; 以及 &lt;img src=x onerror=alert(7)&gt; '
                       '和 &lt;javascript:alert(7)&gt; 与 &amp;lt;b&amp;gt;</p>', {}, None),
    "hostile title and account": ("<p>正文</p>", {"title": "<script>alert(8)</script>标题",
                                                 "account": '<img src=x onerror="alert(8)">'}, None),
    "image alt and link title": ('<p><img data-src="https://mmbiz.qpic.cn/mmbiz_png/ALTIMGAAAAAAAAAAAAAA/0" '
                                 'alt="x&quot; onerror=&quot;alert(9)"></p><p><a href="https://example.com/" '
                                 'title="&quot; onmouseover=&quot;alert(9)">t</a></p>', {}, None),
    "liquid": ('<p>{% raw %}{{ "&lt;script&gt;alert(10)&lt;/script&gt;" }}{% endraw %} {{ site.x }}</p>', {}, None),
    "ragged table with a malformed tag": (
        '<table><tr><td><x<script>alert(11)</script>a</td><td>b</td></tr><tr><td>c</td></tr></table>'
        '<table><tr><td colspan="2"><x<iframe src=javascript:alert(11)>d</td></tr>'
        '<tr><td><a href="javascript:alert(11)">e</a><img src="data:text/html,x"></td></tr></table>', {}, None),
    "link text holding ](": ('<p><a href="https://example.com/">官网](javascript:alert(12))</a> 与 '
                             '<a href="https://example.com/"><code>](javascript:alert(12))</code></a> 与 '
                             '<a href="https://example.com/">![x](javascript:alert(12))</a></p>', {}, None),
    "entity-spelt schemes": ('<p><a href="javascript&amp;colon;alert(13)">a</a> '
                             '<a href="&#106;avascript:alert(13)">b</a> <a href="java&amp;NewLine;script:alert(13)">c</a>'
                             ' <img src="vbscript&amp;colon;x"></p>', {}, None),
    **{name: ("<p>正文</p>", {}, None) for name in HOSTILE_FATES},
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The archive of fixtures + hostile pages, built by Jekyll: {case: built HTML path}, plus the layouts."""
    if not JEKYLL:
        if REQUIRE:
            pytest.fail("jekyll not on PATH but WXARCHIVE_REQUIRE_JEKYLL is set")
        pytest.skip("jekyll not on PATH (apt-get install jekyll; .ci/run does)")
    root = tmp_path_factory.mktemp("hostile")
    pages_dir = root / "pages"
    pages_dir.mkdir()
    sources, by_mid = [], {}
    for n, (name, (body, kw, _)) in enumerate(HOSTILE.items()):
        mid = 2650009000 + n
        kw = {"title": f"恶意样本 {n}", **kw}
        p = pages_dir / f"hostile-{n}.html"
        p.write_bytes(wxpages.page(mid=mid, body=body, **kw))
        sources.append(p)
        by_mid[str(mid)] = name
    for n, (name, make) in enumerate(HOSTILE_PAGES.items()):
        mid = 2650009100 + n
        p = pages_dir / f"whole-{n}.html"
        p.write_text(make(mid), encoding="utf-8")
        sources.append(p)
        by_mid[str(mid)] = name
    msg = pages_dir / "msg-link.html"
    msg.write_text(_msg_link_page(2650009099), encoding="utf-8")
    sources.append(msg)
    fixtures = sorted(p for p in (ROOT / "fixtures").glob("*/page.html") if (p.parent / "expected.md").exists())
    arch = root / "archive"
    proc = subprocess.run([sys.executable, "-m", "wxarchive", "get", *map(str, sources + fixtures), "--out",
                           str(arch), "--no-images", "--json", "-q"], capture_output=True, text=True, timeout=300)
    outcomes = [json.loads(ln) for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert len(outcomes) == len(sources) + len(fixtures), proc.stderr
    assert all(o["status"] == "archived" for o in outcomes), [o for o in outcomes if o["status"] != "archived"]
    fates = {mid: HOSTILE_FATES[name] for mid, name in by_mid.items() if name in HOSTILE_FATES}
    for post in (arch / "_posts").glob("*.md"):
        text = post.read_text(encoding="utf-8")
        mid = str(split_post(text)[0].get("mid"))
        if mid in fates:  # as `check` writes it (Checker._write calls apply_fate)
            post.write_text(apply_fate(text, fates[mid], Settings()), encoding="utf-8")
    assert sum(1 for p in (arch / "_posts").glob("*.md") if "source_status" in p.read_text()) == len(fates)
    out = root / "site"
    build = subprocess.run([JEKYLL, "build", "--source", str(arch), "--destination", str(out)],
                           cwd=root, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    built: dict[str, Path] = {}
    for page in out.rglob("*.html"):
        doc = lxml_html.fromstring(page.read_bytes())
        src = " ".join(doc.xpath('//p[@class="meta"]/a/@href'))
        m = re.search(r"mid=(\d+)", src)
        if m and m.group(1) in by_mid:
            built[by_mid[m.group(1)]] = page
        elif "/s/Tok" in src:
            built["msg_link without id variables"] = page
        elif src:
            built.setdefault("fixture:" + str(page.relative_to(out)), page)
    layouts = [lxml_html.fromstring(p.read_bytes()) for p in sorted((arch / "_layouts").glob("*.html"))
               if p.read_text().strip()]
    return {"pages": built, "layouts": layouts, "site": out, "archive": arch}


def _layout_allows(layouts: list) -> tuple[set[str], set[tuple[str, str, str]]]:
    scripts = {(s.get("src") or "") + (s.text or "") for d in layouts for s in d.iter("script")}
    urls = {(el.tag, a, el.get(a)) for d in layouts for el in d.iter() if isinstance(el.tag, str)
            for a in _URL_ATTRS if el.get(a) is not None and _BAD_SCHEME.match(_INVISIBLE.sub("", el.get(a)))}
    return scripts, urls


def live_script(page: Path, layouts: list) -> list[str]:
    """Everything in a built page that could run script, beyond what the layout put there."""
    return hazards(page.read_bytes(), layouts)


def hazards(markup: bytes | str, layouts: list) -> list[str]:
    """What in ``markup``, parsed as a browser parses HTML5, could run script or load a page, beyond the layout's."""
    scripts, urls = _layout_allows(layouts)
    styles = {(s.text or "") for d in layouts for s in d.iter("style")}
    doc = html5lib.parse(markup, treebuilder="etree", namespaceHTMLElements=False)  # (lxml would rename a tag)
    found = []
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower().rpartition("}")[2]
        if tag == "script" and (el.get("src") or "") + (el.text or "") not in scripts:
            found.append(f"<script>{(el.text or el.get('src') or '')[:60]}")
        if tag in _EMBEDS:
            found.append(f"<{tag}>")
        if tag == "meta" and (el.get("http-equiv") or "").strip().lower() == "refresh":
            found.append("<meta http-equiv=refresh>")
        if tag == "style" and _BAD_STYLE.search(el.text or "") and (el.text or "") not in styles:
            found.append(f"<style>{(el.text or '')[:40]}")
        for attr, value in el.attrib.items():
            name = attr.lower().rpartition("}")[2]
            if name.startswith("on"):
                found.append(f"<{tag} {attr}={value[:40]!r}>")
            if name == "style" and _BAD_STYLE.search(value):
                found.append(f"<{tag} style={value[:40]!r}>")
            if (name in _URL_ATTRS or attr.lower() in _URL_ATTRS) and _BAD_SCHEME.match(_INVISIBLE.sub("", value)) \
                    and (el.tag, attr, value) not in urls:
                found.append(f"<{tag} {attr}={value[:40]!r}>")
    return found


def _markdown_it(post: Path) -> str:
    """A post's body as CommonMark (raw HTML on, as Jekyll's other renderers and GitHub's previews show it)."""
    return MarkdownIt("commonmark").enable("table").enable("strikethrough").render(
        split_post(post.read_text(encoding="utf-8"))[1])


@pytest.mark.parametrize("case", [pytest.param(name, marks=[m] if m else []) for name, (_, _, m) in HOSTILE.items()]
                         + list(HOSTILE_PAGES) + ["msg_link without id variables"])
def test_hostile_page_builds_to_a_page_without_live_script(site: dict, case: str) -> None:
    page = site["pages"].get(case)
    assert page is not None, f"no built page for {case}: {sorted(site['pages'])}"
    assert live_script(page, site["layouts"]) == []


def test_fixture_pages_build_without_live_script(site: dict) -> None:
    fixtures = {k: p for k, p in site["pages"].items() if k.startswith("fixture:")}
    assert len(fixtures) >= 10
    bad = {k: live_script(p, site["layouts"]) for k, p in fixtures.items()}
    assert {k: v for k, v in bad.items() if v} == {}


def test_every_built_page_is_checked(site: dict) -> None:
    """The index and every other page of the built site carry nothing live either."""
    bad = {str(p.relative_to(site["site"])): live_script(p, site["layouts"]) for p in site["site"].rglob("*.html")}
    hostile = {str(p.relative_to(site["site"])) for k, p in site["pages"].items() if not k.startswith("fixture:")}
    assert {k: v for k, v in bad.items() if v and k not in hostile} == {}


def test_every_post_rendered_by_markdown_it_is_inert(site: dict) -> None:
    """The same posts under CommonMark (markdown-it): no renderer turns them into live script either."""
    bad = {p.name: hazards(f"<html><body>{_markdown_it(p)}</body></html>", [])
           for p in (site["archive"] / "_posts").glob("*.md")}
    assert len(bad) >= len(HOSTILE) + len(HOSTILE_PAGES)
    assert {k: v for k, v in bad.items() if v} == {}


def test_hostile_text_stays_readable(site: dict) -> None:
    """Made inert, not dropped: a link's hostile text, a removed page's reason and a share card's note are shown."""
    text = {k: lxml_html.fromstring(p.read_bytes()).text_content() for k, p in site["pages"].items()}
    assert "官网](javascript:alert(12))" in text["link text holding ]("]
    assert "{::nomarkdown}" in text["check: removed reason with nomarkdown"]
    assert "原文标题" in text["share card data-url 0"]  # the link to the original is its text


def test_the_checker_sees_live_script(tmp_path: Path) -> None:
    """The checker itself, on a page with each kind of live script (a test that cannot fail is a defect)."""
    page = tmp_path / "p.html"
    for snippet in ("<script>alert(1)</script>", '<img src=x onerror="alert(1)">', '<a href="javascript:x">a</a>',
                    '<a href=" JaVa\tScRiPt:x">a</a>', '<iframe src="data:text/html,x"></iframe>',
                    '<a href="java&#x0A;script:x">a</a>', '<object data="x.swf"></object>', '<embed src="x">',
                    '<meta http-equiv="Refresh" content="0;url=https://e.com">', '<div style="background:url(x)">a</div>',
                    '<style>p{width:expression(alert(1))}</style>', '<svg><a xlink:href="javascript:x">a</a></svg>'):
        page.write_text(f"<html><body><p>{snippet}</p></body></html>")
        assert live_script(page, []), snippet
    page.write_text('<html><head><link rel="icon" href="data:,"></head><body><p>ok</p></body></html>')
    layout = lxml_html.fromstring('<html><head><link rel="icon" href="data:,"></head></html>')
    assert live_script(page, [layout]) == []
