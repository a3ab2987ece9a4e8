"""Normalisation statistics of a dataset file: compute them, store them in the file, read them back.

Keys are paths relative to a demo group, the same names `DemoDataset` takes: ``obs/<key>`` for every
low-dimensional observation (images and depth are skipped), ``actions``, and ``action_dict/<name>`` for every
action representation. Each key gets ``mean``, ``std``, ``min``, ``max``, ``q01`` and ``q99`` (float64, the
shape of one sample), computed over every demo of the file (all masks together) by numpy on the concatenated
arrays; the 1 % / 99 % quantiles are exact.

Storage: ``/stats/<key>/{mean,std,min,max,q01,q99}``; each ``/stats/<key>`` group carries ``count`` (the
number of samples), and ``/stats`` carries ``total``, the file's ``/data`` ``total`` when they were computed, so
a reader can tell stats made stale by demos appended later.

`write_stats` edits a finished file. HDF5 is not crash-safe, so, like the writer's commits, it never edits the
file in place: it copies the file to ``<path>.stats.tmp``, writes the stats into the copy (h5py mode "a"),
fsyncs it and atomically `os.replace`s it over the original. The file is always either the old version or the
new one. It refuses while a `DatasetWriter` holds the file (or left staged episodes behind), by taking the
writer's own lock on ``<path>.parts``, so neither can overwrite the other's version.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from robotschool.errors import DatasetError
from robotschool.recording import schema
from robotschool.recording.atomic import edited_copy

STATS = "stats"                      # root group of the stored statistics
STAT_NAMES = ("mean", "std", "min", "max", "q01", "q99")
ATTR_COUNT = "count"                 # /stats/<key> attr: number of samples the stats cover
ATTR_STATS_TOTAL = "total"           # /stats attr: /data total when the stats were computed
_TMP_SUFFIX = ".stats.tmp"

Stats = dict[str, dict[str, np.ndarray]]


def is_low_dim_key(key: str) -> bool:
    """An observation key that is neither a camera image nor a depth map."""
    return not (schema.is_image_key(key) or schema.is_depth_key(key))


def open_dataset_file(path: str | Path) -> h5py.File:
    """Open a dataset file read-only, with a one-line `DatasetError` if it is missing or not HDF5."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such dataset file")
    if not h5py.is_hdf5(path):
        raise DatasetError(f"{path}: not an HDF5 file")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise DatasetError(f"{path}: cannot open as HDF5 ({e})") from None
    if schema.DATA not in f:
        f.close()
        raise DatasetError(f"{path}: no /{schema.DATA} group; not a robotschool/robomimic dataset")
    return f


def demo_names(f: h5py.File) -> list[str]:
    """Every demo group of /data, in index order (demo_2 before demo_10)."""
    names = [n for n in f[schema.DATA] if n.startswith(schema.DEMO_PREFIX)
             and n[len(schema.DEMO_PREFIX):].isdigit()]
    return sorted(names, key=schema.demo_index)


def _stat_keys(f: h5py.File, demos: list[str]) -> list[str]:
    if not demos:
        return []
    first = f[schema.DATA][demos[0]]
    keys = [f"{schema.OBS}/{k}" for k in first[schema.OBS] if is_low_dim_key(k)] if schema.OBS in first else []
    keys.append(schema.ACTIONS)
    if schema.ACTION_DICT in first:
        keys += [f"{schema.ACTION_DICT}/{k}" for k in first[schema.ACTION_DICT]]
    return keys


