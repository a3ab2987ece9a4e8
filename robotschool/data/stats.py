"""Normalisation statistics of a dataset file: compute them, store them in the file, read them back.

Keys are paths relative to a demo group, the same names `DemoDataset` takes: ``obs/<key>`` for every
low-dimensional observation (images and depth are skipped), ``actions``, and ``action_dict/<name>`` for every
action representation. Each key gets ``mean``, ``std``, ``min``, ``max``, ``q01`` and ``q99`` (float64, the
shape of one sample), computed over every demo of the file (all masks together).

Cost: one key at a time, streaming over the demos (each demo's array is read once), so memory is bounded by
one key's quantile sample, never by the file. mean/std are merged per demo (Chan et al.'s parallel update, in
float64); min/max are exact. q01/q99 are exact (numpy's linear interpolation over all samples) while a key has
at most ``QUANTILE_SAMPLE_ROWS`` samples; above that they are the quantiles of a uniform reservoir sample of
``QUANTILE_SAMPLE_ROWS`` rows (Vitter's algorithm R, seeded, so the result is deterministic for a given file).
With 100 000 rows the 1 % quantile's rank error has a standard deviation of about 0.03 percentage points.
Each ``/stats/<key>`` group records which in its ``quantiles`` attribute ("exact" or "reservoir").

Stats are written automatically by `DatasetWriter.close` (inside its final atomic commit), so a finished file
is ready for ``DemoDataset(normalize=True)``; ``robotschool stats FILE`` recomputes them.

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

Stats = dict[str, dict[str, Any]]   # key -> {mean, std, min, max, q01, q99: arrays; count; quantiles}


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


QUANTILE_SAMPLE_ROWS = 100_000       # exact q01/q99 up to this many samples per key, reservoir above
ATTR_QUANTILES = "quantiles"         # /stats/<key> attr: "exact" or "reservoir"
_RESERVOIR_SEED = 0


class _Accumulator:
    """Streaming mean/std/min/max and an exact-then-reservoir sample for the quantiles of one key."""

    def __init__(self, sample_rows: int = QUANTILE_SAMPLE_ROWS) -> None:
        self.cap = int(sample_rows)
        self.n = 0
        self.mean: np.ndarray | None = None
        self.m2: np.ndarray | None = None
        self.min: np.ndarray | None = None
        self.max: np.ndarray | None = None
        self._parts: list[np.ndarray] = []      # exact mode: every row so far
        self._reservoir: np.ndarray | None = None
        self._rng = np.random.default_rng(_RESERVOIR_SEED)

    def add(self, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64)
        k = x.shape[0]
        if k == 0:
            return
        mean = x.mean(axis=0)
        m2 = ((x - mean) ** 2).sum(axis=0)
        if self.n == 0:
            self.mean, self.m2, self.min, self.max = mean, m2, x.min(axis=0), x.max(axis=0)
        else:
            total = self.n + k
            delta = mean - self.mean
            self.mean = self.mean + delta * (k / total)
            self.m2 = self.m2 + m2 + delta ** 2 * (self.n * k / total)
            self.min = np.minimum(self.min, x.min(axis=0))
            self.max = np.maximum(self.max, x.max(axis=0))
        first = self.n
        self.n += k
        if self._reservoir is None:
            self._parts.append(x)
            if self.n <= self.cap:
                return
            rows = np.concatenate(self._parts, axis=0)
            self._parts = []
            self._reservoir = rows[: self.cap].copy()
            x, first = rows[self.cap:], self.cap
        self._sample(x, first)

    def _sample(self, x: np.ndarray, first: int) -> None:
        """Algorithm R: row number i (0-based, i >= cap) replaces slot j ~ U{0..i} when j < cap."""
        index = np.arange(first, first + x.shape[0])
        slot = self._rng.integers(0, index + 1)
        take = np.flatnonzero(slot < self.cap)
        if take.size == 0:
            return
        # several rows of this block may hit the same slot: the last one (in row order) must win
        _, last_rev = np.unique(slot[take][::-1], return_index=True)
        take = take[take.size - 1 - last_rev]
        self._reservoir[slot[take]] = x[take]

    def result(self) -> dict[str, Any]:
        sample = self._reservoir if self._reservoir is not None else np.concatenate(self._parts, axis=0)
        q01, q99 = np.quantile(sample, [0.01, 0.99], axis=0)
        return {"mean": self.mean, "std": np.sqrt(np.maximum(self.m2 / self.n, 0.0)), "min": self.min,
                "max": self.max, "q01": q01, "q99": q99, ATTR_COUNT: np.asarray(self.n, dtype=np.int64),
                ATTR_QUANTILES: "exact" if self._reservoir is None else "reservoir"}


def compute_stats(path: str | Path, *, sample_rows: int = QUANTILE_SAMPLE_ROWS) -> Stats:
    """Stats of every low-dim obs key, `actions` and every `action_dict` key over all demos of `path`."""
    with open_dataset_file(path) as f:
        return compute_stats_in(f, path, sample_rows=sample_rows)


def compute_stats_in(f: h5py.File, path: Any, *, sample_rows: int = QUANTILE_SAMPLE_ROWS) -> Stats:
    """`compute_stats` on an open file (the writer calls it on the version it is about to commit)."""
    demos = demo_names(f)
    if not demos:
        raise DatasetError(f"{path}: no demos in /{schema.DATA}; nothing to compute stats over")
    data = f[schema.DATA]
    out: Stats = {}
    for key in _stat_keys(f, demos):
        first = data[demos[0]][key]
        if not isinstance(first, h5py.Dataset) or first.dtype.kind not in "biuf" or first.ndim < 1:
            continue
        acc = _Accumulator(sample_rows)
        for demo in demos:
            if key not in data[demo]:
                raise DatasetError(f"{path}: {demo} has no {key} (demo {demos[0]} has it)")
            try:
                x = data[demo][key][()]
            except OSError as e:
                detail = (str(e).strip().splitlines() or [type(e).__name__])[0]
                raise DatasetError(f"{path}: {demo}/{key} is unreadable ({detail}); the file is damaged, "
                                   f"run `robotschool validate {path}`") from None
            if x.shape[1:] != first.shape[1:]:
                raise DatasetError(f"{path}: {demo}/{key} has shape {x.shape}, but {demos[0]}/{key} has "
                                   f"samples of shape {first.shape[1:]}")
            acc.add(x)
        if acc.n:
            out[key] = acc.result()
    return out


def store_stats(f: h5py.File, stats: Stats) -> None:
    """Replace /stats of a file open for writing (callers make that write crash-safe, see the module doc)."""
    if STATS in f:
        del f[STATS]
    root = f.create_group(STATS)
    total = f[schema.DATA].attrs.get(schema.ATTR_TOTAL)
    if total is not None:
        root.attrs[ATTR_STATS_TOTAL] = int(total)
    for key, values in stats.items():
        group = root.create_group(key)
        for name in STAT_NAMES:
            group.create_dataset(name, data=np.asarray(values[name], dtype=np.float64))
        if ATTR_COUNT in values:
            group.attrs[ATTR_COUNT] = int(values[ATTR_COUNT])
        if ATTR_QUANTILES in values:
            group.attrs[ATTR_QUANTILES] = str(values[ATTR_QUANTILES])


def write_stats(path: str | Path, stats: Stats | None = None) -> Stats:
    """Compute (unless given) and store the stats under /stats of a finished, closed file; return them.

    Crash-safe: the stats are written to a copy that atomically replaces the file (see the module doc).
    Existing /stats are replaced.
    """
    path = Path(path)
    if stats is None:
        stats = compute_stats(path)
    with edited_copy(path, _TMP_SUFFIX) as f:   # crash-safe: a copy replaces the file atomically
        store_stats(f, stats)
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
            if ATTR_QUANTILES in obj.attrs:
                out[name][ATTR_QUANTILES] = str(obj.attrs[ATTR_QUANTILES])

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
