"""Image download: stable names, de-duplication, type sniffing, size cap, atomic save.

A body that is not an image (an HTML error page, 0 bytes, a placeholder) is a
failure, never a file: the post then keeps the remote URL and the image is
recorded for a later retry.
"""
from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import logging
import os
import re
import threading
import time
from pathlib import Path
from collections.abc import Callable
from typing import BinaryIO

import httpx

from wxarchive.net.allowlist import REFUSED
from wxarchive.errors import FetchError, ImageError, RateLimited
from wxarchive.net.fetch import Fetcher, ImageRequest
from wxarchive.interrupt import Interrupt
from wxarchive.extract.clean import image_name
from wxarchive.models import Article, Image, Media
from wxarchive.archive.site import discard, file_mode, temp_file

__all__ = ["MAX_IMAGE_BYTES", "MAX_MEDIA_BYTES", "ImageSaver", "sniff", "sniff_media"]

log = logging.getLogger(__name__)
MAX_IMAGE_BYTES = 30 * 1024 * 1024
MAX_MEDIA_BYTES = 500 * 1024 * 1024

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"GIF87a", 0, "gif"),
    (b"GIF89a", 0, "gif"),
    (b"WEBP", 8, "webp"),
    (b"BM", 0, "bmp"),
    (b"ftypavif", 4, "avif"),
    (b"ftypheic", 4, "heic"),
    (b"ftypmif1", 4, "heic"),
    (b"\x00\x00\x01\x00", 0, "ico"),
    (b"II*\x00", 0, "tif"),
    (b"MM\x00*", 0, "tif"),
)


_MEDIA_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"ID3", 0, "mp3"),
    (b"\xff\xfb", 0, "mp3"),
    (b"\xff\xf3", 0, "mp3"),
    (b"\xff\xf2", 0, "mp3"),
    (b"#!AMR", 0, "amr"),
    (b"#!SILK", 0, "silk"),
    (b"\x02#!SILK", 0, "silk"),
    (b"OggS", 0, "ogg"),
    (b"ftypM4A", 4, "m4a"),
    (b"ftyp", 4, "mp4"),
    (b"\x1aE\xdf\xa3", 0, "webm"),
)


_IMAGE_EXTS = ("jpg", "png", "gif", "webp", "svg", "bmp", "avif", "heic", "ico", "tif")  # existing's order


def sniff_media(head: bytes) -> str | None:
    """The extension an audio or video file's bytes prove, or None."""
    for magic, offset, ext in _MEDIA_MAGIC:
        if head[offset:offset + len(magic)] == magic:
            return ext
    return None


def sniff(head: bytes) -> str | None:
    """The file extension the bytes prove, or None when they are not an image."""
    for magic, offset, ext in _MAGIC:
        if head[offset:offset + len(magic)] == magic:
            if ext == "webp" and head[:4] != b"RIFF":
                continue
            return ext
    start = head.lstrip()[:256].lower()
    if start.startswith(b"<svg") or (start.startswith(b"<?xml") and b"<svg" in head[:2048].lower()):
        return "svg"
    return None


