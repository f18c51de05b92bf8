"""Where article URLs come from in bulk: link lists, exports, bookmarks, feeds and albums (合集).

Every lister returns *normalised* article URLs, newest first where the source
has an order, de-duplicated by identity (``urls.article_key``) so the pipeline
can skip known articles without a request. Listing never archives anything.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import parse_qsl, quote, urlsplit


from wxarchive.archive.store import SourceKind
from wxarchive.errors import LayoutChanged, RateLimited, UsageError
from wxarchive.urls import ARTICLE_HOST, article_key, decode_amp, find_article_urls, is_article_url, normalize_article_url

if TYPE_CHECKING:
    from wxarchive.net.fetch import Fetcher

__all__ = [
    "AlbumRef",
    "SourceSpec",
    "dedupe",
    "extract_urls",
    "guess_kind",
    "list_album",
    "looks_like_feed",
    "parse_album_page",
    "parse_album_url",
    "parse_feed",
    "read_list",
    "read_list_report",
    "reading_of",
]

log = logging.getLogger(__name__)

ALBUM_PAGE_SIZE = 20
MAX_ALBUM_PAGES = 1000  # a runaway cursor must end somewhere (20 000 articles)
KINDS = tuple(k.value for k in SourceKind)
# what an account source may not carry: the WeRead session is read from the user's own config folder
# only, since an archive's wxarchive.toml may come from someone else and the session is sent out
_SECRET_KEYS = ("cookie", "cookies", "session", "ticket", "wr_skey", "wr_vid", "wr_rt", "headers", "x-wr-ticket")


# ---------------------------------------------------------------- text lists, CSV, JSON, bookmarks
def _strip_comments(text: str) -> str:
    """Drop ``#`` comment lines and trailing `` # ...`` notes (a URL's own ``#rd`` stays: no space before it)."""
    out = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        out.append(re.sub(r"\s+#.*$", "", line))
    return "\n".join(out)


def _json_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _json_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _json_strings(v)


def dedupe(urls: Iterable[str]) -> list[str]:
    """Keep the first URL of each article identity (``biz:mid:idx`` or ``s:TOKEN``), in order."""
    seen: set[str] = set()
    out: list[str] = []
    for u in urls:
        ident = article_key(u) or normalize_article_url(u)
        if ident not in seen:
            seen.add(ident)
            out.append(u)
    return out


_BARE_LINK = re.compile(r"(?<![\w./:@%-])mp\.weixin\.qq\.com/", re.I)


def _add_scheme(text: str) -> str:
    """``mp.weixin.qq.com/s/…`` pasted without ``https://`` (as a browser's address bar shows it) is a link."""
    return _BARE_LINK.sub("https://mp.weixin.qq.com/", text) if "qq.com/" in text.lower() else text


def extract_urls(text: str) -> list[str]:
    """Every article URL in a text list, CSV, JSON export or HTML bookmarks file; normalised, de-duplicated.

    The format is sniffed, not declared: JSON is walked string by string (so
    escaped slashes and ``\\u0026`` cannot hide a link); anything else is scanned
    as text, which covers CSV cells and ``href`` attributes alike.
    """
    text = _add_scheme(text.lstrip("\ufeff"))
    stripped = text.lstrip()
    if stripped[:1] in "[{":
        try:
            data = json.loads(text)
        except ValueError:
            pass
        else:
            return dedupe(u for s in _json_strings(data) for u in find_article_urls(s))
        # JSON Lines: one object per line
        found: list[str] = []
        for line in text.splitlines():
            try:
                found += [u for s in _json_strings(json.loads(line)) for u in find_article_urls(s)]
            except ValueError:
                found += find_article_urls(line)
        return dedupe(found)
    if stripped[:1] == "<":  # HTML bookmarks / saved HTML: no comment lines to strip
        return dedupe(find_article_urls(text))
    return dedupe(find_article_urls(_strip_comments(text)))