def _numpy_stats(x: np.ndarray) -> dict[str, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    q01, q99 = np.quantile(x, [0.01, 0.99], axis=0)
    return {"mean": x.mean(axis=0), "std": x.std(axis=0), "min": x.min(axis=0), "max": x.max(axis=0),
            "q01": q01, "q99": q99}


def compute_stats(path: str | Path) -> Stats:
    """Stats of every low-dim obs key, `actions` and every `action_dict` key over all demos of `path`."""
    with open_dataset_file(path) as f:
        demos = demo_names(f)
        if not demos:
            raise DatasetError(f"{path}: no demos in /{schema.DATA}; nothing to compute stats over")
        data = f[schema.DATA]
        out: Stats = {}
        for key in _stat_keys(f, demos):
            parts = []
            for demo in demos:
                if key not in data[demo]:
                    raise DatasetError(f"{path}: {demo} has no {key} (demo {demos[0]} has it)")
                parts.append(data[demo][key][()])
            x = np.concatenate(parts, axis=0)
            if x.dtype.kind not in "biuf":
                continue
            out[key] = _numpy_stats(x)
            out[key][ATTR_COUNT] = np.asarray(x.shape[0], dtype=np.int64)
    return out


def write_stats(path: str | Path, stats: Stats | None = None) -> Stats:
    """Compute (unless given) and store the stats under /stats of a finished, closed file; return them.

    Crash-safe: the stats are written to a copy that atomically replaces the file (see the module doc).
    Existing /stats are replaced.
    """
    path = Path(path)
    if stats is None:
        stats = compute_stats(path)
    with h5py.File(path, "r") as f:
        total = f[schema.DATA].attrs.get(schema.ATTR_TOTAL)
    with edited_copy(path, _TMP_SUFFIX) as f:   # crash-safe: a copy replaces the file atomically
        if STATS in f:
            del f[STATS]
        root = f.create_group(STATS)
        if total is not None:
            root.attrs[ATTR_STATS_TOTAL] = int(total)
        for key, values in stats.items():
            group = root.create_group(key)
            for name in STAT_NAMES:
                group.create_dataset(name, data=np.asarray(values[name], dtype=np.float64))
            if ATTR_COUNT in values:
                group.attrs[ATTR_COUNT] = int(values[ATTR_COUNT])
    return stats


def read_stats(path: str | Path, *, check_fresh: bool = True) -> Stats:
    """The stats stored in `path` (key -> {mean, std, min, max, q01, q99, count}).

    Raises `DatasetError` if there are none, or (with `check_fresh`) if demos were added after they were
    computed.
    """
    with open_dataset_file(path) as f:
        return _read_stats(f, path, check_fresh=check_fresh)


def _read_stats(f: h5py.File, path: Any, *, check_fresh: bool = True) -> Stats:
    if STATS not in f:
        raise DatasetError(f"{path}: no normalisation stats; run `robotschool stats {path}` first")
    root = f[STATS]
    if check_fresh:
        stored = root.attrs.get(ATTR_STATS_TOTAL)
        total = f[schema.DATA].attrs.get(schema.ATTR_TOTAL)
        if stored is not None and total is not None and int(stored) != int(total):
            raise DatasetError(f"{path}: stats cover {int(stored)} samples but the file now has {int(total)}; "
                               f"run `robotschool stats {path}` again")
    out: Stats = {}

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Group) and all(s in obj for s in STAT_NAMES):
            out[name] = {s: obj[s][()] for s in STAT_NAMES}
            if ATTR_COUNT in obj.attrs:
                out[name][ATTR_COUNT] = np.asarray(obj.attrs[ATTR_COUNT], dtype=np.int64)

    root.visititems(visit)
    return out


def combine_mean_std(per_file: list[dict[str, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Pooled mean and std of one key over several files, weighted by each file's sample count."""
    if len(per_file) == 1:
        return np.asarray(per_file[0]["mean"]), np.asarray(per_file[0]["std"])
    counts = np.array([float(s.get(ATTR_COUNT, 1)) for s in per_file])
    n = counts.sum()
    mean = sum(c * s["mean"] for c, s in zip(counts, per_file)) / n
    second = sum(c * (s["std"] ** 2 + s["mean"] ** 2) for c, s in zip(counts, per_file)) / n
    return mean, np.sqrt(np.maximum(second - mean ** 2, 0.0))
