"""--proxy, the *_PROXY environment, --cookies and --user-agent against a real forward proxy (issue 11).

The fake WeChat here speaks HTTPS with a certificate for mp.weixin.qq.com and mmbiz.qpic.cn made by
openssl for the test (trusted through SSL_CERT_FILE, as a company's TLS-inspecting proxy is). The
proxy is a small real one: CONNECT tunnels and absolute-form requests, each target mapped to the
local server. No --connect-to: requests leave for the real host names, and only the proxy knows
where they go.
"""
from __future__ import annotations

import os
import select
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from typing import Iterator

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from batch_fake import VERIFY_PAGE, FakeWeChat, make_articles, posts

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")

SESSION = "sess-4f1c9e"
UA = "wxarchive-test/1.0 (+cookies)"


class ForwardProxy:
    """A forward proxy on 127.0.0.1: ``CONNECT host:port`` and ``GET http://host/…``; ``targets`` maps
    the requested host to a local (address, port). Records every request line it was sent."""

    def __init__(self, targets: dict[str, tuple[str, int]]) -> None:
        self.targets = targets
        self.seen: list[str] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            line, _, rest = head.partition(b"\r\n")
            method, target, version = line.decode().split(" ", 2)
            self.seen.append(f"{method} {target}")
            if method == "CONNECT":
                host = target.rsplit(":", 1)[0]
                up = socket.create_connection(self.targets[host], timeout=10)
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                self._pipe(conn, up)
                return
            # absolute form: GET http://host[:port]/path HTTP/1.1
            hostport, _, path = target.split("://", 1)[1].partition("/")
            up = socket.create_connection(self.targets[hostport.split(":")[0]], timeout=10)
            up.sendall(f"{method} /{path} {version}\r\n".encode() + rest)
            self._pipe(conn, up)

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        with b:
            socks = [a, b]
            while True:
                ready, _, _ = select.select(socks, [], [], 10)
                if not ready:
                    return
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)

    def close(self) -> None:
        self._stop = True
        self.sock.close()


@pytest.fixture(scope="module")
def cert(tmp_path_factory) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    d = tmp_path_factory.mktemp("tls")
    crt, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", str(key),
                    "-out", str(crt), "-subj", "/CN=mp.weixin.qq.com",
                    "-addext", "subjectAltName=DNS:mp.weixin.qq.com,DNS:mmbiz.qpic.cn"],
                   check=True, capture_output=True)
    return crt, key


@pytest.fixture
def tls_wechat(cert, monkeypatch) -> Iterator[tuple[HTTPServer, FakeWeChat, list]]:  # type: ignore[no-untyped-def]
    """HTTPS fake WeChat that shows articles only to a client sending the session cookie."""
    crt, key = cert
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(crt, key)
    srv = HTTPServer(host="127.0.0.1", port=0, ssl_context=ctx, threaded=True)
    srv.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(crt))
    for var in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "all_proxy",
                "no_proxy", "WXARCHIVE_CONNECT_TO"):
        monkeypatch.delenv(var, raising=False)
    fake = FakeWeChat(srv, make_articles(1))
    real = fake._article
    headers: list = []

    def article(request: Request) -> Response:
        headers.append(dict(request.headers))
        if request.cookies.get("wxuin") != SESSION:
            return Response(VERIFY_PAGE, content_type="text/html; charset=utf-8")
        return real(request)

    fake._article = article  # type: ignore[method-assign]
    fake.install()
    try:
        yield srv, fake, headers
    finally:
        srv.clear()
        srv.stop()


@pytest.fixture
def proxy(tls_wechat) -> Iterator[ForwardProxy]:  # type: ignore[no-untyped-def]
    srv = tls_wechat[0]
    p = ForwardProxy({"mp.weixin.qq.com": ("127.0.0.1", srv.port), "mmbiz.qpic.cn": ("127.0.0.1", srv.port)})
    yield p
    p.close()