class Skip(StrEnum):
    """Why a line of a list gave no article to archive (each is counted and, at -v, listed)."""

    ALBUM = "album"
    NOT_ARTICLE = "not a WeChat article"
    DUPLICATE = "duplicate"
    UNREADABLE = "unreadable"

    def counted(self, n: int) -> str:
        """``1 album → use [[sources]]``, ``5 not WeChat articles``: the summary's words for n lines."""
        if self is Skip.ALBUM:
            return f"{n} album{'s' if n != 1 else ''} → use [[sources]]"
        if self is Skip.NOT_ARTICLE:
            return f"{n} not WeChat article{'s' if n != 1 else ''}"
        if self is Skip.DUPLICATE:
            return f"{n} duplicate{'s' if n != 1 else ''}"
        return f"{n} unreadable"


@dataclass
class SkippedLine:
    line: int  # 1-based line number in the file
    text: str
    why: Skip

    def describe(self) -> str:
        """The ``-v`` line: where, why, and the line itself (cut short, controls shown as ``?``)."""
        shown = "".join(c if c.isprintable() else "?" for c in self.text.strip())
        shown = shown[:120] + ("…" if len(shown) > 120 else "")
        why = "album (合集): add it to [[sources]] in wxarchive.toml" if self.why is Skip.ALBUM else self.why.value
        return f"{f'line {self.line}: ' if self.line else ''}skipped, {why}: {shown}"


@dataclass
class ListReading:
    """What a list file held: its article links and an account of every line that gave none.

    ``what`` is empty for a readable list, else what the file is instead ("an empty file",
    "a binary file (PNG image)"); ``lines`` counts the non-blank, non-comment lines of a text
    list (0 for JSON and HTML, which are not read line by line)."""

    urls: list[str]
    lines: int = 0
    skipped: list[SkippedLine] = field(default_factory=list)
    fmt: str = "text"
    what: str = ""

    def summary(self) -> str:
        """``9 lines: 2 links, 7 skipped (1 album → use [[sources]], 5 not WeChat articles, 1 unreadable)``."""
        links = f"{len(self.urls)} link{'s' if len(self.urls) != 1 else ''}"
        head = f"{self.lines} line{'s' if self.lines != 1 else ''}: {links}" if self.fmt == "text" else \
            f"{links} in a {self.fmt} file"
        if not self.skipped:
            return head
        counts: dict[Skip, int] = {}
        for s in self.skipped:
            counts[s.why] = counts.get(s.why, 0) + 1
        parts = ", ".join(why.counted(counts[why]) for why in Skip if why in counts)
        return f"{head}, {len(self.skipped)} skipped ({parts})"


def read_list(path: str | Path) -> list[str]:
    """The article URLs in a file, or in stdin for ``-``."""
    return read_list_report(path).urls


def read_list_report(path: str | Path) -> ListReading:
    """The article URLs in a file (or stdin for ``-``), with what became of every other line."""
    if str(path) == "-":

        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise UsageError(f"cannot read {path}: {e.strerror or e}") from None
    return reading_of(data)


def reading_of(data: bytes) -> ListReading:
    """Decode by BOM (UTF-8, UTF-16, UTF-32), else UTF-8, else GB18030 line by line; then account for each line."""
    what = _not_text(data)
    if what:
        return ListReading([], what=what)
    text, bad = _decode_lines(data)
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in "[{<":
        urls = extract_urls(text)
        fmt = "HTML" if stripped[:1] == "<" else "JSON"
        albums = [SkippedLine(0, u, Skip.ALBUM) for u in dict.fromkeys(_album_links(text))]
        return ListReading(urls, skipped=albums, fmt=fmt)
    return _read_lines(text.splitlines(), bad)


