"""The compiled live IK kernel (control/ik_numba.py, IKBudget kernel "numba"): it solves what the numpy solver
solves (same iterations, answers equal to rounding), it is what a numba budget runs, a live loop with it replays
bit for bit from its file, and without numba it says how to get it (teleop falls back to numpy)."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from robotschool.control import ik_numba
from robotschool.control.ik import IKBudget
from robotschool.errors import RobotschoolError
from robotschool.robots.humanoid import Humanoid
from robotschool.robots.wheeled_dual_arm import WheeledDualArm
from robotschool.types import ARMS, Pose

NUMBA = IKBudget(iterations=3, restarts=0, polish=False, kernel="numba")


@pytest.mark.parametrize("robot_cls", [Humanoid, WheeledDualArm])
def test_compiled_solve_matches_the_numpy_solver(robot_cls):
    robot = robot_cls()
    rng = np.random.default_rng(7)
    for arm in ARMS:
        ik = robot.ik[arm]
        compiled = ik_numba.NumbaSolver(ik)
        diffs, converged_diffs = [], []
        for i in range(150):
            q = np.zeros(ik.chain.n)
            q[ik.active] = ik.lower + rng.uniform(0.1, 0.9, len(ik.active)) * (ik.upper - ik.lower)
            q_goal = q.copy()
            q_goal[ik.active] += rng.normal(0.0, 0.15 if i % 2 else 0.02, len(ik.active))
            p, r = ik.chain.fk(q_goal)
            if i % 5 == 0:
                p = p + rng.normal(0.0, 0.3, 3)              # often out of reach: the damping schedule runs
            for posture in (True, False):
                for iterations in (3, 40):
                    a = ik._solve_from(q, p, r, posture=posture, iterations=iterations)
                    b = compiled(q, p, r, posture=posture, iterations=iterations)
                    d = float(np.abs(a[0] - b[0]).max())
                    diffs.append(d)
                    if a[1] < 1e-3 and b[1] < 1e-3:
                        converged_diffs.append(d)
                        assert abs(a[1] - b[1]) < 1e-9 and abs(a[2] - b[2]) < 1e-9
        # the same iterations in another floating-point order: equal to rounding, except where a near-tie in an
        # accept/reject test went the other way on an unreachable target
        assert np.percentile(diffs, 98) < 1e-8, np.percentile(diffs, 98)
        assert len(converged_diffs) > 100 and max(converged_diffs) < 1e-6


def test_a_numba_budget_runs_the_compiled_kernel_and_the_default_does_not():
    robot = Humanoid()
    ik = robot.ik["right"]
    q = np.zeros(ik.chain.n)
    q[ik.active] = ik.rest_q
    p, r = ik.chain.fk(q)
    target = Pose.from_matrix(p + np.array([0.03, 0.0, 0.02]), r)
    calls = []
    original = ik_numba.NumbaSolver.__call__

    def counted(self, *a, **k):
        calls.append(1)
        return original(self, *a, **k)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(ik_numba.NumbaSolver, "__call__", counted)
        plain = ik.solve(target, q, budget=IKBudget(iterations=3))
        assert calls == []
        fast = ik.solve(target, q, budget=NUMBA)
        assert calls == [1]
    np.testing.assert_allclose(fast.q, plain.q, rtol=0, atol=1e-9)


def test_live_loop_with_the_compiled_kernel_replays_bit_for_bit(tmp_path):
    """A teleop-style loop (prepare before every tick) with the numba budget, written to a file; the replay
    rebuilds the env from the file's env_args (kernel included) and hits every recorded state exactly."""
    from robotschool.devices.scripted import ScriptedDevice
    from robotschool.env import RobotEnv
    from robotschool.recording.recorder import Recorder
    from robotschool.recording.writer import DatasetWriter
    from robotschool.replay import replay_demo
    from robotschool.rollout import ControlLoop

    with RobotEnv("parts_sorting", overrides=["parts.count=1"], cameras=[], ik_budget=NUMBA) as env:
        env.reset(seed=[0, 3])
        assert env.env_kwargs()["ik_budget"]["kernel"] == "numba"
        loop = ControlLoop(env, ScriptedDevice(env.make_oracle()), Recorder())
        for _ in range(40):
            loop.prepare()
            loop.tick()
        episode = loop.recorder.finish(loop.obs, {"success": False, "seed": np.array([0, 3]),
                                                  "scene_params": json.dumps(env.params)})
        assert np.abs(np.diff(episode.actions[:, :9], axis=0)).max() > 0      # the hands moved
        with DatasetWriter(tmp_path / "live.hdf5", env.data_attrs()) as writer:
            writer.add(episode)
    report = replay_demo(tmp_path / "live.hdf5", 0)
    assert report.steps == 40 and report.states_match, report


def test_without_numba_the_kernel_says_how_to_get_it_and_teleop_falls_back(monkeypatch, caplog):
    from robotschool.teleop import load_settings

    monkeypatch.setattr(ik_numba, "available", lambda: False)     # as on an install without the `fast` extra
    with pytest.raises(RobotschoolError, match=r"pip install 'robotschool\[fast\]'"):
        ik_numba.NumbaSolver(Humanoid().ik["left"])
    with caplog.at_level(logging.WARNING):
        settings = load_settings()
    assert settings.ik_budget.kernel == "numpy"
    assert any("robotschool[fast]" in r.getMessage() for r in caplog.records)
    monkeypatch.undo()
    assert load_settings().ik_budget.kernel == "numba"      # configs/devices/teleop.yaml asks for it
