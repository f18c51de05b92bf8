"""Issue 23: --exec after each archived post and --exec-after once after a run that archived any, as
yt-dlp's --exec: no shell (a hostile title is one argument, never code), output kept off stdout."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from conftest import TESTS

sys.path.insert(0, str(TESTS / "fuzz"))
import wxpages  # noqa: E402

HOSTILE = '标题"; touch PWNED; echo "$(touch PWNED2)'
RECORD = "import sys, json; open(sys.argv[1], 'a').write(json.dumps(sys.argv[2:]) + '\\n'); print('hook said hi')"


def wx(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WXARCHIVE_")}
    return subprocess.run([sys.executable, "-m", "wxarchive", *args], capture_output=True, text=True, env=env,
                          timeout=60, cwd=tmp_path)


def test_exec_after_each_post_without_a_shell(tmp_path: Path) -> None:
    pages = []
    for mid, title in ((2650000951, HOSTILE), (2650000952, "第二篇")):
        p = tmp_path / f"{mid}.html"
        p.write_bytes(wxpages.page(title, mid=mid))
        pages.append(str(p))
    log, after = tmp_path / "each.jsonl", tmp_path / "after.jsonl"
    py = shlex.quote(sys.executable)
    each = f"{py} -c {shlex.quote(RECORD)} {log} {{post}} {{title}} {{archive}} {{key}}"
    once = f"{py} -c {shlex.quote(RECORD)} {after} {{archive}}"
    r = wx(tmp_path, "get", *pages, "--out", "arch", "--no-images", "--json", "--exec", each, "--exec-after", once)
    assert r.returncode == 0, r.stderr
    assert [json.loads(ln)["status"] for ln in r.stdout.splitlines()] == ["archived", "archived"]  # stdout clean
    assert r.stderr.count("hook said hi") == 3
    calls = [json.loads(ln) for ln in log.read_text().splitlines()]
    outs = [json.loads(ln) for ln in r.stdout.splitlines()]
    assert [c[0] for c in calls] == [str(tmp_path / o["post"]) for o in outs]  # absolute paths
    assert calls[0][1] == HOSTILE and calls[0][2] == str(tmp_path / "arch") and calls[0][3] == outs[0]["key"]
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "PWNED2").exists()
    assert [json.loads(ln) for ln in after.read_text().splitlines()] == [[str(tmp_path / "arch")]]
    again = wx(tmp_path, "get", *pages, "--out", "arch", "--no-images", "--exec", each, "--exec-after", once)
    assert again.returncode == 0 and "hook said hi" not in again.stderr  # nothing archived: nothing run
    assert len(after.read_text().splitlines()) == 1


def test_a_failing_hook_is_one_line_and_the_run_goes_on(tmp_path: Path) -> None:
    page = tmp_path / "p.html"
    page.write_bytes(wxpages.page("一篇", mid=2650000953))
    r = wx(tmp_path, "get", str(page), "--out", "arch", "--no-images", "--exec", f"{shlex.quote(sys.executable)} -c "
           "'raise SystemExit(3)'", "--exec-after", "no-such-program-xyz {archive}")
    assert r.returncode == 0, r.stderr
    assert "--exec:" in r.stderr and "exited with 3" in r.stderr
    assert "--exec-after: cannot run no-such-program-xyz" in r.stderr


def test_shell_words_are_refused_with_a_hint(tmp_path: Path) -> None:
    r = wx(tmp_path, "get", "x.html", "--exec", "git add {post} && git commit -qm {title}")
    assert r.returncode == 2 and "without a shell" in r.stderr and "sh -c" in r.stderr
    assert not (tmp_path / "archive").exists()
