"""parts_sorting: randomisation, the success check, and the scripted operator on a few seeds.

The full success rate over 50 seeds is measured by scripts/eval_oracles.py (quoted in the README); the
suite runs a handful of seeds to stay fast.
"""
from __future__ import annotations

import numpy as np
import pytest

from robotschool.devices.scripted import ScriptedDevice
from robotschool.env import RobotEnv
from robotschool.rollout import run_episode
from robotschool.sim.parts import PARTS


@pytest.mark.parametrize("seed", [[0, 0], [1, 5], [7, 3]])
def test_oracle_sorts_two_parts(seed):
    with RobotEnv("parts_sorting", overrides=["parts.count=2"]) as env:
        env.reset(seed=seed)
        result = run_episode(env, ScriptedDevice(env.make_oracle()), record=False)
        assert result.success, f"seed {seed}: progress {result.info['progress']}"


def test_oracle_sorts_the_full_six_part_tote():
    with RobotEnv("parts_sorting") as env:
        env.reset(seed=[0, 0])
        assert len(env.task.object_bodies) == 6
        assert len({p["type"] for p in env.params["parts"]}) >= 3
        result = run_episode(env, ScriptedDevice(env.make_oracle()), record=False)
        assert result.success, f"progress {result.info['progress']}"


def test_success_needs_every_part_in_its_own_bin():
    with RobotEnv("parts_sorting", overrides=["parts.count=2"]) as env:
        env.reset(seed=[0, 0])
        assert not env.evaluate()["success"]               # parts start in the tote
        p = env.world.p
        kinds = [q["type"] for q in env.params["parts"]]
        floor = env.params["bench"]["height"] + env.config.bins.wall
        for body, kind in zip(env.task.object_bodies, kinds):   # teleport each part into its bin
            spot = env.params["bins"][kind]
            p.resetBasePositionAndOrientation(body, [spot["x"], spot["y"], floor + 0.03], PARTS[kind].rest_quat)
        env.world.invalidate_layout()
        env.world.step(240)
        assert env.evaluate()["success"]
        wrong = env.params["bins"][kinds[1]] if kinds[1] != kinds[0] else None
        if wrong is not None:   # the first part in the second part's bin: not sorted
            p.resetBasePositionAndOrientation(env.task.object_bodies[0], [wrong["x"] + 0.03, wrong["y"], floor + 0.03],
                                              PARTS[kinds[0]].rest_quat)
            env.world.step(240)
            assert not env.evaluate()["success"]


def test_randomisation_depends_only_on_the_seed():
    with RobotEnv("parts_sorting") as env:
        a = env.task.sample_params(np.random.default_rng([0, 1]))
        b = env.task.sample_params(np.random.default_rng([0, 1]))
        c = env.task.sample_params(np.random.default_rng([0, 2]))
    assert a == b and a != c
    types = [p["type"] for p in a["parts"]]
    assert len(types) == 6 and set(types) == {"bolt", "nut", "gear", "bracket"}   # every type before repeats
    masses = [p["mass"] for p in a["parts"]]
    assert all(0.8 * PARTS[t].default_mass <= m <= 1.2 * PARTS[t].default_mass for t, m in zip(types, masses))


def test_parts_count_override_gives_a_single_pick():
    with RobotEnv("parts_sorting", overrides=["parts.count=1"]) as env:
        env.reset(seed=[0, 0])
        assert len(env.task.object_bodies) == 1
        obj = env.observe()["object"]
        assert obj.shape == (7 + 4,)                  # one pose, then the type one-hot over the 4 types
        kind = env.task._params["parts"][0]["type"]
        assert obj[7 + ["bolt", "nut", "gear", "bracket"].index(kind)] == 1.0 and obj[7:].sum() == 1.0
