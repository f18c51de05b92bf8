"""The archive as a reader meets it: every fixture archived, built by real Jekyll, opened in headless Chromium.

Needs Debian's ``jekyll`` and ``chromium`` on PATH (``.ci/run`` installs them); without them these
tests are skipped, unless ``WXARCHIVE_REQUIRE_JEKYLL=1`` (set by ``.ci/run``) makes a missing tool
a failure, so CI can never pass by skipping.

What is checked (issue 4, "Jekyll, for real"):

* every ``fixtures/*/page.html`` (plus ``tests/data/jekyll_page.html``) is archived with images
  on, the images served by a local server through ``--connect-to``; error-page fixtures (an
  ``expected.json`` and no ``expected.md``) fail and write no post;
* ``jekyll build`` succeeds and prints no error, warning or deprecation (kramdown warnings on);
* every post in ``_posts/`` is a page of the built site, at the URL of its own date, and the index
  links to it;
* every local ``<img src>`` of every built page is a file of the built site;
* no Liquid escape leaks (``{% raw %}`` shown to the reader) and ``{{ … }}`` in the article survives;
* in headless Chromium each post page shows its title, its text and every image loaded
  (``naturalWidth > 0``), and no request leaves localhost.
"""
from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest
import yaml
from lxml import html as lxml_html

from wxarchive.urls import IMAGE_HOSTS
from conftest import REPO

ROOT = REPO
# WXARCHIVE_JEKYLL_FIXTURES=DIR runs the same checks over another folder of NAME/page.html pages.
FIXTURES = Path(os.environ.get("WXARCHIVE_JEKYLL_FIXTURES") or ROOT / "fixtures")
OWN_PAGE = ROOT / "tests" / "data" / "jekyll_page.html"
SHANGHAI = ZoneInfo("Asia/Shanghai")
# wxarchive and Jekyll run in a zone far from Shanghai: dates must come from the article and the site config.
FAR_ZONE = "America/Los_Angeles"
REQUIRE = os.environ.get("WXARCHIVE_REQUIRE_JEKYLL", "") not in ("", "0")

JEKYLL = shutil.which("jekyll")
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)

# Hosts the archiver may fetch images from; all are answered by the local image server.
ROUTED_HOSTS = tuple(dict.fromkeys(IMAGE_HOSTS + ("mmbiz.qpic.cn", "mmbiz.qlogo.cn", "mmecoa.qpic.cn",
                                                  "vpic.video.qq.com", "mp.weixin.qq.com")))
PAGE_IMAGE_HOSTS = set(ROUTED_HOSTS) - {"mp.weixin.qq.com"}

# Our own page's known text (see tests/data/jekyll_page.html).
OWN_TITLE = "模板语法 {{ 双括号 }} 与 {% raw %}：在 Jekyll 里原样显示 #测试"
OWN_SNIPPETS = (
    "静态站点生成器会把文章当作模板来处理",
    "Liquid 会把 {{ page.title }} 这样的文字当作变量，把 {% include footer.html %} 当作标签。",
    "{{site.baseurl}} 以及 {%endraw%} 和一个孤零零的 {{ 结尾。",
    'return "{{ name }} {% if x %}"',
    '冒号: 引号" 和 井号 # 都要留下',  # a straight quote stays straight (no kramdown smart quotes)
    "引用里的 {{ 变量 }} 同样原样显示。",
    "命令行参数 --save-dev 不能变成破折号，省略号 ... 不能变成一个字符，<<尖括号>> 和 <b> 也照原样；",
    "星号 2*3*4 与下划线 snake_case_name 不变。",
    "感谢耐心读完这份检验清单。",
)
BAD_OUTPUT = re.compile(r"warn|error|deprecat|invalid|conversion|liquid exception", re.I)
# kramdown notes every "[text]" that is not a link ("[1]", "[图片]"); it renders such text literally,
# as the article had it, so this one warning is harmless (the browser check sees the text).
HARMLESS_OUTPUT = re.compile(r"Kramdown warning: No link definition for link ID '[^\n]*' found on line \d+")


def _need(*tools: tuple[str, str | None]) -> None:
    missing = [name for name, path in tools if not path]
    if missing:
        msg = f"{' and '.join(missing)} not on PATH (apt-get install jekyll chromium; .ci/run does)"
        if REQUIRE:
            pytest.fail(msg + " but WXARCHIVE_REQUIRE_JEKYLL is set")
        pytest.skip(msg)


# ---------------------------------------------------------------- helpers: images, servers

