"""Option defaults from files: the user's ``config.toml`` and an archive's ``wxarchive.toml`` ``[options]``.

Precedence, strongest first: the command line; the archive's ``[options]``; the user's
config file (``~/.config/wxarchive/config.toml``, or ``$XDG_CONFIG_HOME``; ``--config FILE``
instead); the built-in defaults. Keys are option names (``delay``, ``proxy``, ``out``,
``no-images`` or ``no_images`` …); top-level keys apply to every command that has the option,
a ``[get]``/``[import]``/… table to that command only. ``--ignore-config`` reads neither file.

An archive's ``wxarchive.toml`` is not the user (issue 25): the folder may be a cloned or shared
blog, or a backup. Options that send requests somewhere or write outside the archive
(:data:`USER_ONLY`: routing, proxy, cookies, CA files, the log file, command hooks) are taken only from the command line,
the environment or the user's own config; in an archive's ``[options]`` they are refused with
one line naming the key, unless the user's config lists that folder in ``trusted_archives``
(as git's ``safe.directory``; ``"*"`` trusts every folder). Every TOML file is read by
:func:`read_toml`: a regular file of at most 1 MB that the parser can read, else one line.
"""
from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path
from typing import Any
from collections.abc import Callable

from wxarchive.errors import UsageError
from wxarchive.layout import CONFIG_NAME

__all__ = ["USER_ONLY", "apply_config", "read_toml", "split_config_flags", "user_config_path"]

_PATHS = {"out", "cookies", "log"}
# Options an archive's file may not set: where requests go (connect_to, proxy), what secrets they carry
# (cookies), what is read or written outside the archive (batch_file, log). Any new option that names a host, a URL, a file
# outside the archive, a CA file or a command belongs here (tests/scenarios/test_trust_config.py checks the metavars).
USER_ONLY = frozenset({"connect_to", "proxy", "cookies", "log", "batch_file", "ca_cert", "exec", "exec_after",
                       "session_cookies", "session_ticket", "session_browser"})
TRUST_KEY = "trusted_archives"  # in the user's config only: archive folders whose file may set USER_ONLY
MAX_TOML = 1 << 20  # bytes: a config is a few lines; a bigger "file" is a mistake or an attack


