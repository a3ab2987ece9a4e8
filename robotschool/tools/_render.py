"""Re-render camera frames of a recorded demo from its `states` (used by `video` and `rerender`).

Rendering does not touch physics, so `reset_to(states[t], scene_params)` then `render_camera` reproduces what
a camera saw at step t, at any camera or size, from the file alone (its `env_args`).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from robotschool.errors import DatasetError
from robotschool.replay import env_kwargs_of

SCENE_PARAMS = "scene_params"


def render_states(env_kwargs: dict[str, Any], states: np.ndarray, params: dict[str, Any],
                  cameras: list[str], size: int, depth: bool = False) -> dict[str, np.ndarray]:
    """{"<camera>_image": (T, size, size, 3) uint8, and "<camera>_depth" with `depth`} rendered at states."""
    from robotschool.env import RobotEnv
    from robotschool.recording import schema

    env = RobotEnv(env_kwargs["scene"], robot=env_kwargs.get("robot"),
                   overrides=env_kwargs.get("overrides", ()), cameras=[])
    out: dict[str, list[np.ndarray]] = {}
    with env:
        for state in states:
            env.reset_to(state, params)
            for cam in cameras:
                rgb, d = env.render_camera(cam, size, size, depth)
                out.setdefault(schema.OBS_IMAGE.format(camera=cam), []).append(rgb)
                if depth:
                    out.setdefault(schema.OBS_DEPTH.format(camera=cam), []).append(d)
    return {k: np.stack(v) for k, v in out.items()}


def demo_render_inputs(path: str | Path, data: Any, demo: Any) -> tuple[dict[str, Any], np.ndarray, dict]:
    """(env kwargs, states, scene params) of one demo, or a one-line DatasetError saying what is missing."""
    kwargs = env_kwargs_of(path, data)
    raw = demo.attrs.get(SCENE_PARAMS)
    if raw is None or "states" not in demo:
        raise DatasetError(f"{path}: {demo.name} has no states or {SCENE_PARAMS}, so it cannot be re-rendered")
    return kwargs, np.asarray(demo["states"][()]), json.loads(raw)
