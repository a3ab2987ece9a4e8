"""YAML -> frozen dataclasses, strictly.

Every number lives in YAML (scenes/*.yaml, configs/**/*.yaml); this module turns a YAML mapping into a typed
dataclass and refuses anything it does not understand: unknown keys, wrong types, values out of range. Each
error is one line naming the file (or the `--set` override) and the dotted key, and saying what was expected.

Ranges and choices are declared on the dataclass fields with `field(default=..., metadata=check(...))`.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

from robotschool.errors import ConfigError

T = TypeVar("T")


def check(lo: float | None = None, hi: float | None = None, choices: tuple | None = None,
          length: int | None = None) -> dict:
    """Field metadata: inclusive numeric range, allowed choices, fixed sequence length."""
    return {"lo": lo, "hi": hi, "choices": choices, "length": length}


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where} is not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def apply_overrides(data: dict, overrides: typing.Iterable[str]) -> tuple[dict, set[str]]:
    """Apply `key.sub=value` strings (values parsed as YAML) to a copy of `data`.

    Returns the new mapping and the set of dotted keys that came from overrides, so errors can blame them.
    """
    import copy

    out = copy.deepcopy(data)
    touched: set[str] = set()
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key=value, e.g. --set parts.count=1")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key or any(not part for part in key.split(".")):
            raise ConfigError(f"--set {item!r}: empty key; use a dotted key such as parts.count")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        node = out
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            nxt = node.get(part)
            if nxt is None:
                nxt = node[part] = {}
            if not isinstance(nxt, dict):
                raise ConfigError(f"--set {key}: {'.'.join(parts[:i + 1])} is not a mapping")
            node = nxt
        node[parts[-1]] = value
        touched.add(key)
    return out, touched


class _Ctx:
    def __init__(self, source: str, overridden: set[str]):
        self.source = source
        self.overridden = overridden

    def fail(self, key: str, msg: str) -> typing.NoReturn:
        where = "--set" if any(key == o or key.startswith(o + ".") for o in self.overridden) else self.source
        raise ConfigError(f"{where}: key '{key}': {msg}")


def from_dict(cls: type[T], data: Any, source: str = "<config>", overridden: set[str] | None = None,
              prefix: str = "") -> T:
    """Build dataclass `cls` from a mapping, validating keys, types, ranges and choices."""
    return _build(cls, data, _Ctx(source, overridden or set()), prefix)


def _build(cls, data, ctx: _Ctx, prefix: str):
    label = prefix or "(top level)"
    if not isinstance(data, dict):
        ctx.fail(label, f"expected a mapping, got {_show(data)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        key = f"{prefix}.{unknown[0]}" if prefix else str(unknown[0])
        ctx.fail(key, f"unknown key; valid keys here: {', '.join(sorted(fields))}")
    kwargs = {}
    for name, f in fields.items():
        key = f"{prefix}.{name}" if prefix else name
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                ctx.fail(key, "missing required key")
            continue
        kwargs[name] = _convert(hints[name], data[name], ctx, key, f.metadata)
    return cls(**kwargs)


def _convert(tp, value, ctx: _Ctx, key: str, meta: typing.Mapping = {}):  # noqa: B006 (read-only)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _convert(non_none[0], value, ctx, key, meta)
        for a in non_none:
            try:
                return _convert(a, value, ctx, key, meta)
            except ConfigError:
                continue
        ctx.fail(key, f"expected one of {[getattr(a, '__name__', str(a)) for a in non_none]}, got {_show(value)}")
    if origin is Literal:
        if value not in args:
            ctx.fail(key, f"expected one of {list(args)}, got {_show(value)}")
        return value
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, ctx, key)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            ctx.fail(key, f"expected a list, got {_show(value)}")
        length = meta.get("length")
        if origin is tuple and args and args[-1] is not Ellipsis:
            length = len(args)
            items = [_convert(a, v, ctx, f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, value))]
        else:
            inner = args[0] if args else Any
            items = [_convert(inner, v, ctx, f"{key}[{i}]", _elem_meta(meta)) for i, v in enumerate(value)]
        if length is not None and len(value) != length:
            ctx.fail(key, f"expected {length} items, got {len(value)}")
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            ctx.fail(key, f"expected a mapping, got {_show(value)}")
        kt, vt = args if args else (Any, Any)
        return {_convert(kt, k, ctx, f"{key}.{k}"): _convert(vt, v, ctx, f"{key}.{k}", _elem_meta(meta))
                for k, v in value.items()}
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            ctx.fail(key, f"expected true or false, got {_show(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            ctx.fail(key, f"expected an integer, got {_show(value)}")
        _check_range(value, ctx, key, meta)
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            ctx.fail(key, f"expected a number, got {_show(value)}")
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            ctx.fail(key, "expected a finite number")
        _check_range(value, ctx, key, meta)
        return value
    if tp is str:
        if not isinstance(value, str):
            ctx.fail(key, f"expected a string, got {_show(value)}")
        choices = meta.get("choices")
        if choices and value not in choices:
            ctx.fail(key, f"expected one of {list(choices)}, got {value!r}")
        return value
    raise TypeError(f"config.py cannot convert type {tp!r} (key {key})")


def _elem_meta(meta: typing.Mapping) -> dict:
    return {k: v for k, v in meta.items() if k in ("lo", "hi", "choices")}


def _check_range(value, ctx: _Ctx, key: str, meta: typing.Mapping) -> None:
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and value < lo:
        ctx.fail(key, f"{value} is below the minimum {lo}")
    if hi is not None and value > hi:
        ctx.fail(key, f"{value} is above the maximum {hi}")
    choices = meta.get("choices")
    if choices and value not in choices:
        ctx.fail(key, f"expected one of {list(choices)}, got {value!r}")


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def to_dict(obj) -> Any:
    """Dataclass -> plain YAML-able data (tuples become lists)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def load(cls: type[T], path: str | Path, overrides: typing.Iterable[str] = ()) -> T:
    """Load `path` into `cls`, applying `--set` overrides first."""
    data, touched = apply_overrides(load_yaml(path), overrides)
    return from_dict(cls, data, source=str(path), overridden=touched)
