"""The raw page kept for ``wxarchive rebuild``: how it is packed on disk and read back.

New pages are kept as zstandard (``.html.zst``, level 1; level 6 under 1 MB): for a 3 MB page of
mostly inline script it takes ~8 ms of CPU and comes out smaller than gzip -6,
which took 80-100 ms -- more than parse, clean and render together
(``python -m bench`` measures both). Archives made before keep their
``.html.gz`` pages; :func:`unpack` reads either, by the data's magic bytes.
"""
from __future__ import annotations

import gzip
import hashlib
import logging
import zlib

from wxarchive.errors import ArchiveError

__all__ = ["SUFFIX", "pack", "raw_name", "unpack"]

log = logging.getLogger(__name__)

SUFFIX = ".html.zst"
LEVEL = 1  # measured: level 1 ~8 ms and 0.86x gzip-6's size; level 3 ~15 ms under load (bench: rawpage)
# Level 1 with a 4 MB window (a whole page: WeChat's bundles repeat their helpers ~1 MB apart) and a
# 32k-entry hash table: on the corpus's and generated 2-4 MB pages 0.73x gzip-6's size (worst 0.82)
# rather than 0.84x (worst 0.92), in 0.87-0.97x the time. Any zstd reads it (4 MB < the 8 MB a
# decoder allows by default).
WINDOW_LOG, HASH_LOG = 22, 15
# A page under 1 MB (pages before ~2020, error pages) has no big bundles for level 1's window to find
# again: level 1 kept 1.13x gzip-6's size there (median of the 37 corpus pages under 1 MB; worst 1.18x).
# Level 6 keeps 1.01x (0.83-1.04x; all 37 together 0.95x) in ~0.55x gzip-6's time, at most ~9 ms
# (a 750 KB page), inside the raw page's 12 ms budget; the same zstd format, read by any decoder.
SMALL, SMALL_LEVEL = 1 << 20, 6
MAX_RAW_BYTES = 64 * 1024 * 1024  # parse refuses pages over 40 MB; nothing bigger was ever kept

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def raw_name(key: str, suffix: str = SUFFIX) -> str:
    """The file name of an article's raw page (the key's hash: keys hold ``/`` and ``=``)."""
    return hashlib.sha1(key.encode()).hexdigest() + suffix


def pack(content: bytes) -> tuple[str, bytes]:
    """(file suffix, packed bytes). zstandard is a declared dependency; an environment that was
    set up before it was added still keeps its pages, as gzip, rather than failing every article."""
    try:
        import zstandard
    except ImportError:  # pragma: no cover - only in a stale environment
        log.warning("zstandard is not installed (pip install -e .): raw pages are kept as gzip, ~10x slower")
        return ".html.gz", gzip.compress(content, 6, mtime=0)
    if len(content) < SMALL:
        params = zstandard.ZstdCompressionParameters.from_level(SMALL_LEVEL, window_log=WINDOW_LOG)
    else:
        params = zstandard.ZstdCompressionParameters.from_level(LEVEL, window_log=WINDOW_LOG, hash_log=HASH_LOG)
    return SUFFIX, zstandard.ZstdCompressor(compression_params=params).compress(content)


def unpack(data: bytes) -> bytes:
    """The page bytes from a kept raw page: zstandard (now) or gzip (archives before issue 13).

    A damaged file is an :class:`ArchiveError` (that post fails its rebuild, the others go on).
    """
    if data.startswith(_ZSTD_MAGIC):
        import zstandard

        try:
            with zstandard.ZstdDecompressor().stream_reader(data) as r:
                out = r.read(MAX_RAW_BYTES + 1)
        except zstandard.ZstdError as e:
            raise ArchiveError(f"damaged raw page (zstandard: {e})") from None
        if len(out) > MAX_RAW_BYTES:
            raise ArchiveError(f"raw page expands beyond {MAX_RAW_BYTES // 2**20} MB")
        return out
    if data.startswith(_GZIP_MAGIC):
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise ArchiveError(f"damaged raw page (gzip: {e})") from None
    raise ArchiveError("raw page is neither zstandard nor gzip")
