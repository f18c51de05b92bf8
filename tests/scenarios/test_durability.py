"""What reaches the disk, and when: image files are fsynced before the state records them; a failed
transaction leaves nothing behind; a re-archived article whose title changed leaves one post, not two."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from conftest import JPEG, PNG, fixture_page, posts
from wxarchive.archive.store import Store

SHORT = "/s/Xq3bR7mK2pLs9TvA0cZy1w"
URL = "https://mp.weixin.qq.com" + SHORT
IMG_OTHER = "Vb1sCkQn8bZtXh0YgEoiaicAnpGj4e9Ia3kGz1bq7YtP0x9lR2mVd8ZcWfJ4aNh6oIu5sXe3rT1yKp0gBnLq2vA"
IMG_BG = "Vb1sCkQn8bZtXh0YgEoiaicAnpGj4e9Ia3Rr0ZtV5nHk2eYc8pLq1aOw3dTf6sJm9uXb4iGyN7vQ2lCz0KhEoA"
TITLE = "一次线上故障复盘：重试风暴是怎么形成的"


def _serve(wx, page: bytes) -> None:
    wx.server.clear()
    wx.server.expect_request(SHORT).respond_with_data(page, content_type="text/html; charset=utf-8")
    wx.server.expect_request(f"/mmbiz_png/{IMG_OTHER}/640").respond_with_data(PNG, content_type="image/png")
    wx.server.expect_request(f"/mmbiz_jpg/{IMG_BG}/640").respond_with_data(JPEG, content_type="image/jpeg")


def _get(run_cli, wx, archive: Path, *extra: str):
    return run_cli("get", URL, "--out", archive, "--json", "--delay", "0", *wx.connect_args, *extra)


def test_saved_images_are_fsynced_before_the_state_records_them(wx, archive, run_cli, monkeypatch) -> None:
    synced: set[tuple[int, int]] = set()
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        st = os.fstat(fd)
        synced.add((st.st_dev, st.st_ino))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    _serve(wx, fixture_page("article-2024-modern").read_bytes())
    res = _get(run_cli, wx, archive)
    assert res.code == 0, res.err
    assert res.json["images"] == {"found": 2, "saved": 2, "failed": 0}
    for name in (f"{IMG_OTHER}.png", f"{IMG_BG}.jpg"):
        st = (archive / "postimg" / name).stat()
        assert (st.st_dev, st.st_ino) in synced, f"{name} was never fsynced"
    folder = (archive / "postimg").stat()
    assert (folder.st_dev, folder.st_ino) in synced, "the image folder (the renames) was never fsynced"


def test_changed_title_replaces_the_old_post_file(wx, archive, run_cli) -> None:
    """Decision: the post follows the title; the file under the old name goes, so one article has one post."""
    page = fixture_page("article-2024-modern").read_bytes()
    _serve(wx, page)
    first = _get(run_cli, wx, archive, "--no-images")
    assert first.code == 0, first.err
    old = Path(first.json["post"])
    assert old.exists()
    _serve(wx, page.replace(TITLE.encode(), "重试风暴复盘（修订版）".encode()))
    second = _get(run_cli, wx, archive, "--no-images", "--force")
    assert second.code == 0, second.err
    new = Path(second.json["post"])
    assert new != old and "修订版" in new.name
    assert posts(archive) == [new], "exactly one post for the article"
    with Store(archive / ".wxarchive" / "state.sqlite3") as st:
        rec = st.get(second.json["key"])
    assert rec is not None and archive / rec.post_path == new and rec.title == "重试风暴复盘（修订版）"


def test_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    """record_images is one transaction: one bad row and none of the batch is kept."""
    with Store(tmp_path / "state.sqlite3") as st:
        with pytest.raises(sqlite3.IntegrityError):
            st.record_images([("https://mmbiz.qpic.cn/a/1", "a", "a.png", None),
                              ("https://mmbiz.qpic.cn/b/1", None, None, "boom")])  # type: ignore[list-item]
        assert st.image("https://mmbiz.qpic.cn/a/1") is None
        st.record_images([("https://mmbiz.qpic.cn/c/1", "c", "c.png", None)])  # the store still works
        assert st.image("https://mmbiz.qpic.cn/c/1")["local"] == "c.png"


def test_umask_is_read_at_the_first_write_not_at_import(tmp_path: Path) -> None:
    """Importing the package leaves the umask alone; written files get what the umask grants."""
    import subprocess
    import sys

    code = ("import os; calls = []; real = os.umask\n"
            "def spy(m):\n    calls.append(m); return real(m)\n"
            "os.umask = spy; real(0o027)\n"
            "import wxarchive.archive.site, wxarchive.net.images, wxarchive.jobs.pipeline\n"
            "assert calls == [], calls\n"
            "from pathlib import Path\n"
            f"p = Path({str(tmp_path)!r}) / 'f.md'; wxarchive.archive.site.atomic_write(p, b'x')\n"
            "print(oct(p.stat().st_mode & 0o777))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0o640"
