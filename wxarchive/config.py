"""Option defaults from files: the user's ``config.toml`` and an archive's ``wxarchive.toml`` ``[options]``.

Precedence, strongest first: the command line; the archive's ``[options]``; the user's
config file (``~/.config/wxarchive/config.toml``, or ``$XDG_CONFIG_HOME``; ``--config FILE``
instead); the built-in defaults. Keys are option names (``delay``, ``proxy``, ``out``,
``no-images`` or ``no_images`` …); top-level keys apply to every command that has the option,
a ``[get]``/``[import]``/… table to that command only. ``--ignore-config`` reads neither file.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any
from collections.abc import Callable

from .errors import UsageError

__all__ = ["apply_config", "split_config_flags", "user_config_path"]

_PATHS = {"out", "cookies", "log"}


def user_config_path() -> Path:
    """The user's config file. On Linux it is the XDG rule platformdirs applies (``$XDG_CONFIG_HOME``,
    when absolute, else ``~/.config``), written out because importing platformdirs costs every command ~8 ms of
    start-up; other systems ask platformdirs."""
    if sys.platform.startswith("linux"):
        base = os.environ.get("XDG_CONFIG_HOME", "")
        if not os.path.isabs(base):
            base = os.path.expanduser("~/.config")
        return Path(base) / "wxarchive" / "config.toml"
    import platformdirs

    return Path(platformdirs.user_config_dir("wxarchive")) / "config.toml"


def split_config_flags(argv: list[str]) -> tuple[list[str], str | None, bool]:
    """``--config FILE`` and ``--ignore-config`` may stand anywhere; they are taken out before parsing."""
    rest, path, ignore, i = [], None, False, 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            rest += argv[i:]
            break
        if a == "--ignore-config":
            ignore = True
        elif a == "--config":
            if i + 1 >= len(argv):
                raise UsageError("--config wants a FILE")
            path, i = argv[i + 1], i + 1
        elif a.startswith("--config="):
            path = a.split("=", 1)[1]
        else:
            rest.append(a)
        i += 1
    return rest, path, ignore


def _actions(sub: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {a.dest: a for a in sub._actions if a.option_strings and a.dest not in ("help",)}


def _value(where: str, key: str, v: Any, action: argparse.Action) -> Any:
    bad = UsageError(f"{where}: {key} = {v!r} is not a valid value")
    if isinstance(action, argparse._StoreTrueAction):
        if not isinstance(v, bool):
            raise UsageError(f"{where}: {key} must be true or false, got {v!r}")
        return v
    if isinstance(action, argparse._CountAction):
        if isinstance(v, bool) or not isinstance(v, int):
            raise bad
        return v
    if isinstance(action, argparse._AppendAction):
        items = v if isinstance(v, list) else [v]
        if not all(isinstance(x, str) for x in items):
            raise bad
        return items
    if isinstance(v, (dict, list, bool)):
        raise bad
    try:
        v = action.type(v) if callable(action.type) else str(v)
    except (TypeError, ValueError):
        raise bad from None
    return os.path.expanduser(v) if key in _PATHS and isinstance(v, str) else v


def _read(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: not valid TOML ({e})") from None


def _values(data: dict[str, Any], where: str, command: str, sub: argparse.ArgumentParser,
            commands: Callable[[], dict[str, argparse.ArgumentParser]],
            skip: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    """The values ``data`` sets for ``command`` (whose parser is ``sub``), every key checked against
    all the commands (``commands()``, built only when there is a key to check)."""
    if not data:
        return {}
    subs = commands()
    known = {d for p in subs.values() for d in _actions(p)}
    mine = _actions(sub)
    out: dict[str, Any] = {}
    tables = [(k, v) for k, v in data.items() if not isinstance(v, dict)]
    tables += [(k, v) for k, v in (data.get(command) or {}).items()] if isinstance(data.get(command), dict) else []
    for k, v in data.items():
        if isinstance(v, dict) and k not in subs:
            raise UsageError(f"{where}: [{k}] is not a command (tables: {', '.join(sorted(subs))})")
    for key, v in tables:
        dest = key.replace("-", "_")
        if dest not in known:
            raise UsageError(f"{where}: unknown option {key!r}")
        if dest in mine and dest not in skip:
            out[dest] = _value(where, key, v, mine[dest])
    return out


def _subcommands(ap: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction)).choices


def apply_config(ap: argparse.ArgumentParser, argv: list[str], args: argparse.Namespace, path: str | None,
                 ignore: bool, everything: Callable[[], argparse.ArgumentParser] | None = None) -> argparse.Namespace:
    """``args`` parsed again with the files' values as defaults (the command line still wins).

    ``ap`` may hold only the command being run; ``everything()`` builds the whole parser, to check
    a file's keys against every command (only when a file sets something)."""
    sub = _subcommands(ap)[args.command]
    full: list[dict[str, argparse.ArgumentParser]] = []

    def subs() -> dict[str, argparse.ArgumentParser]:
        if not full:
            full.append(_subcommands(everything() if everything is not None else ap))
        return full[0]

    values: dict[str, Any] = {}
    if path is not None:
        file = Path(path).expanduser()
        if not file.is_file():
            raise UsageError(f"--config {path}: no such file")
        values.update(_values(_read(file), str(file), args.command, sub, subs))
    elif not ignore:
        file = user_config_path()
        if file.is_file():
            values.update(_values(_read(file), str(file), args.command, sub, subs))
    if not ignore and "out" in _actions(sub):
        out = args.out if _given(argv, ("--out", "-o")) else values.get("out", args.out)
        archive = Path(str(out)).expanduser() / "wxarchive.toml"
        if archive.is_file():
            opts = _read(archive).get("options", {})
            if not isinstance(opts, dict):
                raise UsageError(f"{archive}: [options] must be a table")
            values.update(_values(opts, f"{archive} [options]", args.command, sub, subs, skip={"out"}))
    if not values:
        return args
    sub.set_defaults(**values)
    return ap.parse_args(argv)


def _given(argv: list[str], flags: tuple[str, ...]) -> bool:
    return any(a in flags or a.startswith(tuple(f + "=" for f in flags if f.startswith("--"))) for a in argv)
