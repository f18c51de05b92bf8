"""What a command loads: start-up is most of what a short command costs (issue 13).

Each case runs the CLI in a fresh interpreter and lists the heavy modules it
imported: ``--help``/``--version`` need none of them; a saved page needs the
HTML stack but no HTTP client (httpx, tenacity, an SSL context); ``status``
needs neither (but lxml). Times are not asserted here (``python -m bench`` measures them).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

PAGE = REPO / "fixtures" / "article-2024-modern" / "page.html"

HTTP = {"httpx", "httpcore", "tenacity", "ssl", "certifi", "h11"}
HTML = {"bs4", "soupsieve", "markdownify", "lxml", "yaml"}

_PROBE = """
import json, sys
from wxarchive.cli import main
try:
    rc = main(sys.argv[1:])
except SystemExit as e:
    rc = e.code
print("\\n" + json.dumps({"rc": rc, "mods": sorted({m.split(".")[0] for m in sys.modules} | set(sys.modules))}),
      file=sys.stderr)
"""


def _loaded(*args: str, cwd: Path) -> tuple[int, set[str]]:
    r = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, cwd=cwd, timeout=120)
    last = json.loads(r.stderr.strip().splitlines()[-1])
    return last["rc"], set(last["mods"])


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["get", "--help"], ["import", "--help"], []])
def test_help_and_version_load_no_http_or_html_stack(args: list[str], tmp_path: Path) -> None:
    rc, mods = _loaded(*args, cwd=tmp_path)
    assert rc in (0, 2)
    assert not mods & (HTTP | HTML | {"sqlite3", "logging"}), sorted(mods & (HTTP | HTML | {"sqlite3", "logging"}))
    # the parser's modules only: nothing imported at the dispatch point (running, the command's module), no
    # data model before a command runs
    heavy = {"wxarchive.cli.running", "wxarchive.cli.archiving", "wxarchive.cli.status", "wxarchive.jobs.pipeline",
             "wxarchive.archive.store", "wxarchive.trust", "tomllib",
             "wxarchive.write.original", "wxarchive.models", "dataclasses", "zoneinfo"}
    assert not mods & heavy, sorted(mods & heavy)


def test_saved_page_is_archived_without_the_http_client(tmp_path: Path) -> None:
    rc, mods = _loaded("get", str(PAGE), "--out", str(tmp_path / "a"), "-q", "--no-images", cwd=tmp_path)
    assert rc == 0
    assert list((tmp_path / "a" / "_posts").glob("*.md")), "the post was written"
    assert not mods & HTTP, sorted(mods & HTTP)
    # the Markdown writer needs neither BeautifulSoup nor its CSS engine (~100 ms of imports)
    assert not mods & {"bs4", "soupsieve", "markdownify"}, sorted(mods & {"bs4", "soupsieve", "markdownify"})


def test_status_loads_neither_stack(tmp_path: Path) -> None:
    rc, _ = _loaded("get", str(PAGE), "--out", str(tmp_path / "a"), "-q", "--no-images", cwd=tmp_path)
    assert rc == 0
    rc, mods = _loaded("status", "--out", str(tmp_path / "a"), cwd=tmp_path)
    assert rc == 0
    heavy = HTTP | HTML - {"lxml"}  # lxml.etree reads the [[sources]] names
    assert not mods & heavy, sorted(mods & heavy)


def test_get_of_an_archived_link_reads_no_page_and_loads_no_other_command(tmp_path: Path) -> None:
    """A re-run's `get` of a link already archived is a look-up: no HTTP client, no page reader or post
    writer (imported where a page is read), nothing only harvest, rebuild or check need (their own modules)."""
    out = str(tmp_path / "a")
    rc, _ = _loaded("get", str(PAGE), "--out", out, "-q", "--no-images", cwd=tmp_path)
    assert rc == 0
    ls = subprocess.run([sys.executable, "-m", "wxarchive", "ls", "--json", "--out", out], capture_output=True,
                        text=True, cwd=REPO, timeout=120)
    url = json.loads(ls.stdout.splitlines()[0])["url"]
    rc, mods = _loaded("get", url, "--out", out, "--no-images", "--connect-to", "mp.weixin.qq.com=http://127.0.0.1:9",
                       cwd=tmp_path)
    assert rc == 0
    others = {"wxarchive.extract.parse", "wxarchive.extract.clean", "wxarchive.write.render", "yaml",
              "wxarchive.jobs.harvest", "wxarchive.net.weread", "wxarchive.archive.recover", "wxarchive.jobs.check",
              "wxarchive.cli.harvest", "wxarchive.cli.rebuild"}
    assert not mods & (HTTP | others), sorted(mods & (HTTP | others))
