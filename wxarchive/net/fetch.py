"""The one HTTP client: User-Agent, timeouts, retries, pacing and ``--connect-to`` routing.

Everything the tool records keeps the real URL; ``--connect-to HOST=BASE``
only changes where the bytes come from (tests and benchmarks use it).
"""
from __future__ import annotations

import datetime as dt
import email.utils
import logging
import random
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import NamedTuple
from urllib.parse import urljoin, urlsplit

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from wxarchive.net.decode import ACCEPT_ENCODING, BodyDecoder
from wxarchive.errors import FetchError, RateLimited, UsageError
from wxarchive.interrupt import Interrupt, StopRequested
from wxarchive.models import MAX_PAGE_BYTES, Page
from wxarchive.net.routing import check_proxy, load_cookies, parse_connect_to
from wxarchive.urls import ARTICLE_HOST, IMAGE_HOSTS

__all__ = ["Fetcher", "ImageRequest", "load_cookies", "parse_connect_to"]

log = logging.getLogger(__name__)


USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
MAX_REDIRECTS = 10


_UNSET = object()


class Routing(httpx.BaseTransport):
    """Where each request goes: a ``--connect-to`` route first (direct, the real URL kept for the
    record), then the proxy (``--proxy``, else ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` minus
    ``NO_PROXY``), else direct."""

    def __init__(self, routes: Mapping[str, httpx.URL | str], proxy: str | None = None,
                 ca_cert: str | None = None) -> None:
        self.routes = {h: httpx.URL(str(u)) for h, u in routes.items()}
        self.proxy = proxy  # None: from the environment; "": never
        self.ca_cert = ca_cert
        self._direct: dict[str, httpx.HTTPTransport] = {}  # by scheme, made on first use (see _straight)
        self._proxied: dict[str, httpx.HTTPTransport] = {}
        self._lock = threading.Lock()
        self._env_proxies: dict[str, str] | None = None  # *_PROXY / NO_PROXY, read on first use
        self._env_choice: dict[tuple[str, str], str | None] = {}  # (scheme, host) -> proxy or None

    def _straight(self, scheme: str) -> httpx.HTTPTransport:
        """The direct transport for ``scheme``. Loading the certificate store for TLS costs ~50 ms of
        CPU, before the first request: a plain ``http://`` route (a local mirror, ``--connect-to``)
        never does TLS, so its transport has no certificate store; the verifying one is made on the
        first ``https://`` request."""
        plain = scheme == "http"
        with self._lock:
            t = self._direct.get("http" if plain else "https")
            if t is None:
                t = self._direct["http" if plain else "https"] = (
                    httpx.HTTPTransport(retries=0, verify=False) if plain else
                    httpx.HTTPTransport(retries=0, verify=self._verify()))
            return t

    def _verify(self) -> ssl.SSLContext | bool:
        """The certificate store: the default one (certifi, or SSL_CERT_FILE/SSL_CERT_DIR), plus the
        CA certificates of ``--ca-cert`` when given (a company's TLS-inspecting proxy signs with its own)."""
        if not self.ca_cert:
            return True
        ctx = httpx.create_ssl_context()
        ctx.load_verify_locations(cafile=self.ca_cert)
        return ctx

    def proxy_for(self, url: httpx.URL) -> str | None:
        if self.proxy is not None:
            return self.proxy or None
        key = (url.scheme, url.host)
        got = self._env_choice.get(key, _UNSET)
        if got is _UNSET:  # the environment is read once per host (~0.1 ms each time: every variable is scanned)
            if self._env_proxies is None:
                self._env_proxies = urllib.request.getproxies_environment()
            proxies = self._env_proxies
            bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
            got = None if not proxies or bypass(url.host, proxies) else (
                proxies.get(url.scheme) or proxies.get("all") or None)
            self._env_choice[key] = got
        return got  # type: ignore[return-value]

    def _via(self, proxy: str) -> httpx.HTTPTransport:
        with self._lock:
            t = self._proxied.get(proxy)
            if t is None:
                t = self._proxied[proxy] = httpx.HTTPTransport(retries=0, proxy=_proxy(proxy), verify=self._verify())
            return t

    def route(self, request: httpx.Request) -> tuple[httpx.BaseTransport, httpx.Request]:
        """The transport ``request`` goes through, and the request as that transport sends it."""
        base = self.routes.get(request.url.host)
        if base is not None:
            prefix = base.path.rstrip("/")
            url = request.url.copy_with(scheme=base.scheme, host=base.host, port=base.port,
                                        path=prefix + request.url.path)
            request = httpx.Request(request.method, url, headers=request.headers, stream=request.stream,
                                    extensions=request.extensions)
            return self._straight(url.scheme), request
        proxy = self.proxy_for(request.url)
        return (self._via(proxy) if proxy else self._straight(request.url.scheme)), request

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        transport, request = self.route(request)
        return transport.handle_request(request)

    def close(self) -> None:
        for t in [*self._direct.values(), *self._proxied.values()]:
            t.close()