class ImageSaver:
    """Saves the images of articles into one folder, several at a time, each URL once."""

    def __init__(self, fetcher: Fetcher, folder: Path, *, concurrency: int = 4) -> None:
        self.fetcher = fetcher
        self.folder = folder
        # ``concurrency`` requests at once (the slots); twice as many workers, so one worker's file
        # work (creating the temp file, renaming it: ~1.5 ms of a download on a busy disk) happens
        # while its slot already serves the next image instead of between two requests
        n = max(1, concurrency)
        self._slots = threading.BoundedSemaphore(n)
        self.pool = cf.ThreadPoolExecutor(max_workers=2 * n, thread_name_prefix="img")
        # a wall-clock limit for one download, however slowly the bytes trickle in
        self.deadline = max(fetcher.deadline, 60.0)
        # no listing of the folder: at 870,000 image files a set of their names was ~90 MB held for the
        # run and a long walk at its start; each name is looked up on disk when asked (see existing)
        self._folder_made = False
        self._names_lock = threading.Lock()
        self.interrupt = Interrupt()  # the pipeline shares the run's own
        self._partials: set[str] = set()  # temp files of downloads under way (see abandon)

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def abandon(self) -> None:
        """After the second Ctrl-C: drop the queued downloads, remove the temp files of those under way
        and do not wait for them (a download stuck on a silent server would hold the exit for its
        timeout); one that still ends writes into a file no longer there, or saves a whole image."""
        self.interrupt.hard.set()
        self.pool.shutdown(wait=False, cancel_futures=True)
        with self._names_lock:
            partials, self._partials = list(self._partials), set()
        for tmp in partials:
            discard(tmp)

    def existing(self, name: str) -> str | None:
        """A file saved earlier under this stem (another post shared the image): the first extension, in
        a fixed order, whose file is there. A stat per extension (~3 us each, and a miss costs all ten)
        instead of a listing of the folder: the cost of a look-up does not grow with the archive."""
        for ext in _IMAGE_EXTS:
            if os.path.exists(os.path.join(self.folder, f"{name}.{ext}")):
                return f"{name}.{ext}"
        return None

    def save_one(self, img: Image) -> Image:
        self.interrupt.check_hard()  # queued behind the second Ctrl-C: not begun
        if img.error == REFUSED:
            return img  # off the allow-list: not asked for at all
        local = self.existing(img.name)
        if local:
            return dataclasses.replace(img, local=local, error=None)
        try:
            return dataclasses.replace(img, local=self._download(img), error=None)
        except (ImageError, FetchError, RateLimited) as e:
            log.info("image not saved: %s (%s)", img.url, e)  # (-v; the article's one line says how many)
            return dataclasses.replace(img, local=None, error=str(e))

    def save_media(self, m: Media) -> Media:
        """Save an audio/video file beside the images (``--media``); failures leave it remote."""
        url = m.direct_url
        if not url:
            return m
        stem = image_name(url) if not m.ident else re.sub(r"[^A-Za-z0-9_-]", "", m.ident)[:80] or image_name(url)
        for ext in ("mp3", "m4a", "mp4", "amr", "silk", "ogg", "webm"):
            if (self.folder / f"{stem}.{ext}").exists():
                return dataclasses.replace(m, local=f"{stem}.{ext}")
        try:
            name = self._download(Image(url=url, name=stem), sniffer=sniff_media, cap=MAX_MEDIA_BYTES)
            return dataclasses.replace(m, local=name)
        except (ImageError, FetchError, RateLimited) as e:
            log.warning("media not saved: %s (%s)", url, e)
            return m

    def _download(self, img: Image, sniffer: Callable[[bytes], str | None] = sniff, cap: int | None = None) -> str:
        limit = MAX_IMAGE_BYTES if cap is None else cap
        if not self._folder_made:  # (the folder may not exist yet)
            self.folder.mkdir(parents=True, exist_ok=True)
            self._folder_made = True
        ready = self.fetcher.prepare_image(img.url)  # before the slot: only the bytes go out inside it
        fd, tmp = temp_file(self.folder, file_mode())  # readable by the web server once renamed
        with self._names_lock:
            self._partials.add(tmp)
        try:
            with os.fdopen(fd, "wb") as f, self._slots:
                head = self._receive(img, f, limit, ready)
            ext = sniffer(head)
            if ext is None:
                raise ImageError("body is not an image (magic bytes)", url=img.url)
            self.interrupt.check_hard()
            name = f"{img.name}.{ext}"
            os.replace(tmp, self.folder / name)
            return name
        except BaseException:
            discard(tmp)
            raise
        finally:
            with self._names_lock:
                self._partials.discard(tmp)

    def _receive(self, img: Image, f: BinaryIO, limit: int, ready: ImageRequest) -> bytes:
        """One request (in a slot): the body into ``f``; its first bytes, for the sniffer."""
        with self.fetcher.stream_image(ready) as resp:
            if resp.status_code != 200:
                raise ImageError(f"HTTP {resp.status_code}", url=img.url)
            encoding = resp.headers.get("content-encoding", "identity").strip().lower()
            if encoding not in ("", "identity"):
                # asked for identity: a compressed "image" could expand without bound as it is decoded
                raise ImageError(f"image sent with Content-Encoding {encoding}; refused", url=img.url)
            ctype = resp.headers.get("content-type", "").lower()
            if ctype.startswith(("text/", "application/json", "application/javascript")):
                raise ImageError(f"not an image (Content-Type {ctype})", url=img.url)
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise ImageError(f"image is {int(declared) // 2**20} MB, over the cap", url=img.url)
            size, head = 0, b""
            try:
                deadline = time.monotonic() + self.deadline
                # raw reads, as they come: a buffered 64 KB chunk would wait for 64 KB
                # of a trickle before the deadline was ever looked at
                for chunk in resp.iter_raw():
                    self.interrupt.check_hard()
                    if time.monotonic() > deadline:
                        raise ImageError("download too slow (deadline passed)", url=img.url)
                    size += len(chunk)
                    if size > limit:
                        raise ImageError(f"larger than {limit // 2**20} MB", url=img.url)
                    if len(head) < 4096:
                        head += chunk[: 4096 - len(head)]
                    f.write(chunk)
            except (httpx.TransportError, httpx.DecodingError) as e:
                raise ImageError(f"download broke off: {e or type(e).__name__}", url=img.url) from None
            # no fsync here: it would hold a download slot; the finisher syncs the files
            # of an article (see ``sync_files``) before the state records it
        if size == 0:
            raise ImageError("empty body", url=img.url)
        return head

    def submit(self, article: Article) -> list[cf.Future[Image]]:
        """Start saving an article's images; the caller gathers with :func:`gather`."""
        return [self.pool.submit(self.save_one, img) for img in article.images]


def sync_files(folder: Path, names: list[str]) -> None:
    """fsync saved files (and their folder) so a crash after recording cannot lose them."""
    for name in names:
        try:
            fd = os.open(folder / name, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    if names:
        try:
            fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            pass


def gather(article: Article, futures: list[cf.Future[Image]], interrupt: Interrupt | None = None) -> Article:
    """The article with each image's outcome; after the second Ctrl-C, :class:`Aborted` at once
    rather than once the slowest download ends."""
    if interrupt is not None:
        pending = set(futures)
        while pending:
            interrupt.check_hard()
            _done, pending = cf.wait(pending, timeout=0.2)
        interrupt.check_hard()
    return dataclasses.replace(article, images=tuple(f.result() for f in futures))
