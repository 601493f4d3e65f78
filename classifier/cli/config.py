"""Settings for repeatable runs: ``policytag.toml`` (or ``[tool.policytag]`` in ``pyproject.toml``).

A table per command holds that command's options under their flag names (``model``, ``text-field``,
``summary-by``, ...): they become the command's defaults, so anything given on the command line still wins.
The file is found in the folder the command runs in (``policytag.toml`` first, then ``pyproject.toml``), or
named with ``policytag --config FILE``; ``--no-config`` ignores it. Values are checked as the flags are: an
unknown setting, a wrong type or a value outside a flag's choices is a usage error naming the file.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from classifier.errors import ConfigError

FILE_NAME = "policytag.toml"


def find_config(folder: Path, named: str | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The settings file that applies (and its tables of settings), or None when there is none."""
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(f"{named}: no such settings file")
        return path, _tables(path)
    if (folder / FILE_NAME).is_file():
        return folder / FILE_NAME, _tables(folder / FILE_NAME)
    pyproject = folder / "pyproject.toml"
    if pyproject.is_file() and "[tool.policytag" in pyproject.read_text(encoding="utf-8", errors="replace"):
        tables = _read(pyproject).get("tool", {}).get("policytag")
        if isinstance(tables, dict):
            return pyproject, tables
    return None


def _read(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None


def _tables(path: Path) -> dict[str, Any]:
    data = _read(path)
    return data.get("tool", {}).get("policytag", data) if path.name == "pyproject.toml" else data


def apply_config(sub: argparse.ArgumentParser, command: str, path: Path,
                 tables: dict[str, Any]) -> dict[str, str]:
    """Set ``command``'s defaults from its table (``annotate.export``: a table inside a table); returns where
    each setting applied came from (``policytag.toml [train] C``) by its option's dest, for the log and for
    messages about a value the user wrote in the file, not on the command line."""
    table: Any = tables
    for part in command.split("."):
        table = table.get(part) if isinstance(table, dict) else None
    if table is None:
        return {}
    where = f"{path} [{command}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table of settings")
    actions = settings_of(sub)
    defaults, origins = {}, {}
    for key, value in table.items():
        if isinstance(value, dict) and "." not in command:  # a sub-command's own table: applied on its own
            continue
        if key not in actions:
            known = ", ".join(sorted(actions))
            raise ConfigError(f"{where}: unknown setting '{key}' (settings of '{command}': {known})")
        defaults[actions[key].dest] = _value(actions[key], value, f"{where} {key}")
        origins[actions[key].dest] = f"{where} {key}"
    sub.set_defaults(**defaults)
    return origins


def settings_of(sub: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """A command's settings by their long flag names without dashes (``text-field``, ``to``); ``--help`` is not
    one."""
    names = {}
    for action in sub._actions:
        for flag in action.option_strings:
            if flag.startswith("--") and flag != "--help":
                names[flag[2:]] = action
    return names


def _value(action: argparse.Action, value: Any, where: str) -> Any:
    """``value`` as the flag would have parsed it from the command line."""
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: must be true or false")
        return value
    many = action.nargs in ("+", "*") or isinstance(action, argparse._AppendAction)
    if many:
        items = value if isinstance(value, list) else [value]
        return [_one(action, item, where) for item in items]
    if isinstance(value, (list, dict)):
        raise ConfigError(f"{where}: must be a single value")
    return _one(action, value, where)


def _one(action: argparse.Action, value: Any, where: str) -> Any:
    if isinstance(value, bool) or isinstance(value, (list, dict)):
        raise ConfigError(f"{where}: {value!r} is not a value this setting takes")
    text = str(value)
    try:
        parsed = action.type(text) if callable(action.type) else text
    except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: {exc or 'invalid value'}") from None
    if action.choices is not None and parsed not in action.choices:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(str, action.choices))}")
    return parsed
