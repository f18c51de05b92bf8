"""Issue 23 item 1: a list's every line is accounted for (links, or why a line gave none); the file's
encoding is read from its BOM or detected; a file with no link, or no list at all, says what it is."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wxarchive.jobs.sources import Skip, reading_of

A = "https://mp.weixin.qq.com/s/AAAAAAAAAAAAAAAAAAAAAA"
B = "https://mp.weixin.qq.com/s/BBBBBBBBBBBBBBBBBBBBBB"
ALBUM = "https://mp.weixin.qq.com/mp/appmsgalbum?__biz=MzA5NjQ0MjY2Mw==&action=getalbum&album_id=123#wechat_redirect"
MESSY = (f"{A}\n"
         f"{B.removeprefix('https://')}\n"  # pasted from an address bar: no scheme
         f"{ALBUM}\n"
         "https://example.com/x\n"
         "see the article I sent yesterday\n"
         "https://mp.weixin.qq.com/mp/profile_ext?action=home&__biz=MzA5NjQ0MjY2Mw==\n"
         "# a comment is not a line of the list\n"
         "\n"
         "https://www.zhihu.com/question/1\n"
         "https://mp.weixin.qq.com.evil.example/s/CCCCCCCC\n").encode() + b"\xff\xfe\xfa\xff\n"
SUMMARY = "9 lines: 2 links, 7 skipped (1 album → use [[sources]], 5 not WeChat articles, 1 unreadable)"


def wx(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WXARCHIVE_")}
    p = subprocess.run([sys.executable, "-m", "wxarchive", *map(str, args)], capture_output=True, input=stdin,
                       env=env, timeout=60)
    return subprocess.CompletedProcess(p.args, p.returncode, p.stdout.decode(), p.stderr.decode())


def test_every_line_of_a_messy_list_is_counted() -> None:
    r = reading_of(MESSY)
    assert r.urls == [A, B]
    assert r.summary() == SUMMARY
    assert [(s.line, s.why) for s in r.skipped] == [(3, Skip.ALBUM), (4, Skip.NOT_ARTICLE), (5, Skip.NOT_ARTICLE),
                                                    (6, Skip.NOT_ARTICLE), (9, Skip.NOT_ARTICLE),
                                                    (10, Skip.NOT_ARTICLE), (11, Skip.UNREADABLE)]


def test_a_repeated_link_is_counted_as_a_duplicate() -> None:
    r = reading_of(f"{A}\n{A}?scene=1\n{B}\n".encode())
    assert r.urls == [A, B] and r.summary() == "3 lines: 2 links, 1 skipped (1 duplicate)"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "utf-32", "gb18030"])
def test_the_encoding_is_read_from_the_bom_or_detected(encoding: str) -> None:
    text = f"# 我的收藏：公众号文章\n{A}  # 第一篇\n标题：第二篇 {B}\n"
    data = text.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):  # Notepad's "Unicode" writes a BOM; test the BOM-less form too
        assert not data.startswith((b"\xff\xfe", b"\xfe\xff"))
    r = reading_of(data)
    assert r.urls == [A, B], encoding
    assert r.summary() == "2 lines: 2 links"


def test_files_that_are_no_list_say_what_they_are() -> None:
    assert reading_of(b"").what == "an empty file"
    assert reading_of(b"\xef\xbb\xbf \r\n").what == "an empty file"
    assert reading_of(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").what == "a binary file (PNG image)"
    assert reading_of(bytes(range(256)) * 4).what == "a binary file"


def test_import_says_the_count_and_lists_skips_at_v(tmp_path: Path) -> None:
    lst = tmp_path / "links.txt"
    lst.write_bytes(MESSY)
    r = wx("import", lst, "--out", tmp_path / "arch", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert SUMMARY in r.stderr
    assert "line 5" not in r.stderr  # the lines themselves only at -v
    r = wx("import", lst, "--out", tmp_path / "arch", "--dry-run", "-v")
    assert "line 3: skipped, album (合集): add it to [[sources]]" in r.stderr
    assert "line 5: skipped, not a WeChat article: see the article I sent yesterday" in r.stderr
    assert "line 11: skipped, unreadable" in r.stderr
    r = wx("import", lst, "--out", tmp_path / "arch", "--dry-run", "-q")
    assert SUMMARY not in r.stderr


@pytest.mark.parametrize("content, said", [
    (b"", "is an empty file, not a list of links"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is a binary file (PNG image), not a list of links"),
    ("no links here\n".encode("utf-16"), "no WeChat article links found in"),
])
def test_import_of_a_file_with_no_link_fails(tmp_path: Path, content: bytes, said: str) -> None:
    f = tmp_path / "list.txt"
    f.write_bytes(content)
    r = wx("import", f, "--out", tmp_path / "arch")
    assert r.returncode == 2 and said in r.stderr, r.stderr
    assert not (tmp_path / "arch").exists()
    r = wx("import", "-", "--out", tmp_path / "arch", stdin=content)
    assert r.returncode == 2 and said.replace("list.txt", "-") in r.stderr


def test_import_of_a_utf16_list_finds_its_links(tmp_path: Path) -> None:
    f = tmp_path / "list.txt"
    f.write_text(f"{A}\r\n{B}\r\n", encoding="utf-16")  # Windows Notepad's "Unicode"
    r = wx("import", f, "--out", tmp_path / "arch", "--dry-run")
    assert r.returncode == 0 and "2 would be fetched" in r.stderr, r.stderr
    r = wx("import", f, "--out", tmp_path / "arch", "--dry-run", "-v")
    assert r.returncode == 0 and "2 lines: 2 links" in r.stderr, r.stderr


def test_get_of_a_file_that_is_no_page_says_what_it_is(tmp_path: Path) -> None:
    empty, binary, listing = tmp_path / "empty", tmp_path / "pic.png", tmp_path / "links.txt"
    empty.write_bytes(b"")
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    listing.write_text(f"{A}\n")
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    for f, said in ((empty, "is an empty file, not a saved page or a list of links"),
                    (binary, "is a binary file (PNG image), not a saved page or a list of links"),
                    (passwd, "is a text file with no WeChat article link in it (2 lines: 0 links, 2 skipped"),
                    (listing, "looks like a list of links: use `wxarchive import")):
        r = wx("get", f, "--out", tmp_path / "arch")
        assert r.returncode == 2 and said in r.stderr, (f, r.stderr)
