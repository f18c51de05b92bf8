"""``--connect-to HOST=BASE_URL`` routes, ``--proxy`` and ``--cookies``, read without the HTTP stack.

Kept apart from :mod:`wxarchive.net.fetch` so that commands that never make a
request (a saved page, ``status``, ``--help``) do not import httpx.
"""
from __future__ import annotations

import re
import warnings
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from wxarchive.errors import UsageError

if TYPE_CHECKING:
    import http.cookiejar

__all__ = ["check_cookie_jar", "check_proxy", "load_cookies", "parse_connect_to"]


def parse_connect_to(items: list[str] | None, env: str | None = None) -> dict[str, str]:
    """``host=base_url`` pairs from flags and ``WXARCHIVE_CONNECT_TO`` (comma-separated).

    The values stay plain strings; :class:`wxarchive.net.fetch.Fetcher` turns them into URLs
    when it builds its client.
    """
    pairs = [(p, "--connect-to") for p in items or []]
    if env:
        pairs += [(p, "WXARCHIVE_CONNECT_TO") for p in env.split(",") if p.strip()]
    routes: dict[str, str] = {}
    for p, where in pairs:
        host, sep, base = p.strip().partition("=")
        hint = " (pairs are separated by commas)" if where != "--connect-to" else ""
        bad = UsageError(f"{where} wants HOST=http://ADDR:PORT{hint}, got {p!r}")
        if not sep or not host.strip() or not base.startswith(("http://", "https://")) or "=" in base:
            raise bad
        try:
            parts = urlsplit(base)
            port = parts.port  # raises on a port that is not a number from 0 to 65535
        except ValueError:
            raise bad from None
        if not parts.hostname or port == 0 or any(c in parts.netloc for c in ";, \t"):
            raise bad
        routes[host.strip().lower()] = base
    return routes


def check_proxy(url: str) -> str:
    """``--proxy``: an http(s) or SOCKS 5 proxy URL (``host:port`` alone means http://)."""
    if "://" not in url:
        url = "http://" + url  # `--proxy host:3128`, as curl takes it
    scheme = url.split("://", 1)[0].lower()
    if scheme not in ("http", "https", "socks5", "socks5h"):
        raise UsageError(f"proxy must be http://, https:// or socks5://HOST:PORT, got {url!r}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as e:
        raise UsageError(f"bad proxy {url!r}: {e}") from None
    if not parts.hostname:
        raise UsageError(f"bad proxy {url!r}: no host")
    return url


def check_ca_cert(path: str) -> str:
    """``--ca-cert``: a readable PEM file of CA certificates; anything else a usage error before any request."""
    import ssl  # (only for --ca-cert: a saved page or a re-run loads no SSL)

    try:
        ssl.create_default_context().load_verify_locations(cafile=path)
    except FileNotFoundError:
        raise UsageError(f"--ca-cert {path}: no such file") from None
    except (OSError, ssl.SSLError, ValueError) as e:
        raise UsageError(f"--ca-cert {path}: not a PEM file of CA certificates ({getattr(e, 'strerror', None) or e})") \
            from None
    return path


def load_cookies(path: str) -> http.cookiejar.CookieJar:
    """A Netscape ``cookies.txt`` (as yt-dlp and gallery-dl read it, browser add-ons write it)."""
    import http.cookiejar  # (with tempfile, only for --cookies: http.cookiejar loads urllib.request and ssl)
    import tempfile

    jar = http.cookiejar.MozillaCookieJar()
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as e:
        raise UsageError(f"cannot read the cookies file {path}: {e.strerror or e}") from None
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip() and (not line.startswith("#") or line.startswith("#HttpOnly_")) and line.count("\t") != 6:
            raise UsageError(f"{path} is not a Netscape cookies.txt file (line {n} does not have 7 tab-separated "
                             "fields); export one with a cookies.txt browser extension or yt-dlp --cookies-from-browser")
    if not re.match(r"#( Netscape)? HTTP Cookie File", text):
        text = "# Netscape HTTP Cookie File\n" + text  # many exporters leave the magic line out
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt") as tmp:
        tmp.write(text)
        tmp.flush()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the stdlib warns with a traceback before it raises
                jar.load(tmp.name, ignore_discard=True, ignore_expires=True)
        except (http.cookiejar.LoadError, ValueError) as e:
            raise UsageError(f"{path} is not a Netscape cookies.txt file: {e}") from None
    for c in jar:
        if not c.expires:  # 0 is a session cookie in browsers' exports, not one that expired in 1970
            c.expires, c.discard = None, True
        _sendable(path, c.name, c.value or "")
    return jar


def check_cookie_jar(jar: http.cookiejar.CookieJar, where: str) -> None:
    """Every cookie of a jar read elsewhere (a browser's store) is one an HTTP header can carry."""
    for c in jar:
        _sendable(where, c.name, c.value or "")


def _sendable(path: str, name: str, value: str) -> None:
    """A cookie an HTTP header can carry (printable ASCII, no ';'), else a usage error now: sent, it would fail
    every page request before it left, and each failure would count against an article (issue 25)."""
    bad = re.search(r"[^\x21-\x3a\x3c-\x7e ]", name + value)
    if bad:
        raise UsageError(f"{path}: cookie {name!r} holds {bad.group(0)!r}, which an HTTP header cannot carry; "
                         "export the cookies again (values are sent as they are, never re-encoded)")
