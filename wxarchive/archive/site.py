"""The Jekyll tree: ``_posts/``, ``postimg/``, ``_config.yml``, the settings file, safe names, atomic writes."""
from __future__ import annotations

import errno
import functools
import hashlib
import logging
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Callable

from wxarchive.archive.lock import adopt, sweep_partials
from wxarchive.config import read_toml
from wxarchive.errors import UsageError
from wxarchive.layout import CONFIG_NAME, GONE_PAGE, JEKYLL_CONFIG, RAW_DIR, STATE_DB, STATE_DIR, TMP_DIR
from wxarchive.models import Article
from wxarchive.settings import Settings

if TYPE_CHECKING:
    from wxarchive.write.frontmatter import FrontMatter

__all__ = ["TMP_DIR", "Site", "atomic_write", "discard", "file_mode", "read_post_front_matter", "slugify", "temp_dir"]

log = logging.getLogger(__name__)


_DEFAULT_TOML = """\
# wxarchive settings for this archive. Edit freely; wxarchive never overwrites this file.

[site]
layout = "post"               # Jekyll layout of every post
author = ""                   # front-matter author; empty = the article's author, else the account
@THEME@
tags = ["其他"]
attribution = true            # a "转载：… 来源：微信公众号" quote at the top of each post
posts_dir = "_posts"
image_dir = "postimg"
image_prefix = "{{ site.baseurl }}/postimg/"   # how posts refer to saved images
liquid = true                 # escape {{ and {% in article text for Jekyll

# Sources for `wxarchive harvest` (album pages, feeds, URL lists):
# [[sources]]
# name = "反诈合集"
# url = "https://mp.weixin.qq.com/mp/appmsgalbum?__biz=XXXX&album_id=YYYY"
# [[sources]]
# url = "https://rsshub.example.org/wechat/mp/XXXX"
# [[sources]]
# path = "links.txt"

# `wxarchive harvest` also re-checks a slice of the archive (see `wxarchive check`):
# [check]
# max = 50                    # articles per harvest, least recently checked first
# older_than = "14d"          # only those not checked for this long
"""

# front-matter keys of one family of Jekyll themes (header-img, catalog): written into the
# settings file of a site wxarchive lays down, never assumed for someone else's site
_THEME_KEYS = 'header_img = "img/the-first.png"   # front matter `header-img`\ncatalog = false               # front matter `catalog`'
_THEME_KEYS_OFF = '# header_img = "img/the-first.png"   # front matter `header-img`, if your theme uses it\n# catalog = false'


def _default_toml(own_site: bool) -> str:
    return _DEFAULT_TOML.replace("@THEME@", _THEME_KEYS if own_site else _THEME_KEYS_OFF)


def _default_table(own_site: bool) -> dict[str, Any]:
    """The ``[site]`` table of :func:`_default_toml` as a TOML reader gives it back (a test holds the two
    equal): the run that lays the file down takes its settings from here, without loading a TOML
    parser to read back what it just wrote (~2 ms of a first ``get``)."""
    table: dict[str, Any] = {"layout": "post", "author": "", "tags": ["其他"], "attribution": True,
                             "posts_dir": "_posts", "image_dir": "postimg",
                             "image_prefix": "{{ site.baseurl }}/postimg/", "liquid": True}
    if own_site:
        table |= {"header_img": "img/the-first.png", "catalog": False}
    return table


_CONFIG_YML = """\
# Minimal Jekyll site laid down by `wxarchive init`. Yours to change.
title: WeChat archive
description: Articles archived with wxarchive
baseurl: ""
timezone: Asia/Shanghai
permalink: /:year/:month/:day/:title/
markdown: kramdown
kramdown:
  input: GFM
  hard_wrap: false
  # show the article's characters as written: no curly quotes, no -- to dash, no << to guillemet
  smart_quotes: ["apos", "apos", "quot", "quot"]
  typographic_symbols: {hellip: "...", mdash: "---", ndash: "--", laquo: "<<", raquo: ">>", laquo_space: "<< ", raquo_space: " >>"}
exclude:
  - wxarchive.toml
  - .wxarchive
  - Gemfile
  - Gemfile.lock
"""

_LAYOUT_DEFAULT = """\
<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>{% if page.title %}{{ page.title | escape }} · {% endif %}{{ site.title | escape }}</title>
<style>
body{max-width:46rem;margin:2rem auto;padding:0 1rem;font:17px/1.7 -apple-system,"PingFang SC","Microsoft YaHei",sans-serif;color:#222}
img{max-width:100%;height:auto}pre{overflow:auto;background:#f6f8fa;padding:.8rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem}
blockquote{color:#555;border-left:4px solid #ddd;margin:0;padding:0 1rem}.meta{color:#777;font-size:.9rem}
</style>
</head>
<body>
<p><a href="{{ site.baseurl }}/">{{ site.title | escape }}</a></p>
{{ content }}
</body>
</html>
"""