def png_bytes(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid truecolour PNG of one colour."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass


class _ImageHandler(_Quiet):
    """``/<host>/<path>``: a small PNG for any path of a WeChat image host, 404 for everything else."""

    requests: list[str]

    def do_GET(self) -> None:  # noqa: N802
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        host, _, rest = self.path.lstrip("/").partition("/")
        if host not in PAGE_IMAGE_HOSTS or not rest:
            self.send_error(404)
            return
        h = hashlib.sha1(self.path.encode()).digest()
        body = png_bytes(8 + h[0] % 24, 6 + h[1] % 18, (h[2], h[3], h[4]))
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a browser closing a socket is not news
            super().handle_error(request, client_address)


class _Server:
    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        self.httpd = _HTTPServer(("127.0.0.1", 0), handler)
        self.httpd.requests = []  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "_Server":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests  # type: ignore[attr-defined]


# ---------------------------------------------------------------- helpers: a minimal DevTools client

class DevTools:
    """Chrome DevTools protocol over one WebSocket (RFC 6455 client, text frames, stdlib only)."""

    def __init__(self, ws_url: str, timeout: float = 30.0) -> None:
        u = urlsplit(ws_url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}:{u.port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            data = self.sock.recv(4096)
            if not data:
                raise ConnectionError("DevTools closed the connection during the handshake")
            head += data
        head, _, self.buf = head.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"DevTools refused the WebSocket: {head[:200]!r}")
        self.next_id = 0
        self.events: list[dict] = []

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            data = self.sock.recv(max(65536, n - len(self.buf)))
            if not data:
                raise ConnectionError("DevTools closed the connection")
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _message(self) -> dict:
        parts: list[bytes] = []
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = b0 & 0x0F
            if opcode == 0x9:  # ping
                self._send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")
            if opcode in (0x0, 0x1, 0x2):
                parts.append(payload)
                if b0 & 0x80:
                    return json.loads(b"".join(parts))

    def call(self, method: str, **params: object) -> dict:
        self.next_id += 1
        my_id = self.next_id
        self._send_frame(0x1, json.dumps({"id": my_id, "method": method, "params": params}).encode())
        while True:
            msg = self._message()
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_for(self, event: str, timeout: float = 30.0) -> dict:
        for i, ev in enumerate(self.events):
            if ev["method"] == event:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self._message()
            if msg.get("method") == event:
                return msg
            if "method" in msg:
                self.events.append(msg)
        raise TimeoutError(f"no {event} within {timeout} s")

    def evaluate(self, expression: str) -> object:
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            raise RuntimeError(f"page script failed: {res['exceptionDetails']}")
        return res["result"].get("value")


class Browser:
    """Headless Chromium that may reach 127.0.0.1 only; one page driven over DevTools."""

    def __init__(self, profile: Path) -> None:
        self.profile = profile
        self.log = open(profile.parent / "chromium.log", "wb")
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
             "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps",
             "--disable-domain-reliability", "--metrics-recording-only", "--no-pings", "--mute-audio",
             "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
             "--window-size=1280,2000", f"--user-data-dir={profile}", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        self.tools: DevTools | None = None
        try:
            port = self._port()
            targets = json.loads(_http_get(f"http://127.0.0.1:{port}/json/list"))
            page = next(t for t in targets if t.get("type") == "page")
            self.tools = DevTools(page["webSocketDebuggerUrl"])
            self.tools.call("Page.enable")
            self.tools.call("Network.enable")
            self.tools.call("Network.setCacheDisabled", cacheDisabled=True)
        except BaseException:
            self.close()
            raise

    def _port(self) -> int:
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}: {self._log_tail()}")
            if port_file.exists():
                first = port_file.read_text().split("\n")[0].strip()
                if first.isdigit():
                    return int(first)
            time.sleep(0.1)
        raise TimeoutError(f"chromium did not open its DevTools port: {self._log_tail()}")

    def _log_tail(self) -> str:
        self.log.flush()
        return (self.profile.parent / "chromium.log").read_text(errors="replace")[-2000:]

    def open(self, url: str) -> list[str]:
        """Load ``url``, wait for the load event and for every image; return every URL the page requested."""
        assert self.tools is not None
        self.tools.events.clear()
        res = self.tools.call("Page.navigate", url=url)
        assert not res.get("errorText"), f"{url}: {res.get('errorText')}"
        self.tools.wait_for("Page.loadEventFired")
        self.tools.evaluate("Promise.all(Array.from(document.images).map(i => i.complete ? 0 :"
                            " new Promise(r => { i.onload = i.onerror = r; })))")
        # drain what is queued so late requests are counted too
        self.tools.evaluate("1")
        return [e["params"]["request"]["url"] for e in self.tools.events if e["method"] == "Network.requestWillBeSent"]

    def close(self) -> None:
        if self.tools:
            self.tools.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


