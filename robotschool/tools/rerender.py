"""Rebuild a dataset's image observations from `states` at other cameras or another size, into a new file.

Every demo is re-added through `DatasetWriter` (see `_episode_io.py`) with its `<camera>_image` (and
`_depth`) observations replaced: existing image/depth keys are dropped and the requested cameras rendered,
including `final_obs` (rendered from the state after the last action is not recorded, so the final frame
repeats the last rendered one; `next_obs[T-1]` of image keys is therefore approximate). `env_args` is
updated to the new cameras and size. With `workers > 1`, demos are rendered in a process pool (one
PyBullet world per process), and written in order by this process.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robotschool.data.stats import demo_names, open_dataset_file
from robotschool.errors import DatasetError
from robotschool.recording import schema
from robotschool.recording.episode import Episode
from robotschool.tools._episode_io import check_output, data_attrs, read_episode, write_episodes
from robotschool.tools._render import demo_render_inputs, render_states


@dataclass(frozen=True)
class RerenderResult:
    out: Path
    num_demos: int
    cameras: list[str]
    size: int


def _render_job(args: tuple[dict[str, Any], np.ndarray, dict, list[str], int, bool]) -> dict[str, np.ndarray]:
    return render_states(*args)


def rerender(path: str | Path, out: str | Path, cameras: Sequence[str], size: int, workers: int = 1,
             depth: bool = False, overwrite: bool = False) -> RerenderResult:
    """Write `out`: `path` with image observations re-rendered from states (see the module doc)."""
    cameras = list(cameras)
    if not cameras:
        raise DatasetError("rerender needs at least one camera")
    if not 8 <= size <= 1024:
        raise DatasetError(f"camera size {size} is out of range; use 8 to 1024 pixels")
    out = check_output(out, [path])
    with open_dataset_file(path) as f:
        data = f[schema.DATA]
        names = demo_names(f)
        jobs = [(*demo_render_inputs(path, data, data[n]), cameras, size, depth) for n in names]
        attrs = data_attrs(f)
        env_args = json.loads(attrs[schema.ATTR_ENV_ARGS])
        env_args["env_kwargs"].update(cameras=cameras, camera_size=size, depth=depth)
        attrs[schema.ATTR_ENV_ARGS] = json.dumps(env_args)
        pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
        try:
            images = pool.map(_render_job, jobs) if pool else map(_render_job, jobs)
            episodes = (_with_images(read_episode(data[n]), frames) for n, frames in zip(names, images))
            write_episodes(out, attrs, episodes, overwrite=overwrite)
        finally:
            if pool:
                pool.shutdown(cancel_futures=True)
    return RerenderResult(out, len(names), cameras, size)


def _with_images(episode: Episode, frames: dict[str, np.ndarray]) -> Episode:
    """`episode` with its image/depth observations replaced by `frames` (final_obs repeats the last frame)."""
    for group in (episode.obs, episode.final_obs):
        for key in [k for k in group if schema.is_image_key(k) or schema.is_depth_key(k)]:
            del group[key]
    episode.obs.update(frames)
    episode.final_obs.update({k: v[-1] for k, v in frames.items()})
    return episode
