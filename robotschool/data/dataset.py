"""`DemoDataset`: fixed-length windows of observations and actions from robotschool/robomimic HDF5 files.

Semantics follow robomimic's `SequenceDataset` (numpy only; see `torch_adapter` for torch tensors):

- The index holds one item per (file, demo, t) start. With ``pad=True`` every step of every demo starts a
  window; action windows running past the demo's end repeat its last action and are marked False in
  ``pad_mask``. With ``pad=False`` only full windows (t <= T - seq_len) are indexed.
- ``obs`` is the observation at the window's first step t plus the ``frame_stack - 1`` frames before it;
  frames before the demo's start repeat its first frame and are marked False in ``obs_pad_mask``.
- Demos come from every file in the order given, each file's demos in index order (demo_2 before demo_10),
  optionally restricted to the names in ``/mask/<filter_key>``.

Item layout::

    {"obs": {key: (frame_stack, ...)}, "actions": (seq_len, A), "pad_mask": (seq_len,) bool,
     "obs_pad_mask": (frame_stack,) bool}

Caching: ``"low_dim"`` loads every non-image observation key and the actions into memory at init and reads
image/depth keys lazily; ``"all"`` loads everything (refused if it would take more than half the available
memory); ``None`` reads everything lazily. Lazy reads open the files on first access in each process (handles
are never pickled, and a forked child reopens them), so a torch DataLoader with ``num_workers > 0`` works with
either fork or spawn.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import h5py
import numpy as np

from robotschool.data.stats import _read_stats, combine_mean_std, demo_names, is_low_dim_key, open_dataset_file
from robotschool.errors import DatasetError
from robotschool.recording import schema

CacheMode = Literal["low_dim", "all", None]
STD_FLOOR = 1e-6
CACHE_ALL_MEMORY_FRACTION = 0.5


def available_memory_bytes() -> int:
    """MemAvailable from /proc/meminfo; elsewhere free physical pages via os.sysconf."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 0


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**27 else f"{n / 2**20:.1f} MiB" if n >= 2**10 else f"{int(n)} B"


