"""Action playback: rebuild a recorded demo's scene from the file alone, replay its actions, compare states.

    report = replay_demo("data/parts_sorting.hdf5", 0)
    assert report.states_match and report.success_match

The env is rebuilt from the dataset's `env_args` (robomimic convention; `env_kwargs` holds scene, robot,
overrides, cameras, camera_size, depth), reset to the demo's first state with its `scene_params`, and
stepped with the recorded `actions`. Because `RobotEnv.step` is a pure function of (state, action), the
simulator state before every step must equal the recorded `states[t]` exactly; any difference means the
recording or the simulation is not deterministic. Cameras are left off: rendering does not touch physics.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from robotschool.errors import DatasetError
from robotschool.recording import schema


@dataclass(frozen=True)
class ReplayReport:
    demo: str                 # demo group name, e.g. demo_0
    steps: int                # actions replayed
    max_state_error: float    # max |state - recorded state| over every step and state entry
    states_match: bool        # every state bit-identical (np.array_equal)
    recorded_success: bool    # the demo's `success` attr
    replayed_success: bool    # env.evaluate()["success"] after the last replayed action
    success_match: bool       # recorded_success == replayed_success

    @property
    def ok(self) -> bool:
        return self.states_match and self.success_match


def demo_key(demo: int | str) -> str:
    """`3`, `"3"` or `"demo_3"` -> `"demo_3"`."""
    if isinstance(demo, (int, np.integer)) and not isinstance(demo, bool):
        return schema.demo_name(int(demo))
    text = str(demo).strip()
    if text.isdigit():
        return schema.demo_name(int(text))
    if text.startswith(schema.DEMO_PREFIX) and text[len(schema.DEMO_PREFIX):].isdigit():
        return text
    raise DatasetError(f"demo {demo!r}: expected a demo index such as 0 or a name such as demo_0")


def open_dataset(path: str | Path) -> h5py.File:
    """Open a dataset for reading, turning a missing or unreadable file into a one-line DatasetError."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise DatasetError(f"{path} is not a readable HDF5 file ({e})") from None
    if not isinstance(f.get(schema.DATA), h5py.Group):
        f.close()
        raise DatasetError(f"{path} has no /{schema.DATA} group, so it is not a robotschool dataset")
    return f


def env_kwargs_of(path: str | Path, data: h5py.Group) -> dict[str, Any]:
    raw = data.attrs.get(schema.ATTR_ENV_ARGS)
    if raw is None:
        raise DatasetError(f"{path}: /{schema.DATA} has no {schema.ATTR_ENV_ARGS} attribute, so its scene "
                           f"cannot be rebuilt")
    try:
        return dict(json.loads(raw)["env_kwargs"])
    except (ValueError, KeyError, TypeError) as e:
        raise DatasetError(f"{path}: /{schema.DATA} attr {schema.ATTR_ENV_ARGS} is not valid ({e})") from None


def replay_demo(path: str | Path, demo: int | str) -> ReplayReport:
    """Replay one demo's actions from its first recorded state and compare every state (see module doc)."""
    from robotschool.env import RobotEnv

    name = demo_key(demo)
    with open_dataset(path) as f:
        data = f[schema.DATA]
        if name not in data:
            demos = sorted((n for n in data if n.startswith(schema.DEMO_PREFIX)), key=schema.demo_index)
            shown = ", ".join(demos[:5]) + (", ..." if len(demos) > 5 else "") if demos else "none"
            raise DatasetError(f"{path} has no {name}; demos: {shown}")
        kwargs = env_kwargs_of(path, data)
        group = data[name]
        try:
            states = np.asarray(group[schema.STATES][()])
            actions = np.asarray(group[schema.ACTIONS][()])
            params = json.loads(group.attrs["scene_params"])
        except KeyError as e:
            raise DatasetError(f"{path}: {name} lacks {e.args[0] if e.args else e}, so it cannot be replayed") \
                from None
        recorded_success = bool(group.attrs.get(schema.ATTR_SUCCESS, False))

    env = RobotEnv(kwargs["scene"], robot=kwargs.get("robot"), overrides=kwargs.get("overrides", ()), cameras=[],
                   ik_budget=kwargs.get("ik_budget"))        # teleop demos: the live IK budget they were made with
    with env:
        env.reset_to(states[0], params)
        err = 0.0
        equal = True
        for t in range(actions.shape[0]):
            state = env.world.get_state()
            if state.shape != states[t].shape:
                raise DatasetError(f"{path}: {name} states have {states.shape[1]} entries, the rebuilt scene "
                                   f"has {state.shape[0]}; the scene or robot files changed since recording")
            equal = equal and bool(np.array_equal(state, states[t]))
            err = max(err, float(np.max(np.abs(state - states[t]), initial=0.0)))
            env.step(actions[t])
        replayed_success = bool(env.evaluate()["success"])
    return ReplayReport(name, int(actions.shape[0]), err, equal, recorded_success, replayed_success,
                        recorded_success == replayed_success)