def _proxy(url: str) -> httpx.Proxy:
    """A proxy URL httpx can use; a clear usage error otherwise."""
    url = check_proxy(url)
    try:
        return httpx.Proxy(url)
    except (ValueError, httpx.InvalidURL) as e:
        raise UsageError(f"bad proxy {url!r}: {e}") from None
    except ImportError:  # pragma: no cover - socksio is a dependency
        raise UsageError("a SOCKS proxy needs the socksio package (pip install 'httpx[socks]')") from None


class ImageRequest(NamedTuple):
    """An image request made ready before its download slot is taken: host checked, request built and
    routed. Inside the slot only the bytes go out (building it there was ~1.3 ms of every download's
    slot time, three URL parses among it: ``python -m bench``'s pacing)."""

    url: str
    asked: httpx.Request  # the URL asked for (the response's ``request``)
    sent: httpx.Request  # as the transport sends it (another host under ``--connect-to``)
    transport: httpx.BaseTransport


class _Retry(Exception):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(status)
        self.status = status
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


class Fetcher:
    """Pages paced per host (minimum interval with jitter); images unpaced but bounded by the caller."""

    def __init__(
        self,
        *,
        connect_to: Mapping[str, httpx.URL | str] | None = None,
        timeout: float = 20.0,
        retries: int = 3,
        backoff: float = 1.0,
        delay: tuple[float, float] = (2.0, 3.0),
        max_retry_after: float = 60.0,
        page_hosts: tuple[str, ...] = (ARTICLE_HOST,),
        image_hosts: tuple[str, ...] = IMAGE_HOSTS,
        on_request: Callable[[str], None] | None = None,
        proxy: str | None = None,
        cookies: str | None = None,
        user_agent: str | None = None,
        ca_cert: str | None = None,
    ) -> None:
        if proxy:
            _proxy(proxy)  # a bad --proxy is a usage error before any request
        jar = load_cookies(cookies) if cookies else None
        self._routing = Routing(connect_to or {}, proxy, ca_cert)
        self.client = httpx.Client(
            transport=self._routing,
            cookies=jar,
            headers={"User-Agent": user_agent or USER_AGENT, "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.6",
                     "Accept-Encoding": ACCEPT_ENCODING},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            trust_env=False,
        )
        # an image request goes straight to the transport: the client's per-request machinery (auth
        # and redirect generators, cookie jar, event hooks) was ~0.3 ms of CPU on each of ~20 images
        # an article, inside a download slot (``python -m bench``). Images carry no cookies: WeChat's
        # login cookies are for its pages, never for the image servers.
        self._image_headers = httpx.Headers(self.client.headers)
        self._image_headers["Accept-Encoding"] = "identity"  # compressed already; keeps a gzip bomb out
        self._image_ext = {"timeout": self.client.timeout.as_dict()}
        self.retries = max(1, retries)
        self.deadline = max(2 * timeout, 1.0)  # a whole body, however slowly it trickles
        self.backoff = backoff
        self.delay = delay
        self.max_retry_after = max_retry_after
        self.page_hosts = page_hosts
        self.image_hosts = image_hosts
        self.on_request = on_request
        self._last: dict[str, float] = {}
        self._pace_lock = threading.Lock()
        self.requests = 0
        self.interrupt: Interrupt | None = None  # set by the pipeline: Ctrl-C ends a pacing wait


    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- pacing
    def _pace(self, host: str) -> None:
        lo, hi = self.delay
        if hi <= 0:
            return
        with self._pace_lock:
            last = self._last.get(host)
            wait = 0.0
            if last is not None:
                gap = random.uniform(lo, hi) if hi > lo else lo
                wait = last + gap - time.monotonic()
            if wait > 0:
                if self.interrupt is None:
                    time.sleep(wait)
                else:
                    self.interrupt.soft.wait(wait)
            if self.interrupt is not None and self.interrupt.soft.is_set():
                raise StopRequested()  # the first Ctrl-C: this page is new work, not asked for
            self._last[host] = time.monotonic()

    # ---- core
    def _allowed(self, url: str, hosts: tuple[str, ...]) -> bool:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        return parts.scheme in ("http", "https") and any(host == h or host.endswith("." + h) for h in hosts)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retry) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_retry_after)
        return float(min(self.backoff * (2 ** (state.attempt_number - 1)), 30.0) * random.uniform(0.8, 1.2))

    @staticmethod
    def _retryable(exc: BaseException) -> bool:
        return isinstance(exc, (_Retry, httpx.TransportError))

    def prepare_image(self, url: str, asked: str | None = None) -> ImageRequest:
        """The request for an image on an allowed image host, ready to send (see :class:`ImageRequest`);
        ``asked``: the URL first asked for, when ``url`` is a redirect's target."""
        if not self._allowed(url, self.image_hosts):
            raise FetchError(f"refusing to fetch {url} (not an allowed WeChat host)", url=asked or url)
        try:
            req = httpx.Request("GET", url, headers=self._image_headers, extensions=self._image_ext)
            transport, sent = self._routing.route(req)
        except (httpx.InvalidURL, ValueError) as e:  # a port that is not a number, a broken IPv6 host
            raise FetchError(f"malformed URL {url}: {e}", url=asked or url) from None
        return ImageRequest(url, asked=req, sent=sent, transport=transport)

    def _send(self, url: str, hosts: tuple[str, ...], stream: bool,
              headers: dict[str, str] | None = None, image: ImageRequest | None = None) -> httpx.Response:
        """One request with redirects followed by hand, so every hop's host is checked; ``image``:
        an image's, made ready (see :meth:`prepare_image`), streamed."""
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            if image is not None and image.url != current:
                image = self.prepare_image(current, url)  # a redirect's target
            if image is None:
                if not self._allowed(current, hosts):
                    raise FetchError(f"refusing to fetch {current} (not an allowed WeChat host)", url=url)
                try:
                    req = self.client.build_request("GET", current, headers=headers)
                except (httpx.InvalidURL, ValueError) as e:  # a port that is not a number, a broken IPv6 host
                    raise FetchError(f"malformed URL {current}: {e}", url=url) from None
            self.requests += 1  # (a request is counted once it is built: a malformed URL never goes out)
            if self.on_request:
                self.on_request(current)
            t0 = time.monotonic()
            try:
                if image is not None:
                    resp = image.transport.handle_request(image.sent)
                    resp.request = image.asked
                else:
                    resp = self.client.send(req, stream=stream)
            except httpx.HTTPError as e:
                log.info("GET %s -> %s (%.2f s)", current, type(e).__name__, time.monotonic() - t0)
                raise
            took = time.monotonic() - t0
            if resp.is_redirect and resp.headers.get("location"):
                nxt = urljoin(current, resp.headers["location"])
                log.info("GET %s -> %d redirect to %s (%.2f s)", current, resp.status_code, nxt, took)
                resp.close()
                if "captcha" in urlsplit(nxt).path or urlsplit(nxt).path.rstrip("/").endswith("/mp/verify"):
                    raise RateLimited(f"WeChat redirected {url} to verification ({nxt.split('?')[0]})", url=url)
                current = nxt
                continue
            log.info("GET %s -> %d (%.2f s)", current, resp.status_code, took)
            return resp
        raise FetchError(f"too many redirects for {url}", url=url)

    def _get(self, url: str, hosts: tuple[str, ...], stream: bool = False,
             headers: dict[str, str] | None = None, image: ImageRequest | None = None) -> httpx.Response:
        def attempt() -> httpx.Response:
            resp = self._send(url, hosts, stream, headers, image)
            if resp.status_code == 429 or resp.status_code >= 500:
                ra = _retry_after(resp.headers.get("retry-after"))
                resp.close()
                raise _Retry(resp.status_code, ra)
            return resp

        try:
            for att in Retrying(stop=stop_after_attempt(self.retries), wait=self._wait,
                                retry=retry_if_exception(self._retryable), reraise=True):
                with att:
                    return attempt()
        except _Retry as e:
            if e.status == 429:
                raise RateLimited(f"WeChat answered 429 Too Many Requests for {url}", url=url,
                                  retry_after=e.retry_after) from None
            raise FetchError(f"HTTP {e.status} for {url} after {self.retries} attempts", url=url, status=e.status) from None
        except httpx.TimeoutException as e:
            raise FetchError(f"timed out fetching {url} ({type(e).__name__})", url=url, transport=True) from None
        except httpx.TransportError as e:
            raise FetchError(self._transport_message(url, e), url=url, transport=True) from None
        except httpx.DecodingError as e:
            raise FetchError(f"broken compressed body from {url}: {e or type(e).__name__}", url=url) from None
        raise FetchError(f"could not fetch {url}", url=url)  # pragma: no cover - Retrying always returns or raises

    def _transport_message(self, url: str, e: httpx.TransportError) -> str:
        """What went wrong, naming the proxy when the connection that failed was the one to the proxy
        (through a proxy, every connection the tool makes is to the proxy): "mp.weixin.qq.com: Connection
        refused" sent people looking at WeChat when their proxy was down."""
        try:
            target = httpx.URL(url)
            proxy = None if target.host in self._routing.routes else self._routing.proxy_for(target)
        except (httpx.InvalidURL, ValueError):
            proxy = None
        why = str(e) or type(e).__name__
        if proxy and isinstance(e, httpx.ConnectError):
            if "refused" in why.lower():
                return f"proxy {proxy} refused the connection (fetching {url})"
            return f"cannot reach the proxy {proxy}: {why} (fetching {url})"
        if proxy and isinstance(e, httpx.ProxyError):
            return f"proxy {proxy}: {why} (fetching {url})"
        return f"network error fetching {url}: {why}"

    def _read(self, url: str, resp: httpx.Response, limit: int) -> bytes:
        """The whole body, decoded by hand under a size cap counted at every Content-Encoding
        layer (see ``bodies``), and a wall-clock deadline (a trickling server would otherwise
        keep every per-read timeout happy forever)."""
        deadline = time.monotonic() + self.deadline
        try:
            if resp.status_code >= 400:
                raise FetchError(f"HTTP {resp.status_code} for {url}", url=url, status=resp.status_code)
            body = BodyDecoder(resp.headers.get("content-encoding", ""), limit, url)
            for chunk in resp.iter_raw():
                if time.monotonic() > deadline:
                    raise FetchError(f"{url} took longer than {self.deadline:.0f} s to arrive", url=url)
                body.feed(chunk)
            return body.finish()
        except httpx.DecodingError as e:
            raise FetchError(f"broken compressed body from {url}: {e or type(e).__name__}", url=url) from None
        except httpx.TransportError as e:
            raise FetchError(f"network error reading {url}: {e or type(e).__name__}", url=url) from None
        finally:
            resp.close()

    def page(self, url: str) -> Page:
        """Fetch an article page (paced); 4xx other than 429 is not retried."""
        if not url.startswith(("http://", "https://")):
            raise UsageError(f"not an http(s) URL: {url}")
        self._pace(urlsplit(url).hostname or "")
        resp = self._get(url, self.page_hosts, stream=True)
        content = self._read(url, resp, MAX_PAGE_BYTES)
        return Page(url=url, final_url=str(resp.url), status=resp.status_code, content=content,
                    fetched_at=dt.datetime.now(dt.UTC), content_type=resp.headers.get("content-type", ""))

    def text(self, url: str, hosts: tuple[str, ...] | None = None) -> str:
        """A small text resource (feed, list, album JSON); paced when it is on a page host."""
        host = (urlsplit(url).hostname or "").lower()
        if host in self.page_hosts:
            self._pace(host)
        resp = self._get(url, hosts or (host,), stream=True)
        data = self._read(url, resp, MAX_PAGE_BYTES)
        try:
            return data.decode(resp.charset_encoding or "utf-8", "replace")
        except LookupError:  # a charset Python does not know
            return data.decode("utf-8", "replace")

    def stream_image(self, url: str | ImageRequest) -> _Closing:
        """A streaming response for an image on an allowed image host (caller closes it); ``url`` may be
        made ready beforehand (:meth:`prepare_image`)."""
        ready = url if isinstance(url, ImageRequest) else self.prepare_image(url)
        return _Closing(self._get(ready.url, self.image_hosts, stream=True, image=ready))


class _Closing:
    def __init__(self, resp: httpx.Response) -> None:
        self.resp = resp

    def __enter__(self) -> httpx.Response:
        return self.resp

    def __exit__(self, *exc: object) -> None:
        self.resp.close()
