"""The one reader of a post's front matter: the inverse of :func:`wxarchive.write.render.front_matter`.

Pure. A post in an archive folder is untrusted (a cloned or shared archive, a hand-edited post), so the
reader is bounded: the front matter must close within :data:`MAX_FRONT_MATTER` characters, YAML is read
by PyYAML's safe loader (no tag ever builds an object), and aliases are refused (``&a [*a, *a, …]``
nested a few levels is a billion items to whoever walks the value). Values are read through typed
accessors that never hand back a structure where text is expected.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import yaml

from wxarchive.models import SHANGHAI, Choices

__all__ = ["HEAD_CHARS", "MAX_FRONT_MATTER", "FrontMatter", "FrontMatterError", "fenced", "read_front_matter"]

MAX_FRONT_MATTER = 1024 * 1024  # characters: render writes a few KB; a bigger head is not a post of ours
HEAD_CHARS = MAX_FRONT_MATTER + 8  # what a reader of the file needs: the front matter and both fences
_FENCED = re.compile(r"---\n(.*?\n)---\n", re.S)
_TIME = re.compile(r"(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)[ \t]*([+-]\d\d:?\d\d)?")


class FrontMatterError(ValueError):
    """The post has front matter that cannot be read: too long, not YAML, not a mapping."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing aliases (render never writes one)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "an alias (*name) in front matter",
                                              self.peek_event().start_mark)  # type: ignore[no-untyped-call]
        return super().compose_node(parent, index)


def fenced(text: str) -> tuple[str, int] | None:
    """The front matter's own lines (between the ``---`` fences) and where the body starts, or None
    when the text opens with no front matter (unparsed: for edits that keep every other byte)."""
    m = _FENCED.match(text, 0, HEAD_CHARS)
    if m is None:
        if text.startswith("---\n") and len(text) >= HEAD_CHARS:
            raise FrontMatterError(f"its front matter does not end in its first {MAX_FRONT_MATTER} characters")
        return None
    return m.group(1), m.end()


@dataclass(frozen=True)
class FrontMatter:
    """A post's front matter, read: ``data`` as YAML gave it, ``lines`` its text, ``end`` where the body starts."""

    data: dict[str, Any]
    lines: str
    end: int

    def text(self, key: str) -> str:
        """A scalar value as text (``mid: 1`` is ``"1"``); "" when missing, null or not a scalar."""
        value = self.data.get(key)
        if value is None or isinstance(value, (dict, list)):
            return ""
        return str(value)

    def time(self, key: str) -> dt.datetime | None:
        """A date-time value, aware (a time without a zone is WeChat's, Shanghai's); None when there is none."""
        value = self.data.get(key)
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=SHANGHAI)
        m = _TIME.match(value) if isinstance(value, str) else None
        if m is None:
            return None
        try:
            return dt.datetime.fromisoformat(m.group(1).replace(" ", "T") + (m.group(2) or "+08:00"))
        except ValueError:
            return None

    @property
    def source_url(self) -> str:
        return self.text("source_url")

    @property
    def liquid(self) -> bool:
        """Whether Jekyll renders Liquid in the post (render writes ``render_with_liquid: false`` when not)."""
        return self.data.get("render_with_liquid") is not False

    @property
    def choices(self) -> Choices:
        """The per-post options it was made with (written only when set)."""
        return Choices(**{k: self.data.get(k) is True for k in Choices.NAMES})


def read_front_matter(text: str) -> FrontMatter | None:
    """The post's front matter, or None when it has none; :class:`FrontMatterError` when it cannot be read."""
    head = fenced(text)
    if head is None:
        return None
    lines, end = head
    try:
        data = yaml.load(lines, Loader=_Loader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as e:
        raise FrontMatterError(" ".join(str(e).split())[:200]) from None
    except RecursionError:  # (nesting thousands deep)
        raise FrontMatterError("its front matter nests too deep") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FrontMatterError("its front matter is not a mapping")
    return FrontMatter(data, lines, end)