def user_config_path() -> Path:
    """The user's config file. On Linux it is the XDG rule platformdirs applies (``$XDG_CONFIG_HOME``,
    when absolute, else ``~/.config``), written out because importing platformdirs costs every command ~8 ms of
    start-up; other systems ask platformdirs."""
    if sys.platform.startswith("linux"):
        base = os.environ.get("XDG_CONFIG_HOME", "")
        if not os.path.isabs(base):
            base = os.path.expanduser("~/.config")
        return Path(base) / "wxarchive" / "config.toml"
    import platformdirs  # (not on Linux, where the XDG rule is written out above)

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
    return read_toml(path)


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's data, or one-line :class:`UsageError`: not a regular file (a FIFO, ``/dev/zero``: no
    hang), over :data:`MAX_TOML` (no MemoryError), nested too deep for the parser, not TOML."""
    import tomllib  # (~3 ms: the parser loads this module for split_config_flags, and --help reads no file)

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO opens at once, read or not
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UsageError(f"{path}: not a regular file")
            with os.fdopen(os.dup(fd), "rb") as f:
                data = f.read(MAX_TOML + 1)
        finally:
            os.close(fd)
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from None
    if len(data) > MAX_TOML:
        raise UsageError(f"{path}: over {MAX_TOML // (1 << 20)} MB; a config file is a few lines")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UsageError(f"{path}: not valid TOML ({e})") from None
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise UsageError(f"{path}: nested too deep") from None


def _values(data: dict[str, Any], where: str, command: str, sub: argparse.ArgumentParser,
            commands: Callable[[], dict[str, argparse.ArgumentParser]],
            skip: set[str] = frozenset(), lenient: bool = False) -> dict[str, Any]:  # type: ignore[assignment]
    """The values ``data`` sets for ``command`` (whose parser is ``sub``), every key checked against
    all the commands (``commands()``, built only when there is a key to check).

    ``lenient`` (the user's own file): an unknown key or table is a warning and is ignored, whatever the
    command, since one config serves every command and every version of wxarchive; in an archive's
    file it stays an error. A value of the wrong type is an error in both."""
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
            _unknown(lenient, f"{where}: [{k}] is not a command (tables: {', '.join(sorted(subs))})")
    for key, v in tables:
        dest = key.replace("-", "_")
        if dest not in known:
            _unknown(lenient, f"{where}: unknown option {key!r}")
            continue
        if dest in mine and dest not in skip:
            out[dest] = _value(where, key, v, mine[dest])
    return out


def _unknown(lenient: bool, message: str) -> None:
    """An unknown key: one warning line (ignored) in the user's file, a usage error elsewhere."""
    if not lenient:
        raise UsageError(message)
    print(f"wxarchive: warning: {message} (ignored)", file=sys.stderr)


def _subcommands(ap: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return next(a for a in ap._actions if isinstance(a, argparse._SubParsersAction)).choices


def apply_config(ap: argparse.ArgumentParser, argv: list[str], args: argparse.Namespace, path: str | None,
                 ignore: bool) -> argparse.Namespace:
    """``args`` parsed again with the files' values as defaults (the command line still wins); a file's
    keys are checked against every command of ``ap``."""
    sub = _subcommands(ap)[args.command]

    def subs() -> dict[str, argparse.ArgumentParser]:
        return _subcommands(ap)

    values: dict[str, Any] = {}
    trusted: list[str] = []
    user_file: Path | None = None
    if path is not None:
        user_file = Path(path).expanduser()
        if not user_file.is_file():
            raise UsageError(f"--config {path}: no such file")
    elif not ignore and user_config_path().is_file():
        user_file = user_config_path()
    if user_file is not None:
        data = _read(user_file)
        trusted = _trusted(data, user_file)
        values.update(_values(data, str(user_file), args.command, sub, subs, lenient=True))
    if not ignore and "out" in _actions(sub):
        out = args.out if _given(argv, ("--out", "-o")) else values.get("out", args.out)
        folder = Path(str(out)).expanduser()
        archive = folder / CONFIG_NAME
        if archive.exists() or archive.is_symlink():
            opts = _read(archive).get("options", {})
            if not isinstance(opts, dict):
                raise UsageError(f"{archive}: [options] must be a table")
            if not _is_trusted(folder, trusted):
                _refuse_user_only(opts, f"{archive} [options]", folder, user_file or user_config_path())
            values.update(_values(opts, f"{archive} [options]", args.command, sub, subs, skip={"out"}))
    if not values:
        return args
    sub.set_defaults(**values)
    return ap.parse_args(argv)


def _trusted(data: dict[str, Any], where: Path) -> list[str]:
    """The user's ``trusted_archives`` (taken out of ``data``): folders whose own file may set USER_ONLY options."""
    value = data.pop(TRUST_KEY, [])
    value = [value] if isinstance(value, str) else value
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise UsageError(f"{where}: {TRUST_KEY} must be a list of folders, like {TRUST_KEY} = [\"~/blog\"]")
    return value


def _is_trusted(folder: Path, trusted: list[str]) -> bool:
    if "*" in trusted:
        return True
    here = folder.resolve()
    return any(Path(t).expanduser().resolve() == here for t in trusted)


def _refuse_user_only(opts: dict[str, Any], where: str, folder: Path, user_file: Path) -> None:
    """One line naming the first option of :data:`USER_ONLY` an archive's file sets (any command's table)."""
    keys = [k for k, v in opts.items() if not isinstance(v, dict)]
    keys += [k for v in opts.values() if isinstance(v, dict) for k in v]
    for key in keys:
        if key.replace("-", "_") in USER_ONLY:
            raise UsageError(f"{where}: {key} is refused in an archive's file (it routes requests or writes outside "
                             f"the archive); give it on the command line or in {user_file}, or trust this folder "
                             f"there: {TRUST_KEY} = [\"{folder.resolve()}\"]")


def _given(argv: list[str], flags: tuple[str, ...]) -> bool:
    return any(a in flags or a.startswith(tuple(f + "=" for f in flags if f.startswith("--"))) for a in argv)