_MAGIC = ((b"\x89PNG", "PNG image"), (b"\xff\xd8\xff", "JPEG image"), (b"GIF8", "GIF image"),
          (b"%PDF", "PDF document"), (b"PK\x03\x04", "zip archive, like .docx or .xlsx"),
          (b"\x1f\x8b", "gzip archive"), (b"\x7fELF", "program"), (b"SQLite format 3", "SQLite database"),
          (b"RIFF", "media file"), (b"\xd0\xcf\x11\xe0", "old Office document"))
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
         (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def _not_text(data: bytes) -> str:
    """What a file is when it is no list at all ("an empty file", "a binary file (PNG image)"); "" for text."""
    if any(data.startswith(bom) for bom, _ in _BOMS):
        return "" if data.decode(_bom_encoding(data), "replace").strip("\ufeff \t\r\n") else "an empty file"
    if not data.strip():
        return "an empty file"
    if _utf16_without_bom(data):
        return ""
    kind = next((name for magic, name in _MAGIC if data.startswith(magic)), "")
    head = data[:4096]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if kind or b"\x00" in head or controls > len(head) // 20:
        return f"a binary file ({kind})" if kind else "a binary file"
    return ""


def _bom_encoding(data: bytes) -> str:
    return next((enc for bom, enc in _BOMS if data.startswith(bom)), "")


def _utf16_without_bom(data: bytes) -> str:
    """``utf-16-le``/``-be`` for text saved as UTF-16 with no BOM (ASCII every other byte, NULs between), else ""."""
    head = data[:4096]
    if len(head) < 4 or len(head) % 2:
        return ""
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > len(odd) * 0.3 and even.count(0) < len(even) * 0.05:  # (CJK has no NUL half)
        return "utf-16-le"
    if even.count(0) > len(even) * 0.3 and odd.count(0) < len(odd) * 0.05:
        return "utf-16-be"
    return ""


def _decode_lines(data: bytes) -> tuple[str, set[int]]:
    """The text and the 0-based numbers of lines that could not be read in any of the list's encodings.

    A BOM decides; else the whole file as UTF-8; else each line as UTF-8, then GB18030 (what Chinese
    Windows writes): one garbled line costs that line, not the file."""
    bom = next(((b, e) for b, e in _BOMS if data.startswith(b)), None)
    utf16 = "" if bom else _utf16_without_bom(data)
    if bom or utf16:
        text = data[len(bom[0]):].decode(bom[1], "replace") if bom else data.decode(utf16, "replace")
        return text, {n for n, ln in enumerate(text.splitlines()) if "\ufffd" in ln}
    try:
        return data.decode("utf-8"), set()
    except UnicodeDecodeError:
        pass
    lines, bad = [], set()
    for n, raw in enumerate(data.splitlines()):
        for e in ("utf-8", "gb18030"):
            try:
                lines.append(raw.decode(e))
                break
            except UnicodeDecodeError:
                continue
        else:
            lines.append(raw.decode("utf-8", "replace"))
            bad.add(n)
    return "\n".join(lines), bad


def _album_links(text: str) -> list[str]:
    return [m.group(0) for m in re.finditer(r"https?://mp\.weixin\.qq\.com/mp/appmsgalbum\?[^\s\"'<>]*", text, re.I)
            if parse_album_url(m.group(0))]


def _read_lines(lines: list[str], bad: set[int]) -> ListReading:
    """A text list or CSV, line by line: each non-blank, non-comment line gives links or a reason."""
    reading = ListReading([])
    seen: set[str] = set()
    for n, line in enumerate(lines):
        body = line.lstrip("\ufeff")
        if not body.strip() or body.lstrip().startswith("#"):
            continue
        reading.lines += 1
        why = _line_skip(body, n in bad, seen, reading.urls)
        if why is not None:
            reading.skipped.append(SkippedLine(n + 1, body, why))
    return reading


def _line_skip(line: str, unreadable: bool, seen: set[str], urls: list[str]) -> Skip | None:
    """Add a line's new article links to ``urls``; None when it gave one, else why it gave none."""
    text = _add_scheme(re.sub(r"\s+#.*$", "", line))
    found = find_article_urls(text)
    new = False
    for u in found:
        ident = article_key(u) or u
        if ident not in seen:
            seen.add(ident)
            urls.append(u)
            new = True
    if new:
        return None
    if found:
        return Skip.DUPLICATE
    if unreadable or any(not c.isprintable() and c not in "\t\r\n" for c in line):
        return Skip.UNREADABLE
    if _album_links(text):
        return Skip.ALBUM
    return Skip.NOT_ARTICLE


# ---------------------------------------------------------------- feeds (RSS, Atom, JSON Feed)
def _entry_urls(link_candidates: list[str], content: list[str]) -> list[str]:
    for link in link_candidates:
        link = link.strip()
        if is_article_url(link):
            return [normalize_article_url(link)]
    found: list[str] = []
    for c in content:
        found += find_article_urls(c)
    return found


def parse_feed(data: bytes | str) -> list[str]:
    """Article URLs of an RSS 2.0 / RSS 1.0 / Atom / JSON Feed document, in feed order.

    An entry's own link wins when it is an article; otherwise the article links
    inside its content (RSSHub-style feeds link to a mirror and quote the original).
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    head = raw.lstrip()[:1]
    if head in (b"{", b"["):
        try:
            doc = json.loads(raw.decode("utf-8-sig"))
        except ValueError as e:
            raise LayoutChanged(f"feed is not valid JSON ({e})") from None
        items = doc.get("items", []) if isinstance(doc, dict) else doc
        found: list[str] = []
        for it in items if isinstance(items, list) else []:
            if not isinstance(it, dict):
                continue
            links = [str(it.get(k) or "") for k in ("url", "external_url", "id", "link")]
            content = [str(it.get(k) or "") for k in ("content_html", "content_text", "summary", "description")]
            found += _entry_urls(links, content)
        return dedupe(found)
    return _xml_feed_urls(raw)


def _xml_feed_urls(raw: bytes) -> list[str]:
    """RSS 0.9x-2.0, RSS 1.0 and Atom through feedparser, which also copes with wrong encodings, broken
    XML and odd dates; it never fetches external entities or DTDs."""
    import feedparser  # only harvests with a feed source need it

    doc = feedparser.parse(raw, sanitize_html=False, resolve_relative_uris=False)
    found: list[str] = []
    for entry in doc.entries:
        links = [link.get("href") or "" for link in entry.get("links", [])
                 if link.get("rel", "alternate") in ("alternate", "related", "via")]
        if entry.get("guidislink", True):  # an RSS guid with isPermaLink="false" is a name, not a link
            links.append(entry.get("id") or "")
        content = [c.get("value") or "" for c in entry.get("content", [])] + [entry.get("summary") or ""]
        found += _entry_urls(links, content)
    if not found and not doc.version:
        root = doc.feed.get("title") or ""
        raise LayoutChanged("not a feed (no RSS or Atom document)" + (f": {root[:80]}" if root else ""))
    return dedupe(found)


def looks_like_feed(text: str) -> bool:
    head = text.lstrip("\ufeff \t\r\n")[:512].lower()
    if head.startswith("{") and '"items"' in text[:4096] and "jsonfeed" in text[:4096]:
        return True
    return head.startswith(("<?xml", "<rss", "<feed", "<rdf")) and any(t in text[:4096].lower() for t in ("<rss", "<feed", "<rdf"))


# ---------------------------------------------------------------- albums (合集)
@dataclass(frozen=True)
class AlbumRef:
    biz: str
    album_id: str

    def api_url(self, begin: tuple[str, str] | None = None) -> str:
        q = (f"action=getalbum&__biz={quote(self.biz, safe='')}&album_id={quote(self.album_id, safe='')}"
             f"&count={ALBUM_PAGE_SIZE}&f=json")
        if begin:
            q += f"&begin_msgid={quote(begin[0], safe='')}&begin_itemidx={quote(begin[1], safe='')}"
        return f"https://{ARTICLE_HOST}/mp/appmsgalbum?{q}"


def parse_album_url(url: str) -> AlbumRef | None:
    """``mp.weixin.qq.com/mp/appmsgalbum?__biz=…&album_id=…`` -> AlbumRef; anything else -> None."""
    try:
        parts = urlsplit(decode_amp(url.strip()))
    except ValueError:
        return None
    if (parts.hostname or "").lower() != ARTICLE_HOST or not parts.path.rstrip("/").endswith("/mp/appmsgalbum"):
        return None
    q = dict(parse_qsl(parts.query))
    if not q.get("__biz") or not q.get("album_id"):
        return None
    return AlbumRef(q["__biz"], q["album_id"])


@dataclass(frozen=True)
class AlbumItem:
    url: str
    msgid: str
    itemidx: str
    title: str
    create_time: int


@dataclass(frozen=True)
class AlbumPage:
    items: list[AlbumItem]
    more: bool


def parse_album_page(text: str, ref: AlbumRef, where: str = "") -> AlbumPage:
    """One page of ``action=getalbum&f=json``; ``base_resp.ret`` != 0 means WeChat wants us to slow down."""
    try:
        doc = json.loads(text)
    except ValueError:
        if any(s in text for s in ("环境异常", "完成验证", "访问过于频繁", "验证身份")):
            raise RateLimited(f"WeChat asks for verification when listing album {ref.album_id}", url=where) from None
        raise LayoutChanged(f"album {ref.album_id}: answer is not JSON ({text[:80]!r})", url=where) from None
    if not isinstance(doc, dict):
        raise LayoutChanged(f"album {ref.album_id}: unexpected JSON ({type(doc).__name__})", url=where)
    found = doc.get("base_resp")
    base: dict[str, Any] = found if isinstance(found, dict) else {}
    ret = str(base.get("ret", "0"))
    if ret not in ("0", ""):
        msg = base.get("errmsg") or base.get("err_msg") or ""
        raise RateLimited(f"WeChat refused to list album {ref.album_id} (ret {ret}{', ' + msg if msg else ''})",
                          url=where)
    resp = doc.get("getalbum_resp")
    if not isinstance(resp, dict):
        raise LayoutChanged(f"album {ref.album_id}: no getalbum_resp in the answer", url=where)
    raw_items = resp.get("article_list")
    if isinstance(raw_items, dict):  # one article arrives as an object, not a list
        raw_items = [raw_items]
    elif not isinstance(raw_items, list):
        raw_items = []
    items = []
    for it in raw_items:
        if not isinstance(it, dict):
            continue
        msgid, itemidx = str(it.get("msgid") or ""), str(it.get("itemidx") or "")
        url = str(it.get("url") or "")
        if is_article_url(url):
            url = normalize_article_url(url)
        elif msgid and itemidx:
            url = normalize_article_url(f"https://{ARTICLE_HOST}/s?__biz={quote(ref.biz, safe='')}"
                                        f"&mid={msgid}&idx={itemidx}")
        else:
            log.debug("album %s: item without a usable link: %r", ref.album_id, it)
            continue
        try:
            ct = int(str(it.get("create_time") or "0"))
        except ValueError:
            ct = 0
        items.append(AlbumItem(url, msgid, itemidx, str(it.get("title") or ""), ct))
    more = str(resp.get("continue_flag", "0")) == "1" and bool(items)
    return AlbumPage(items, more)


def list_album(fetcher: Fetcher, ref: AlbumRef, is_known: Callable[[str], bool] | None = None,
               *, stop_at_known: bool = True, max_pages: int = MAX_ALBUM_PAGES) -> tuple[list[str], bool]:
    """New article URLs of an album, newest first, and whether the listing reached its end.

    Pages by the *last* item's msgid/itemidx until ``continue_flag`` is "0".
    Stops at the first known article only while the album is in newest-first
    order (an album shown oldest first would otherwise hide every new article).
    """
    out: list[str] = []
    seen: set[str] = set()
    cursor: tuple[str, str] | None = None
    for page_no in range(max_pages):
        url = ref.api_url(cursor)
        page = parse_album_page(fetcher.text(url), ref, where=url)
        cts = [i.create_time for i in page.items if i.create_time]
        newest_first = all(a >= b for a, b in zip(cts, cts[1:], strict=False))
        if not newest_first and stop_at_known:
            log.info("album %s is listed oldest first; reading it to the end", ref.album_id)
            stop_at_known = False
        for item in page.items:
            key = article_key(item.url) or item.url
            if key in seen:  # some servers repeat the cursor item at the top of the next page
                continue
            seen.add(key)
            if is_known is not None and is_known(item.url):
                if stop_at_known:
                    log.info("album %s: reached an archived article after %d new", ref.album_id, len(out))
                    return out, True
                continue
            out.append(item.url)
        if not page.more:
            return out, True
        last = page.items[-1]
        nxt = (last.msgid, last.itemidx)
        if not all(nxt) or nxt == cursor:
            log.warning("album %s: paging cursor stuck at page %d; stopping", ref.album_id, page_no + 1)
            return out, False
        cursor = nxt
    log.warning("album %s: more than %d pages; stopping", ref.album_id, max_pages)
    return out, False


# ---------------------------------------------------------------- harvest sources
@dataclass(frozen=True)
class SourceSpec:
    """One ``[[sources]]`` entry of ``wxarchive.toml``."""

    name: str
    url: str = ""
    path: str = ""
    kind: str = ""  # album | feed | list | account | "" (guessed)
    account: str = ""  # an account followed through WeRead: its book id MP_WXS_<n> (see weread.py)
    since: str = ""  # account: list nothing published before this day
    full: bool = False  # account: walk the whole history once, past articles already archived
    max_pages: int = 0  # account: listing pages a run (0: the default)
    list_delay: float = -1.0  # account: seconds between listing requests (< 0: the default)

    @property
    def ident(self) -> str:
        """What the state remembers the source by (its URL or path, not its changeable name)."""
        return self.url or self.path or (f"weread:{self.account}" if self.account else "")

    @classmethod
    def from_config(cls, entry: Any, n: int) -> SourceSpec:
        if isinstance(entry, str):
            entry = {"url": entry} if "://" in entry else {"path": entry}
        if not isinstance(entry, dict):
            raise UsageError(f"[[sources]] entry {n}: expected a table, got {entry!r}")
        if "account" in entry:
            return cls._account(entry, n)
        url, path = str(entry.get("url") or "").strip(), str(entry.get("path") or "").strip()
        if bool(url) == bool(path):
            raise UsageError(f"[[sources]] entry {n}: give exactly one of url = \"...\" or path = \"...\"")
        if url and not url.startswith(("http://", "https://")):
            raise UsageError(f"[[sources]] entry {n}: url must be http(s): {url}")
        kind = str(entry.get("kind") or "").strip().lower()
        if kind and kind not in KINDS:
            raise UsageError(f"[[sources]] entry {n}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
        return cls(name=str(entry.get("name") or url or path), url=url, path=path, kind=kind)

    @classmethod
    def _account(cls, entry: dict[str, Any], n: int) -> SourceSpec:
        """``account = "<__biz | article link | MP_WXS_n>"``, listed through WeRead (``channel = "weread"``)."""

        where = f"[[sources]] entry {n}"
        secret = [k for k in entry if str(k).lower() in _SECRET_KEYS]
        if secret:
            raise UsageError(f"{where}: {secret[0]} does not belong in wxarchive.toml: the WeRead session is read only "
                             "from your own config folder (see the README, \"Follow an account\")")
        if entry.get("url") or entry.get("path"):
            raise UsageError(f"{where}: give account = \"...\" or url/path, not both")
        if str(entry.get("kind") or "account").lower() != "account" or str(entry.get("channel") or "weread") != "weread":
            raise UsageError(f"{where}: an account is followed with kind = \"account\", channel = \"weread\"")
        if not isinstance(entry["account"], str):
            raise UsageError(f"{where}: account must be a string (the __biz, an article link or MP_WXS_<n>)")
        from wxarchive.net.weread import book_id_of  # (an account source only: `get` reads this module too)

        try:
            book = book_id_of(entry["account"])
        except UsageError as e:
            raise UsageError(f"{where}: {e.message}") from None
        since, full = entry.get("since", ""), entry.get("full", False)
        pages, delay = entry.get("max_pages", 0), entry.get("list_delay", -1.0)
        if isinstance(since, dt.date):  # TOML's own date: since = 2024-01-01
            since = since.isoformat()
        if (not isinstance(since, str) or not isinstance(full, bool) or isinstance(pages, bool)
                or not isinstance(pages, int) or pages < 0 or isinstance(delay, bool)
                or not isinstance(delay, (int, float))):
            raise UsageError(f"{where}: since is a date (\"2024-01-01\"), full true/false, max_pages a whole number, "
                             "list_delay seconds")
        if since:
            try:
                dt.date.fromisoformat(since)
            except ValueError:
                raise UsageError(f"{where}: since = {since!r} is not a date like \"2024-01-01\"") from None
        return cls(name=str(entry.get("name") or entry["account"]), kind=SourceKind.ACCOUNT, account=book, since=since,
                   full=full, max_pages=pages, list_delay=float(delay))


def guess_kind(spec: SourceSpec) -> SourceKind | None:
    """album for an album link, list for a file; a URL's kind is decided from its content (None)."""
    if spec.kind:
        return SourceKind(spec.kind)
    if spec.account:
        return SourceKind.ACCOUNT
    if spec.path:
        return SourceKind.LIST
    if parse_album_url(spec.url):
        return SourceKind.ALBUM
    if is_article_url(spec.url):
        return SourceKind.LIST
    low = spec.url.lower().split("?")[0]
    if low.endswith((".xml", ".rss", ".atom", "/feed", "/rss", "/atom", ".json")) or "rsshub" in low or "/feeds/" in low:
        return SourceKind.FEED
    return None
