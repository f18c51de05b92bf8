"""Issue 23 item 4: an import list holding deleted articles can sit in cron. A link given up in an
earlier run is skipped (counted, listed at -v, exit 0); a new failure still exits 1; messages keep
WeChat's reason, not the error page's furniture (its footer links)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO, TESTS

sys.path.insert(0, str(TESTS / "fuzz"))
import wxpages  # noqa: E402
from wxpages import RawServer, path_of  # noqa: E402

FIXTURES = REPO / "fixtures"
DELETED, REMOVED, GOOD, LATER = 2650000701, 2650000702, 2650000703, 2650000704
FURNITURE = ("微信公众平台运营中心", "我要反馈")


def _answer(body: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body)


class Site:
    def __init__(self) -> None:
        self.gone = {DELETED: (FIXTURES / "error-deleted-zh" / "page.html").read_bytes(),
                     REMOVED: (FIXTURES / "error-removed-violation" / "page.html").read_bytes()}
        self.server = RawServer(self._handle)

    def _handle(self, conn, req) -> None:  # type: ignore[no-untyped-def]
        path = path_of(req)
        mid = next(m for m in (DELETED, REMOVED, GOOD, LATER) if f"mid={m}&" in path)
        conn.sendall(_answer(self.gone.get(mid) or wxpages.page(f"文章 {mid}", mid=mid)))

    def asked(self) -> int:
        return len(self.server.requests)


def run(root: Path, lst: Path, srv: Site, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WXARCHIVE_")}
    return subprocess.run([sys.executable, "-m", "wxarchive", "import", str(lst), "--out", str(root), "--delay", "0",
                           "--no-images", "--connect-to", f"mp.weixin.qq.com={srv.server.url}", *extra],
                          capture_output=True, text=True, env=env, timeout=60)


def test_a_list_with_deleted_articles_can_sit_in_cron(tmp_path: Path) -> None:
    srv = Site()
    lst, root = tmp_path / "links.txt", tmp_path / "arch"
    lst.write_text("\n".join(wxpages.article_url(m) for m in (DELETED, REMOVED, GOOD)) + "\n")
    with srv.server:
        first = run(root, lst, srv)
        assert first.returncode == 1, first.stderr  # new failures: a person should look
        assert "该内容已被发布者删除" in first.stderr and "此内容因违规无法查看" in first.stderr
        assert not any(f in first.stderr for f in FURNITURE), first.stderr
        for mid in (DELETED, REMOVED):  # each failure said once (it was said live and again in the summary)
            assert first.stderr.count(f"mid={mid}&") == 1, first.stderr
        assert "[given up" in first.stderr  # (a deleted article is given up at once: the line says so)
        asked = srv.asked()

        again = run(root, lst, srv)
        assert srv.asked() == asked  # nothing asked again
        assert again.returncode == 0, again.stderr
        assert not any(str(m) in again.stderr for m in (DELETED, REMOVED)), again.stderr  # listed only at -v
        assert "3 skipped (2 given up earlier: deleted 1, removed 1)" in again.stderr

        quiet = run(root, lst, srv, "-q")
        assert (quiet.returncode, quiet.stderr, quiet.stdout) == (0, "", "")

        verbose = run(root, lst, srv, "-v")
        assert verbose.returncode == 0
        said = [ln for ln in verbose.stderr.splitlines() if "given up earlier" in ln and "skipped (" in ln
                and str(DELETED) in ln]
        assert len(said) == 1 and "skipped (given up earlier: deleted)" in said[0], verbose.stderr

        as_json = run(root, lst, srv, "--json")
        lines = {json.loads(ln)["source"]: json.loads(ln) for ln in as_json.stdout.splitlines()}
        gone = lines[wxpages.article_url(DELETED)]
        assert (gone["status"], gone["error"], gone["gave_up"]) == ("skipped", "deleted", True)
        assert as_json.returncode == 0

        # a new failure still fails the run
        srv.gone[LATER] = srv.gone[DELETED]
        lst.write_text(lst.read_text() + wxpages.article_url(LATER) + "\n")
        new = run(root, lst, srv)
        assert new.returncode == 1 and "1 failed (deleted 1)" in new.stderr, new.stderr


def test_ls_shows_an_original_check_found_gone(tmp_path: Path) -> None:
    """Issue 23: `ls` said `archived` of a post whose original `check` had found deleted."""
    srv = Site()
    lst, root = tmp_path / "links.txt", tmp_path / "arch"
    lst.write_text(wxpages.article_url(GOOD) + "\n" + wxpages.article_url(LATER) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WXARCHIVE_")}
    with srv.server:
        assert run(root, lst, srv).returncode == 0
        srv.gone[GOOD] = srv.gone[DELETED]  # the author deletes it
        chk = subprocess.run([sys.executable, "-m", "wxarchive", "check", "--out", str(root), "--delay", "0",
                              "--connect-to", f"mp.weixin.qq.com={srv.server.url}"], capture_output=True, text=True,
                             env=env, timeout=60)
        assert chk.returncode == 0, chk.stderr
    ls = subprocess.run([sys.executable, "-m", "wxarchive", "ls", "--out", str(root)], capture_output=True, text=True,
                        env=env, timeout=60)
    lines = {("gone" if "文章 %d" % GOOD in ln else "alive"): ln for ln in ls.stdout.splitlines()}
    assert "[original gone: deleted]" in lines["gone"] and "gone" not in lines["alive"], ls.stdout
    js = subprocess.run([sys.executable, "-m", "wxarchive", "ls", "--json", "--out", str(root)], capture_output=True,
                        text=True, env=env, timeout=60)
    assert sorted(json.loads(ln)["gone"] or "" for ln in js.stdout.splitlines()) == ["", "deleted"]
