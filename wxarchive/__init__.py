"""wxarchive: archive WeChat public-account articles into a Markdown (Jekyll) archive."""
from __future__ import annotations

__version__ = "0.1.0"

from typing import TYPE_CHECKING

from wxarchive.errors import FetchError, ImageError, LayoutChanged, LockedError, NotAnArticle, RateLimited, Unavailable, UsageError, WxError

if TYPE_CHECKING:
    from wxarchive.models import Article, Image, Media, Page

_MODELS = frozenset({"Article", "Image", "Media", "Page"})


def __getattr__(name: str) -> object:
    """The data classes load on first use: ``wxarchive --version`` need not build them (dataclasses + inspect)."""
    if name in _MODELS:
        from wxarchive import models

        return getattr(models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "Article",
    "FetchError",
    "Image",
    "ImageError",
    "LayoutChanged",
    "LockedError",
    "Media",
    "NotAnArticle",
    "Page",
    "RateLimited",
    "Unavailable",
    "UsageError",
    "WxError",
    "__version__",
]
