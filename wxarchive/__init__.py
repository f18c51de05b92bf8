"""wxarchive: archive WeChat public-account articles into a Markdown (Jekyll) archive."""
from __future__ import annotations

__version__ = "0.1.0"

from .errors import (
    FetchError,
    ImageError,
    LayoutChanged,
    LockedError,
    NotAnArticle,
    RateLimited,
    Unavailable,
    UsageError,
    WxError,
)
from .models import Article, Image, Media, Page

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
