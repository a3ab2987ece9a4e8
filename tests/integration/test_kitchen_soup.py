"""kitchen_soup: the layout and particle count follow the YAML, the success check is real (lid, bowl count,
spill count, ladle in its rest each flip it), observations have one size, the scripted operator takes the lid
off with either robot, the right arm follows the planned ladle path in one posture (kinematics), and the
scripted operator serves the soup (lid off, >= K particles in the bowl, <= M spilled, ladle back in its rest)
with each robot on two seeds. The success rate over many seeds is measured by scripts/eval_oracles.py.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from robotschool import geometry
from robotschool.devices.scripted import ScriptedDevice
from robotschool.env import RobotEnv
from robotschool.recording import schema
from robotschool.rollout import ControlLoop, run_episode
from robotschool.tasks.kitchen_soup.task import N_BODIES, PARTICLE_OBS
from robotschool.tasks.motion import step_towards
from robotschool.types import Pose


@pytest.fixture(scope="module")
def env():
    with RobotEnv("kitchen_soup", cameras=[]) as e:
        yield e


def test_layout_mass_and_particle_count_are_randomised_within_the_yaml(env):
    c = env.config
    draws = [env.task.sample_params(np.random.default_rng([0, i])) for i in range(30)]
    assert draws[0] == env.task.sample_params(np.random.default_rng([0, 0]))       # same seed, same scene
    counts = [d["soup"]["count"] for d in draws]
    masses = [d["pot"]["mass"] for d in draws]
    assert all(c.soup.count[0] <= n <= c.soup.count[1] for n in counts) and len(set(counts)) > 3
    assert min(counts) >= 30                                                      # the issue asks for >= 30
    assert all(c.pot.mass[0] <= m <= c.pot.mass[1] for m in masses) and np.ptp(masses) > 0.5
    for d in draws:
        assert len(d["soup"]["start"]) == d["soup"]["count"]
        assert abs(d["pot"]["x"] - c.pot.center[0]) <= c.pot.jitter[0] + 1e-9
        assert abs(d["rest"]["y"] - c.rest.center[1]) <= c.rest.jitter[1] + 1e-9
        assert c.rest.yaw[0] <= d["rest"]["yaw"] <= c.rest.yaw[1]
    assert np.ptp([d["lid"]["yaw"] for d in draws]) > 1.5                         # the handle points anywhere


def test_scene_builds_with_the_drawn_count_and_a_fixed_size_observation(env):
    sizes = set()
    for seed in (0, 1):
        obs = env.reset(seed=[0, seed])
        n = env.params["soup"]["count"]
        assert len(env.task.particles) == n
        ev = env.evaluate()
        assert ev["in_pot"] == n and ev["spilled"] == 0 and not ev["success"]       # soup settles in the pot
        assert ev["ladle_in_rest"] and not ev["lid_off"]                          # lid on, ladle in its rest
        pts = obs[schema.OBS_OBJECT][7 * N_BODIES:].reshape(-1, PARTICLE_OBS)
        assert pts.shape[0] == env.config.soup.count[1] and pts[:, 3].sum() == n   # padded, flagged
        sizes.add(obs[schema.OBS_OBJECT].size)
    assert len(sizes) == 1


def _put(env, k: int, design: Pose) -> None:
    """Teleport object k (pot, lid, ladle, bowl) so that its design frame is at `design`, at rest."""
    body = env.task.object_bodies[k]
    pose = env.task.wares[k].body_pose(design)
    env.world.p.resetBasePositionAndOrientation(body, pose.pos.tolist(), pose.quat.tolist())
    env.world.p.resetBaseVelocity(body, [0, 0, 0], [0, 0, 0])


def test_success_needs_lid_off_soup_served_nothing_spilled_and_ladle_back(env):
    env.reset(seed=[0, 3])
    c, params, p = env.config, env.params, env.world.p
    h = params["counter"]["height"]
    _put(env, 1, Pose([0.40, 0.33, h + 0.001], geometry.yaw_quat(0.4)))            # lid on the counter
    bowl = env.task._design(env.world, 3)
    floor = bowl.pos[2] + c.bowl.floor + c.soup.radius + 0.002
    ring = [(0.03 * math.cos(a), 0.03 * math.sin(a)) for a in np.linspace(0, 2 * math.pi, 7)[:-1]]
    for (dx, dy), body in zip(ring, env.task.particles):                          # six particles in the bowl
        p.resetBasePositionAndOrientation(body, [bowl.pos[0] + dx, bowl.pos[1] + dy, floor], [0, 0, 0, 1])
    env.world.step(120)
    ev = env.evaluate()
    assert ev["lid_off"] and ev["ladle_in_rest"] and ev["in_bowl"] == 6 and ev["spilled"] == 0
    assert ev["success"] and ev["progress"] == 1.0

    k = c.success.min_in_bowl
    for body in env.task.particles[k - 1:6]:                                      # too few left in the bowl
        p.resetBasePositionAndOrientation(body, [0.15, 0.7, c.soup.radius], [0, 0, 0, 1])   # ... on the floor
    env.world.step(60)
    ev = env.evaluate()
    assert ev["in_bowl"] == k - 1 and not ev["success"]
    spilled = 6 - (k - 1)
    assert ev["spilled"] == spilled and (spilled > c.success.max_spilled) == (ev["progress"] == 0.0)

    for body in env.task.particles[k - 1:6]:                                      # back in the bowl
        p.resetBasePositionAndOrientation(body, [bowl.pos[0], bowl.pos[1], floor + 0.03], [0, 0, 0, 1])
    env.world.step(120)
    assert env.evaluate()["success"]

    lid_on_pot = Pose([params["pot"]["x"], params["pot"]["y"], env.task.pot_rim(params) + 0.001], [0, 0, 0, 1])
    _put(env, 1, lid_on_pot)                                                      # lid back on the pot
    env.world.step(60)
    assert not env.evaluate()["lid_off"] and not env.evaluate()["success"]
    _put(env, 1, Pose([0.40, 0.33, h + 0.001], [0, 0, 0, 1]))
    env.world.step(60)
    assert env.evaluate()["success"]

    rest = env.task.rest_design(params)                                           # ladle left on the counter
    _put(env, 2, Pose(rest.pos + [0.12, 0.0, -env.config.rest.thickness + 0.002], rest.quat))
    env.world.step(60)
    assert not env.evaluate()["ladle_in_rest"] and not env.evaluate()["success"]

    too_many = c.success.max_spilled + 1                                          # ladle back, soup spilled
    _put(env, 2, Pose(rest.pos + [0, 0, 0.001], rest.quat))
    for i, body in enumerate(env.task.particles[6:6 + too_many]):
        p.resetBasePositionAndOrientation(body, [0.15, 0.6 + 0.03 * i, c.soup.radius], [0, 0, 0, 1])
    env.world.step(60)
    ev = env.evaluate()
    assert ev["ladle_in_rest"] and ev["spilled"] == too_many and not ev["success"]


def _ladle_path(env, obs) -> list[Pose]:
    """The right hand's poses for one scoop and pour, from the scripted operator's own planner, holding the
    ladle the way it takes it (kinematics only: nothing is stepped)."""
    oracle = env.make_oracle()
    oracle.act(obs, 0.0)                                          # (plans the lid; replaced below)
    ladle = oracle._object(obs, 2)
    roll = Pose.from_matrix([0, 0, 0], geometry.axis_angle_matrix([1, 0, 0], env.config.oracle.grasp_roll))
    grasp = ladle.compose(oracle.geo.grasp()).compose(roll)
    oracle.ladle_hold = grasp.inverse().compose(ladle)
    lifted = Pose(grasp.pos + [0, 0, 0.08], grasp.quat)
    obs = dict(obs)
    obs[schema.OBS_EEF_POS.format(arm="right")] = lifted.pos
    obs[schema.OBS_EEF_QUAT.format(arm="right")] = lifted.quat
    oracle.script.clear()
    oracle._plan_scoop(obs, 0.0)
    poses = [grasp, lifted]
    while oracle.script:
        _, step = oracle.script.pop(0)
        if step.then is not None and step.then.__name__ == "_plan_pour":
            step.then(obs, 0.0)
        elif step.cup is not None:
            poses.append(oracle._hand_for(step.cup, step.phase))
    return poses


@pytest.mark.parametrize("robot", ["humanoid", "wheeled_dual_arm"])
def test_the_ladle_path_is_followed_in_one_arm_posture(robot):
    """The layout and the ladle's yaws/tilts in the YAML keep the right arm in one posture along the whole
    scoop-and-pour path: walked in small steps, the arm's IK from the previous solution (no restarts) converges
    everywhere. Where it does not, the live IK restarts in another posture and the arm swings the soup about."""
    with RobotEnv("kitchen_soup", robot=robot, cameras=[]) as env:
        ik = env.robot.ik["right"]
        for seed in range(4):
            obs = env.reset(seed=[0, seed])
            poses = _ladle_path(env, obs)
            q = env.robot.chain_q("right").copy()
            q[ik.active] = ik.solve(poses[0], q, apply_step_cap=False).q
            cur, worst = poses[0], 0.0
            for goal in poses[1:]:
                there = False
                while not there:
                    cur, there = step_towards(cur, goal, 0.2, 1.0, 0.05)        # 1 cm, 0.05 rad steps
                    sol = ik.solve(cur, q, apply_step_cap=False, restarts=0)
                    worst = max(worst, sol.pos_error)
                    q[ik.active] = sol.q
            assert len(poses) > 20 and worst < 0.005, (seed, worst)


@pytest.mark.parametrize("robot, seed", [("humanoid", 0), ("wheeled_dual_arm", 1)])   # 50 seeds: README
def test_scripted_operator_serves_the_soup_and_puts_the_ladle_back(robot, seed):
    with RobotEnv("kitchen_soup", robot=robot, cameras=[]) as env:
        env.reset(seed=[0, seed])
        result = run_episode(env, ScriptedDevice(env.make_oracle()), record=True)
        ev = env.evaluate()
        assert result.success, ev
        c = env.config.success
        assert ev["in_bowl"] >= c.min_in_bowl and ev["spilled"] <= c.max_spilled
        assert ev["lid_off"] and ev["ladle_in_rest"]
        phases = [p.decode() if isinstance(p, bytes) else str(p) for p in result.episode.operator["phase"]]
        order = [p for i, p in enumerate(phases) if i == 0 or p != phases[i - 1]]
        assert order[:5] == ["open_lid", "place_lid", "grasp_ladle", "scoop", "pour"]
        back = order.index("return_ladle")                   # the ladle goes back after the last pour ...
        assert order[back - 1] == "pour" and set(order[back:]) <= {"return_ladle", "retreat", "finished"}


def test_same_seed_gives_identical_steps_and_recorded_actions_replay_exactly(env):
    """Action playback (robosuite's check): 40 ticks of the scripted operator, twice from the same seed, give
    identical actions and states, and replaying the actions from the first state reproduces every state."""
    runs = []
    for _ in range(2):
        env.reset(seed=[2, 5])
        loop = ControlLoop(env, ScriptedDevice(env.make_oracle()))
        states, actions = [], []
        for _ in range(40):
            states.append(env.world.get_state())
            actions.append(loop.tick().action)
        runs.append((np.array(states), np.array(actions)))
    (sa, aa), (sb, ab) = runs
    assert np.array_equal(aa, ab) and np.array_equal(sa, sb)
    env.reset_to(sa[0], env.params)
    for t, action in enumerate(aa):
        assert np.array_equal(env.world.get_state(), sa[t]), f"state differs at step {t}"
        env.step(action)
