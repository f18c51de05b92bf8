"""The one data shape that flows through fetch -> parse -> clean -> images -> render -> write.

Every stage takes these frozen values and returns new ones with
``dataclasses.replace``; nothing is mutated in place, so a stage can be
re-run (``wxarchive rebuild``) from the kept raw page and give the same post.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum

__all__ = ["MAX_PAGE_BYTES", "SHANGHAI", "Article", "Choices", "Image", "Kind", "Media", "Page"]

# WeChat's dates, post file names and front matter are in this zone. China has kept UTC+8 without
# daylight saving since 1991, long before WeChat (2011): a fixed offset is exact for every article,
# and needs neither the system's tz database nor zoneinfo's import at start-up.
SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
MAX_PAGE_BYTES = 40 * 1024 * 1024  # the largest page body fetched or parsed


class Kind(str, Enum):
    """What sort of post an article is (``kind:`` in front matter). ``Article.kind`` holds the plain value,
    so YAML and JSON write it as text."""

    ARTICLE = "article"
    REPRINT = "reprint"
    PICTURE = "picture"
    TEXT = "text"
    VIDEO = "video"
    AUDIO = "audio"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Choices:
    """The per-post options a post was made with: kept in the state (``articles`` columns) and, when
    set, in its front matter, so a rebuild or a recovery from the posts makes it the same way again."""

    keep_footers: bool = False  # --keep-footers: the footer boilerplate stayed in
    no_images: bool = False  # --no-images: its remote images are not "missing"

    NAMES = ("keep_footers", "no_images")  # (a class constant: not a field)

    def set(self) -> tuple[str, ...]:
        """The names of the choices that are on, in :attr:`NAMES` order."""
        return tuple(k for k in self.NAMES if getattr(self, k))


@dataclass(frozen=True, slots=True)
class Page:
    """What the fetcher got: the bytes and where they really came from."""

    url: str  # what was asked for (a real WeChat URL, never the --connect-to target)
    final_url: str  # after redirects
    status: int
    content: bytes
    fetched_at: dt.datetime
    content_type: str = "text/html"


@dataclass(frozen=True, slots=True)
class Image:
    """One content image: its remote URL and, once saved, its local name."""

    url: str
    name: str  # stable file name stem from the mmbiz media id
    local: str | None = None  # file name under the image folder once on disk
    error: str | None = None  # why it could not be saved


@dataclass(frozen=True, slots=True)
class Media:
    """A video or audio item referenced from the post."""

    kind: str  # "video" | "audio"
    url: str  # a link a reader can open
    title: str = ""
    poster: str = ""
    direct_url: str = ""  # a downloadable file when the page exposes one
    local: str | None = None  # file name beside the images once saved (--media)
    ident: str = ""  # WeChat's id for it (voice file id, mpvideo vid)


@dataclass(frozen=True, slots=True)
class Article:
    """A parsed WeChat article. ``key`` (biz:mid:idx) is its identity."""

    url: str
    title: str
    account: str = ""
    author: str = ""
    published: dt.datetime | None = None  # aware, Asia/Shanghai
    biz: str = ""
    mid: str = ""
    idx: str = ""
    sn: str = ""
    canonical_url: str = ""
    digest: str = ""
    cover: str = ""
    read_more_url: str = ""
    copyright_stat: int = 0  # 0 none, 1 original, 2 reprint
    kind: str = "article"  # article | reprint | picture | text | video | audio
    item_show_type: int = 0
    body_html: str = ""
    title_derived: bool = False
    reprint_of: tuple[tuple[str, str], ...] = ()  # (("account", ..), ("author", ..), ("url", ..))
    paid_preview: bool = False
    images: tuple[Image, ...] = ()
    media: tuple[Media, ...] = ()
    stripped: tuple[tuple[str, str], ...] = ()  # (reason, text) of each boilerplate block removed
    tail_blocks: tuple[str, ...] = ()  # the last short blocks kept, for learning account footers
    learned: frozenset[str] = frozenset()  # the account's learned footer blocks it was cleaned with
    final_url: str = ""
    archived_at: dt.datetime | None = None
    extra: tuple[tuple[str, str], ...] = field(default=())

    @property
    def key(self) -> str:
        """Identity: ``biz:mid:idx`` when known, else the canonical URL."""
        if self.biz and self.mid and self.idx:
            return f"{self.biz}:{self.mid}:{self.idx}"
        return self.canonical_url or self.url

    @property
    def original(self) -> bool:
        return self.copyright_stat == 1
