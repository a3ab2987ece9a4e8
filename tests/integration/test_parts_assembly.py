"""parts_assembly: the success check, the scripted operator on a few seeds, determinism and operator variety.

The full success rate over 50 seeds is measured by scripts/eval_oracles.py (quoted in the README); the suite
runs a handful of short episodes (~6 s simulated each) to stay fast.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from robotschool import geometry
from robotschool.devices.scripted import ScriptedDevice
from robotschool.env import RobotEnv
from robotschool.recording import schema
from robotschool.rollout import run_episode


@pytest.fixture(scope="module")
def env():
    with RobotEnv("parts_assembly") as e:
        yield e


def _phases(episode) -> list[str]:
    return [str(p) for p in episode.operator["phase"]]


@pytest.mark.parametrize("robot,seed", [("humanoid", [0, 0]), ("wheeled_dual_arm", [3, 7])])
def test_oracle_mounts_the_gear_on_the_target_shaft(robot, seed):
    with RobotEnv("parts_assembly", robot=robot) as env:
        _mount_and_check(env, seed)


def _mount_and_check(env: RobotEnv, seed) -> None:
    env.reset(seed=seed)
    assert not env.evaluate()["success"]                     # the gear starts on the bench
    result = run_episode(env, ScriptedDevice(env.make_oracle()), record=True)
    assert result.success, f"seed {seed}: {env.task.seating(env.world)}"
    s = env.task.seating(env.world)
    assert s["tilt"] < env.config.success.max_tilt and abs(s["height"]) < env.config.success.depth_tolerance
    assert s["offset"] < env.config.gear.bore / 2             # the shaft runs through the bore
    assert result.steps * env.control_dt < 20.0               # short episodes
    phases = _phases(result.episode)
    for label in ("approach", "grasp", "carry", "align", "insert", "release", "retreat"):
        assert any(label in p for p in phases), f"no {label!r} phase in {sorted(set(phases))}"


def _seat(env, shaft: int, drop: float = 0.0) -> None:
    """Teleport the gear onto shaft `shaft`, `drop` metres above its seat, level, at rest."""
    p = env.world.p
    xy = env.task.shaft_world(env.params, shaft)
    z = env.task.seated_z(env.params) + drop
    p.resetBasePositionAndOrientation(env.task.object_bodies[0], [xy[0], xy[1], z], geometry.yaw_quat(0.3).tolist())
    p.resetBaseVelocity(env.task.object_bodies[0], [0, 0, 0], [0, 0, 0])


def test_success_needs_the_gear_seated_on_the_target_shaft(env):
    env.reset(seed=[0, 1])
    params = env.params
    target = params["fixture"]["shaft"]
    assert not env.evaluate()["success"]                      # lying on the bench is not success

    _seat(env, 1 - target, drop=0.01)                         # on the other shaft: not success
    env.world.step(240)
    assert abs(env.task.seating(env.world)["height"]) < 0.002  # it did slide down that shaft onto its collar
    assert not env.evaluate()["success"]

    _seat(env, target, drop=0.015)                            # dropped onto the target shaft: slides down, seats
    env.world.step(240)
    assert env.evaluate()["success"]
    state = env.world.get_state()

    # a seated gear restored by reset_to is success without any stepping
    env.reset(seed=[0, 1])
    assert not env.evaluate()["success"]
    env.reset_to(state, params)
    assert env.evaluate()["success"]

    # resting on top of the shaft (not on it) is not success: put it across the shaft tip, tilted
    p = env.world.p
    xy = env.task.shaft_world(params)
    top = params["bench"]["height"] + env.task.geometry(params).shaft_top
    p.resetBasePositionAndOrientation(env.task.object_bodies[0], [xy[0] + 0.03, xy[1], top + 0.006],
                                      geometry.yaw_quat(0.0).tolist())
    assert not env.evaluate()["success"]


def test_clearance_and_shaft_follow_the_scene_parameters(env):
    a = env.task.sample_params(np.random.default_rng([0, 1]))
    b = env.task.sample_params(np.random.default_rng([0, 1]))
    assert a == b
    draws = [env.task.sample_params(np.random.default_rng([0, i])) for i in range(40)]
    lo, hi = env.config.fixture.radial_clearance
    assert all(lo <= d["fixture"]["clearance"] <= hi for d in draws)
    assert {d["fixture"]["shaft"] for d in draws} == {0, 1}
    assert len({math.copysign(1, d["fixture"]["y"]) for d in draws}) == 2   # both sides
    geo = env.task.geometry(a)
    assert geo.shaft_radius == pytest.approx(env.config.gear.bore / 2 - a["fixture"]["clearance"])
    names = {env.task.instruction(d) for d in draws}
    assert names == {f"pick up the gear and mount it on the {n} shaft of the fixture" for n in ("left", "right")}


def test_same_seed_gives_identical_episodes_and_operators_vary(env):
    runs = []
    for _ in range(2):
        env.reset(seed=[2, 4])
        runs.append(run_episode(env, ScriptedDevice(env.make_oracle()), record=True).episode)
    a, b = runs
    assert np.array_equal(a.actions, b.actions) and np.array_equal(a.states, b.states)
    params = env.params

    # action playback: from the first recorded state, the recorded actions reproduce every state exactly
    env.reset_to(a.states[0], params)
    for t, action in enumerate(a.actions):
        if t:
            assert np.array_equal(env.world.get_state(), a.states[t]), f"state differs at step {t}"
        env.step(action)
    assert env.evaluate()["success"]

    # the same scene driven by an operator with another episode's style: another trajectory, same outcome
    env.reset(seed=[2, 4])
    other = env.task.make_oracle(env.params, np.random.default_rng([9, 9]), env.reach_check)
    c = run_episode(env, ScriptedDevice(other), record=True)
    assert c.success and a.attrs["success"]
    n = min(a.num_samples, c.episode.num_samples)
    tcp = schema.OBS_EEF_POS.format(arm="left")
    path_gap = max(np.abs(a.obs[tcp][:n] - c.episode.obs[tcp][:n]).max(),
                   np.abs(a.obs[schema.OBS_EEF_POS.format(arm="right")][:n]
                          - c.episode.obs[schema.OBS_EEF_POS.format(arm="right")][:n]).max())
    assert path_gap > 0.01                                    # hands a centimetre or more apart somewhere
    assert not np.array_equal(a.actions[:n], c.episode.actions[:n])
