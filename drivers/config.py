"""Typed YAML configuration: load nested dataclasses and validate them on load.

Every config in ``configs/`` is a dataclass. :func:`from_dict` walks the type hints, converts
and checks each value, and raises :class:`ConfigError` naming the file, the dotted key and the
reason. Range limits live in field metadata (``ge``, ``gt``, ``le``, ``lt``) so the check sits
next to the field it guards.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from .errors import ConfigError

T = TypeVar("T")

__all__ = ["from_dict", "load_yaml", "load_config", "to_dict", "dump_yaml", "bounded"]


def bounded(default: Any = dataclasses.MISSING, **limits: float) -> Any:
    """A dataclass field with range limits, e.g. ``bounded(gt=0)`` or ``bounded(10.0, ge=0, le=100)``."""
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata=limits)
    return dataclasses.field(default=default, metadata=limits)


def load_yaml(path: str | Path) -> Any:
    """Parse a YAML file; a missing file or a syntax error becomes a one-line :class:`ConfigError`."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: file not found")
    try:
        return yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{p}: invalid YAML{where}: {problem}") from None


def load_json(path: str | Path, hint: str = "") -> Any:
    """Parse a JSON file; a missing file or a syntax error becomes a one-line :class:`ConfigError`.

    ``hint`` is appended to the not-found message (e.g. which files are present instead).
    """
    import json

    p = Path(path)
    try:
        return json.loads(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{p}: not found{f' ({hint})' if hint else ''}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{p}: not valid JSON ({exc})") from None


def load_config(cls: type[T], path: str | Path) -> T:
    """Load ``path`` into dataclass ``cls``, validating every key."""
    data = load_yaml(path)
    return from_dict(cls, data, source=str(path))


def _fail(source: str | None, key: str, reason: str) -> typing.NoReturn:
    prefix = f"{source}: " if source else ""
    raise ConfigError(f"{prefix}{key or '<top>'}: {reason}")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(tp: Any, value: Any, key: str, source: str | None) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, key, source)
            except ConfigError as exc:
                errors.append(str(exc).rsplit(": ", 1)[-1])
        _fail(source, key, " or ".join(errors))
    if origin is Literal:
        if value not in args:
            _fail(source, key, f"must be one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, source=source, prefix=key)
    if tp is bool:
        if not isinstance(value, bool):
            _fail(source, key, f"expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            _fail(source, key, f"expected an integer, got {value!r}")
        return int(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            if isinstance(value, str):
                try:
                    return float(value)
                except ValueError:
                    pass
            _fail(source, key, f"expected a number, got {value!r}")
        if value != value:  # NaN
            _fail(source, key, "expected a number, got NaN")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            _fail(source, key, f"expected a string, got {value!r}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            _fail(source, key, f"expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                _fail(source, key, f"expected {len(args)} items, got {len(value)}")
            items = [
                _convert(a, v, f"{key}[{i}]", source)
                for i, (a, v) in enumerate(zip(args, value, strict=True))
            ]
        else:
            item_tp = args[0] if args else Any
            items = [_convert(item_tp, v, f"{key}[{i}]", source) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            _fail(source, key, f"expected a mapping, got {value!r}")
        vt = args[1] if len(args) == 2 else Any
        return {
            str(k): _convert(vt, v, f"{key}.{k}" if key else str(k), source)
            for k, v in value.items()
        }
    if isinstance(tp, type):
        if isinstance(value, tp):
            return value
        _fail(source, key, f"expected {_type_name(tp)}, got {value!r}")
    return value


def _check_limits(meta: Mapping[str, Any], value: Any, key: str, source: str | None) -> None:
    if value is None or not isinstance(value, int | float):
        return
    checks = {
        "gt": (lambda v, b: v > b, "must be > {}"),
        "ge": (lambda v, b: v >= b, "must be >= {}"),
        "lt": (lambda v, b: v < b, "must be < {}"),
        "le": (lambda v, b: v <= b, "must be <= {}"),
    }
    for name, (ok, text) in checks.items():
        if name in meta and not ok(value, meta[name]):
            _fail(source, key, f"{text.format(meta[name])}, got {value!r}")


def from_dict(cls: type[T], data: Any, *, source: str | None = None, prefix: str = "") -> T:
    """Build dataclass ``cls`` from a mapping, converting nested values and checking limits.

    Unknown keys and missing required keys are errors. ``__post_init__`` may raise
    :class:`ConfigError` or ``ValueError`` for cross-field rules; either is reported with the
    file and key prefix.
    """
    if not isinstance(data, Mapping):
        _fail(source, prefix, f"expected a mapping for {cls.__name__}, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(map(str, data)) - set(fields))
    if unknown:
        _fail(
            source,
            f"{prefix}.{unknown[0]}" if prefix else unknown[0],
            f"unknown key (allowed: {', '.join(fields)})",
        )
    kwargs = {}
    for name, f in fields.items():
        key = f"{prefix}.{name}" if prefix else name
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                _fail(source, key, "required key is missing")
            continue
        value = _convert(hints[name], data[name], key, source)
        _check_limits(f.metadata, value, key, source)
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        msg = str(exc)
        if source and not msg.startswith(source):
            msg = f"{source}: {prefix + ': ' if prefix else ''}{msg}"
        raise ConfigError(msg) from None
    except (ValueError, TypeError) as exc:
        _fail(source, prefix, str(exc))


def to_dict(obj: Any) -> Any:
    """Plain-Python form of a (nested) dataclass, with tuples as lists, ready for YAML."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
    if isinstance(obj, list | tuple):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return obj


def dump_yaml(obj: Any) -> str:
    """YAML text of a dataclass or plain value, keys in declaration order."""
    return yaml.safe_dump(to_dict(obj), sort_keys=False, default_flow_style=None)
