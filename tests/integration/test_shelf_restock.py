"""shelf_restock: the layout follows the YAML, the success check is real, gap detection from the head camera's
depth image finds the empty slots (precision and recall over many random layouts), and the scripted operator
restocks with either robot."""
from __future__ import annotations

import numpy as np
import pytest

from robotschool.devices.scripted import ScriptedDevice
from robotschool.env import RobotEnv
from robotschool.errors import RobotschoolError
from robotschool.recording import schema
from robotschool.rollout import ControlLoop, run_episode
from robotschool.tasks.shelf_restock.gaps import slot_occupancy
from robotschool.tasks.shelf_restock.shelf import goods_height, shelf_to_world
from robotschool.types import Pose

NO_SETTLE = ["settle_s=0"]             # layouts for the detector need no settling: goods start 1 mm above boards
ONE_GAP = ["gaps.count=[1, 1]", "basket.extra=[1, 1]"]


@pytest.fixture(scope="module")
def env():
    e = RobotEnv("shelf_restock", cameras=[])
    yield e
    e.close()


def _height(task, item) -> float:
    return goods_height(task.config.categories[item["category"]].shape, item["size"])


def test_layout_is_randomised_within_the_yaml(env):
    c = env.config
    n_slots = len(c.shelf.levels) * c.shelf.columns
    counts, yaws, obs_sizes = set(), [], set()
    for seed in range(8):
        obs = env.reset(seed=[0, seed])
        p = env.params
        gaps = p["gaps"]
        counts.add(len(gaps))
        yaws.append(p["shelf"]["yaw"])
        obs_sizes.add(obs[schema.OBS_OBJECT].size)
        rows = obs[schema.OBS_OBJECT].reshape(-1, 7)[2 + env.task.max_basket:]
        slots, goal = rows[:n_slots], rows[n_slots:]
        assert [k for k in range(n_slots) if not slots[k].any()] == gaps     # entry k is slot k's item
        assert len(goal) == c.gaps.count[1] and not goal[len(gaps):].any()   # the goal: each gap's centre
        b = obs[schema.OBS_BASE_POSE]
        for k, entry in zip(gaps, goal):
            centre = shelf_to_world(env.task.shelf_pose(p), env.task.geometry(p).slot_centre(k))
            assert np.allclose(Pose(b[:3], b[3:]).inverse().compose(Pose(centre, [0, 0, 0, 1])).pos, entry[:3],
                               atol=1e-5)
        assert c.gaps.count[0] <= len(gaps) <= c.gaps.count[1]
        assert set(p["planogram"]) == set(c.categories)                  # every category has a slot
        assert sorted(g["slot"] for g in p["goods"]) == sorted(set(range(n_slots)) - set(gaps))
        basket = [b["category"] for b in p["basket"]]
        for k in gaps:                                                   # a replacement for every gap
            assert p["planogram"][k] in basket
        assert len(basket) - len(gaps) <= c.basket.extra[1]
        for item in p["goods"] + p["basket"]:
            for v, (lo, hi) in zip(item["size"], c.categories[item["category"]].size):
                assert lo <= v <= hi
        # every shelved item stands on its own slot's board
        geo = env.task.geometry(p)
        for body, item in zip(env.task.shelved, p["goods"]):
            pos = np.array(env.world.p.getBasePositionAndOrientation(body)[0])
            slot = shelf_to_world(env.task.shelf_pose(p), geo.slot_centre(item["slot"]))
            assert np.linalg.norm(pos[:2] - slot[:2]) < 0.02
            assert pos[2] - _height(env.task, item) / 2 == pytest.approx(slot[2], abs=0.005)
    assert len(counts) > 1 and np.ptp(yaws) > 0.05
    assert len(obs_sizes) == 1                                           # fixed-size object observation


def _fill_gaps(env) -> None:
    """Put a matching basket item upright into every gap (what a perfect operator leaves behind)."""
    p, w = env.params, env.world.p
    used = set()
    geo = env.task.geometry(p)
    pose = env.task.shelf_pose(p)
    for k in p["gaps"]:
        j = next(j for j, b in enumerate(p["basket"]) if b["category"] == p["planogram"][k] and j not in used)
        used.add(j)
        centre = geo.slot_centre(k) + np.array([0.0, 0.0, _height(env.task, p["basket"][j]) / 2 + 0.002])
        quat = [0.0, 0.0, np.sin(pose[2] / 2), np.cos(pose[2] / 2)]
        w.resetBasePositionAndOrientation(env.task.basket_items[j], shelf_to_world(pose, centre).tolist(), quat)
        w.resetBaseVelocity(env.task.basket_items[j], [0, 0, 0], [0, 0, 0])


