"""A local WeChat whose originals can be deleted, removed, edited or fail, for the in-process tests of
`check` (jobs/check.py), `ls --gone` (cli/gone.py) and kept versions (jobs/editions.py).

The pages are the hand-written ones of :mod:`batch_fake` and the repository's own error fixtures; the
server is a real threaded HTTP server reached through ``--connect-to``; the CLI runs in this process
(``wxarchive.cli.main``), so a test may set the check's clock and read the state directly.
"""
from __future__ import annotations

import dataclasses
import re
import sqlite3
from pathlib import Path
from urllib.parse import quote

from batch_fake import ARTICLE_TEMPLATE, PNG, VERIFY_PAGE, connect_args
from werkzeug.wrappers import Request, Response

from wxarchive.layout import state_db

FIX = Path(__file__).resolve().parent.parent / "fixtures"
DELETED = (FIX / "error-deleted-zh" / "page.html").read_text(encoding="utf-8")
REMOVED = (FIX / "error-removed-violation" / "page.html").read_text(encoding="utf-8")
BIZ = "MzA5NjQ0MjY2Mw=="


@dataclasses.dataclass(frozen=True)
class Original:
    """One article as WeChat serves it (``biz`` may be any text the page says: it becomes part of the key)."""

    mid: int
    title: str
    ct: int  # publication time (the post's date)
    biz: str = BIZ
    idx: int = 1

    @property
    def sn(self) -> str:
        return f"{self.mid:08x}{self.idx:02x}aa55aa55aa55aa55aa55aa"[:32]

    @property
    def key(self) -> str:
        return f"{self.biz}:{self.mid}:{self.idx}"

    def url(self) -> str:
        return f"https://mp.weixin.qq.com/s?__biz={quote(self.biz, safe='')}&mid={self.mid}&idx={self.idx}&sn={self.sn}"

    def html(self) -> str:
        return ARTICLE_TEMPLATE.format(title=self.title, account="测试公众号", body=f"这是第 {self.mid} 篇文章的正文。",
                                       media=f"m{self.mid}x{self.idx}", biz=self.biz, mid=self.mid, idx=self.idx,
                                       sn=self.sn, ct=self.ct, link=self.url().replace("&", "&amp;"))


class Origin:
    """Serves each original as ``mode[key]`` says: ``alive`` (default), ``deleted``, ``removed``, ``502``,
    ``verify``, or ``edited:NEW TITLE``."""

    def __init__(self, server, originals: list[Original]) -> None:  # type: ignore[no-untyped-def]
        self.server, self.originals = server, originals
        self.mode: dict[str, str] = {}
        server.expect_request("/s").respond_with_handler(self._article)
        server.expect_request("/mp/wappoc_appmsgcaptcha").respond_with_data(
            VERIFY_PAGE, content_type="text/html; charset=utf-8")
        server.expect_request(re.compile(r"/mmbiz_png/.*")).respond_with_data(PNG, content_type="image/png")
        self.args = connect_args(server)

    def _article(self, request: Request) -> Response:
        key = f"{request.args.get('__biz')}:{request.args.get('mid')}:{request.args.get('idx')}"
        art = next(a for a in self.originals if a.key == key)
        mode = self.mode.get(key, "alive")
        if mode == "deleted":
            return Response(DELETED, content_type="text/html; charset=utf-8")
        if mode == "removed":
            return Response(REMOVED, content_type="text/html; charset=utf-8")
        if mode == "502":
            return Response("bad gateway", status=502)
        if mode == "verify":
            loc = "/mp/wappoc_appmsgcaptcha?poc_token=HLxyz&target_url=" + quote(request.full_path, safe="")
            return Response("", status=302, headers={"Location": loc})
        if mode.startswith("edited:"):
            art = dataclasses.replace(art, title=mode.removeprefix("edited:"))
        return Response(art.html(), content_type="text/html; charset=utf-8")

    def page_requests(self) -> int:
        return sum(1 for req, _ in self.server.log if req.path == "/s")


def archive(run_cli, root: Path, origin: Origin) -> None:  # type: ignore[no-untyped-def]
    """Archive every original into ``root`` (in-process), as a user's ``import`` does."""
    lst = root.parent / f"{root.name}-links.txt"
    lst.write_text("\n".join(a.url() for a in origin.originals), encoding="utf-8")
    r = run_cli("import", lst, "--out", root, "--delay", "0", "-q", *origin.args)
    assert r.code == 0, r.err


class Clock:
    """The time every check in this process reads: set ``now``."""

    now = 0.0


def set_clock(monkeypatch, t0: int) -> type[Clock]:  # type: ignore[no-untyped-def]
    """Make every ``Checker`` made in this test read ``Clock.now`` (starting at ``t0``)."""
    from wxarchive.jobs.check import Checker

    clock = type("TestClock", (Clock,), {"now": float(t0)})
    monkeypatch.setitem(Checker.__init__.__kwdefaults__, "clock", lambda: clock.now)
    return clock


def archived_site(tmp_path: Path, server, run_cli, originals: list[Original]) -> tuple[Path, Origin]:  # type: ignore[no-untyped-def]
    """A blog that archived ``originals``, served by ``server``: (its root, the origin to change them on)."""
    origin = Origin(server, originals)
    root = tmp_path / "blog"
    archive(run_cli, root, origin)
    return root, origin


def fates(root: Path) -> dict[str, tuple]:
    """key -> (status, since, checked_at, gone_at) as the state holds them."""
    db = sqlite3.connect(state_db(root))
    try:
        return {k: rest for k, *rest in db.execute("SELECT key, status, since, checked_at, gone_at FROM fates")}
    finally:
        db.close()


def post_bytes(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "_posts").glob("*.md"))}
