"""Appearance randomisation (scene YAML `appearance:`): drawn per seed, stored, rendered, and physics-neutral.

Real PyBullet, one part, a 32 px head camera. The same env is reset to seeds and compared with an env whose
appearance is switched off with --set overrides: the layout draws, the simulator states and the oracle's
actions must not move by a bit, while colours, light and camera pose (hence images) do.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from robotschool.devices.scripted import ScriptedDevice
from robotschool.env import RobotEnv
from robotschool.errors import ConfigError
from robotschool.registry import SCENES, load_builtins
from robotschool.rollout import run_episode
from robotschool.sim.appearance import PARAMS_KEY
from robotschool.tasks.base import Task

load_builtins()
ON = ["appearance.object_color=0.2", "appearance.light_direction=[0,0,1]", "appearance.camera_position=0.01",
      "appearance.camera_rotation=0.02"]

ONE_PART = ["parts.count=1"]
OFF = ["appearance.object_color=0", "appearance.light_direction=null", "appearance.camera_position=0",
       "appearance.camera_rotation=0"]
STEPS = 10


def _env(*overrides: str) -> RobotEnv:
    return RobotEnv("parts_sorting", overrides=[*ONE_PART, *overrides], cameras=["head"], camera_size=32)


@pytest.fixture(scope="module")
def env():
    e = _env()
    yield e
    e.close()


@pytest.fixture(scope="module")
def env_off():
    e = _env(*OFF)
    yield e
    e.close()


def _run(env: RobotEnv, seed: list[int]) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray, list[tuple]]:
    """Reset, then STEPS steps of the scripted operator through the real control loop:
    (scene_params as stored, head images, states, actions, every object's visual colours)."""
    env.reset(seed=seed)
    params = json.loads(json.dumps(env.params))
    colours = [tuple(s[7]) for b in env.task.object_bodies for s in env.world.p.getVisualShapeData(b)]
    ep = run_episode(env, ScriptedDevice(env.make_oracle()), max_steps=STEPS).episode
    return params, np.asarray(ep.obs["head_image"]), np.asarray(ep.states), np.asarray(ep.actions), colours


def test_same_seed_same_appearance_and_images_other_seed_differs(env: RobotEnv):
    p0, img0, states0, _, col0 = _run(env, [0, 0])
    p1, img1, _, _, col1 = _run(env, [0, 1])
    q0, jmg0, again0, _, kol0 = _run(env, [0, 0])
    drawn0, drawn1 = p0[PARAMS_KEY], p1[PARAMS_KEY]
    assert set(drawn0) == {"object_rgb_scale", "light", "camera"}
    assert drawn0 != drawn1
    for key in ("object_rgb_scale", "light", "camera"):
        assert drawn0[key] != drawn1[key], key
    assert q0 == p0 and kol0 == col0
    assert jmg0.tobytes() == img0.tobytes() and again0.tobytes() == states0.tobytes()
    assert col0 != col1 and img0.tobytes() != img1.tobytes()


def test_appearance_never_touches_physics_or_layout(env: RobotEnv, env_off: RobotEnv):
    on = _run(env, [3, 7])
    off = _run(env_off, [3, 7])
    params_on, params_off = dict(on[0]), off[0]
    assert PARAMS_KEY not in params_off
    drawn = params_on.pop(PARAMS_KEY)
    assert params_on == params_off                        # the layout, masses, frictions: the same draws
    assert on[2].tobytes() == off[2].tobytes()            # simulator states, bit for bit
    assert on[3].tobytes() == off[3].tobytes()            # the oracle's actions (its rng stream unshifted)
    assert on[1].tobytes() != off[1].tobytes()            # ... while the images differ
    base = [np.asarray(c[:3]) for c in off[4]]
    scale = np.asarray(drawn["object_rgb_scale"][0])
    for got, want in zip(on[4], base):
        np.testing.assert_allclose(got[:3], np.clip(want * scale, 0, 1), atol=1e-6)


def test_replay_from_stored_params_rerenders_the_same_images(env: RobotEnv):
    params, img, states, actions, _ = _run(env, [1, 2])
    env.reset(seed=[9, 9])                                # another episode in between
    obs = env.reset_to(states[0], params)
    assert obs["head_image"].tobytes() == img[0].tobytes()
    env.step(actions[0])
    assert env.world.get_state().tobytes() == states[1].tobytes()


@pytest.mark.parametrize("scene", SCENES.names())
def test_every_scene_inherits_appearance_without_physics_change(scene: str):
    """Every registered station gets the generic draws (it implements sample_scene/build_scene, not the
    generic sample_params/build), and switching them on changes neither its layout draws nor its state."""
    task_cls = SCENES.get(scene)
    assert task_cls.sample_params is Task.sample_params and task_cls.build is Task.build, \
        f"{task_cls.__name__} must implement sample_scene/build_scene so that it inherits the appearance draws"
    with RobotEnv(scene, overrides=ON, cameras=[]) as on, RobotEnv(scene, overrides=OFF, cameras=[]) as off:
        on.reset(seed=[5, 1])
        off.reset(seed=[5, 1])
        params = dict(on.params)
        drawn = params.pop(PARAMS_KEY)
        assert set(drawn) == {"object_rgb_scale", "light", "camera"} and params == off.params
        assert len(drawn["object_rgb_scale"]) == on.task.object_count(on.params) >= 1
        assert on.world.get_state().tobytes() == off.world.get_state().tobytes()


@pytest.mark.parametrize("override, needle", [
    ("appearance.object_color=1.5", "above the maximum"),
    ("appearance.ambient=[0.9,0.1]", "not a range"),
    ("appearance.light_direction=[1,2]", "expected 3 items"),
    ("appearance.light_direction=[0,0,0]", "no direction"),
    ("appearance.colour=0.1", "unknown key"),
])
def test_bad_appearance_keys_are_one_line_errors(override: str, needle: str):
    with pytest.raises(ConfigError, match="appearance") as exc:
        RobotEnv("parts_sorting", overrides=[override], cameras=[])
    assert needle in str(exc.value) and "\n" not in str(exc.value)
