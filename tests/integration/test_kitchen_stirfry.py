"""kitchen_stirfry: layout randomisation, the observed cooking state, the heat model in the physics (a slice left
still burns, a slice flipped in time cooks both sides), the success check, exact replay of the cooking state, and
the scripted operator on a few seeds per robot.

The full success rate over 50 seeds is measured by scripts/eval_oracles.py (quoted in the README); the suite runs
short episodes (fewer slices, shorter cooking via overrides) to stay fast.
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

FAST = ["heat.cook_time_s=1.0"]          # a side cooks in about a second: heat tests need little simulated time


@pytest.fixture(scope="module")
def env():
    with RobotEnv("kitchen_stirfry", overrides=FAST) as e:
        yield e


def _cook(env: RobotEnv, seconds: float) -> None:
    """Let the wok cook with nobody touching anything: physics plus the heat update of every control tick."""
    for _ in range(int(round(seconds / env.control_dt))):
        env.world.step(env.substeps)
        env.task.after_control_tick(env.world, env.control_dt)


def _turn_over(env: RobotEnv, body: int) -> None:
    """Flip a slice in place (what a good spatula flip does), at rest."""
    p = env.world.p
    pos, orn = p.getBasePositionAndOrientation(body)
    flipped = geometry.quat_multiply(np.asarray(orn), [1.0, 0.0, 0.0, 0.0])      # 180 deg about its own x
    p.resetBasePositionAndOrientation(body, [pos[0], pos[1], pos[2] + 0.002], flipped.tolist())
    p.resetBaseVelocity(body, [0, 0, 0], [0, 0, 0])


def test_layout_and_materials_are_randomised_within_the_yaml(env):
    c = env.config
    a = env.task.sample_params(np.random.default_rng([0, 1]))
    assert a == env.task.sample_params(np.random.default_rng([0, 1]))       # same seed, same scene
    draws = [env.task.sample_params(np.random.default_rng([0, i])) for i in range(30)]
    pieces = [pc for d in draws for pc in d["pieces"]]
    assert all(len(d["pieces"]) == c.pieces.count >= 6 for d in draws)
    for key, (lo, hi) in (("mass", c.pieces.mass), ("friction", c.pieces.friction), ("stiffness", c.pieces.stiffness)):
        vals = [pc[key] for pc in pieces]
        assert lo <= min(vals) < max(vals) <= hi, key
    sides = [s for pc in pieces for s in pc["size"][:2]]
    assert c.pieces.side[0] <= min(sides) < max(sides) <= c.pieces.side[1]
    assert all(c.pieces.thickness[0] <= pc["size"][2] <= c.pieces.thickness[1] for pc in pieces)
    oil = [d["oil_temp_c"] for d in draws]
    assert c.heat.oil_temp_c[0] <= min(oil) < max(oil) <= c.heat.oil_temp_c[1]
    assert len({round(d["wok"]["x"], 6) for d in draws}) == 30
    assert env.task.instruction(a) == "stir-fry the food: cook every piece on both sides without burning it"


def test_the_blade_under_one_slice_clears_its_neighbours(env):
    """A flip must not lift the slices beside it (a nudged or turned neighbour is then missed and burns): in
    every sampled row, the blade centred square under a slice stays clear of its neighbours' footprints."""
    c = env.config
    half_blade = c.spatula.blade[1] / 2
    for i in range(30):
        pieces = env.task.sample_params(np.random.default_rng([0, i]))["pieces"]
        for k, pc in enumerate(pieces):
            yaw = pc["yaw"] + round(-pc["yaw"] / (math.pi / 2)) * math.pi / 2     # the edge square to the robot
            side = np.array([-math.sin(yaw), math.cos(yaw)])                     # across the blade
            for nb in pieces[max(0, k - 1):k + 2]:
                if nb is pc:
                    continue
                rot = geometry.axis_angle_matrix([0, 0, 1], nb["yaw"])[:2, :2]
                corners = [np.array([nb["x"], nb["y"]]) + rot @ (np.array([sx, sy]) * nb["size"][:2] / 2)
                           for sx in (-1, 1) for sy in (-1, 1)]
                gap = min(abs(float(np.dot(cn - [pc["x"], pc["y"]], side))) for cn in corners) - half_blade
                assert gap > 0.002, (i, k, gap)


def test_cooking_state_is_observed_with_a_fixed_size(env):
    obs = env.reset(seed=[0, 2])
    n = len(env.params["pieces"])
    assert obs[schema.OBS_OBJECT].shape == (7 * n + 14 + 3 * n,)
    assert np.all(obs[schema.OBS_OBJECT][7 * (n + 2):] == 0.0)               # nothing cooked yet
    _cook(env, 0.5)
    cooking = env.observe()[schema.OBS_OBJECT][7 * (n + 2):].reshape(n, 3)
    assert np.all(cooking[:, 0] > 0.2) and np.all(cooking[:, 1] == 0.0)      # the undersides (side A) cook
    assert np.array_equal(cooking[:, :2], env.task.heat.model.cooking)


