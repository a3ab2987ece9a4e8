"""Read a finished demo back into an `Episode`, and write episodes to a new file through `DatasetWriter`.

Why: merge, filter and rerender produce files whose demos have new names. A demo group cannot simply be
`h5py.copy`'d under a new name, because its `next_obs` virtual datasets name their sources by path
(`/data/demo_<i>/obs/<key>`); the copy would silently read another demo. Re-adding each demo through the
writer rebuilds `next_obs`, `total` and the masks, and inherits the writer's crash safety.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from robotschool.errors import DatasetError, OutputPathError
from robotschool.recording import schema
from robotschool.recording.episode import Episode
from robotschool.recording.writer import DatasetWriter, _fsync

# Attributes the writer sets itself (and refuses in Episode.attrs), or that describe the old file.
_WRITER_DEMO_ATTRS = (schema.ATTR_NUM_SAMPLES, schema.ATTR_KEY, schema.ATTR_SHARD)
_WRITER_DATA_ATTRS = (schema.ATTR_TOTAL, schema.ATTR_SCHEMA_VERSION)
PARTIAL_SUFFIX = ".partial"
_REQUIRED = (schema.ACTIONS, schema.REWARDS, schema.DONES, schema.STATES)


def _read(ds: h5py.Dataset) -> np.ndarray:
    if h5py.check_string_dtype(ds.dtype) is not None:
        return np.asarray(ds.asstr()[()], dtype=object)
    return np.asarray(ds[()])


def _read_group(group: h5py.Group | None) -> dict[str, np.ndarray]:
    if group is None:
        return {}
    return {name: _read(ds) for name, ds in group.items() if isinstance(ds, h5py.Dataset)}


def read_episode(demo: h5py.Group) -> Episode:
    """The demo group `demo` as an `Episode` (everything except next_obs, which the writer rebuilds)."""
    missing = [k for k in _REQUIRED if not isinstance(demo.get(k), h5py.Dataset)]
    if missing:
        raise DatasetError(f"{demo.file.filename}: {demo.name} lacks {', '.join(missing)}; run `validate` on it")
    obs = _read_group(demo.get(schema.OBS))
    final = {k: v[0] for k, v in _read_group(demo.get(schema.FINAL_OBS)).items()}
    if set(final) != set(obs):          # a file without final_obs: repeat the last observation
        final = {k: v[-1] for k, v in obs.items()}
    attrs = {k: v for k, v in demo.attrs.items() if k not in _WRITER_DEMO_ATTRS}
    return Episode(obs=obs, final_obs=final, actions=_read(demo[schema.ACTIONS]),
                   action_dict=_read_group(demo.get(schema.ACTION_DICT)),
                   rewards=_read(demo[schema.REWARDS]), dones=_read(demo[schema.DONES]),
                   states=_read(demo[schema.STATES]), operator=_read_group(demo.get(schema.OPERATOR)),
                   attrs=attrs)


def data_attrs(f: h5py.File) -> dict[str, Any]:
    """The /data attributes a new file should inherit (the writer owns total and schema_version)."""
    return {k: v for k, v in f[schema.DATA].attrs.items() if k not in _WRITER_DATA_ATTRS}


def write_episodes(out: str | Path, attrs: dict[str, Any], episodes: Iterable[Episode], *,
                   overwrite: bool = False) -> int:
    """Write `episodes` (in order) to a new file `out` as demo_0, demo_1, ...; return how many.

    All or nothing: the writer writes `<out>.partial`, which replaces `out` only once complete, so a failure
    (or a crash) never leaves a half-written `out` nor destroys the file `overwrite` would replace. One
    episode is in memory at a time, and the writer commits once, at close (`commit_every` is huge; every
    added episode is durable in its shard meanwhile). Keys are left unset, so the train/valid split is the
    writer's default hash of the new demo names; run `split` to redraw it.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise OutputPathError(f"{out} exists; pass --overwrite to replace it")
    tmp = out.with_name(f"{out.name}{PARTIAL_SUFFIX}")
    count = 0
    try:
        with DatasetWriter(tmp, attrs, overwrite=True, commit_every=2 ** 31) as writer:
            for episode in episodes:
                try:
                    writer.add(episode)
                except ValueError as e:
                    raise DatasetError(f"episode {count} cannot be written ({e})") from None
                count += 1
        _fsync(tmp)
        os.replace(tmp, out)
        _fsync(out.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return count


def check_output(out: str | Path, inputs: Iterable[str | Path]) -> Path:
    """Refuse an output that is one of the inputs (the writer would replace it before it is read)."""
    out = Path(out)
    for path in inputs:
        if out.resolve() == Path(path).resolve():
            raise DatasetError(f"{out} is also an input; write to a new file")
    return out
