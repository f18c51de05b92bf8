"""Response bodies decoded by hand, layer by layer, under a size cap checked as they stream.

httpx decodes ``Content-Encoding: gzip, gzip`` one network chunk at a time, but each
chunk through every layer at once: 5 KB can expand to gigabytes before any cap is
looked at. Here every layer hands on at most ``PIECE`` bytes at a time and every
layer's output is counted, so memory stays near ``PIECE`` whatever the body holds.
A gzip or deflate stream that stops before its end marker is a truncated body.
"""
from __future__ import annotations

import zlib
from collections.abc import Iterator

from wxarchive.errors import FetchError, Truncated

__all__ = ["ACCEPT_ENCODING", "BodyDecoder", "PIECE"]

PIECE = 64 * 1024
ACCEPT_ENCODING = "gzip, deflate"
_GZIP = ("gzip", "x-gzip")
_KNOWN = (*_GZIP, "deflate")


class _Layer:
    """One Content-Encoding layer: a zlib stream (gzip may hold several members)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.started = False
        self.d = self._new()

    def _new(self, raw_deflate: bool = False) -> zlib._Decompress:
        if self.kind in _GZIP:
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(-zlib.MAX_WBITS if raw_deflate else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decoded pieces of at most ``PIECE`` bytes each."""
        while True:
            if self.d.eof:
                data = self.d.unused_data + data
                if not data.strip(b"\x00"):
                    return  # padding after the last member
                self.d = self._new()
            if not data:
                return
            try:
                out = self.d.decompress(data, PIECE)
            except zlib.error:
                if self.kind == "deflate" and not self.started:
                    self.started = True  # some servers send raw deflate without the zlib header
                    self.d = self._new(raw_deflate=True)
                    continue
                raise
            self.started = True
            data = self.d.unconsumed_tail
            if out:
                yield out
            while len(out) == PIECE and not data and not self.d.eof:
                out = self.d.decompress(b"", PIECE)  # output zlib still holds for us
                if out:
                    yield out

    @property
    def complete(self) -> bool:
        return self.d.eof or not self.started


MAX_LAYERS = 8  # Content-Encoding layers a body may carry (servers send one)


class BodyDecoder:
    """Feed raw body bytes; ``finish()`` gives the decoded body or raises a typed error."""

    def __init__(self, content_encoding: str, limit: int, url: str) -> None:
        names = [e.strip().lower() for e in content_encoding.split(",")]
        names = [n for n in names if n and n != "identity"]
        if len(names) > MAX_LAYERS:  # each layer is a level of _push: 1,200 of them were a RecursionError
            raise FetchError(f"{url} was sent with {len(names)} Content-Encoding layers; at most {MAX_LAYERS} are "
                             "read", url=url)
        unknown = [n for n in names if n not in _KNOWN]
        if unknown:
            raise FetchError(f"{url} was sent with Content-Encoding {', '.join(unknown)}, which is not supported",
                             url=url)
        self.layers = [_Layer(n) for n in reversed(names)]  # the last encoding applied comes off first
        self.limit = limit
        self.url = url
        self.sizes = [0] * (len(self.layers) + 1)
        self.chunks: list[bytes] = []

    def _count(self, level: int, n: int) -> None:
        self.sizes[level] += n
        if self.sizes[level] > self.limit:
            raise FetchError(f"{self.url} is larger than {self.limit // 2**20} MB", url=self.url)

    def _push(self, level: int, data: bytes) -> None:
        self._count(level, len(data))
        if level == len(self.layers):
            self.chunks.append(data)
            return
        try:
            for piece in self.layers[level].feed(data):
                self._push(level + 1, piece)
        except zlib.error as e:
            raise FetchError(f"broken compressed body from {self.url}: {e}", url=self.url) from None

    def feed(self, data: bytes) -> None:
        if data:
            self._push(0, data)

    def finish(self) -> bytes:
        for layer in self.layers:
            if not layer.complete:
                raise Truncated(f"{self.url}: the {layer.kind} stream ended before its end (truncated body)",
                                url=self.url)
        return b"".join(self.chunks)
