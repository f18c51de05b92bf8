"""Bodies decoded layer by layer under a cap (wxarchive.net.decode): what is read, what is refused, what is cut.

Each case is a body made here with zlib and fed the way a network gives it (whole, or a few bytes at a
time); the decoder must give back the very bytes, or a typed error a later run can act on: ``Truncated``
(try again), ``FetchError`` (this answer is unusable), never a ``zlib.error`` or a memory blow-up.
"""
from __future__ import annotations

import gzip
import zlib

import pytest

from wxarchive.errors import FetchError, Truncated
from wxarchive.net.decode import MAX_LAYERS, PIECE, BodyDecoder

BODY = ("<html><body>" + "正文，一段不短的文字。" * 2000 + "</body></html>").encode()
URL = "https://mp.weixin.qq.com/s/x"


def decode(encoding: str, data: bytes, *, step: int = 0, limit: int = 8 << 20) -> bytes:
    d = BodyDecoder(encoding, limit, URL)
    for i in range(0, len(data), step or max(1, len(data))):
        d.feed(data[i:i + (step or len(data))])
    return d.finish()


def deflate(data: bytes, *, raw: bool = False) -> bytes:
    c = zlib.compressobj(wbits=-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


@pytest.mark.parametrize("encoding", ["", "identity", " Identity ", "identity, identity"])
def test_no_encoding_passes_the_bytes_through(encoding: str) -> None:
    assert decode(encoding, BODY) == BODY


@pytest.mark.parametrize("step", [0, 1, 7, PIECE + 3])
def test_gzip_read_whole_whatever_the_chunks(step: int) -> None:
    assert decode("gzip", gzip.compress(BODY), step=step) == BODY


def test_layers_come_off_last_applied_first() -> None:
    """``Content-Encoding: deflate, gzip`` means deflate was applied first: gzip comes off first."""
    assert decode("deflate, gzip", gzip.compress(deflate(BODY))) == BODY
    assert decode("GZIP, gzip", gzip.compress(gzip.compress(BODY))) == BODY
    assert decode("x-gzip", gzip.compress(BODY)) == BODY


def test_deflate_with_and_without_its_zlib_header() -> None:
    """Some servers send raw deflate under ``deflate``: read, as browsers do."""
    assert decode("deflate", deflate(BODY)) == BODY
    assert decode("deflate", deflate(BODY, raw=True), step=5) == BODY


def test_several_gzip_members_and_nul_padding_after_the_last() -> None:
    half = len(BODY) // 2
    data = gzip.compress(BODY[:half]) + gzip.compress(BODY[half:]) + b"\x00" * 16
    assert decode("gzip", data, step=100) == BODY


@pytest.mark.parametrize("encoding,make", [
    ("gzip", gzip.compress),
    ("deflate", deflate),
    ("gzip, gzip", lambda b: gzip.compress(gzip.compress(b))),
])
def test_a_stream_cut_before_its_end_is_truncated(encoding: str, make) -> None:  # type: ignore[no-untyped-def]
    data = make(BODY)
    with pytest.raises(Truncated, match="truncated"):
        decode(encoding, data[: len(data) // 2])


def test_an_empty_gzip_body_is_an_empty_page_not_a_truncated_one() -> None:
    """No byte of the stream arrived: nothing started, nothing cut (the page check decides what empty means)."""
    assert decode("gzip", b"") == b""


def test_garbage_under_gzip_is_a_fetch_error_not_a_zlib_error() -> None:
    with pytest.raises(FetchError, match="broken compressed body") as e:
        decode("gzip", b"this is not gzip at all" * 10)
    assert not isinstance(e.value, Truncated)


@pytest.mark.parametrize("encoding", ["br", "gzip, zstd", "compress"])
def test_an_encoding_it_cannot_read_is_refused_by_name(encoding: str) -> None:
    with pytest.raises(FetchError, match="not supported"):
        BodyDecoder(encoding, 1 << 20, URL)


def test_more_layers_than_a_server_sends_are_refused_before_reading() -> None:
    BodyDecoder(", ".join(["gzip"] * MAX_LAYERS), 1 << 20, URL)
    with pytest.raises(FetchError, match="layers"):
        BodyDecoder(", ".join(["gzip"] * (MAX_LAYERS + 1)), 1 << 20, URL)


def test_the_cap_counts_every_layers_output_not_just_the_wire() -> None:
    """A few KB on the wire that expand past the cap are refused while they stream."""
    bomb = gzip.compress(gzip.compress(b"\x00" * (4 << 20)))
    assert len(bomb) < 64 << 10
    d = BodyDecoder("gzip, gzip", 1 << 20, URL)
    with pytest.raises(FetchError, match="larger than 1 MB"):
        for i in range(0, len(bomb), 512):
            d.feed(bomb[i:i + 512])
    assert sum(map(len, d.chunks)) <= (1 << 20) + PIECE


def test_the_cap_applies_to_a_plain_body_too() -> None:
    with pytest.raises(FetchError, match="larger than"):
        decode("", b"x" * ((1 << 20) + 1), limit=1 << 20)
    assert decode("", b"x" * (1 << 20), limit=1 << 20) == b"x" * (1 << 20)