class DemoDataset:
    """Windows of `seq_len` actions with `frame_stack` observation frames, over one or several files.

    Args:
        paths: one file or a sequence of files (demos of all, in order).
        obs_keys: observation keys to return (names under ``obs/``).
        action_key: ``"actions"`` or ``"action_dict/<name>"``.
        seq_len: number of action steps per item.
        frame_stack: number of observation frames per item (the current one and those before it).
        pad: index windows that run past a demo's end (padded, masked) or only full ones.
        filter_key: restrict to the demos listed in ``/mask/<filter_key>`` of each file (e.g. "train").
        cache: ``"low_dim"``, ``"all"`` or ``None`` (see the module doc).
        normalize: return ``(x - mean) / max(std, 1e-6)`` (float32) for low-dim obs and actions, using the
            stats stored in the files by ``robotschool stats FILE`` (pooled over files by sample count).
        cache_limit_bytes: the most ``cache="all"`` may load; default half of the available memory.
    """

    def __init__(self, paths: str | Path | Sequence[str | Path], obs_keys: Sequence[str],
                 action_key: str = schema.ACTIONS, seq_len: int = 1, frame_stack: int = 1, pad: bool = True,
                 filter_key: str | None = None, cache: CacheMode = "low_dim", normalize: bool = False,
                 *, cache_limit_bytes: int | None = None) -> None:
        if isinstance(paths, (str, Path)):
            paths = [paths]
        self.paths: list[Path] = [Path(p) for p in paths]
        if not self.paths:
            raise ValueError("DemoDataset needs at least one file")
        if isinstance(obs_keys, str):
            raise TypeError("obs_keys must be a sequence of keys, not one string")
        self.obs_keys: list[str] = list(obs_keys)
        if seq_len < 1 or frame_stack < 1:
            raise ValueError(f"seq_len and frame_stack must be >= 1, got {seq_len} and {frame_stack}")
        if cache not in ("low_dim", "all", None):
            raise ValueError(f"cache must be 'low_dim', 'all' or None, got {cache!r}")
        if action_key != schema.ACTIONS and not action_key.startswith(f"{schema.ACTION_DICT}/"):
            raise ValueError(f"action_key must be {schema.ACTIONS!r} or '{schema.ACTION_DICT}/<name>', "
                             f"got {action_key!r}")
        self.action_key = action_key
        self.seq_len = int(seq_len)
        self.frame_stack = int(frame_stack)
        self.pad = bool(pad)
        self.filter_key = filter_key
        self.cache = cache
        self.normalize = bool(normalize)

        # per demo: (file index, demo name, T); per item: demo index and start step
        self.demos: list[tuple[int, str, int]] = []
        self._cache: list[dict[str, np.ndarray]] = []
        self._handles: dict[int, h5py.File] = {}
        self._pid = os.getpid()

        cached_keys = self._cached_keys()
        if cache == "all":
            self._check_cache_all_fits(cache_limit_bytes)
        per_file_stats: list[dict[str, Any]] = []
        for fi, path in enumerate(self.paths):
            with open_dataset_file(path) as f:
                for name in self._select_demos(f, path):
                    demo = f[schema.DATA][name]
                    t = self._check_demo(demo, path, name)
                    self.demos.append((fi, name, t))
                    self._cache.append({k: demo[k][()] for k in cached_keys})
                if self.normalize:
                    per_file_stats.append(_read_stats(f, path))

        self._norm: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if self.normalize:
            self._norm = self._pool_stats(per_file_stats)

        starts, owners = [], []
        for di, (_, _, t) in enumerate(self.demos):
            n = t if self.pad else max(t - self.seq_len + 1, 0)
            starts.append(np.arange(n, dtype=np.int64))
            owners.append(np.full(n, di, dtype=np.int64))
        self._starts = np.concatenate(starts) if starts else np.zeros(0, np.int64)
        self._owners = np.concatenate(owners) if owners else np.zeros(0, np.int64)

    # ------------------------------------------------------------------ construction helpers

    def _dataset_keys(self) -> list[str]:
        return [f"{schema.OBS}/{k}" for k in self.obs_keys] + [self.action_key]

    def _cached_keys(self) -> list[str]:
        if self.cache is None:
            return []
        keys = [self.action_key] + [f"{schema.OBS}/{k}" for k in self.obs_keys if is_low_dim_key(k)]
        if self.cache == "all":
            keys += [f"{schema.OBS}/{k}" for k in self.obs_keys if not is_low_dim_key(k)]
        return keys

    def _select_demos(self, f: h5py.File, path: Path) -> list[str]:
        names = demo_names(f)
        if self.filter_key is None:
            return names
        masks = f[schema.MASK] if schema.MASK in f else {}
        if self.filter_key not in masks:
            raise DatasetError(f"{path}: no filter key {self.filter_key!r} in /{schema.MASK} "
                               f"(available: {', '.join(sorted(masks)) or 'none'})")
        wanted = {n.decode() if isinstance(n, bytes) else str(n) for n in masks[self.filter_key][()]}
        missing = wanted - set(names)
        if missing:
            raise DatasetError(f"{path}: /{schema.MASK}/{self.filter_key} names demos not in /{schema.DATA}: "
                               f"{', '.join(sorted(missing))}")
        return [n for n in names if n in wanted]

    def _check_demo(self, demo: h5py.Group, path: Path, name: str) -> int:
        for key in self._dataset_keys():
            if key not in demo:
                group = key.rpartition("/")[0]
                available = sorted(demo[group]) if group and group in demo else []
                hint = f" (available: {', '.join(available)})" if available else ""
                raise DatasetError(f"{path}: {name} has no {key}{hint}")
        t = int(demo[schema.ACTIONS].shape[0]) if schema.ACTIONS in demo else int(demo[self.action_key].shape[0])
        for key in self._dataset_keys():
            if demo[key].shape[:1] != (t,):
                raise DatasetError(f"{path}: {name}/{key} has shape {demo[key].shape}, expected first axis {t}")
        return t

    def _estimate_bytes(self) -> int:
        total = 0
        for path in self.paths:
            with open_dataset_file(path) as f:
                for name in self._select_demos(f, path):
                    demo = f[schema.DATA][name]
                    for key in self._dataset_keys():
                        if key in demo:
                            total += int(demo[key].size) * demo[key].dtype.itemsize
        return total

    def _check_cache_all_fits(self, limit: int | None) -> None:
        need = self._estimate_bytes()
        available = available_memory_bytes()
        if limit is None:
            limit = int(available * CACHE_ALL_MEMORY_FRACTION)
        if need > limit:
            raise DatasetError(f"cache='all' needs {_gib(need)} but the limit is {_gib(limit)} "
                               f"({_gib(available)} memory available); use cache='low_dim' to read images lazily")

    def _pool_stats(self, per_file: list[dict[str, Any]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        norm = {}
        keys = [self.action_key] + [f"{schema.OBS}/{k}" for k in self.obs_keys if is_low_dim_key(k)]
        for key in keys:
            for path, stats in zip(self.paths, per_file):
                if key not in stats:
                    raise DatasetError(f"{path}: no normalisation stats for {key}; "
                                       f"run `robotschool stats {path}` first")
            mean, std = combine_mean_std([s[key] for s in per_file])
            norm[key] = (mean.astype(np.float32), np.maximum(std, STD_FLOOR).astype(np.float32))
        return norm

    # ------------------------------------------------------------------ file handles

    def _file(self, fi: int) -> h5py.File:
        if self._pid != os.getpid():       # forked: never use the parent's HDF5 handles
            self._handles = {}
            self._pid = os.getpid()
        f = self._handles.get(fi)
        if f is None or not f.id.valid:
            f = open_dataset_file(self.paths[fi])
            self._handles[fi] = f
        return f

    def close(self) -> None:
        """Close the lazily opened files of this process (reopened on the next access)."""
        if self._pid == os.getpid():
            for f in self._handles.values():
                try:
                    f.close()
                except Exception:   # noqa: BLE001 - closing is best effort
                    pass
        self._handles = {}

    def __enter__(self) -> DemoDataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_handles"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._handles = {}
        self._pid = os.getpid()

    # ------------------------------------------------------------------ items

    def __len__(self) -> int:
        return int(self._starts.shape[0])

    @property
    def num_demos(self) -> int:
        return len(self.demos)

    def _read(self, di: int, key: str, lo: int, hi: int) -> np.ndarray:
        cached = self._cache[di].get(key)
        if cached is not None:
            return cached[lo:hi]
        fi, name, _ = self.demos[di]
        return self._file(fi)[schema.DATA][name][key][lo:hi]

    def _window(self, di: int, key: str, index: np.ndarray) -> np.ndarray:
        lo, hi = int(index.min()), int(index.max()) + 1
        block = self._read(di, key, lo, hi)
        return block[index - lo]

    def __getitem__(self, i: int) -> dict[str, Any]:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for a dataset of {n} windows")
        i = int(i) % n
        di, t = int(self._owners[i]), int(self._starts[i])
        length = self.demos[di][2]

        frames = np.arange(t - self.frame_stack + 1, t + 1)
        obs_pad_mask = frames >= 0
        frames = np.clip(frames, 0, length - 1)
        steps = np.arange(t, t + self.seq_len)
        pad_mask = steps < length
        steps = np.clip(steps, 0, length - 1)

        obs = {}
        for key in self.obs_keys:
            full = f"{schema.OBS}/{key}"
            obs[key] = self._normalized(full, self._window(di, full, frames))
        actions = self._normalized(self.action_key, self._window(di, self.action_key, steps))
        return {"obs": obs, "actions": actions, "pad_mask": pad_mask, "obs_pad_mask": obs_pad_mask}

    def _normalized(self, key: str, x: np.ndarray) -> np.ndarray:
        norm = self._norm.get(key)
        if norm is None:
            return x
        mean, std = norm
        return ((x - mean) / std).astype(np.float32)

    def unnormalize_actions(self, actions: np.ndarray) -> np.ndarray:
        """Invert the action normalisation (identity without `normalize`)."""
        norm = self._norm.get(self.action_key)
        if norm is None:
            return np.asarray(actions)
        mean, std = norm
        return np.asarray(actions) * std + mean

    def __repr__(self) -> str:
        return (f"DemoDataset({len(self.paths)} file(s), {self.num_demos} demos, {len(self)} windows, "
                f"seq_len={self.seq_len}, frame_stack={self.frame_stack}, cache={self.cache!r})")