def cookies_txt(path: Path, magic: bool = True) -> Path:
    lines = ["# Netscape HTTP Cookie File"] if magic else []
    lines += [f".qq.com\tTRUE\t/\tTRUE\t0\twxuin\t{SESSION}",
              f"#HttpOnly_.weixin.qq.com\tTRUE\t/\tFALSE\t2145916800\tpass_ticket\tabc",
              ".example.org\tTRUE\t/\tFALSE\t2145916800\tother\tnot-for-wechat"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_proxy_cookies_and_user_agent(run_cli, tmp_path: Path, tls_wechat, proxy) -> None:  # type: ignore[no-untyped-def]
    srv, fake, headers = tls_wechat
    art = fake.articles[0]
    root = tmp_path / "arch"
    r = run_cli("get", art.url(), "--out", root, "--delay", "0", "--proxy", proxy.url,
                "--cookies", cookies_txt(tmp_path / "cookies.txt", magic=False), "--user-agent", UA)
    assert r.code == 0, r.err
    assert len(posts(root)) == 1
    assert "CONNECT mp.weixin.qq.com:443" in proxy.seen and "CONNECT mmbiz.qpic.cn:443" in proxy.seen
    assert headers[-1]["User-Agent"] == UA
    cookie = headers[-1]["Cookie"]
    assert f"wxuin={SESSION}" in cookie and "pass_ticket=abc" in cookie and "other=" not in cookie
    assert list((root / "postimg").iterdir())  # the image came through the proxy too


def test_without_the_cookies_the_server_refuses(run_cli, tmp_path: Path, tls_wechat, proxy) -> None:  # type: ignore[no-untyped-def]
    srv, fake, headers = tls_wechat
    r = run_cli("get", fake.articles[0].url(), "--out", tmp_path / "arch", "--delay", "0", "--proxy", proxy.url)
    assert r.code == 3 and posts(tmp_path / "arch") == []
    assert "Cookie" not in headers[-1]


def test_proxy_from_the_environment_and_no_proxy(run_cli, tmp_path: Path, tls_wechat, proxy, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    srv, fake, headers = tls_wechat
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "mmbiz.qpic.cn,localhost")
    cookies = cookies_txt(tmp_path / "c.txt")
    r = run_cli("get", fake.articles[0].url(), "--out", tmp_path / "arch", "--delay", "0", "--cookies", cookies,
                "--json", "--timeout", "3")
    assert r.json["status"] == "archived", r.err
    assert "CONNECT mp.weixin.qq.com:443" in proxy.seen
    # NO_PROXY: images went direct (and, with no internet here, failed)
    assert not any("mmbiz" in s for s in proxy.seen)
    assert r.json["images"]["failed"] == 1
    # --proxy '' turns the environment's proxy off
    n = len(proxy.seen)
    r = run_cli("get", fake.articles[0].url(), "--out", tmp_path / "arch2", "--delay", "0", "--proxy", "",
                "--timeout", "3", "--attempt-gap", "0")
    assert r.code == 1 and len(proxy.seen) == n


def test_connect_to_wins_over_the_proxy(run_cli, tmp_path: Path, proxy, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ALL_PROXY", proxy.url)
    plain = HTTPServer(host="127.0.0.1", port=0)
    plain.start()
    try:
        fake = FakeWeChat(plain, make_articles(1)).install()
        base = f"http://127.0.0.1:{plain.port}"
        r = run_cli("get", fake.articles[0].url(), "--out", tmp_path / "arch", "--delay", "0", "--proxy", proxy.url,
                    "--connect-to", f"mp.weixin.qq.com={base}", "--connect-to", f"mmbiz.qpic.cn={base}")
        assert r.code == 0, r.err
        assert proxy.seen == []
    finally:
        plain.stop()


@pytest.mark.parametrize("args,needle", [(["--proxy", "ftp://127.0.0.1:21"], "proxy"),
                                         (["--proxy", "http://127.0.0.1:notaport"], "proxy"),
                                         (["--cookies", "/nonexistent/cookies.txt"], "cookies file")])
def test_bad_proxy_or_cookies_is_one_line(run_cli, tmp_path: Path, args: list, needle: str) -> None:
    r = run_cli("get", "https://mp.weixin.qq.com/s/abc", "--out", tmp_path / "a", *args)
    assert r.code == 2, r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.err


def test_a_file_that_is_not_cookies_txt(run_cli, tmp_path: Path) -> None:
    bad = tmp_path / "c.txt"
    bad.write_text("this is not\ta cookies file\n")
    r = run_cli("get", "https://mp.weixin.qq.com/s/abc", "--out", tmp_path / "a", "--cookies", bad)
    assert r.code == 2 and "cookies.txt" in r.err and "Traceback" not in r.err


def test_image_requests_carry_the_browser_headers_and_no_cookies(run_cli, tmp_path: Path, tls_wechat,
                                                                 proxy) -> None:  # type: ignore[no-untyped-def]
    """Images go straight to the transport (no client machinery per image): the same User-Agent and
    language as the page, as-is bytes asked for, and WeChat's login cookies kept to WeChat's pages."""
    srv, fake, headers = tls_wechat
    r = run_cli("get", fake.articles[0].url(), "--out", tmp_path / "arch", "--delay", "0", "--proxy", proxy.url,
                "--cookies", cookies_txt(tmp_path / "cookies.txt"), "--user-agent", UA, "--json")
    assert r.code == 0 and r.json["images"] == {"found": 1, "saved": 1, "failed": 0}, r.err
    page = headers[-1]
    image = [dict(req.headers) for req, _ in srv.log if req.path.startswith("/mmbiz_png/")]
    assert len(image) == 1
    assert f"wxuin={SESSION}" in page["Cookie"] and "Cookie" not in image[0]
    assert image[0]["User-Agent"] == page["User-Agent"] == UA
    assert image[0]["Accept-Language"] == page["Accept-Language"]
    assert image[0]["Accept-Encoding"] == "identity" and page["Accept-Encoding"] != "identity"
    assert image[0]["Host"] == "mmbiz.qpic.cn"


def test_an_https_route_still_checks_the_certificate(run_cli, tmp_path: Path, tls_wechat) -> None:  # type: ignore[no-untyped-def]
    """A plain ``http://`` route has no certificate store to load (no TLS); an ``https://`` one is verified
    as ever: this server's certificate does not name 127.0.0.1, so nothing may be archived from it."""
    srv, fake, _ = tls_wechat
    root = tmp_path / "arch"
    r = run_cli("get", fake.articles[0].url(), "--out", root, "--delay", "0",
                "--connect-to", f"mp.weixin.qq.com=https://127.0.0.1:{srv.port}")
    assert r.code != 0 and not posts(root)
    assert "certificate" in r.err.lower(), r.err
    r = run_cli("get", fake.articles[0].url(), "--out", root, "--delay", "0", "--no-images",
                "--connect-to", f"mp.weixin.qq.com=http://127.0.0.1:{srv.port}")
    assert r.code != 0  # (a plain request to a TLS port: refused, never an archived page)


def test_a_proxy_that_refuses_is_named(tmp_path: Path) -> None:
    """Issue 23: "mp.weixin.qq.com: Connection refused" sent people looking at WeChat; it was their proxy."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    proxy = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith("WXARCHIVE_")}
    for how, extra in (("flag", {}), ("environment", {"HTTPS_PROXY": proxy})):
        args = ["--proxy", proxy] if how == "flag" else []
        r = subprocess.run([sys.executable, "-m", "wxarchive", "get", "https://mp.weixin.qq.com/s/AAAAAAAAAAAAAAAAAAAAAA",
                            "--out", str(tmp_path / "a"), "--delay", "0", "--timeout", "2", *args],
                           capture_output=True, text=True, env={**env, **extra}, timeout=60)
        assert r.returncode == 1, r.stderr
        assert f"proxy {proxy} refused the connection" in r.stderr, (how, r.stderr)


# (the refused handshake resets the test proxy's tunnel under its pump thread: that is the point)
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_company_ca_bundle(run_cli, tmp_path: Path, tls_wechat, proxy, cert, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Issue 23: --ca-cert FILE trusts a private CA besides the default store (a company's TLS-inspecting
    proxy); without it (and without SSL_CERT_FILE) the same run is refused by certificate checking."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    srv, fake, _ = tls_wechat
    jar = cookies_txt(tmp_path / "cookies.txt")
    args = ["get", fake.articles[0].url(), "--delay", "0", "--proxy", proxy.url, "--cookies", jar, "--timeout", "5"]
    r = run_cli(*args, "--out", tmp_path / "no")
    assert r.code == 1 and "CERTIFICATE_VERIFY_FAILED" in r.err and posts(tmp_path / "no") == [], r.err
    r = run_cli(*args, "--out", tmp_path / "yes", "--ca-cert", cert[0])
    assert r.code == 0, r.err
    assert len(posts(tmp_path / "yes")) == 1
    r = run_cli(*args, "--out", tmp_path / "bad", "--ca-cert", tmp_path / "cookies.txt")
    assert r.code == 2 and "not a PEM file" in r.err
