"""IK accuracy over random reachable targets, limits, step cap and bad targets (real URDF, no physics)."""
from __future__ import annotations

import math

import numpy as np
import pybullet
import pytest

from robotschool.robots.humanoid import Humanoid
from robotschool.types import ARMS, Pose

N_TARGETS = 250


@pytest.fixture(scope="module")
def robot():
    return Humanoid()


@pytest.mark.parametrize("arm", ARMS)
def test_random_reachable_targets_within_1mm_1deg(robot, arm):
    """Targets made by forward kinematics of random joint angles within limits are reachable by construction;
    the solver (global mode: deterministic restarts) must hit every one within 1 mm and 1 degree."""
    ik = robot.ik[arm]
    chain = robot.chains[arm]
    rng = np.random.default_rng(7)
    q_home = np.zeros(chain.n)
    q_home[ik.active] = ik.rest_q
    failures = []
    for _ in range(N_TARGETS):
        q = q_home.copy()
        q[ik.active] = rng.uniform(ik.lower, ik.upper)
        pos, rot = chain.fk(q)
        res = ik.solve(Pose.from_matrix(pos, rot), q_home, apply_step_cap=False, restarts=32)
        got_pos, got_rot = chain.fk(np.where(np.isin(np.arange(chain.n), ik.active), 0, q_home) +
                                    _scatter(chain.n, ik.active, res.q))
        pos_err = float(np.linalg.norm(got_pos - pos))
        rot_err = math.degrees(math.acos(np.clip((np.trace(got_rot @ rot.T) - 1) / 2, -1, 1)))
        assert np.all(res.q >= ik.lower - 1e-12) and np.all(res.q <= ik.upper + 1e-12)
        if pos_err > 1e-3 or rot_err > 1.0:
            failures.append((pos_err, rot_err))
    assert not failures, f"{len(failures)}/{N_TARGETS} targets missed, e.g. {failures[:3]}"


def _scatter(n, idx, values):
    out = np.zeros(n)
    out[idx] = values
    return out


def test_fk_matches_pybullet(robot):
    """The numpy chain agrees with PyBullet's own forward kinematics of the same URDF."""
    c = pybullet.connect(pybullet.DIRECT)
    try:
        body = pybullet.loadURDF(str(robot.urdf), useFixedBase=True, physicsClientId=c)
        names = {pybullet.getJointInfo(body, j, physicsClientId=c)[1].decode(): j
                 for j in range(pybullet.getNumJoints(body, physicsClientId=c))}
        links = {pybullet.getJointInfo(body, j, physicsClientId=c)[12].decode(): j
                 for j in range(pybullet.getNumJoints(body, physicsClientId=c))}
        rng = np.random.default_rng(1)
        for arm in ARMS:
            chain = robot.chains[arm]
            for _ in range(20):
                q = rng.uniform(chain.lower, chain.upper)
                for name, v in zip(chain.joint_names, q):
                    pybullet.resetJointState(body, names[name], v, physicsClientId=c)
                state = pybullet.getLinkState(body, links[robot.spec.arms[arm].tcp_link], computeForwardKinematics=True,
                                              physicsClientId=c)
                pos, _ = chain.fk(q)
                assert np.allclose(pos, state[4], atol=1e-6)
    finally:
        pybullet.disconnect(c)


def test_step_cap_limits_motion_per_tick(robot):
    ik = robot.ik["left"]
    chain = robot.chains["left"]
    q0 = np.zeros(chain.n)
    q0[ik.active] = ik.rest_q
    far = Pose([0.45, 0.0, 1.05], [0, 0, 1, 0])
    res = ik.solve(far, q0)
    assert np.max(np.abs(res.q - ik.rest_q)) <= robot.spec.ik.max_joint_step + 1e-12


@pytest.mark.parametrize("bad", [[np.nan, 0, 1], [0.3, np.inf, 1.0]])
def test_nan_and_inf_targets_hold_and_flag(robot, bad):
    ik = robot.ik["right"]
    q0 = np.zeros(robot.chains["right"].n)
    q0[ik.active] = ik.rest_q
    res = ik.solve(Pose(bad, [0, 0, 0, 1]), q0)
    assert res.invalid_target and not res.reachable
    assert np.array_equal(res.q, np.clip(ik.rest_q, ik.lower, ik.upper))


def test_unreachable_target_is_flagged_and_within_limits(robot):
    ik = robot.ik["left"]
    q0 = np.zeros(robot.chains["left"].n)
    q0[ik.active] = ik.rest_q
    res = ik.solve(Pose([2.0, 0.0, 1.0], [0, 0, 0, 1]), q0, apply_step_cap=False)
    assert not res.reachable and not res.invalid_target
    assert res.pos_error > 0.5
    assert np.all(np.isfinite(res.q)) and np.all(res.q >= ik.lower) and np.all(res.q <= ik.upper)