_LAYOUT_POST = """\
---
layout: default
---
<article>
<h1 class="post-title">{{ page.title | escape }}</h1>
<p class="meta">{{ page.date | date: "%Y-%m-%d %H:%M" }}{% if page.account %} · {{ page.account | escape }}{% endif %}{% if page.author and page.author != page.account %} · 作者：{{ page.author | escape }}{% endif %}{% if page.article_author and page.article_author != page.author %} · {{ page.article_author | escape }}{% endif %}{% if page.reprint_of %} · 原作：{{ page.reprint_of.account | escape }}{% if page.reprint_of.author %}（{{ page.reprint_of.author | escape }}）{% endif %}{% endif %}{% if page.source_url %} · <a href="{{ page.source_url | escape }}">原文</a>{% endif %}</p>
{{ content }}
</article>
"""

_INDEX = """\
---
layout: default
title: Archive
---
<ul class="posts">
{% for post in site.posts %}<li><span class="meta">{{ post.date | date: "%Y-%m-%d" }}</span> <a href="{{ post.url | relative_url }}">{{ post.title | escape }}</a>{% if post.account %} <span class="meta">{{ post.account | escape }}</span>{% endif %}</li>
{% endfor %}</ul>
<p class="meta"><a href="{{ "/gone/" | relative_url }}">原文已被删除或无法查看的文章</a></p>
"""

# The originals `wxarchive check` found gone, from each post's front matter (source_gone_at is set
# only while the original is gone). Laid down by init; a plain Jekyll page, no plugin, no script.
_GONE = """\
---
layout: default
title: 已消失的原文
permalink: /gone/
---
{% assign gone = site.posts | where_exp: "post", "post.source_gone_at" %}
<h1>已消失的原文</h1>
<p class="meta">{{ gone | size }} 篇文章的原文已被删除或无法查看（<code>wxarchive check</code> 的记录）。</p>
<table class="gone">
<thead><tr><th>发布日期</th><th>公众号</th><th>标题</th><th>原文的去向</th><th>发现于</th></tr></thead>
<tbody>
{% for post in gone %}<tr class="gone-{{ post.source_status }}"><td>{{ post.date | date: "%Y-%m-%d" }}</td><td>{{ post.account | escape }}</td><td><a href="{{ post.url | relative_url }}">{{ post.title | escape }}</a></td><td>{% case post.source_status %}{% when "deleted" %}被发布者删除{% when "removed" %}被微信删除{% when "account_closed" %}帐号已注销或被封{% when "migrated" %}帐号已迁移{% else %}无法查看{% endcase %}{% if post.source_status == "removed" and post.source_reason %}：{{ post.source_reason | escape }}{% endif %}</td><td>{{ post.source_gone_at | slice: 0, 10 }}</td></tr>
{% endfor %}</tbody>
</table>
"""


def _umask() -> int:
    """The process umask. Linux shows it in /proc; elsewhere it can only be read by setting it, so that
    happens once, at the first write, never at import."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@functools.cache
def file_mode() -> int:
    """What a plain ``open`` would give a new file: 0666 less the umask (temp files are made 0600)."""
    return 0o666 & ~_umask()


# Temp files are made in a hidden folder (``layout.TMP_DIR``) inside the folder they are renamed into (same
# filesystem: the rename stays atomic). It holds only what is in flight, so the start of a run
# finds what a killed run left by reading it, not the 100,000 names of `_posts/` or `postimg/`.
_tmp_ready: set[str] = set()  # temp folders this process made sure of


def temp_dir(folder: Path | str) -> str:
    """The temp folder of ``folder``, made on first use (once per process and folder: a set look-up
    after that). A folder that has none yet may hold the temp files of an older wxarchive beside its
    files: :func:`lock.adopt` sweeps them once, as it makes the temp folder."""
    tmp = os.path.join(folder, TMP_DIR)
    if tmp not in _tmp_ready:
        adopt(Path(folder))
        _tmp_ready.add(tmp)
    return tmp


def temp_file(folder: Path, mode: int = 0o600) -> tuple[int, str]:
    """``tempfile.mkstemp`` as wxarchive needs it (a fresh file, never an existing one; ``mode``
    less the umask), without importing tempfile, shutil and random into every run (~5 ms of start-up).
    The file is made in ``folder``'s temp folder (:func:`temp_dir`)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        where = temp_dir(folder)
        tmp = os.path.join(where, f".tmp-{os.getpid()}-{os.urandom(6).hex()}.part")
        try:
            return os.open(tmp, flags, mode), tmp
        except FileExistsError:
            continue
        except FileNotFoundError:  # someone removed the temp folder since: make it again
            _tmp_ready.discard(where)
            if not os.path.isdir(folder):
                raise
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(folder))  # pragma: no cover


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, then rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_file(path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, file_mode())  # made 0600; a web server must be able to read the site
        os.replace(tmp, path)
    except BaseException:
        discard(tmp)
        raise


