"""The archive's settings: the ``[site]`` table of ``wxarchive.toml``, typed, with every default here.

Pure: ``site.py`` reads the file, ``render`` and ``check`` read the fields.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from wxarchive.errors import UsageError

__all__ = ["Settings"]

# theme keys (front matter `header-img`, `catalog`): no default, a post carries them only when set
_OPTIONAL: dict[str, type] = {"header_img": str, "catalog": bool}


@dataclass(frozen=True, slots=True)
class Settings:
    """How posts are written and where they go; ``Settings()`` is an archive with no ``[site]`` table."""

    layout: str = "post"  # Jekyll layout of every post
    author: str = ""  # front-matter author; empty: the article's author, else the account
    header_img: str | None = None
    catalog: bool | None = None
    tags: tuple[str, ...] = ("其他",)
    attribution: bool = True  # the "转载：… 来源：微信公众号" quote on top of each post
    posts_dir: str = "_posts"
    image_dir: str = "postimg"
    image_prefix: str = "{{ site.baseurl }}/postimg/"  # how posts refer to saved images
    liquid: bool = True  # escape {{ and {% in article text for Jekyll

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", tuple(self.tags))  # a list from a caller: still hashable, still frozen

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_table(cls, table: Any, source: object) -> Settings:
        """The ``[site]`` table read from ``source`` (named in errors). Each known key must have its
        field's type: a string where a list goes would become one tag per character, a number would
        crash the writer. Unknown keys are left alone."""
        if not isinstance(table, dict):
            raise UsageError(f"{source}: [site] must be a table")
        kinds = {f.name: _OPTIONAL.get(f.name) or type(f.default) for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for k, v in table.items():
            want = kinds.get(k)
            if want is None:
                continue
            if want is tuple:
                if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                    raise UsageError(f"{source}: {k} must be a list of strings, like {k} = [\"其他\"]; got {v!r}")
                v = tuple(v)
            elif type(v) is not want:
                raise UsageError(f"{source}: {k} must be a {want.__name__}, got {v!r}")
            values[k] = v
        return cls(**values)
