"""tray_unloading: the layout follows the YAML, the success check is real, and the scripted operator walks
trays from the rack to the cart behind the robot with either robot."""
from __future__ import annotations

import numpy as np
import pytest

from robotschool.devices.scripted import ScriptedDevice
from robotschool.env import RobotEnv
from robotschool.recording import schema
from robotschool.rollout import run_episode

ONE_TRAY = ["trays.count=[1, 1]"]


@pytest.fixture(scope="module")
def env():
    e = RobotEnv("tray_unloading", cameras=[])
    yield e
    e.close()


def test_layout_is_randomised_within_the_yaml(env):
    c = env.config
    counts, carts = set(), []
    for seed in range(8):
        env.reset(seed=[0, seed])
        p = env.params
        counts.add(len(p["trays"]))
        near_edge = -p["cart"]["x"] - c.cart.top[0] / 2
        carts.append(near_edge)
        assert near_edge >= c.cart.distance[0] - 1e-9             # the cart is 2 m or more behind the robot
        slots = {(t["level"], t["side"]) for t in p["trays"]}
        assert len(slots) == len(p["trays"])                      # one tray per slot
        assert all(c.trays.mass[0] <= t["mass"] <= c.trays.mass[1] for t in p["trays"])
        # every tray starts on its shelf, sticking out over the front
        for i, body in enumerate(env.task.object_bodies):
            pos = np.array(env.world.p.getBasePositionAndOrientation(body)[0])
            assert pos[2] == pytest.approx(p["rack"]["levels"][p["trays"][i]["level"]], abs=0.01)
    assert counts <= set(range(c.trays.count[0], c.trays.count[1] + 1)) and len(counts) > 1
    assert np.ptp(carts) > 0.05


def test_success_needs_every_tray_resting_on_the_cart(env):
    env.reset(seed=[0, 1])
    assert not env.evaluate()["success"]
    p = env.world.p
    bodies = env.task.object_bodies
    for k, body in enumerate(bodies):
        place = env.task.cart_place(env.params, k)
        p.resetBasePositionAndOrientation(body, (place.pos + [0, 0, 0.002]).tolist(), place.quat.tolist())
        p.resetBaseVelocity(body, [0, 0, 0], [0, 0, 0])
    env.world.step(120)
    ev = env.evaluate()
    assert ev["success"] and ev["trays_on_cart"] == len(bodies)
    p.resetBasePositionAndOrientation(bodies[-1], [-1.0, 0.5, 0.02], [0, 0, 0, 1])   # one dropped on the floor
    env.world.step(60)
    ev = env.evaluate()
    assert not ev["success"] and ev["trays_on_cart"] == len(bodies) - 1


@pytest.mark.parametrize("robot, seed", [("humanoid", 0), ("wheeled_dual_arm", 1)])
def test_scripted_operator_carries_a_tray_to_the_cart_and_returns(robot, seed):
    env = RobotEnv("tray_unloading", robot=robot, overrides=ONE_TRAY, cameras=[])
    try:
        env.reset(seed=[0, seed])
        start = env.observe()[schema.OBS_BASE_POSE][:2].copy()
        result = run_episode(env, ScriptedDevice(env.make_oracle()), record=True)
        assert result.success
        ep = result.episode
        base = ep.obs[schema.OBS_BASE_POSE]
        assert base[:, 0].min() < -1.4                             # it walked over to the cart behind it
        np.testing.assert_allclose(base[-1, :2], start, atol=0.02)  # ... and came back
        phases = {p.decode() if isinstance(p, bytes) else str(p) for p in ep.operator["phase"]}
        assert {"walk_to_rack", "grasp", "walk_to_cart", "release", "return"} <= phases
    finally:
        env.close()


def test_object_obs_is_padded_trays_then_the_cart_then_the_rack(env):
    """One size in every episode (3 or 4 trays); the cart's place is observed (a policy must walk there), and
    the rack's front (how far the robot has backed out with a tray in its hands)."""
    sizes = set()
    for seed in range(4):
        obs = env.reset(seed=[0, seed])
        n = len(env.params["trays"])
        obj = obs[schema.OBS_OBJECT]
        sizes.add(obj.size)
        assert np.all(obj[7 * n:7 * env.config.trays.count[1]] == 0)           # padding after the real trays
        cart = env.params["cart"]                                              # robot starts at the origin
        assert np.allclose(obj[-14:-11], [cart["x"], cart["y"], env.config.cart.height], atol=1e-9)
        rack = env.params["rack"]
        reach_out = env.task.shelf_front(0) + env.config.rack.overhang
        front = [rack["x"] - np.cos(rack["yaw"]) * reach_out, rack["y"] - np.sin(rack["yaw"]) * reach_out]
        assert np.allclose(obj[-7:-4], [*front, rack["levels"][0]], atol=1e-9)
        lowest = min(env.task.tray_start(env.params, i).pos[0] for i in range(n))   # in front of every tray
        assert front[0] < lowest
    assert sizes == {7 * env.config.trays.count[1] + 14}