def _http_get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as r:  # 127.0.0.1 only
        return r.read().decode()


# ---------------------------------------------------------------- the archive and the site (built once)

def fixture_pages() -> list[tuple[Path, bool]]:
    """(page, is_error_page) for every fixture, plus our own page."""
    out = []
    for page in sorted(FIXTURES.glob("*/page.html")):
        error = (page.parent / "expected.json").exists() and not (page.parent / "expected.md").exists()
        out.append((page, error))
    out.append((OWN_PAGE, False))
    return out


def split_front_matter(text: str) -> tuple[dict, str]:
    m = re.match(r"---\n(.*?\n)---\n", text, re.S)
    assert m, "post without front matter"
    return yaml.safe_load(m.group(1)) or {}, text[m.end():]


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory):
    """Every fixture archived, images on, into one fresh archive: (archive dir, pages, outcomes, served, stderr).

    The article pages go in one ``wxarchive get`` run (as a user would); each error page gets a run of
    its own afterwards, since a verification page rightly stops a run (exit 3).
    """
    _need(("jekyll", JEKYLL))
    root = tmp_path_factory.mktemp("jekyll")
    arch = root / "archive"
    pages = fixture_pages()
    outcomes: dict[Path, dict] = {}
    stderr = []
    with _Server(_ImageHandler) as images:
        base = [sys.executable, "-m", "wxarchive", "get", "--out", str(arch), "--json", "--delay", "0", "--timeout", "10"]
        for host in ROUTED_HOSTS:
            base += ["--connect-to", f"{host}={images.base}/{host}"]
        env = {k: v for k, v in os.environ.items() if k != "WXARCHIVE_CONNECT_TO"}
        env["TZ"] = FAR_ZONE
        runs = [([p for p, e in pages if not e], (0,))] + [([p], (1, 3)) for p, e in pages if e]
        for batch, codes in runs:
            proc = subprocess.run(base + [str(p) for p in batch], cwd=root, env=env, capture_output=True, text=True,
                                  timeout=600)
            stderr.append(proc.stderr)
            lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
            assert proc.returncode in codes, \
                f"wxarchive get {[p.parent.name for p in batch]} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
            assert len(lines) == len(batch), f"{len(batch)} pages but {len(lines)} outcomes:\n{proc.stdout}\n{proc.stderr}"
            outcomes.update((Path(o["source"]).resolve(), o) for o in lines)
        served = list(images.requests)
    return arch, pages, outcomes, served, "".join(stderr)


