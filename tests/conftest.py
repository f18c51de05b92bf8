"""Shared test helpers: a fresh archive folder and a way to run the CLI in-process or as a subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import settings

# The gating run explores the same examples every time, so that it passes or fails on the code alone;
# WXARCHIVE_LONG_TESTS=1 hunts with fresh random examples (and many more of them).
settings.register_profile("fixed", derandomize=True)
settings.register_profile("hunt", derandomize=False)
settings.load_profile("hunt" if os.environ.get("WXARCHIVE_LONG_TESTS") == "1" else "fixed")

TESTS = Path(__file__).resolve().parent  # tests/: helpers and data, for a test in any folder
REPO = TESTS.parent
FIXTURES = REPO / "fixtures"


@dataclass
class CliResult:
    code: int
    out: str
    err: str
    lines: list = field(default_factory=list)  # parsed --json lines

    @property
    def json(self) -> dict:
        assert len(self.lines) == 1, f"expected one JSON line, got {self.out!r} / stderr {self.err!r}"
        return self.lines[0]


def _parse_lines(out: str) -> list:
    lines = []
    for ln in out.splitlines():
        ln = ln.strip()
        if ln.startswith("{"):
            lines.append(json.loads(ln))
    return lines


@pytest.fixture(autouse=True)
def _no_user_config(tmp_path_factory, monkeypatch):
    """Tests never read the developer's own ~/.config/wxarchive/config.toml."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-empty")))


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """An empty folder to archive into."""
    d = tmp_path / "archive"
    d.mkdir()
    return d


@pytest.fixture
def run_cli(capsys):
    """Run ``wxarchive`` in-process: ``run_cli('get', src, '--out', dir, ...)``."""
    from wxarchive.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        cap = capsys.readouterr()
        return CliResult(code, cap.out, cap.err, _parse_lines(cap.out))

    return run


def run_subprocess(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 60) -> CliResult:
    """Run ``python -m wxarchive`` in a child process (own TZ, own logging)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("WXARCHIVE_")}
    full_env.update(env or {})
    p = subprocess.run([sys.executable, "-m", "wxarchive", *map(str, args)], capture_output=True, text=True,
                       env=full_env, cwd=cwd, timeout=timeout)
    return CliResult(p.returncode, p.stdout, p.stderr, _parse_lines(p.stdout))


@pytest.fixture
def run_proc():
    return run_subprocess


def posts(root: Path) -> list[Path]:
    d = root / "_posts"
    return sorted(d.glob("*.md")) if d.exists() else []


def fixture_page(case: str) -> Path:
    return FIXTURES / case / "page.html"


# ---- a local stand-in for mp.weixin.qq.com and mmbiz.qpic.cn (pytest-httpserver, a real HTTP server) ----

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 32 + b"\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x00\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00" + b"\x00" * 24


@pytest.fixture(autouse=True, scope="session")
def _quiet_werkzeug():
    """werkzeug logs each request through a handler bound to whatever stderr existed when it first logged;
    under capsys that stream is closed by the next test. Keep its request log out of our stderr checks."""
    import logging

    lg = logging.getLogger("werkzeug")
    lg.handlers[:] = [logging.NullHandler()]
    lg.propagate = False
    yield


@pytest.fixture
def wx(httpserver):
    """The local server plus the ``--connect-to`` arguments that route WeChat hosts to it."""
    base = httpserver.url_for("/").rstrip("/")

    class WX:
        server = httpserver
        url = base
        connect_args = ["--connect-to", f"mp.weixin.qq.com={base}", "--connect-to", f"mmbiz.qpic.cn={base}"]
        routes = {"mp.weixin.qq.com": base, "mmbiz.qpic.cn": base}

        @staticmethod
        def requests(path: str | None = None) -> list:
            return [req for req, _ in httpserver.log if path is None or req.path == path]

        @staticmethod
        def connect_to():
            from wxarchive.net.fetch import parse_connect_to

            return parse_connect_to([f"{h}={u}" for h, u in WX.routes.items()])

    return WX
