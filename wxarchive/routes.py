"""``--connect-to HOST=BASE_URL`` routes, read without the HTTP stack.

Kept apart from :mod:`wxarchive.fetch` so that commands that never make a
request (a saved page, ``status``, ``--help``) do not import httpx.
"""
from __future__ import annotations

from .errors import UsageError

__all__ = ["parse_connect_to"]


def parse_connect_to(items: list[str] | None, env: str | None = None) -> dict[str, str]:
    """``host=base_url`` pairs from flags and ``WXARCHIVE_CONNECT_TO`` (comma-separated).

    The values stay plain strings; :class:`wxarchive.fetch.Fetcher` turns them into URLs
    when it builds its client.
    """
    pairs = list(items or [])
    if env:
        pairs += [p for p in env.split(",") if p.strip()]
    routes: dict[str, str] = {}
    for p in pairs:
        host, sep, base = p.strip().partition("=")
        if not sep or not host or not base.startswith(("http://", "https://")):
            raise UsageError(f"--connect-to wants HOST=http://ADDR:PORT, got {p!r}")
        routes[host.lower()] = base
    return routes