@pytest.fixture(scope="module")
def built(archived):
    """``jekyll build`` of the archive: (site dir, build output)."""
    arch = archived[0]
    site = arch.parent / "site"
    overlay = arch.parent / "ci-overlay.yml"
    overlay.write_text("kramdown:\n  show_warnings: true\n", encoding="utf-8")
    env = {**os.environ, "TZ": FAR_ZONE}  # the site's own time zone must decide post dates
    proc = subprocess.run([JEKYLL, "build", "--source", str(arch), "--destination", str(site),
                           "--config", f"{arch / '_config.yml'},{overlay}", "--strict_front_matter"],
                          cwd=arch.parent, env=env, capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"jekyll build failed ({proc.returncode}):\n{output}"
    return site, output


def posts_of(arch: Path) -> list[Path]:
    return sorted((arch / "_posts").glob("*.md"))


def page_for(site: Path, post: Path, fm: dict) -> Path:
    """The built page of a post under the permalink ``/:year/:month/:day/:title/``.

    The date is the front matter's, in Asia/Shanghai (a wrong Jekyll time zone moves late-evening posts
    to the next day). The slug is the file name's; Jekyll's own slugify (Ruby's Unicode tables) may turn
    a few characters wxarchive keeps (e.g. 〇 U+3007) into "-", so a page of that day with the post's
    title is accepted too.
    """
    date = fm["date"]
    if isinstance(date, str):
        date = dt.datetime.strptime(date, "%Y-%m-%d %H:%M:%S %z")
    if isinstance(date, dt.datetime):
        date = date.astimezone(SHANGHAI) if date.tzinfo else date
    day = site / f"{date:%Y}" / f"{date:%m}" / f"{date:%d}"
    slug = re.sub(r"^\d{4}-\d{2}-\d{2}-", "", post.stem)
    exact = day / slug / "index.html"
    if exact.is_file() or not day.is_dir():
        return exact
    title = " ".join(str(fm["title"]).split())
    for cand in sorted(day.glob("*/index.html")):
        doc = lxml_html.fromstring(cand.read_bytes())
        if " ".join(doc.xpath("string(//h1[1])").split()) == title:
            return cand
    return exact


def local_target(site: Path, page: Path, src: str) -> Path | None:
    """The file a local URL names in the built site, or None for a remote/data URL."""
    parts = urlsplit(src)
    if parts.scheme or src.startswith("//"):
        return None
    path = unquote(parts.path)
    target = site / path.lstrip("/") if path.startswith("/") else page.parent / path
    if path.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target


# ---------------------------------------------------------------- the checks

@pytest.mark.slow
def test_fixtures_archive_as_expected(archived):
    arch, pages, outcomes, served, stderr = archived
    problems = []
    for page, error in pages:
        o = outcomes[page.resolve()]
        name = page.parent.name if page != OWN_PAGE else page.name
        if error:
            want = json.loads((page.parent / "expected.json").read_text(encoding="utf-8"))
            if o["status"] != "failed" or o.get("post"):
                problems.append(f"{name}: an error page gave {o['status']} {o.get('post')}")
            elif want.get("error") and o.get("error") != want["error"]:
                problems.append(f"{name}: error {o.get('error')!r}, want {want['error']!r}")
        elif o["status"] not in ("archived", "skipped") or not o.get("post"):
            problems.append(f"{name}: {o['status']} {o.get('error')} {o.get('message', '')}")
        elif o["images"]["failed"]:
            problems.append(f"{name}: {o['images']['failed']} image(s) failed although the server answers all")
    assert not problems, "\n".join(problems) + "\n" + stderr
    assert served, "no image was requested from the local image server"
    n_ok = sum(1 for _, e in pages if not e)
    assert len(posts_of(arch)) == n_ok


def test_archive_is_a_jekyll_site(archived):
    arch = archived[0]
    for rel in ("_config.yml", "_layouts/default.html", "_layouts/post.html", "index.html"):
        assert (arch / rel).is_file(), rel
    cfg = yaml.safe_load((arch / "_config.yml").read_text(encoding="utf-8"))
    assert cfg["timezone"] == "Asia/Shanghai"


@pytest.mark.slow
def test_jekyll_build_is_clean(built):
    site, output = built
    paths = re.compile(r"^\s*(Configuration file|Source|Destination):")  # our temp paths, not messages
    bad = [line for line in output.splitlines()
           if BAD_OUTPUT.search(line) and not HARMLESS_OUTPUT.search(line) and not paths.match(line)]
    assert not bad, "jekyll build complained:\n" + "\n".join(bad)
    assert (site / "index.html").is_file()


def test_every_post_is_a_page(archived, built):
    arch, site = archived[0], built[0]
    posts = posts_of(arch)
    assert posts
    index = lxml_html.fromstring((site / "index.html").read_bytes())
    linked = {local_target(site, site / "index.html", a.get("href")) for a in index.iter("a") if a.get("href")}
    problems = []
    for post in posts:
        fm, _ = split_front_matter(post.read_text(encoding="utf-8"))
        page = page_for(site, post, fm)
        if not page.is_file():
            near = sorted(str(p.relative_to(site)) for p in site.rglob("index.html"))
            problems.append(f"{post.name}: no {page.relative_to(site)} in the built site (have: {near})")
            continue
        if page not in linked:
            problems.append(f"{post.name}: the index does not link to {page.relative_to(site)}")
        doc = lxml_html.fromstring(page.read_bytes())
        h1 = " ".join(doc.xpath("string(//h1[1])").split())
        if h1 != " ".join(str(fm["title"]).split()):
            problems.append(f"{post.name}: page title {h1!r} != front matter {fm['title']!r}")
    assert not problems, "\n".join(problems)
    # nothing but posts, the index and the page of gone originals became pages
    pages = {p for p in site.rglob("*.html")}
    assert len(pages) == len(posts) + 2 and site / "gone" / "index.html" in pages, \
        sorted(str(p.relative_to(site)) for p in pages)


def test_local_links_and_images_resolve(built):
    site = built[0]
    problems, n_local = [], 0
    for page in sorted(site.rglob("*.html")):
        doc = lxml_html.fromstring(page.read_bytes())
        refs = [("img", i.get("src")) for i in doc.iter("img")]
        refs += [("a", a.get("href")) for a in doc.iter("a") if a.get("href") and not a.get("href").startswith("#")]
        for kind, ref in refs:
            if not ref or not ref.strip():
                problems.append(f"{page.relative_to(site)}: <{kind}> without a target")
                continue
            target = local_target(site, page, ref.strip())
            if target is None:
                continue
            n_local += kind == "img"
            if not target.is_file():
                problems.append(f"{page.relative_to(site)}: <{kind}> {ref} -> no file {target}")
    assert not problems, "\n".join(problems)
    assert n_local, "no local image in the whole site: images were not saved or not referenced"


def test_site_files_are_readable_by_a_web_server(archived, built):
    """Jekyll copies images with their mode; a 0600 file is a 403 once nginx/Apache (another user) serves _site."""
    arch, site = archived[0], built[0]
    umask = os.umask(0)
    os.umask(umask)
    want = 0o044 & ~umask  # what the user's umask grants group/others; a plain `cp` would give that
    private = [str(p.relative_to(arch)) for p in [*(arch / "postimg").iterdir(), *posts_of(arch)]
               if p.is_file() and p.stat().st_mode & want != want]
    private += [str(p.relative_to(site)) for p in site.rglob("*") if p.is_file() and p.stat().st_mode & want != want]
    assert not private, f"{len(private)} file(s) only their owner can read, e.g. {private[:5]}"


def test_no_remote_wechat_images_in_posts(archived, built):
    """Every image was served, so every post must point at its local copy (hotlinks break offline)."""
    site = built[0]
    problems = []
    for page in sorted(site.rglob("*.html")):
        doc = lxml_html.fromstring(page.read_bytes())
        for img in doc.iter("img"):
            host = (urlsplit(img.get("src") or "").hostname or "").lower()
            if host and any(host == h or host.endswith("." + h) for h in PAGE_IMAGE_HOSTS):
                problems.append(f"{page.relative_to(site)}: remote {img.get('src')}")
    assert not problems, "\n".join(problems)


def test_liquid_text_reaches_the_reader(archived, built):
    arch, site = archived[0], built[0]
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "{% raw %}{" not in text and "{% endraw %}" not in text.replace("{%endraw%}", ""), \
            f"{page.relative_to(site)}: a Liquid escape is visible to the reader"
    own = [p for p in posts_of(arch) if split_front_matter(p.read_text(encoding="utf-8"))[0]["title"] == OWN_TITLE]
    assert len(own) == 1, "tests/data/jekyll_page.html was not archived under its title"
    fm, _ = split_front_matter(own[0].read_text(encoding="utf-8"))
    doc = lxml_html.fromstring(page_for(site, own[0], fm).read_bytes())
    text = doc.text_content()
    for snippet in OWN_SNIPPETS:
        assert snippet in text, f"{snippet!r} is not in the built page of {own[0].name}"


_LIQUID_LIKE = re.compile(r"\{[{%][^{}\n]*[}%]\}")


def test_liquid_off_posts_show_their_text_as_written(archived, built):
    """A post whose article text holds ``{{``/``{%`` says ``render_with_liquid: false`` (issue 22): its
    Markdown has no ``{% raw %}`` guard (GitHub and Obsidian show guards), and Jekyll 4 really skips
    Liquid for it: every ``{{ … }}``/``{% … %}`` of the post is in its built page as written."""
    arch, site = archived[0], built[0]
    off = []
    for post in posts_of(arch):
        fm, body = split_front_matter(post.read_text(encoding="utf-8"))
        if fm.get("render_with_liquid") is not False:
            continue
        off.append(post.name)
        assert "{% raw %}" not in body and "{% endraw %}" not in body, f"{post.name}: a guard in a Liquid-off post"
        text = lxml_html.fromstring(page_for(site, post, fm).read_bytes()).text_content()
        wanted = _LIQUID_LIKE.findall(body)
        assert wanted, f"{post.name}: Liquid turned off for a post without Liquid-like text"
        for w in wanted:
            assert w in text, f"{w!r} of {post.name} is not in its built page"
    assert off, "no fixture post turned Liquid off (fixtures/hostile-2023-liquid should)"


def _snippet(body: str) -> str | None:
    """A line of plain prose from a post body (no Markdown or Liquid syntax), to look for in the page."""
    best = None
    for line in body.splitlines():
        line = line.strip()
        if len(line) < 8 or re.search(r"[\\`*_\[\]<>#{}|&!()~=+]|^\s*[-\d]", line):
            continue
        if best is None or len(line) > len(best):
            best = line
    return best[:60] if best else None


@pytest.fixture(scope="module")
def browser(built, tmp_path_factory):
    _need(("jekyll", JEKYLL), ("chromium", CHROMIUM))
    site = built[0]
    handler = functools.partial(_Quiet, directory=str(site))
    with _Server(handler) as server:  # type: ignore[arg-type]
        profile = Path(tempfile.mkdtemp(dir=tmp_path_factory.mktemp("chromium")))
        b = Browser(profile)
        try:
            yield b, server
        finally:
            b.close()


def _path_url(site: Path, page: Path) -> str:
    rel = page.relative_to(site).parent.as_posix()
    from urllib.parse import quote

    return "/" if rel == "." else "/" + quote(rel) + "/"


@pytest.mark.slow
def test_posts_in_a_browser(archived, built, browser, tmp_path):
    arch, site = archived[0], built[0]
    b, server = browser
    problems = []
    local = ("127.0.0.1",)
    for post in posts_of(arch):
        fm, body = split_front_matter(post.read_text(encoding="utf-8"))
        page = page_for(site, post, fm)
        url = server.base + _path_url(site, page)
        requested = b.open(url)
        state = b.tools.evaluate("""({
            title: document.title,
            h1: (document.querySelector('h1') || {}).innerText || '',
            text: document.body.innerText,
            images: Array.from(document.images).map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0})),
        })""")
        name = post.name
        title = " ".join(str(fm["title"]).split())
        if " ".join(state["h1"].split()) != title or title not in " ".join(state["title"].split()):
            problems.append(f"{name}: title shown as h1={state['h1']!r} <title>={state['title']!r}, want {title!r}")
        text = re.sub(r"\s+", "", state["text"])
        snippets = list(OWN_SNIPPETS) if fm["title"] == OWN_TITLE else [s for s in [_snippet(body)] if s]
        for s in snippets:
            if re.sub(r"\s+", "", s) not in text:
                problems.append(f"{name}: text {s!r} not shown")
        bad = [i["src"] for i in state["images"] if not i["ok"]]
        if bad:
            problems.append(f"{name}: {len(bad)} image(s) not loaded: {bad[:5]}")
        want = len(re.findall(r"!\[[^\]]*\]\(|<img\b", body))
        if len(state["images"]) < want:
            problems.append(f"{name}: {len(state['images'])} images on the page, the post has {want}")
        away = [u for u in requested if not u.startswith(("data:", "about:")) and urlsplit(u).hostname not in local]
        if away:
            problems.append(f"{name}: requests leaving localhost: {away[:5]}")
        if fm["title"] == OWN_TITLE:
            shot = base64.b64decode(b.tools.call("Page.captureScreenshot", format="png")["data"])
            assert shot.startswith(b"\x89PNG") and len(shot) > 1000
            (tmp_path / "own-post.png").write_bytes(shot)
            if state["images"]:
                assert len(state["images"]) >= 3, state["images"]
    assert not problems, "\n".join(problems)


def test_index_in_a_browser(archived, built, browser):
    arch = archived[0]
    b, server = browser
    requested = b.open(server.base + "/")
    state = b.tools.evaluate("""({
        text: document.body.innerText,
        links: Array.from(document.querySelectorAll('ul.posts a')).map(a => a.href),
    })""")
    titles = [split_front_matter(p.read_text(encoding="utf-8"))[0]["title"] for p in posts_of(arch)]
    assert len(state["links"]) == len(titles)
    text = " ".join(state["text"].split())
    for t in titles:
        assert " ".join(str(t).split()) in text, f"{t!r} not listed on the index"
    away = [u for u in requested if not u.startswith(("data:", "about:")) and urlsplit(u).hostname != "127.0.0.1"]
    assert not away, away
    # every listed post answers
    for href in state["links"]:
        assert urlsplit(href).hostname == "127.0.0.1", href
        _http_get(href)


def test_the_index_links_the_gone_page(built):
    """Issue 23: the list of originals found gone is reachable from the site's front page."""
    site = built[0]
    index = site / "index.html"
    doc = lxml_html.fromstring(index.read_bytes())
    targets = [local_target(site, index, a.get("href")) for a in doc.iter("a") if a.get("href")]
    assert site / "gone" / "index.html" in targets, [a.get("href") for a in doc.iter("a")]
