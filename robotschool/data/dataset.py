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

With ``language=True`` items also carry ``"instruction"`` (the demo's natural-language instruction, a str) and
``"subtask"`` (the operator's subtask label at the window's first step, from ``operator/phase``), as
language-conditioned learners (LeRobot's per-frame ``task``) expect; batches hold them as object arrays (B,).

``get_batch(indices)`` returns the same items stacked along a leading batch axis (one vectorised gather for
the cached keys instead of a Python loop per item); ``ds[i]`` is ``get_batch([i])`` without that axis. Use it
(or `TorchDemoDataset.loader`, which feeds it index batches) when loading speed matters: see
scripts/bench_loader.py.

Caching: ``"low_dim"`` loads every non-image observation key and the actions into memory at init and reads
image/depth keys lazily; ``"all"`` loads everything (refused if it would take more than half the available
memory); ``None`` reads everything lazily. Cached keys live in one array per key (all demos concatenated,
normalised once at load when ``normalize``), so a window is one fancy-indexing gather. Lazy reads open the
files on first access in each process (handles are never pickled, and a forked child reopens them), so a torch
DataLoader with ``num_workers > 0`` works with either fork or spawn. A damaged chunk raises a one-line
`DatasetError` naming the file, demo and key.
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


def _unreadable(path: Path, name: str, key: str, e: OSError) -> DatasetError:
    """A damaged chunk (h5py raises OSError) as a one-line error naming where it is."""
    detail = (str(e).strip().splitlines() or [type(e).__name__])[0]
    return DatasetError(f"{path}: {name}/{key} is unreadable ({detail}); the file is damaged, "
                        f"run `robotschool validate {path}`")


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


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
            stats stored in the files (written when `DatasetWriter` finalises a file, or recomputed by
            ``robotschool stats FILE``), pooled over files by sample count.
        cache_limit_bytes: the most ``cache="all"`` may load; default half of the available memory.
        language: also return each item's instruction and subtask label (strings; see the module doc).
    """

    def __init__(self, paths: str | Path | Sequence[str | Path], obs_keys: Sequence[str],
                 action_key: str = schema.ACTIONS, seq_len: int = 1, frame_stack: int = 1, pad: bool = True,
                 filter_key: str | None = None, cache: CacheMode = "low_dim", normalize: bool = False,
                 *, cache_limit_bytes: int | None = None, language: bool = False) -> None:
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
        self.language = bool(language)

        # per demo: (file index, demo name, T); per item: demo index and start step
        self.demos: list[tuple[int, str, int]] = []
        self._handles: dict[int, h5py.File] = {}
        self._dsets: dict[tuple[int, str], h5py.Dataset] = {}
        self._pid = os.getpid()

        if cache == "all":
            self._check_cache_all_fits(cache_limit_bytes)
        per_file_stats: list[dict[str, Any]] = []
        for fi, path in enumerate(self.paths):
            with open_dataset_file(path) as f:
                for name in self._select_demos(f, path):
                    self.demos.append((fi, name, self._check_demo(f[schema.DATA][name], path, name)))
                if self.normalize:
                    per_file_stats.append(_read_stats(f, path))

        self._norm: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if self.normalize:
            self._norm = self._pool_stats(per_file_stats)

        self._lengths = np.array([t for _, _, t in self.demos], dtype=np.int64)
        self._offsets = np.concatenate([[0], np.cumsum(self._lengths)[:-1]]).astype(np.int64) \
            if self.demos else np.zeros(0, np.int64)
        self._instructions, self._subtasks = self._load_language() if self.language else (None, None)
        self._flat: dict[str, np.ndarray] = self._load_cache()

        starts, owners = [], []
        for di, t in enumerate(self._lengths.tolist()):
            n = t if self.pad else max(t - self.seq_len + 1, 0)
            starts.append(np.arange(n, dtype=np.int64))
            owners.append(np.full(n, di, dtype=np.int64))
        self._starts = np.concatenate(starts) if starts else np.zeros(0, np.int64)
        self._owners = np.concatenate(owners) if owners else np.zeros(0, np.int64)
        # per window, in flat rows (all demos concatenated): its start, and its demo's first and last row
        self._row0 = self._offsets[self._owners] + self._starts if self.demos else np.zeros(0, np.int64)
        self._row_first = self._offsets[self._owners] if self.demos else np.zeros(0, np.int64)
        self._row_last = self._row_first + self._lengths[self._owners] - 1 if self.demos else np.zeros(0, np.int64)
        self._obs_paths = [(k, f"{schema.OBS}/{k}") for k in self.obs_keys]
        self._frame_offsets = np.arange(-self.frame_stack + 1, 1, dtype=np.int64)
        self._step_offsets = np.arange(self.seq_len, dtype=np.int64)

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

    def _load_language(self) -> tuple[np.ndarray, np.ndarray]:
        """Per demo its instruction, per flat row its subtask label (object arrays of str: small, cached)."""
        instructions = np.empty(len(self.demos), dtype=object)
        subtasks = np.empty(int(self._lengths.sum()), dtype=object)
        phase_key = f"{schema.OPERATOR}/{schema.OP_PHASE}"
        for di, (fi, name, t) in enumerate(self.demos):
            demo = self._file(fi)[schema.DATA][name]
            if phase_key not in demo:
                raise DatasetError(f"{self.paths[fi]}: {name} has no {phase_key} (subtask labels), which "
                                   f"language=True needs; load it with language=False")
            instructions[di] = _text(demo.attrs.get(schema.ATTR_INSTRUCTION, ""))
            o = int(self._offsets[di])
            subtasks[o:o + t] = [_text(v) for v in demo[phase_key][()]]
        return instructions, subtasks

    def _load_cache(self) -> dict[str, np.ndarray]:
        """Every cached key as one array over all demos (filled in place: no second copy of the data)."""
        keys = self._cached_keys()
        if not keys or not self.demos:
            return {}
        total = int(self._lengths.sum())
        flat: dict[str, np.ndarray] = {}
        try:
            for di, (fi, name, t) in enumerate(self.demos):
                demo = self._file(fi)[schema.DATA][name]
                o = int(self._offsets[di])
                for key in keys:
                    src = demo[key]
                    if key not in flat:
                        flat[key] = np.empty((total,) + src.shape[1:], dtype=src.dtype)
                    elif src.shape[1:] != flat[key].shape[1:]:
                        raise DatasetError(f"{self.paths[fi]}: {name}/{key} has samples of shape "
                                           f"{src.shape[1:]}, other demos {flat[key].shape[1:]}")
                    if t:
                        try:
                            src.read_direct(flat[key], np.s_[0:t], np.s_[o:o + t])
                        except OSError as e:
                            raise _unreadable(self.paths[fi], name, key, e) from None
        finally:
            self.close()         # the lazy handles are reopened per process on first use
        for key, (mean, std) in self._norm.items():
            if key in flat:
                flat[key] = ((flat[key] - mean) / std).astype(np.float32)
        return flat

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
            self._handles, self._dsets = {}, {}
            self._pid = os.getpid()
        f = self._handles.get(fi)
        if f is None or not f.id.valid:
            f = open_dataset_file(self.paths[fi])
            self._handles[fi] = f
            self._dsets = {k: v for k, v in self._dsets.items() if self.demos[k[0]][0] != fi}
        return f

    def _dataset(self, di: int, key: str) -> h5py.Dataset:
        f = self._file(self.demos[di][0])          # checks the process and the handle first
        d = self._dsets.get((di, key))
        if d is None:
            d = self._dsets[(di, key)] = f[schema.DATA][self.demos[di][1]][key]
        return d

    def close(self) -> None:
        """Close the lazily opened files of this process (reopened on the next access)."""
        if self._pid == os.getpid():
            for f in self._handles.values():
                try:
                    f.close()
                except Exception:   # noqa: BLE001 - closing is best effort
                    pass
        self._handles, self._dsets = {}, {}

    def __enter__(self) -> DemoDataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_handles"], state["_dsets"] = {}, {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._handles, self._dsets = {}, {}
        self._pid = os.getpid()

    # ------------------------------------------------------------------ items

    def __len__(self) -> int:
        return int(self._starts.shape[0])

    @property
    def num_demos(self) -> int:
        return len(self.demos)

    def __getitem__(self, i: int) -> dict[str, Any]:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for a dataset of {n} windows")
        batch = self.get_batch(np.array([int(i)], dtype=np.int64))
        return {"obs": {k: v[0] for k, v in batch["obs"].items()},
                **{k: v[0] for k, v in batch.items() if k != "obs"}}

    def get_batch(self, indices: Sequence[int] | np.ndarray) -> dict[str, Any]:
        """The items at `indices`, stacked: obs (B, frame_stack, ...), actions (B, seq_len, A), masks (B, ...).

        Works in flat rows (all demos concatenated, as the cache stores them): a window's rows are its start
        row plus 0..seq_len-1 (or minus frame_stack-1..0), clamped to its demo's rows. Negative indices count
        from the end; out-of-range ones raise IndexError.
        """
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        row0 = self._row0[idx][:, None]
        last = self._row_last[idx][:, None]
        steps = row0 + self._step_offsets
        pad_mask = steps <= last
        np.minimum(steps, last, out=steps)
        if self.frame_stack == 1:
            frames = row0
            obs_pad_mask = np.ones((idx.shape[0], 1), dtype=bool)
        else:
            first = self._row_first[idx][:, None]
            frames = row0 + self._frame_offsets
            obs_pad_mask = frames >= first
            np.maximum(frames, first, out=frames)
        obs = {k: self._gather(full, idx, frames) for k, full in self._obs_paths}
        actions = self._gather(self.action_key, idx, steps)
        batch = {"obs": obs, "actions": actions, "pad_mask": pad_mask, "obs_pad_mask": obs_pad_mask}
        if self.language:
            batch["instruction"] = self._instructions[self._owners[idx]]
            batch["subtask"] = self._subtasks[row0[:, 0]]
        return batch

    def _gather(self, key: str, idx: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Flat rows (B, W) of one key: a fancy index into the cache, or lazy reads from the files."""
        flat = self._flat.get(key)
        if flat is not None:
            return flat[rows]
        di = self._owners[idx]
        local = rows - self._offsets[di][:, None]
        out = None
        for b in range(rows.shape[0]):
            lo, hi = int(local[b, 0]), int(local[b, -1]) + 1     # rows are sorted (clamped ranges)
            try:
                block = self._dataset(int(di[b]), key)[lo:hi]
            except OSError as e:
                fi, name, _ = self.demos[int(di[b])]
                raise _unreadable(self.paths[fi], name, key, e) from None
            if out is None:
                out = np.empty(rows.shape + block.shape[1:], dtype=block.dtype)
            out[b] = block[local[b] - lo]
        if out is None:                  # an empty batch
            d = self._dataset(0, key) if self.demos else None
            out = np.empty(rows.shape + (d.shape[1:] if d is not None else ()),
                           dtype=d.dtype if d is not None else np.float32)
        return self._normalized(key, out)

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
