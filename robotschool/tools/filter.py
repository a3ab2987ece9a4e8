"""Keep the demos of a file that match a success flag and conditions on their `scene_params`.

A condition is ``<dotted.path><op><value>`` with op one of ``> >= < <= == !=``, e.g. ``bench.height>0.97``
or ``parts.0.color==red``: the path walks the demo's `scene_params` JSON (list items by index), the value
is parsed as JSON when it can be (numbers, true/false, "quoted") and taken as text otherwise. A demo whose
params lack the path does not match. Kept demos are re-added through `DatasetWriter` to a new file
(see `_episode_io.py`), which computes fresh `/stats` for the kept demos when it closes.
"""
from __future__ import annotations

import json
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from robotschool.data.stats import demo_names, open_dataset_file
from robotschool.errors import DatasetError
from robotschool.recording import schema
from robotschool.tools._episode_io import check_output, data_attrs, read_episode, write_episodes

SCENE_PARAMS = "scene_params"
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne, ">": operator.gt, "<": operator.lt,
}
_CONDITION = re.compile(r"^\s*([A-Za-z0-9_][\w\-]*(?:\.[\w\-]+)*)\s*(>=|<=|==|!=|>|<)\s*(.+?)\s*$")
_MISSING = object()


@dataclass(frozen=True)
class Condition:
    path: tuple[str, ...]
    op: str
    value: Any
    text: str

    def matches(self, params: Any) -> bool:
        found = _lookup(params, self.path)
        if found is _MISSING:
            return False
        try:
            return bool(_OPS[self.op](found, self.value))
        except TypeError:
            raise DatasetError(f"condition {self.text!r}: cannot compare {found!r} with {self.value!r}") from None


@dataclass(frozen=True)
class FilterResult:
    out: Path
    kept: list[str]          # source demo names, in order (they become demo_0, demo_1, ... in `out`)
    dropped: int


def parse_condition(text: str) -> Condition:
    """`"bench.height>0.97"` -> Condition; a one-line DatasetError for anything else."""
    m = _CONDITION.match(text)
    if not m:
        raise DatasetError(f"bad condition {text!r}: expected <dotted.path><op><value> with op one of "
                           f"{' '.join(sorted(_OPS))}, e.g. bench.height>0.97")
    raw = m.group(3)
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return Condition(tuple(m.group(1).split(".")), m.group(2), value, text)


def _lookup(node: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def filter_demos(path: str | Path, out: str | Path, success: bool | None = None,
                 param_conditions: Sequence[str] = (), overwrite: bool = False) -> FilterResult:
    """Write the demos of `path` that match `success` (None: any) and every condition to the new file `out`."""
    conditions = [parse_condition(c) for c in param_conditions]
    out = check_output(out, [path])
    with open_dataset_file(path) as f:
        data = f[schema.DATA]
        names = demo_names(f)
        kept = [n for n in names if _keep(path, n, data[n].attrs, success, conditions)]
        if not kept:
            raise DatasetError(f"{path}: none of its {len(names)} demos match; nothing written")
        write_episodes(out, data_attrs(f), (read_episode(data[n]) for n in kept), overwrite=overwrite)
    return FilterResult(Path(out), kept, len(names) - len(kept))


def _keep(path: Any, name: str, attrs: Any, success: bool | None, conditions: list[Condition]) -> bool:
    if success is not None and bool(attrs.get(schema.ATTR_SUCCESS, False)) != success:
        return False
    if not conditions:
        return True
    raw = attrs.get(SCENE_PARAMS)
    if raw is None:
        return False
    try:
        params = json.loads(raw)
    except (TypeError, ValueError):
        raise DatasetError(f"{path}: {name} attr {SCENE_PARAMS} is not JSON") from None
    return all(c.matches(params) for c in conditions)