def discard(tmp: str) -> None:
    """Remove the temp file of a write that failed (already gone: nothing to do)."""
    try:
        os.unlink(tmp)
    except OSError:
        pass


def read_post_front_matter(post: Path, errors: str = "strict") -> FrontMatter | None:
    """A post file's front matter, reading no more of it than the front matter may hold (a post in an
    archive folder is anyone's). OSError, UnicodeDecodeError (``errors="strict"``) and
    :class:`~wxarchive.write.frontmatter.FrontMatterError` reach the caller."""
    from wxarchive.write.frontmatter import HEAD_CHARS, read_front_matter  # (yaml: not at start-up)

    with post.open(encoding="utf-8", errors=errors) as f:
        return read_front_matter(f.read(HEAD_CHARS))


_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def slugify(title: str, limit: int = 50) -> str:
    """A file-name-safe slug that keeps CJK text readable: no separators, controls or bidi marks."""
    text = unicodedata.normalize("NFKC", title)
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch.isalnum() and cat[0] in "LN":
            out.append(ch.lower())
        else:
            out.append("-")
    slug = re.sub(r"-{2,}", "-", "".join(out)).strip("-")
    slug = slug[:limit].strip("-")
    if not slug or slug.lower() in _RESERVED:
        slug = "post" if not slug else slug + "-post"
    return slug


@dataclass
class Site:
    """An archive folder: where posts, images and state live, and its settings."""

    root: Path
    settings: Settings = Settings()
    sources: list[dict[str, Any]] = field(default_factory=list)
    check: dict[str, Any] | None = None  # the [check] table: harvest re-checks a slice of the archive

    @classmethod
    def open(cls, root: str | os.PathLike[str]) -> Site:
        root = Path(root)
        settings = Settings()
        sources: list[dict[str, Any]] = []
        check: dict[str, Any] | None = None
        cfg = root / CONFIG_NAME
        if cfg.exists() or cfg.is_symlink():
            data = read_toml(cfg)  # a regular file of at most 1 MB: an archive folder may be anyone's
            settings = Settings.from_table(data.get("site", {}), cfg)
            sources = data.get("sources", [])
            if not isinstance(sources, list):
                raise UsageError(f"{cfg}: sources must be a list of [[sources]] tables")
            check = data.get("check")
            if check is not None:
                _check_table(check, cfg)
        return cls(root=root, settings=settings, sources=list(sources), check=check)

    @property
    def posts_dir(self) -> Path:
        return self.root / _safe_rel(self.settings.posts_dir)

    @property
    def image_dir(self) -> Path:
        return self.root / _safe_rel(self.settings.image_dir)

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def state_db(self) -> Path:
        return self.state_dir / STATE_DB

    def inside(self, rel: str | None) -> Path | None:
        """``root/rel`` when a path read from the state (``post_path``, ``raw_path``) stays in the archive,
        else None with a line: a crafted or foreign state may name ``../../.bashrc`` or ``/etc/x`` (issue 25),
        and nothing is read, written or deleted there. Its folder must resolve inside the archive too
        (a symlinked ``_posts`` pointing out); the file itself may be a symlink, which a rename replaces."""
        if not rel:
            return None
        parts = Path(rel).parts
        full = self.root / rel
        try:
            ok = not Path(rel).is_absolute() and ".." not in parts and \
                full.parent.resolve().is_relative_to(self.root.resolve())
        except (OSError, RuntimeError, ValueError):
            ok = False
        if not ok:
            log.warning("the state names %s, which is outside the archive %s; left alone", rel, self.root)
            return None
        return full

    def init(self) -> list[Path]:
        """Lay down a minimal Jekyll site; never overwrite a file that exists.

        Into someone's existing site (a ``_config.yml`` is there) their ``_config.yml`` stays
        untouched and one line says what to add to it; with a theme (``theme:``/``remote_theme:``)
        only ``wxarchive.toml`` and the folders go: no layout or index page that would shadow the theme's.
        A settings file laid down here becomes this site's settings.
        """
        made = []
        existing = (self.root / JEKYLL_CONFIG).exists()
        files = {CONFIG_NAME: "", JEKYLL_CONFIG: _CONFIG_YML} if not existing else {CONFIG_NAME: ""}
        ours = {rel: text for rel, text in (("_layouts/default.html", _LAYOUT_DEFAULT), ("_layouts/post.html", _LAYOUT_POST),
                                            ("index.html", _INDEX), (GONE_PAGE, _GONE)) if self._lacks(rel)}
        # a theme's layouts and home page are the site's own: ours would shadow them (the site's
        # _config.yml is read only when one of ours is missing: not on every run)
        if ours and not (existing and _has_theme(self.root / JEKYLL_CONFIG)):
            files.update(ours)
        for rel, text in files.items():
            p = self.root / rel
            if not p.exists():
                text = text or _default_toml(own_site=not existing)
                atomic_write(p, text.encode("utf-8"))
                made.append(p)
                if rel == CONFIG_NAME:
                    self.settings = Settings.from_table(_default_table(own_site=not existing), p)
        for d in (self.posts_dir, self.image_dir, self.state_dir):
            d.mkdir(parents=True, exist_ok=True)

        sweep_partials([self.posts_dir, self.image_dir, self.state_dir, self.state_dir / RAW_DIR, self.root])  # runs killed mid-write
        if existing and self.root / CONFIG_NAME in made:
            advice = config_advice(self.root / JEKYLL_CONFIG)
            if advice:
                log.warning("%s", advice)
        return made

    def _lacks(self, rel: str) -> bool:
        """The site has no such page, under this name or as Markdown (``index.md``, ``gone.md``)."""
        names = (rel, "index.md", "index.markdown") if rel == "index.html" else \
            (rel, "gone.md", "gone.markdown") if rel == GONE_PAGE else (rel,)
        return not any((self.root / n).exists() for n in names)

    def post_path(self, article: Article, taken: Callable[[Path], bool] | None = None) -> Path:
        """``_posts/YYYY-MM-DD-slug.md``; a different article never gets the same name."""
        day = article.published.strftime("%Y-%m-%d") if article.published else "1970-01-01"
        base = f"{day}-{slugify(article.title)}"
        path = self.posts_dir / f"{base}.md"
        if taken is not None and taken(path):
            h = hashlib.sha1(article.key.encode()).hexdigest()[:8]
            path = self.posts_dir / f"{base}-{h}.md"
        return path


