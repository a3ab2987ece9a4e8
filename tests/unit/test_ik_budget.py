"""The live IK budget (control/ik.py IKBudget): it caps the solver's work on an unreachable target, keeps the
best solution found, flags the target, and changes nothing when the full solve would converge within the cap."""
from __future__ import annotations

import numpy as np
import pytest

from robotschool.control.ik import IKBudget
from robotschool.robots.humanoid import Humanoid
from robotschool.types import Pose

BUDGET = IKBudget(iterations=3, restarts=0, polish=False)


@pytest.fixture(scope="module")
def robot():
    return Humanoid()


def _home(robot, arm="right"):
    ik, chain = robot.ik[arm], robot.chains[arm]
    q = np.zeros(chain.n)
    q[ik.active] = ik.rest_q
    return ik, chain, q


def _count_jacobians(chain, monkeypatch) -> list[int]:
    """Count forward-kinematics + Jacobian evaluations (one per solver iteration, plus one per solve pass)."""
    calls = [0]
    inner = chain.fk_jacobian

    def counted(q):
        calls[0] += 1
        return inner(q)

    monkeypatch.setattr(chain, "fk_jacobian", counted)
    return calls


def test_unreachable_target_costs_at_most_the_budget_and_is_flagged(robot, monkeypatch):
    ik, chain, q = _home(robot)
    p0, r0 = chain.fk(q)
    far = Pose.from_matrix(p0 + np.array([0.6, 0.0, 0.2]), r0)         # 0.63 m further: out of the arm's reach
    calls = _count_jacobians(chain, monkeypatch)
    full = ik.solve(far, q)
    full_calls = calls[0]
    calls[0] = 0
    live = ik.solve(far, q, budget=BUDGET)
    assert calls[0] <= 1 + BUDGET.iterations < full_calls          # one pass, capped iterations, no restarts
    assert not live.reachable and not full.reachable
    start_err = float(np.linalg.norm(far.pos - p0))
    assert live.pos_error < start_err          # the best solution so far is kept: it moved toward the target


def test_budget_changes_nothing_when_the_solve_converges_within_it(robot):
    ik, chain, q = _home(robot)
    q_near = q.copy()
    q_near[ik.active] += 0.01                                      # a target a tracking tick away
    target = Pose.from_matrix(*chain.fk(q_near))
    full = ik.solve(target, q)
    live = ik.solve(target, q, budget=BUDGET)
    assert full.reachable and live.reachable
    assert np.array_equal(full.q, live.q) and full.pos_error == live.pos_error


def test_budget_never_exceeds_the_robot_settings(robot, monkeypatch):
    ik, chain, q = _home(robot)
    p0, r0 = chain.fk(q)
    far = Pose.from_matrix(p0 + np.array([0.6, 0.0, 0.2]), r0)
    calls = _count_jacobians(chain, monkeypatch)
    ik.solve(far, q, budget=IKBudget(iterations=1000, restarts=0))
    assert calls[0] <= 1 + ik.settings.iterations



def test_prepare_takes_the_start_off_the_solve_and_changes_no_bit(robot, monkeypatch):
    """ArmIK.prepare (run by a live loop before it samples the device) computes the kinematics at the measured
    joints; the solve after it then has one evaluation fewer to do and returns exactly what an unprepared one does."""
    ik, chain, q = _home(robot)
    q_now = q.copy()
    q_now[ik.active] += np.linspace(-0.2, 0.2, len(ik.active))
    p0, r0 = chain.fk(q_now)
    target = Pose.from_matrix(p0 + np.array([0.03, -0.02, 0.04]), r0)
    computed = [0]
    inner = chain.fk_jacobian

    def counted(qq):
        computed[0] += np.asarray(qq, dtype=np.float64).tobytes() != chain._memo_key   # not the kept answer
        return inner(qq)

    monkeypatch.setattr(chain, "fk_jacobian", counted)
    inner(q)                                                   # forget q_now's answer
    cold = ik.solve(target, q_now, budget=BUDGET)
    cold_computed, computed[0] = computed[0], 0
    inner(q)
    ik.prepare(q_now)
    computed[0] = 0
    warm = ik.solve(target, q_now, budget=BUDGET)
    assert computed[0] == cold_computed - 1 >= 1
    np.testing.assert_array_equal(warm.q, cold.q)
    assert (warm.pos_error, warm.rot_error, warm.reachable) == (cold.pos_error, cold.rot_error, cold.reachable)
    assert not inner(q_now)[2].flags.writeable                 # a kept answer cannot be changed by a caller


@pytest.mark.parametrize("kernel", ["numpy", "numba"])
def test_live_prepare_changes_no_bit_of_an_episode(kernel):
    """RobotEnv.prepare (the live loop's warm-up solve of the last action, then Robot.prepare; the measured joints
    it reads are reused by the step) before every tick leaves every recorded action and observation exactly as a
    loop that never prepares, with either IK kernel."""
    from robotschool.devices.scripted import ScriptedDevice
    from robotschool.env import RobotEnv
    from robotschool.recording.recorder import Recorder
    from robotschool.rollout import ControlLoop

    runs = []
    for prepare in (False, True):
        budget = IKBudget(iterations=3, restarts=0, polish=False, kernel=kernel)
        with RobotEnv("parts_sorting", overrides=["parts.count=1"], cameras=[], ik_budget=budget) as env:
            env.reset(seed=[0, 3])
            loop = ControlLoop(env, ScriptedDevice(env.make_oracle()), Recorder())
            for _ in range(60):
                if prepare:
                    loop.prepare()
                loop.tick()
            runs.append((np.stack([r for r in loop.recorder.actions]), loop.obs))
    (a0, obs0), (a1, obs1) = runs
    assert np.abs(np.diff(a0[:, :9], axis=0)).max() > 0          # the hands moved: there was work to prepare
    np.testing.assert_array_equal(a0, a1)
    for k in obs0:
        np.testing.assert_array_equal(obs0[k], obs1[k], err_msg=k)
