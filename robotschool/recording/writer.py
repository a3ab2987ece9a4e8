"""Crash-safe HDF5 dataset writer: `Episode`s in, a robomimic-compatible file out.

Why it is built this way
------------------------
HDF5 is not crash-safe. A process killed while h5py has a file open for writing can leave the file
unreadable (superblock, object headers and B-trees are updated in place and cached in memory), and with
it every demo already recorded. Demos are expensive (a person's time, hours of batch generation), so
this writer never modifies the main file in place. It works in two stages:

1. **Staging** (`add`). Each episode is written to its own small shard file `<path>.parts/<seq>.h5`:
   written under a temporary name, fsync'd, atomically renamed into place, and the directory fsync'd.
   Once `add` returns, the episode survives `kill -9` (and power loss on a filesystem that honours
   fsync).
2. **Commit** (`flush`, automatically every `commit_every` episodes, and `close`). Copy the main file
   to `<path>.tmp`, append the pending shards to the copy as `data/demo_<i>`, update `total` and the
   masks, close it, fsync it, `os.replace` it over the main file, fsync the directory, and only then
   delete the committed shards. The main file is therefore always one complete version, either the one
   before a commit or the one after it; h5py can open it at any moment.

A crash after the rename but before the shards are deleted would commit those shards twice on
recovery. Every demo therefore carries the unique id of the shard it came from
(`schema.ATTR_SHARD`); on open, shards whose id is already in the main file are deleted instead of
being committed again.

**Recovery.** Opening with `resume=True` deletes incomplete temp files, commits leftover complete
shards in sequence order, and continues numbering after the last demo. Without `resume` or
`overwrite`, an existing file (or leftover shards) is refused so that nothing is lost by accident.

**Trade-off.** Every commit copies the whole main file (a sequential, usually page-cached copy). Commits
therefore happen only when at least `commit_every` episodes are pending *and* they add at least
`commit_growth` (default 25%) to the file: the file grows geometrically between commits, so a run copies
a constant multiple of its final size in total (about 1/commit_growth + 1 times) instead of O(N^2).
Spacing commits costs nothing in safety (the shards are durable either way); it only leaves the main
file further behind a running job, and more shards to commit at `close`. The copy also needs free disk
space for a second copy of the file.

**next_obs** is an HDF5 virtual dataset over `obs/<key>[1:T]` and the one-row `final_obs/<key>`
(source file name ".", meaning "this same file", so it survives renames and copies of the whole file).
Robomimic reads it like an ordinary dataset, and image observations are not stored twice. It is
built at commit time in the main file, because shard demo names differ from final ones. Copying one
demo group into another file under another name breaks it (its sources name the old path);
copy the whole file instead, or rebuild it.

**Normalisation stats.** The final commit (`close`) also computes `/stats` (robotschool.data.stats: mean,
std, min, max, q01, q99 of every low-dim obs and action key, streamed demo by demo) into the same temp copy,
so they become visible in the same atomic replace as the last demos. If computing them fails, the commit goes
on without them (a warning says to run `robotschool stats FILE`): stats are derived data, demos are not.
Intermediate commits leave any older `/stats` in place; readers tell they are stale from their `total`.

**One writer per path.** The writer holds an advisory `flock` on `<path>.parts/` while open, so a
second writer on the same path fails with `OutputPathError` instead of racing to replace the file and
losing the other's demos. Readers may open the main file at any time: they see the last commit.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np

from robotschool.errors import DatasetError, OutputPathError
from robotschool.recording import schema
from robotschool.recording.episode import Episode

_log = logging.getLogger(__name__)

_PARTS_SUFFIX = ".parts"
_TMP_SUFFIX = ".tmp"
_SHARD_SUFFIX = ".h5"
_SHARD_GROUP = "episode"      # the single group of a staging shard: a demo's layout without next_obs
_SEQ_WIDTH = 8
_GZIP_LEVEL = 4
_OWNED_DATA_ATTRS = (schema.ATTR_TOTAL, schema.ATTR_SCHEMA_VERSION)
_RESERVED_DEMO_ATTRS = (schema.ATTR_KEY, schema.ATTR_SHARD)
_MUST_MATCH_ON_RESUME = (schema.ATTR_SCENE,)
_NUMERIC_KINDS = "biuf"


@dataclass(frozen=True)
class _Staged:
    """A durable shard waiting to be committed."""
    path: Path
    key: str | None
    shard_id: str
    num_samples: int
    success: bool | None


@dataclass(frozen=True)
class _Committed:
    """A demo already in the main file (what masks, numbering and resume need, kept in memory)."""
    name: str
    key: str | None
    shard_id: str | None
    num_samples: int
    success: bool | None


class DatasetWriter:
    """Appends episodes to a robomimic-compatible HDF5 file so that a crash never loses a returned `add`.

    Usage::

        with DatasetWriter("demos.hdf5", {"scene": "kitchen_soup", "env_args": {...}}) as writer:
            writer.add(episode, key="attempt_00017")

    `data_attrs` become attributes of `/data` (dicts and lists JSON-encoded). `total` and
    `schema_version` are owned by the writer and are ignored if given. On `resume`, attributes already
    in the file are kept (they describe the demos already there); only missing ones are added, and a
    different `scene` is refused.

    The train/valid split is a function of `(split_seed, key or demo name)` alone, so it does not depend
    on the worker count or on how demos were grouped into commits, and an existing demo's split never
    changes when more are appended (on resume, the file's own `mask/valid` is the record). To guarantee
    at least one valid demo once there are two (when `valid_fraction > 0`), `demo_1` is made valid if
    neither `demo_0` nor `demo_1` hashed into the valid set: a decision taken once, when `demo_1` is
    committed, and never revisited.
    """

    def __init__(self, path: str | Path, data_attrs: dict[str, Any], *, overwrite: bool = False,
                 resume: bool = False, commit_every: int = 8, commit_growth: float = 0.25,
                 valid_fraction: float = 0.1, split_seed: int = 0) -> None:
        self._path = Path(path)
        self._parts = Path(f"{self._path}{_PARTS_SUFFIX}")
        self._tmp = Path(f"{self._path}{_TMP_SUFFIX}")
        if commit_every < 1:
            raise ValueError(f"commit_every must be >= 1, got {commit_every}")
        if not 0.0 <= valid_fraction <= 1.0:
            raise ValueError(f"valid_fraction must be in [0, 1], got {valid_fraction}")
        if overwrite and resume:
            raise OutputPathError(f"{self._path}: pass either --overwrite or --resume, not both")
        self._commit_every = int(commit_every)
        self._commit_growth = float(commit_growth)
        self._valid_fraction = float(valid_fraction)
        self._split_seed = int(split_seed)
        self._data_attrs = {str(k): _encode_attr(v) for k, v in data_attrs.items()
                            if k not in _OWNED_DATA_ATTRS}

        self._committed: list[_Committed] = []
        self._valid: set[str] = set()
        self._pending: list[_Staged] = []
        self._next_index = 0
        self._next_seq = 0
        self._dirty = False          # the main file must be rewritten even with nothing pending
        self._closed = True          # until fully opened: close()/__del__ are then no-ops
        self._lock_fd: int | None = None

        _check_parent(self._path)
        created_parts = not self._parts.exists()
        try:
            self._parts.mkdir(exist_ok=True)
            self._lock_fd = _lock_dir(self._parts, self._path)
            self._open(overwrite=overwrite, resume=resume)
            self._closed = False
            if self._pending:
                self._commit()
        except BaseException:
            self._closed = True
            self._release(remove_parts=created_parts)
            raise

    # ------------------------------------------------------------------ public API

    @property
    def num_demos(self) -> int:
        """Demos committed to the main file plus those staged (durable) but not yet committed."""
        return len(self._committed) + len(self._pending)

    def done_keys(self) -> set[str]:
        """The `key` of every durable episode (committed or staged), so `--resume` can skip them."""
        keys = {d.key for d in self._committed if d.key is not None}
        keys.update(s.key for s in self._pending if s.key is not None)
        return keys

    def add(self, episode: Episode, key: str | None = None) -> None:
        """Stage one episode durably; commit if `commit_every` episodes are pending.

        When this returns the episode is on disk (fsync'd) and a `kill -9` cannot lose it. The episode is
        validated first (a malformed one would otherwise become durable and then fail every commit).
        If the automatic commit fails, the episode stays staged for `flush`/`close`/a later resume, and
        the error propagates.
        """
        self._check_open()
        num_samples = _validate_episode(episode)
        if key is not None:
            if not isinstance(key, str) or not key:
                raise ValueError(f"episode key must be a non-empty string, got {key!r}")
            if key in self.done_keys():
                raise ValueError(f"an episode with key {key!r} is already in {self._path}")
        shard_id = uuid.uuid4().hex
        final = self._parts / f"{self._next_seq:0{_SEQ_WIDTH}d}{_SHARD_SUFFIX}"
        tmp = Path(f"{final}{_TMP_SUFFIX}")
        try:
            with h5py.File(tmp, "w") as f:
                _write_demo(f.create_group(_SHARD_GROUP), episode, num_samples, key, shard_id)
            _fsync(tmp)
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync(self._parts)
        self._next_seq += 1
        self._pending.append(_Staged(final, key, shard_id, num_samples, _success(episode.attrs)))
        if self._commit_due():
            self._commit()

    def _commit_due(self) -> bool:
        """Commit once `commit_every` episodes are pending *and* they amount to at least `commit_growth` of
        the main file. The second condition spaces commits geometrically as the file grows, so the total
        copying stays linear in the data instead of quadratic; the shards are durable meanwhile."""
        if len(self._pending) < self._commit_every:
            return False
        try:
            main = self._path.stat().st_size
        except FileNotFoundError:
            return True
        pending = sum(s.path.stat().st_size for s in self._pending if s.path.exists())
        return pending >= self._commit_growth * main

    def flush(self) -> None:
        """Commit every staged episode into the main file (one atomic replace)."""
        self._check_open()
        self._commit()

    def close(self) -> None:
        """Commit what is staged, leave a complete main file (even with no demos), release the lock.

        Idempotent. If the final commit fails, the shards stay on disk for a later `resume`.
        """
        if self._closed:
            return
        try:
            self._commit(final=True)
        finally:
            self._closed = True
            self._release(remove_parts=True)

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # Also on an exception: the episodes already added are durable and belong in the file.
        self.close()

    def __del__(self) -> None:
        # Never commit from a finaliser (interpreter teardown); staged shards are durable anyway.
        # Only drop the lock so a later writer in this process is not refused.
        if getattr(self, "_lock_fd", None) is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # ------------------------------------------------------------------ opening and recovery

    def _open(self, *, overwrite: bool, resume: bool) -> None:
        shards = _list_shards(self._parts)
        exists = self._path.exists()
        if exists and not (overwrite or resume):
            raise OutputPathError(f"{self._path} exists; pass --overwrite to replace it or --resume to "
                                  f"continue it")
        if shards and not (overwrite or resume):
            raise OutputPathError(f"{self._parts} holds {len(shards)} episode(s) of a run into {self._path} that "
                                  f"did not finish; pass --resume to keep them or --overwrite to discard them")
        # A stale main-file temp is a commit killed midway; shard temps are adds killed midway.
        # Neither was ever acknowledged, and we hold the lock, so nobody else is writing them.
        self._tmp.unlink(missing_ok=True)
        for p in self._parts.iterdir():
            if p.name.endswith(_TMP_SUFFIX):
                p.unlink()
        if overwrite:
            self._path.unlink(missing_ok=True)
            for p in shards:
                p.unlink()
            _fsync(self._parts)
            _fsync(self._path.parent)
            shards, exists = [], False
        if exists:
            self._load_main()
        else:
            self._dirty = True
        committed_ids = {d.shard_id for d in self._committed if d.shard_id is not None}
        for p in shards:
            staged = _read_shard(p)
            if staged.shard_id in committed_ids:
                p.unlink()       # committed just before a crash, deletion never happened
            else:
                self._pending.append(staged)
        _fsync(self._parts)
        self._next_seq = max((_shard_seq(p) for p in shards), default=-1) + 1

    def _load_main(self) -> None:
        """Read what numbering, masks, dedup and resume need from the existing main file."""
        try:
            f = h5py.File(self._path, "r")
        except OSError as e:
            raise OutputPathError(f"{self._path} is not a readable HDF5 file ({e}); pass --overwrite to "
                                  f"replace it") from None
        with f:
            data = f.get(schema.DATA)
            if not isinstance(data, h5py.Group):
                raise OutputPathError(f"{self._path} has no /{schema.DATA} group, so it is not a demo "
                                      f"dataset; pass --overwrite to replace it")
            version = data.attrs.get(schema.ATTR_SCHEMA_VERSION)
            if version is not None and str(version) != schema.SCHEMA_VERSION:
                raise OutputPathError(f"{self._path} uses dataset schema {version}, this version writes "
                                      f"{schema.SCHEMA_VERSION}; write to a new file")
            for name in _MUST_MATCH_ON_RESUME:
                if name in data.attrs and name in self._data_attrs and \
                        not _attr_equal(data.attrs[name], self._data_attrs[name]):
                    raise OutputPathError(f"{self._path} holds {name} {data.attrs[name]!r} but this run "
                                          f"records {name} {self._data_attrs[name]!r}; use another output "
                                          f"path or --overwrite")
            for name, value in self._data_attrs.items():
                if name not in data.attrs:
                    self._dirty = True
                elif name not in _MUST_MATCH_ON_RESUME and not _attr_equal(data.attrs[name], value):
                    _log.warning("%s: keeping the file's existing data attr %r (it describes the demos "
                                 "already there); this run's value differs", self._path, name)
            names = sorted((n for n in data if _is_demo_name(n)), key=schema.demo_index)
            for name in names:
                attrs = data[name].attrs
                key = attrs.get(schema.ATTR_KEY)
                shard_id = attrs.get(schema.ATTR_SHARD)
                self._committed.append(_Committed(
                    name=name, key=None if key is None else str(key),
                    shard_id=None if shard_id is None else str(shard_id),
                    num_samples=int(attrs.get(schema.ATTR_NUM_SAMPLES, 0)), success=_success(attrs)))
            mask = f.get(schema.MASK)
            if isinstance(mask, h5py.Group) and isinstance(mask.get(schema.MASK_VALID), h5py.Dataset):
                stored = {_decode(n) for n in mask[schema.MASK_VALID][()]}
                self._valid = stored & set(names)
            else:
                self._valid = self._choose_valid([], set(), self._committed)
                self._dirty = True
        self._next_index = schema.demo_index(names[-1]) + 1 if names else 0

    # ------------------------------------------------------------------ commit

    def _commit(self, *, final: bool = False) -> None:
        """Append staged shards to a copy of the main file and atomically replace it (see module doc).

        `final` (from `close`) also writes fresh normalisation stats, committing even with nothing pending
        when the file's stats are missing or stale."""
        if not self._pending and not self._dirty and not (final and _stats_need_update(self._path)):
            return
        self._tmp.unlink(missing_ok=True)
        try:
            new, new_valid = self._write_next_version(with_stats=final)
            _fsync(self._tmp)
            os.replace(self._tmp, self._path)
        except BaseException:
            self._tmp.unlink(missing_ok=True)
            raise
        _fsync(self._path.parent)
        self._committed.extend(new)
        self._valid |= new_valid
        self._next_index += len(new)
        self._dirty = False
        for staged in self._pending:
            staged.path.unlink(missing_ok=True)
        self._pending.clear()
        _fsync(self._parts)

    def _write_next_version(self, *, with_stats: bool = False) -> tuple[list[_Committed], set[str]]:
        """Build `<path>.tmp`: the current main file plus the pending demos, masks, attrs (and stats)."""
        if self._path.exists():
            shutil.copyfile(self._path, self._tmp)
            f = h5py.File(self._tmp, "a")
        else:
            # Persistent free-space tracking lets the space of the masks rewritten at each commit be reused.
            f = h5py.File(self._tmp, "w", fs_strategy="fsm", fs_persist=True)
        with f:
            data = f.require_group(schema.DATA)
            for name, value in self._data_attrs.items():
                if name not in data.attrs:
                    data.attrs[name] = value
            data.attrs[schema.ATTR_SCHEMA_VERSION] = schema.SCHEMA_VERSION
            new: list[_Committed] = []
            for index, staged in enumerate(self._pending, start=self._next_index):
                name = schema.demo_name(index)
                with h5py.File(staged.path, "r") as shard:
                    shard.copy(shard[_SHARD_GROUP], data, name=name)   # raw chunk copy, no recompression
                _build_next_obs(data[name])
                new.append(_Committed(name, staged.key, staged.shard_id, staged.num_samples, staged.success))
            new_valid = self._choose_valid(self._committed, self._valid, new)
            demos = self._committed + new
            data.attrs[schema.ATTR_TOTAL] = sum(d.num_samples for d in demos)
            _write_masks(f, demos, self._valid | new_valid)
            if with_stats and demos:
                _write_stats_or_warn(f, self._path)
        return new, new_valid

    # ------------------------------------------------------------------ split

    def _hash_unit(self, key: str | None, name: str) -> float:
        ident = key if key is not None else name
        digest = hashlib.blake2b(f"{self._split_seed}/{ident}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2.0 ** 64

    def _hashes_valid(self, key: str | None, name: str) -> bool:
        return self._hash_unit(key, name) < self._valid_fraction

    def _choose_valid(self, existing: list[_Committed], existing_valid: set[str],
                      new: list[_Committed]) -> set[str]:
        """Which of `new` (appended after `existing`) are valid; never changes an existing demo's split."""
        chosen = {d.name for d in new if self._hashes_valid(d.key, d.name)}
        demos = existing + new
        if self._valid_fraction > 0 and len(demos) >= 2 and demos[1] in new:
            valid = existing_valid | chosen
            if demos[0].name not in valid and demos[1].name not in valid:
                chosen.add(demos[1].name)    # at least one valid demo, decided once and for all
        return chosen

    # ------------------------------------------------------------------ housekeeping

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"DatasetWriter for {self._path} is closed")

    def _release(self, *, remove_parts: bool) -> None:
        if remove_parts:
            try:
                self._parts.rmdir()      # only when empty: leftover shards stay for --resume
            except OSError:
                pass
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


# ---------------------------------------------------------------------- file helpers

def _check_parent(path: Path) -> None:
    parent = path.parent
    if path.is_dir():
        raise OutputPathError(f"{path} is a directory; give a file name inside it, "
                              f"e.g. {path / 'demos.hdf5'}")
    if not parent.is_dir():
        raise OutputPathError(f"cannot write {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot write {path}: directory {parent} is not writable")


def _lock_dir(directory: Path, path: Path) -> int:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise OutputPathError(f"{path} is being written by another writer (lock on {directory} is "
                              f"held); wait for it to finish or choose another output path") from None
    return fd


def _fsync(path: Path) -> None:
    """fsync a file or a directory (the latter makes renames and unlinks in it durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _shard_seq(path: Path) -> int:
    return int(path.name[: -len(_SHARD_SUFFIX)])


def _list_shards(parts: Path) -> list[Path]:
    if not parts.is_dir():
        return []
    shards = [p for p in parts.iterdir()
              if p.name.endswith(_SHARD_SUFFIX) and p.name[: -len(_SHARD_SUFFIX)].isdigit()]
    return sorted(shards, key=_shard_seq)


def _read_shard(path: Path) -> _Staged:
    try:
        with h5py.File(path, "r") as f:
            attrs = f[_SHARD_GROUP].attrs
            key = attrs.get(schema.ATTR_KEY)
            return _Staged(path=path, key=None if key is None else str(key),
                           shard_id=str(attrs[schema.ATTR_SHARD]),
                           num_samples=int(attrs[schema.ATTR_NUM_SAMPLES]), success=_success(attrs))
    except (OSError, KeyError) as e:
        raise DatasetError(f"staged episode {path} is unreadable ({e}); move it out of the way to "
                           f"continue") from None


def _is_demo_name(name: str) -> bool:
    return name.startswith(schema.DEMO_PREFIX) and name[len(schema.DEMO_PREFIX):].isdigit()


# ---------------------------------------------------------------------- layout

def _validate_episode(episode: Episode) -> int:
    """Check the shapes the layout relies on; return T. Raises ValueError (a caller bug)."""
    actions = np.asarray(episode.actions)
    if actions.ndim != 2 or actions.shape[0] < 1:
        raise ValueError(f"episode {schema.ACTIONS} must be (T, A) with T >= 1, got shape {actions.shape}")
    t = actions.shape[0]
    if set(episode.obs) != set(episode.final_obs):
        raise ValueError(f"episode obs keys {sorted(episode.obs)} differ from final_obs keys "
                         f"{sorted(episode.final_obs)}")
    for key, value in episode.obs.items():
        arr, final = np.asarray(value), np.asarray(episode.final_obs[key])
        if arr.dtype.kind not in _NUMERIC_KINDS:
            raise ValueError(f"{schema.OBS}/{key} must be numeric, got dtype {arr.dtype}")
        if arr.ndim < 1 or arr.shape[0] != t:
            raise ValueError(f"{schema.OBS}/{key} has shape {arr.shape}, expected first axis T={t}")
        if final.shape != arr.shape[1:]:
            raise ValueError(f"final_obs {key} has shape {final.shape}, expected {arr.shape[1:]}")
    timed = {schema.REWARDS: episode.rewards, schema.DONES: episode.dones, schema.STATES: episode.states}
    timed.update({f"{schema.ACTION_DICT}/{k}": v for k, v in episode.action_dict.items()})
    for name, value in timed.items():
        shape = np.shape(value)
        if len(shape) < 1 or shape[0] != t:
            raise ValueError(f"episode {name} has shape {shape}, expected first axis T={t}")
    for group in (episode.obs, episode.action_dict, episode.operator):
        for key in group:
            if not key or "/" in key:
                raise ValueError(f"array name {key!r} must be non-empty and contain no '/'")
    for name in _RESERVED_DEMO_ATTRS:
        if name in episode.attrs:
            raise ValueError(f"episode attr {name!r} is set by the writer; pass key= to add() instead")
    return t


def _write_demo(group: h5py.Group, episode: Episode, num_samples: int, key: str | None,
                shard_id: str) -> None:
    """Write one episode in the demo layout (everything except next_obs, built at commit)."""
    obs = group.create_group(schema.OBS)
    final = group.create_group(schema.FINAL_OBS)
    for name, value in episode.obs.items():
        arr = np.asarray(value)
        per_frame = schema.is_image_key(name) or schema.is_depth_key(name)
        _write_array(obs, name, arr, per_frame=per_frame)
        last = np.asarray(episode.final_obs[name], dtype=arr.dtype)[None]
        _write_array(final, name, last, per_frame=per_frame)
    _write_array(group, schema.ACTIONS, episode.actions)
    action_dict = group.create_group(schema.ACTION_DICT)
    for name, value in episode.action_dict.items():
        _write_array(action_dict, name, value)
    _write_array(group, schema.REWARDS, episode.rewards)
    _write_array(group, schema.DONES, episode.dones)
    _write_array(group, schema.STATES, episode.states, compress=True)
    operator = group.create_group(schema.OPERATOR)
    for name, value in episode.operator.items():
        _write_array(operator, name, value)
    for name, value in episode.attrs.items():
        group.attrs[str(name)] = _encode_attr(value)
    group.attrs[schema.ATTR_NUM_SAMPLES] = num_samples
    if key is not None:
        group.attrs[schema.ATTR_KEY] = key
    group.attrs[schema.ATTR_SHARD] = shard_id


def _write_array(group: h5py.Group, name: str, value: Any, *, per_frame: bool = False,
                 compress: bool = False) -> None:
    arr = np.asarray(value)
    if arr.dtype.kind in "UO":      # numpy unicode / Python str objects -> variable-length UTF-8
        group.create_dataset(name, data=arr.astype(h5py.string_dtype()), dtype=h5py.string_dtype())
        return
    options: dict[str, Any] = {}
    if arr.ndim >= 1 and arr.size:
        if per_frame:               # one frame per chunk: a training loader reads single frames
            options = dict(chunks=(1,) + arr.shape[1:], compression="gzip", compression_opts=_GZIP_LEVEL)
        elif compress:
            options = dict(compression="gzip", compression_opts=_GZIP_LEVEL, shuffle=True)
    group.create_dataset(name, data=arr, **options)


def _build_next_obs(demo: h5py.Group) -> None:
    """next_obs/<key> = obs/<key>[1:T] followed by final_obs/<key>, as same-file virtual datasets."""
    next_obs = demo.create_group(schema.NEXT_OBS)
    for name, src in demo[schema.OBS].items():
        final = demo[schema.FINAL_OBS][name]
        t = src.shape[0]
        layout = h5py.VirtualLayout(shape=src.shape, dtype=src.dtype)
        if t > 1:
            layout[: t - 1] = h5py.VirtualSource(".", src.name, shape=src.shape, dtype=src.dtype)[1:]
        layout[t - 1:] = h5py.VirtualSource(".", final.name, shape=final.shape, dtype=final.dtype)
        next_obs.create_virtual_dataset(name, layout)


def _stats_need_update(path: Path) -> bool:
    """A committed file with demos whose /stats are missing or older than its demos (e.g. after resume)."""
    from robotschool.data.stats import ATTR_STATS_TOTAL, STATS   # lazy: robotschool.data imports this module

    try:
        with h5py.File(path, "r") as f:
            data = f.get(schema.DATA)
            if not isinstance(data, h5py.Group) or not any(_is_demo_name(n) for n in data):
                return False
            stats = f.get(STATS)
            return not isinstance(stats, h5py.Group) or \
                stats.attrs.get(ATTR_STATS_TOTAL) != data.attrs.get(schema.ATTR_TOTAL)
    except OSError:
        return False


def _write_stats_or_warn(f: h5py.File, path: Path) -> None:
    """Store fresh /stats in the version being committed; on failure commit the demos without them."""
    from robotschool.data.stats import STATS, compute_stats_in, store_stats

    try:
        stats = compute_stats_in(f, path)
    except Exception as e:   # noqa: BLE001 - derived data must never cost the demos
        _log.warning("%s: normalisation stats not computed (%s); the demos are saved, run "
                     "`robotschool stats %s` to add them", path, e, path)
        if STATS in f:
            del f[STATS]         # stale ones would be worse than none
        return
    store_stats(f, stats)


def _write_masks(f: h5py.File, demos: list[_Committed], valid: set[str]) -> None:
    """Rewrite the four masks this writer owns; other masks (e.g. added by tools) are left alone."""
    masks = {
        schema.MASK_TRAIN: [d.name for d in demos if d.name not in valid],
        schema.MASK_VALID: [d.name for d in demos if d.name in valid],
        schema.MASK_SUCCESS: [d.name for d in demos if d.success is True],
        schema.MASK_FAILED: [d.name for d in demos if d.success is False],
    }
    group = f.require_group(schema.MASK)
    for name, names in masks.items():
        if name in group:
            del group[name]
        group.create_dataset(name, data=np.array([n.encode() for n in names], dtype="S"))


# ---------------------------------------------------------------------- attributes

def _encode_attr(value: Any) -> Any:
    """HDF5-storable form: str as str, numbers/bools/numpy natively, dict/list/tuple/None as JSON text."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bool, np.bool_)):
        return np.bool_(value)
    if isinstance(value, (int, float, np.generic)):
        return value
    if isinstance(value, np.ndarray):
        return value.astype(h5py.string_dtype()) if value.dtype.kind in "UO" else value
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=_json_default)
    raise TypeError(f"cannot store attribute value of type {type(value).__name__}: {value!r}")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot JSON-encode attribute value of type {type(value).__name__}")


def _attr_equal(a: Any, b: Any) -> bool:
    try:
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return bool(np.array_equal(np.asarray(a), np.asarray(b)))
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _decode(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _success(attrs: Any) -> bool | None:
    value = attrs.get(schema.ATTR_SUCCESS)
    return None if value is None else bool(value)