def test_a_slice_left_still_burns_and_one_flipped_in_time_cooks_both_sides(env):
    env.reset(seed=[0, 3])
    settings = env.task.heat.model.settings
    rates = env.task.heat.model.rates
    pieces = env.task.pieces
    _cook(env, 1.4 / rates.min())                     # every slice's underside is done (>= 1.4), none burnt
    model = env.task.heat.model
    assert np.all(model.cooking[:, 0] >= settings.cooked) and not np.any(model.burnt())
    for body in pieces[1:]:                           # flip all but slice 0, in time
        _turn_over(env, body)
    _cook(env, 1.4 / rates.min())
    ev = env.evaluate()
    assert np.all(model.cooking[1:].min(axis=1) >= settings.cooked)           # flipped: both sides cooked
    assert not np.any(model.burnt()[1:]) and model.cooking[0, 1] == 0.0
    assert model.burnt()[0] or model.cooking[0, 0] > 2.5                     # left still: on its way to burnt
    _cook(env, 1.0 / rates[0])
    assert model.burnt()[0] and not np.any(model.burnt()[1:])
    ev = env.evaluate()
    assert not ev["success"] and ev["burnt"] == 1 and ev["cooked"] == len(pieces) - 1


def test_success_needs_every_slice_cooked_unburnt_and_in_the_wok(env):
    env.reset(seed=[0, 4])
    rates = env.task.heat.model.rates
    assert not env.evaluate()["success"]
    _cook(env, 1.2 / rates.min())
    for body in env.task.pieces:
        _turn_over(env, body)
    _cook(env, 1.2 / rates.min())
    assert env.evaluate()["success"]
    state = env.world.get_state()

    # the cooking state is simulation state: restored exactly, success without stepping
    env.reset(seed=[0, 4])
    assert not env.evaluate()["success"]
    env.reset_to(state, env.params)
    assert env.evaluate()["success"]
    assert np.array_equal(env.world.get_state(), state)

    # one slice on the counter beside the stove: out of the wok, not success
    p = env.world.p
    wok = env.params["wok"]
    body = env.task.pieces[0]
    _, orn = p.getBasePositionAndOrientation(body)
    p.resetBasePositionAndOrientation(body, [wok["x"], wok["y"] - 0.40, env.params["counter"]["height"] + 0.01], orn)
    ev = env.evaluate()
    assert not ev["success"] and ev["out_of_wok"] == 1


def test_replay_from_the_recorded_first_state_cooks_identically(env):
    env.reset(seed=[0, 5])
    first = env.world.get_state()
    _cook(env, 0.5)
    after = env.world.get_state()
    exts = env.world.extensions                     # the cooking is a World state extension
    k = env.world.state_size - sum(e.state_size for e in exts)
    k += sum(e.state_size for e in exts[:exts.index(env.task.heat)])
    heat = after[k:k + env.task.heat.state_size]
    assert np.array_equal(heat, env.task.heat.model.get_state()) and np.all(heat[::2] > 0.0)
    env.reset_to(first, env.params)
    assert np.all(env.task.heat.model.cooking == 0.0)
    _cook(env, 0.5)
    assert np.array_equal(env.world.get_state(), after)


@pytest.mark.parametrize("robot,seed", [("humanoid", [0, 0]), ("wheeled_dual_arm", [0, 1])])
def test_oracle_flips_every_slice_and_cooks_it(robot, seed):
    with RobotEnv("kitchen_stirfry", robot=robot, overrides=["pieces.count=2", "heat.cook_time_s=3.0"]) as env:
        env.reset(seed=seed)
        result = run_episode(env, ScriptedDevice(env.make_oracle()), record=True)
        ev = env.evaluate()
        assert result.success, f"{robot} {seed}: {ev} {env.task.heat.model.cooking.tolist()}"
        assert ev["burnt"] == 0 and ev["out_of_wok"] == 0
        phases = {str(p) for p in result.episode.operator["phase"]}
        assert {"grasp_spatula", "stir", "flip", "return_spatula"} <= phases, phases
        for body in env.task.pieces:                 # every slice lies on its other side now
            assert geometry.quat_to_matrix(env.world.p.getBasePositionAndOrientation(body)[1])[2, 2] < -0.9
        assert result.steps * env.control_dt < env.config.horizon_s
        assert not math.isnan(float(result.episode.actions.sum()))


def test_same_seed_same_episode_and_action_playback_reproduces_the_cooking():
    with RobotEnv("kitchen_stirfry", robot="wheeled_dual_arm", overrides=["pieces.count=1", "heat.cook_time_s=2.0"]) as env:
        env.reset(seed=[1, 2])
        a = run_episode(env, ScriptedDevice(env.make_oracle()), record=True).episode
        env.reset(seed=[1, 2])
        b = run_episode(env, ScriptedDevice(env.make_oracle()), record=True).episode
        assert a.attrs["success"] and np.array_equal(a.actions, b.actions) and np.array_equal(a.states, b.states)
        assert np.array_equal(a.obs[schema.OBS_OBJECT], b.obs[schema.OBS_OBJECT])
        env.reset_to(a.states[0], env.params)        # replay: the recorded actions reproduce every state
        for t, action in enumerate(a.actions):
            if t:
                assert np.array_equal(env.world.get_state(), a.states[t]), f"state differs at step {t}"
            env.step(action)
        assert env.evaluate()["success"]
