"""The archive's settings: the ``[site]`` table of ``wxarchive.toml``, typed, with every default here.

Pure: ``site.py`` reads the file, ``render`` and ``check`` read the fields.
"""
from __future__ import annotations

from wxarchive.errors import UsageError

TYPE_CHECKING = False  # typing costs start-up time; only the checker reads it
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Settings"]

# theme keys (front matter `header-img`, `catalog`): no default, a post carries them only when set
_OPTIONAL: dict[str, type] = {"header_img": str, "catalog": bool}


class Settings:
    """How posts are written and where they go; ``Settings()`` is an archive with no ``[site]`` table.

    Frozen. A plain class with slots, not a dataclass: it is built on every ``get``'s import path,
    where a frozen dataclass cost ten times as much.
    """

    __slots__ = ("attribution", "author", "catalog", "header_img", "image_dir", "image_prefix", "layout", "liquid",
                 "posts_dir", "tags")
    layout: str
    author: str
    header_img: str | None
    catalog: bool | None
    tags: tuple[str, ...]
    attribution: bool
    posts_dir: str
    image_dir: str
    image_prefix: str
    liquid: bool

    def __init__(self, *,
                 layout: str = "post",  # Jekyll layout of every post
                 author: str = "",  # front-matter author; empty: the article's author, else the account
                 header_img: str | None = None,
                 catalog: bool | None = None,
                 tags: tuple[str, ...] = ("其他",),
                 attribution: bool = True,  # the "转载：… 来源：微信公众号" quote on top of each post
                 posts_dir: str = "_posts",
                 image_dir: str = "postimg",
                 image_prefix: str = "{{ site.baseurl }}/postimg/",  # how posts refer to saved images
                 liquid: bool = True,  # escape {{ and {% in article text for Jekyll
                 ) -> None:
        values = dict(layout=layout, author=author, header_img=header_img, catalog=catalog, tags=tuple(tags),
                      attribution=attribution, posts_dir=posts_dir, image_dir=image_dir, image_prefix=image_prefix,
                      liquid=liquid)
        for k, v in values.items():
            object.__setattr__(self, k, v)

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, k) for k in self.__slots__)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Settings are frozen; use replace({name}=…)")

    def __eq__(self, other: object) -> bool:
        return type(other) is Settings and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return "Settings(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__) + ")"

    def replace(self, **changes: object) -> Settings:
        return Settings(**{**{k: getattr(self, k) for k in self.__slots__}, **changes})  # type: ignore[arg-type]

    @classmethod
    def from_table(cls, table: Any, source: object) -> Settings:
        """The ``[site]`` table read from ``source`` (named in errors). Each known key must have its
        field's type: a string where a list goes would become one tag per character, a number would
        crash the writer. Unknown keys are left alone."""
        if not isinstance(table, dict):
            raise UsageError(f"{source}: [site] must be a table")
        kinds = {k: _OPTIONAL.get(k) or type(v) for k, v in (cls.__init__.__kwdefaults__ or {}).items()}
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
