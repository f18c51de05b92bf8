"""Every way an article can fail, as its own class, caught in one place (pipeline).

    WxError                       exit  permanent  --json error code
    ├── UsageError                  2      -       usage
    ├── FetchError                  1      no      network | http
    │   ├── Truncated               1      no      truncated (the page arrived incomplete)
    │   └── IdMismatch              1      no      mismatch  (the page is another article's)
    ├── RateLimited                 3      no      verify
    ├── Unavailable(reason)         1      yes     deleted | removed | unavailable |
    │                                              expired | migrated | account_closed | invalid
    ├── NotAnArticle                1      yes     not_article
    ├── LayoutChanged               1      no      layout
    ├── ImageError                  1      no      image   (per image, never fails a post)
    ├── ArchiveError                1      no      io      (disk full, read-only, a file where a folder goes)
    │   └── StateDamaged            1      no      io      (the state database cannot be read)
    ├── InternalError               1      no      internal (a bug met on one article; its raw page is kept)
    └── LockedError                 3      no      locked

``permanent`` says whether trying again later can help: a deleted article stays
deleted, a network error or a verification page may pass.
"""
from __future__ import annotations

from enum import StrEnum

__all__ = [
    "ArchiveError",
    "ErrorCode",
    "FetchError",
    "IdMismatch",
    "ImageError",
    "InternalError",
    "LayoutChanged",
    "LockedError",
    "NotAnArticle",
    "RateLimited",
    "StateDamaged",
    "Truncated",
    "Unavailable",
    "UsageError",
    "WxError",
]


class ErrorCode(StrEnum):
    """The ``error`` of a ``--json`` line and of the state: one member per code in the tree above.

    A ``StrEnum``, so a code read back from the state or a JSON line compares equal to its member."""

    ERROR = "error"
    USAGE = "usage"
    NETWORK = "network"
    HTTP = "http"
    TRUNCATED = "truncated"
    MISMATCH = "mismatch"
    VERIFY = "verify"
    DELETED = "deleted"
    REMOVED = "removed"
    UNAVAILABLE = "unavailable"
    EXPIRED = "expired"
    MIGRATED = "migrated"
    ACCOUNT_CLOSED = "account_closed"
    INVALID = "invalid"
    NOT_ARTICLE = "not_article"
    LAYOUT = "layout"
    IMAGE = "image"
    IO = "io"
    INTERNAL = "internal"
    LOCKED = "locked"


class WxError(Exception):
    """Base of every error the tool reports to the user."""

    code: str = ErrorCode.ERROR
    exit_code = 1
    permanent = False

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


class UsageError(WxError):
    """Bad flags, not a WeChat URL, a missing file: the user must change the command."""

    code = ErrorCode.USAGE
    exit_code = 2
    permanent = True


class FetchError(WxError):
    """Network trouble or an HTTP status that retries did not cure."""

    code = ErrorCode.NETWORK

    def __init__(self, message: str, *, url: str = "", status: int | None = None, transport: bool = False) -> None:
        super().__init__(message, url=url)
        self.status = status
        self.transport = transport  # no answer at all (refused, reset, DNS, timeout): says nothing about the article
        if status is not None:
            self.code = ErrorCode.HTTP
            # 404/410 will not change; other statuses may
            self.permanent = status in (404, 410)


class Truncated(FetchError):
    """The page arrived incomplete (connection closed early, a compressed stream cut short,
    the document or the article body not closed): nothing is written, a later run tries again."""

    code = ErrorCode.TRUNCATED


class IdMismatch(FetchError):
    """A long URL's ``__biz/mid/idx`` and the ids of the page it answered with disagree:
    the answer belongs to another article, so nothing is written or aliased."""

    code = ErrorCode.MISMATCH


class RateLimited(WxError):
    """WeChat asks for verification or says slow down: stop asking for pages."""

    code = ErrorCode.VERIFY
    exit_code = 3

    def __init__(self, message: str, *, url: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, url=url)
        self.retry_after = retry_after


class Unavailable(WxError):
    """The article is gone or cannot be shown; ``reason`` is the error code."""

    permanent = True

    def __init__(self, reason: str, message: str, *, url: str = "", target: str = "") -> None:
        super().__init__(message, url=url)
        self.code = reason
        self.target = target  # migration target, when WeChat gives one
        # a temporary outage or a migration may pass; the others will not
        self.permanent = reason not in ("unavailable", "migrated")


class NotAnArticle(WxError):
    """An HTML file or page that is not a WeChat article at all."""

    code = ErrorCode.NOT_ARTICLE
    permanent = True


class LayoutChanged(WxError):
    """Looks like WeChat but matches no known page: the raw page is kept for a report."""

    code = ErrorCode.LAYOUT

    def __init__(self, message: str, *, url: str = "", saved_to: str = "") -> None:
        super().__init__(message, url=url)
        self.saved_to = saved_to


class ImageError(WxError):
    """One image could not be saved; the post keeps its remote URL."""

    code = ErrorCode.IMAGE


class ArchiveError(WxError):
    """The archive folder or its state cannot be written."""

    code = ErrorCode.IO


class InternalError(WxError):
    """An unexpected exception while parsing, cleaning or rendering one article (a new WeChat layout,
    a bug): that article fails, the run goes on, the raw page is kept for a report."""

    code = ErrorCode.INTERNAL

    def __init__(self, message: str, *, url: str = "", saved_to: str = "") -> None:
        super().__init__(message, url=url)
        self.saved_to = saved_to
class StateDamaged(ArchiveError):
    """The state database cannot be read; the posts are untouched and the state can be rebuilt."""

    def __init__(self, path: object, detail: str = "") -> None:
        why = f" ({detail})" if detail else ""
        super().__init__(
            f"state database damaged: {path}{why}. The posts in _posts/ are intact; "
            "rebuild the state from them with `wxarchive rebuild --from-posts` (see docs/guide.md, \"Recovery\")")
        self.path = path


class LockedError(WxError):
    """Another run holds the archive's lock."""

    code = ErrorCode.LOCKED
    exit_code = 3