def _jekyll_config(config: Path) -> dict[str, Any]:
    import yaml  # (PyYAML, ~12 ms: read only when one of our pages is missing; every command opens a Site)

    try:
        data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        data = {}
    return data if isinstance(data, dict) else {}


def _has_theme(config: Path) -> bool:
    data = _jekyll_config(config)
    return bool(data.get("theme") or data.get("remote_theme"))


def config_advice(config: Path) -> str:
    """One line: what an existing ``_config.yml`` lacks for archived posts (wxarchive never edits it)."""
    data = _jekyll_config(config)
    need = []
    if not data.get("timezone"):
        need.append("`timezone: Asia/Shanghai` (else Jekyll may hide recent posts as future ones)")
    exclude = data.get("exclude") or []
    if not isinstance(exclude, list) or CONFIG_NAME not in exclude:
        need.append(f"`{CONFIG_NAME}` to `exclude:` (else it is published)")
    if not need:
        return ""
    return f"{config} is yours and was not changed; add to it " + " and ".join(need)


_CHECK_KEYS: dict[str, tuple[type, ...]] = {"max": (int,), "older_than": (str, int), "refetch_edited": (bool,),
                                            "account": (str,)}


def _check_table(check: Any, cfg: Path) -> None:
    """The ``[check]`` table typed as ``[site]`` is: ``refetch_edited = 'false'`` is not true, ``max = inf``
    or ``account = ['x']`` one line here rather than a crash in the harvest."""
    if not isinstance(check, dict):
        raise UsageError(f"{cfg}: [check] must be a table (max = 50, older_than = \"14d\")")
    for k, v in check.items():
        want = _CHECK_KEYS.get(k)
        if want is None:
            raise UsageError(f"{cfg}: [check] has no key {k!r} (keys: {', '.join(_CHECK_KEYS)})")
        if type(v) not in want or (k == "max" and not 0 <= v <= 10**9):
            kind = {"max": "a whole number from 0", "older_than": 'a duration like "14d"',
                    "refetch_edited": "true or false", "account": "an account's name"}[k]
            raise UsageError(f"{cfg}: [check] {k} must be {kind}, got {v!r}")


def _safe_rel(rel: str) -> str:
    parts = [p for p in Path(rel).parts if p not in ("..", "/", "\\") and not p.startswith("/")]
    return str(Path(*parts)) if parts else "_"
