"""Check a dataset file against the schema and report every problem, one line each, without raising.

Why a list and not an exception: a file with one bad demo is still mostly usable, and whoever fixes it
(filter, re-record) needs to see all the problems at once. An unreadable or truncated file becomes a single
problem line. Only a path that does not exist raises `DatasetError` (it is a typo, not a damaged file).
`operator/*` streams are not checked for NaN: they use NaN for "no command" by design.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from robotschool.data.stats import demo_names
from robotschool.errors import DatasetError
from robotschool.recording import schema

REQUIRED = (schema.OBS, schema.ACTIONS, schema.STATES, schema.REWARDS, schema.DONES)
_ACTION_LIMIT = 1.0 + 1e-6     # float32 rounding of values written as exactly +-1


@dataclass
class ValidationReport:
    path: Path
    num_demos: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        head = f"{self.path}: {self.num_demos} demos, " + ("ok" if self.ok else f"{len(self.problems)} problems")
        return "\n".join([head] + [f"  {p}" for p in self.problems])


def validate(path: str | Path) -> ValidationReport:
    """Every schema problem of `path` (see the module doc); `report.ok` when there is none."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such dataset file")
    report = ValidationReport(path)
    try:
        f = h5py.File(path, "r")
    except Exception as e:     # truncated / not HDF5: h5py raises OSError, but never let it crash
        report.problems.append(f"file unreadable, truncated or not HDF5 ({_first_line(e)})")
        return report
    with f:
        try:
            _check_file(f, report)
        except Exception as e:
            report.problems.append(f"file unreadable ({_first_line(e)})")
    return report


def _check_file(f: h5py.File, report: ValidationReport) -> None:
    if not isinstance(f.get(schema.DATA), h5py.Group):
        report.problems.append(f"no /{schema.DATA} group")
        return
    data = f[schema.DATA]
    names = demo_names(f)
    report.num_demos = len(names)
    total = 0
    for name in names:
        try:
            total += _check_demo(data[name], f"{schema.DATA}/{name}", report.problems)
        except Exception as e:
            report.problems.append(f"{schema.DATA}/{name}: unreadable ({_first_line(e)})")
    stored = data.attrs.get(schema.ATTR_TOTAL)
    if stored is None:
        report.problems.append(f"{schema.DATA}: no {schema.ATTR_TOTAL} attribute")
    elif int(stored) != total:
        report.problems.append(f"{schema.DATA}: attr {schema.ATTR_TOTAL} is {int(stored)} but the demos have "
                               f"{total} samples")
    _check_masks(f, set(names), report.problems)


def _check_demo(demo: h5py.Group, where: str, problems: list[str]) -> int:
    """Append the problems of one demo; return its sample count (0 when unknown)."""
    missing = [k for k in REQUIRED if k not in demo]
    problems += [f"{where}: missing {k}" for k in missing]
    if schema.ACTIONS not in demo:
        return 0
    actions = demo[schema.ACTIONS][()]
    t = int(actions.shape[0]) if actions.ndim else 0
    n = demo.attrs.get(schema.ATTR_NUM_SAMPLES)
    if n is None:
        problems.append(f"{where}: no {schema.ATTR_NUM_SAMPLES} attribute")
    elif int(n) != t:
        problems.append(f"{where}: {schema.ATTR_NUM_SAMPLES} {int(n)} but {schema.ACTIONS} has {t} rows")
    _check_values(actions, f"{where}/{schema.ACTIONS}", problems)
    if actions.size and np.issubdtype(actions.dtype, np.number):
        finite = actions[np.isfinite(actions)]
        if finite.size and np.abs(finite).max() > _ACTION_LIMIT:
            problems.append(f"actions outside [-1, 1] in {where.rsplit('/', 1)[-1]} "
                            f"(min {finite.min():.3g}, max {finite.max():.3g})")
    timed: dict[str, h5py.Dataset] = {}
    for group in (schema.OBS, schema.ACTION_DICT, schema.NEXT_OBS):
        if isinstance(demo.get(group), h5py.Group):
            timed.update({f"{group}/{k}": v for k, v in demo[group].items() if isinstance(v, h5py.Dataset)})
    timed.update({k: demo[k] for k in (schema.REWARDS, schema.DONES, schema.STATES) if k in demo})
    for key, ds in timed.items():
        if ds.ndim < 1 or ds.shape[0] != t:
            problems.append(f"{where}/{key}: {ds.shape[0] if ds.ndim else 0} rows but {schema.ACTIONS} has {t}")
        if not key.startswith(schema.NEXT_OBS):
            try:
                values = ds[()]     # reads (and decompresses) every chunk: a damaged one shows up here
            except OSError as e:
                problems.append(f"{where}/{key}: data unreadable ({_first_line(e)})")
                continue
            _check_values(values, f"{where}/{key}", problems)
    if isinstance(demo.get(schema.OBS), h5py.Group) and isinstance(demo.get(schema.NEXT_OBS), h5py.Group):
        lacking = sorted(set(demo[schema.OBS]) - set(demo[schema.NEXT_OBS]))
        if lacking:
            problems.append(f"{where}/{schema.NEXT_OBS}: missing {', '.join(lacking)}")
    return t


def _check_values(values: np.ndarray, where: str, problems: list[str]) -> None:
    if values.dtype.kind != "f":
        return
    nan = int(np.isnan(values).sum())
    inf = int(np.isinf(values).sum())
    if nan:
        problems.append(f"{where}: {nan} NaN values")
    if inf:
        problems.append(f"{where}: {inf} infinite values")


def _check_masks(f: h5py.File, names: set[str], problems: list[str]) -> None:
    if not isinstance(f.get(schema.MASK), h5py.Group):
        problems.append(f"no /{schema.MASK} group (train/valid split)")
        return
    masks = f[schema.MASK]
    members: dict[str, set[str]] = {}
    for mask, ds in masks.items():
        listed = [n.decode() if isinstance(n, bytes) else str(n) for n in np.atleast_1d(ds[()])]
        members[mask] = set(listed)
        unknown = sorted(set(listed) - names, key=lambda n: (len(n), n))
        if unknown:
            more = f" (and {len(unknown) - 3} more)" if len(unknown) > 3 else ""
            problems.append(f"{schema.MASK}/{mask} names {', '.join(unknown[:3])}{more} which does not exist")
    overlap = members.get(schema.MASK_TRAIN, set()) & members.get(schema.MASK_VALID, set())
    if overlap:
        problems.append(f"{schema.MASK}: {len(overlap)} demos are in both {schema.MASK_TRAIN} and "
                        f"{schema.MASK_VALID} (e.g. {min(overlap)})")


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__
