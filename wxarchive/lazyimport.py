"""Modules other libraries import eagerly but a run of wxarchive does not use: loaded on first use instead.

bs4 imports soupsieve (CSS selectors; importing it compiles ~80 ms of regexes) and
charset_normalizer (encoding guesses for bytes input) when it is imported;
wxarchive hands bs4 decoded text and never selects with CSS. A placeholder module
stands in for each until something reads an attribute of it; then the real
module is imported and the placeholder takes its contents, so a caller that does
use them (``soup.select``) works as before.

(``importlib.util.LazyLoader`` does not do here: a second ``import soupsieve``
reads ``__spec__`` of the lazy module, which loads it at once.)
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types

__all__ = ["defer"]

_lock = threading.Lock()


class _Deferred(types.ModuleType):
    """Stands in for a module not imported yet; the first missing attribute imports it."""

    def __getattr__(self, attr: str) -> object:
        with _lock:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
                try:
                    real = importlib.import_module(self.__name__)
                except BaseException:
                    sys.modules[self.__name__] = self
                    raise
                self.__dict__.update(real.__dict__)
        return object.__getattribute__(self, attr) if attr in self.__dict__ else getattr(sys.modules[self.__name__], attr)


def defer(*names: str) -> None:
    """Let each top-level module ``name`` load on first use, unless it is loaded already or not installed."""
    for name in names:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None:
            continue
        placeholder = _Deferred(name)
        placeholder.__spec__ = spec  # what ``import name`` checks for a module already in sys.modules
        sys.modules[name] = placeholder
