"""Flat option names (CLI flags, TOML keys, the Python API's keywords) into a
[`Config`][thresher.config.Config]: names checked, with the closest suggested; values
typed as their field holds them."""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from thresher.config.sections import (
    ClusterConfig,
    Config,
    ContentConfig,
    InputConfig,
    MinHashConfig,
    OutputConfig,
    RunConfig,
)
from thresher.errors import ConfigError

__all__ = ["config_from_mapping", "load_toml"]

_SECTIONS: dict[str, type[Any]] = {
    "input": InputConfig, "minhash": MinHashConfig, "content": ContentConfig,
    "cluster": ClusterConfig, "output": OutputConfig, "run": RunConfig,
}
_ALIASES = {"inputs": ("input", "paths"), "output": ("output", "directory"),
            "output_format": ("output", "format"), "output_dir": ("output", "directory")}


def _section_of(key: str) -> tuple[str, str]:
    if key in _ALIASES:
        return _ALIASES[key]
    for name, cls in _SECTIONS.items():
        if key in {f.name for f in dataclasses.fields(cls)}:
            return name, key
    known = [*_ALIASES, *(f.name for cls in _SECTIONS.values() for f in dataclasses.fields(cls))]
    close = difflib.get_close_matches(key, known, n=1)
    raise ConfigError(f"unknown option {key!r}" + (f": did you mean {close[0]!r}?" if close
                                                    else ""))


def _items(options: Mapping[str, Any]) -> Iterator[tuple[str, str, str, Any]]:
    """Yield ``(key as written, section, field, value)`` for flat keys and tables alike."""
    for key, value in options.items():
        if key in _SECTIONS and isinstance(value, Mapping):
            for sub, subval in value.items():
                section, name = _section_of(sub)
                if section != key:
                    raise ConfigError(f"option {sub!r} belongs in [{section}], not [{key}]")
                yield f"{key}.{sub}", section, name, subval
        elif key in _SECTIONS and key not in _ALIASES:
            raise ConfigError(f"{key} = {value!r}: expected a table of options ([{key}])")
        elif value is not None:
            section, name = _section_of(key)
            yield key, section, name, value


_PATH_FIELDS = {"paths", "directory", "work_dir"}
_WANTED = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _wanted(section: str, name: str) -> tuple[type[Any], bool]:
    """The type field ``name`` of ``section`` holds, and whether it may be None."""
    hint = typing.get_type_hints(_SECTIONS[section])[name]
    optional = type(None) in typing.get_args(hint)
    if optional:
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    return (str if typing.get_origin(hint) is Literal else hint), optional


def _typed(key: str, section: str, name: str, *, value: Any) -> Any:
    """Return ``value`` as field ``name`` of ``section`` holds it, or say which type it wants."""
    if name in _PATH_FIELDS:
        many = name == "paths" and isinstance(value, (list, tuple))
        if all(isinstance(v, (str, os.PathLike)) for v in (value if many else [value])):
            return value
        wanted = "a path or a list of paths" if name == "paths" else "a path"
        raise ConfigError(f"{key} = {value!r}: expected {wanted}, got {type(value).__name__}")
    hint, optional = _wanted(section, name)
    if value is None and optional:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, hint) and (hint is bool or not isinstance(value, bool)):
        return value
    raise ConfigError(f"{key} = {value!r}: expected {_WANTED.get(hint, hint.__name__)} "
                      f"({hint.__name__}), got {type(value).__name__}")


def config_from_mapping(options: Mapping[str, Any]) -> Config:
    """Build a [`Config`][thresher.config.Config] from flat option names.

    Nested tables (``{"minhash": {"threshold": 0.7}}``) are accepted too, as in TOML; a
    flat key means exactly what it means in its table, and where both are given the later
    one wins.

    Args:
        options: Option names (``inputs``, ``output``, ``threshold``, ...: the CLI's, with
            underscores for dashes) or tables; ``None`` values mean "the default".

    Returns:
        The validated config.

    Raises:
        ConfigError: An unknown name (the message suggests the closest), a value of the
            wrong type, or a value out of range (the message says the fix).
    """
    parts: dict[str, dict[str, Any]] = {name: {} for name in _SECTIONS}
    for key, section, name, value in _items(options):
        parts[section][name] = _typed(key, section, name, value=value)
    if "paths" in parts["input"]:
        raw = parts["input"]["paths"]
        raw = [raw] if isinstance(raw, (str, os.PathLike)) else raw
        parts["input"]["paths"] = tuple(str(p) for p in raw)
    for key in ("directory", "work_dir"):
        if key in parts["output"]:
            parts["output"][key] = str(parts["output"][key])
    try:
        return Config(**{name: cls(**parts[name]) for name, cls in _SECTIONS.items()})
    except TypeError as exc:
        raise ConfigError(str(exc)) from None


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML config file into tables for
    [`config_from_mapping`][thresher.config.config_from_mapping].

    Keys may be flat (``threshold = 0.7``) or in their table (``[minhash]``), each option
    once.

    Args:
        path: The TOML file.

    Returns:
        The options, a table per concern.

    Raises:
        ConfigError: The file is missing or not TOML, or holds an unknown key, a key
            given twice or a value of the wrong type; the message names the file.
    """
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    tables: dict[str, dict[str, Any]] = {}
    seen: dict[tuple[str, str], str] = {}
    try:
        for key, section, name, value in _items(data):
            if (section, name) in seen:
                raise ConfigError(f"{key} is given twice (also as {seen[section, name]}): "
                                  "keep one")
            seen[section, name] = key
            tables.setdefault(section, {})[name] = _typed(key, section, name, value=value)
    except ConfigError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    return tables