def test_success_needs_every_gap_filled_with_its_category_and_nothing_knocked_off(env):
    env.reset(seed=[0, 2])
    ev = env.evaluate()
    assert not ev["success"] and ev["gaps_filled"] == 0 and ev["goods_disturbed"] == 0
    _fill_gaps(env)
    env.world.step(60)
    ev = env.evaluate()
    assert ev["success"] and ev["gaps_filled"] == ev["gaps"] == len(env.params["gaps"])
    w = env.world.p
    first = env.task.shelved[0]
    pos, orn = w.getBasePositionAndOrientation(first)
    w.resetBasePositionAndOrientation(first, [pos[0], pos[1], 0.3], orn)      # knocked down to the floor
    env.world.step(60)
    ev = env.evaluate()
    assert not ev["success"] and ev["goods_disturbed"] == 1 and ev["progress"] == 0.0
    # a filled item lying on its side does not count
    env.reset(seed=[0, 2])
    _fill_gaps(env)
    body = env.task.basket_items[[b["category"] for b in env.params["basket"]].index(
        env.params["planogram"][env.params["gaps"][0]])]
    pos, _ = w.getBasePositionAndOrientation(body)
    w.resetBasePositionAndOrientation(body, pos, [0.7071068, 0.0, 0.0, 0.7071068])
    env.world.step(60)
    ev = env.evaluate()
    assert not ev["success"] and ev["gaps_filled"] == len(env.params["gaps"]) - 1


def test_gap_detection_from_head_depth_has_95_percent_precision_and_recall():
    """60 random layouts (30 per robot, each robot's own head camera): the detector sees only the depth
    image, the camera pose from the kinematics and the planogram; the truth comes from the scene params."""
    tp = fp = fn = 0
    for robot in ("humanoid", "wheeled_dual_arm"):
        e = RobotEnv("shelf_restock", robot=robot, cameras=[], overrides=NO_SETTLE)
        try:
            for i in range(30):
                obs = e.reset(seed=[7, i])
                row = obs[schema.OBS_OBJECT][:7]
                before = e.world.get_state()
                view = e.look("head", *e.config.oracle.image)
                np.testing.assert_array_equal(e.world.get_state(), before)     # looking changes nothing
                occ = slot_occupancy(view, e.task.geometry(e.params), Pose(row[:3], row[3:]), e.config.detector)
                found, truth = {k for k, o in enumerate(occ) if o is False}, set(e.params["gaps"])
                tp, fp, fn = tp + len(found & truth), fp + len(found - truth), fn + len(truth - found)
        finally:
            e.close()
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"gap detection over 60 layouts: precision {precision:.3f} recall {recall:.3f} (tp {tp} fp {fp} fn {fn})")
    assert precision >= 0.95 and recall >= 0.95


@pytest.mark.parametrize("robot, seed", [("humanoid", 3), ("wheeled_dual_arm", 4)])
def test_scripted_operator_finds_the_gap_and_restocks_it(robot, seed):
    e = RobotEnv("shelf_restock", robot=robot, overrides=ONE_GAP, cameras=[])
    try:
        e.reset(seed=[0, seed])
        oracle = e.make_oracle()
        result = run_episode(e, ScriptedDevice(oracle), record=True)
        assert oracle.detected == e.params["gaps"]           # seen in the depth image, not read from the state
        assert result.success
        ev = e.evaluate()
        assert ev["gaps_filled"] == 1 and ev["goods_disturbed"] == 0
        phases = {p.decode() if isinstance(p, bytes) else str(p) for p in result.episode.operator["phase"]}
        assert {"look", "detect_gaps", "walk_to_basket", "grasp_item", "walk_to_shelf", "place_item"} <= phases
    finally:
        e.close()


def test_operator_without_the_camera_hook_says_what_to_do(env):
    env.reset(seed=[0, 0])
    oracle = env.task.make_oracle(env.params, np.random.default_rng(0), env.reach_check)   # no env: no look
    loop = ControlLoop(env, ScriptedDevice(oracle), None)
    with pytest.raises(RobotschoolError, match="make_oracle"):
        for _ in range(60):
            loop.tick()


def test_same_seed_same_episode_through_the_look(env):
    """The operator renders the head camera mid-episode (detect_gaps); the episode stays bit-identical."""
    runs = []
    for _ in range(2):
        env.reset(seed=[0, 5])
        oracle = env.make_oracle()
        ep = run_episode(env, ScriptedDevice(oracle), max_steps=30).episode
        assert oracle.detected is not None
        runs.append(ep)
    np.testing.assert_array_equal(runs[0].states, runs[1].states)
    np.testing.assert_array_equal(runs[0].actions, runs[1].actions)


def test_stands_scatter_along_the_shelf_by_the_yaml_side_noise():
    """`oracle.stand_side_noise`: the scripted operator stops up to that far beside the nominal stand, along the
    shelf only (so demos show the hand correcting sideways over a slot), and not at all when it is 0."""
    spreads = {}
    for side in (0.0, 0.03):
        e = RobotEnv("shelf_restock", overrides=NO_SETTLE + ["oracle.stand_noise=0", f"oracle.stand_side_noise={side}"],
                     cameras=[])
        try:
            obs = e.reset(seed=[0, 1])
            oracle = e.make_oracle()
            shelf = Pose(obs[schema.OBS_BASE_POSE][:3], obs[schema.OBS_BASE_POSE][3:]).compose(oracle._shelf(obs))
            target = oracle._slot(obs, 0)
            stands = np.array([oracle._stand(obs, target, 0.36)[:2] for _ in range(200)])
            local = np.array([shelf.inverse().compose(Pose([x, y, 0.0], [0, 0, 0, 1])).pos[:2] for x, y in stands])
            spreads[side] = np.ptp(local, axis=0)       # (across the shelf, along it)
        finally:
            e.close()
    assert spreads[0.0].max() < 1e-9
    assert spreads[0.03][0] < 1e-9                       # never closer to or further from the shelf
    assert 0.05 < spreads[0.03][1] <= 0.06 + 1e-9        # up to 3 cm either side, and it uses the range
