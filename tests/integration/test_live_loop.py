"""The live control loop's timing parts, with a real env: env.step's applied_at hook, the live IK budget
travelling with the env (env_kwargs, so a replay rebuilds the same step function), and the teleop session's
deadline scheduler (driven by a stepped clock, so what is checked is the schedule arithmetic, not this
machine's speed)."""
from __future__ import annotations

import gc
import json
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest

from robotschool.control.ik import IKBudget
from robotschool.env import RobotEnv
from robotschool.devices.keyboard import KeyboardDevice
from robotschool.recording import schema
from robotschool.recording.recorder import Recorder
from robotschool.recording.writer import DatasetWriter
from robotschool.rollout import ControlLoop, make_retargeter
from robotschool.teleop import TeleopSession
from robotschool.types import EVENT_RESET

pytestmark = pytest.mark.timeout(180)


class SteppedClock:
    """A clock that moves only when told (sleep advances it), counting its reads."""

    def __init__(self):
        self.t, self.reads = 100.0, 0

    def __call__(self) -> float:
        self.reads += 1
        return self.t

    def sleep(self, dt: float) -> None:
        self.t += dt


def test_step_reports_when_targets_were_applied_only_when_given_a_clock(one_part_env):
    env = one_part_env
    obs = env.reset(seed=[0, 0])
    action = env.encode(make_retargeter(env)(KeyboardDevice(dict, 20).poll(obs, 0.0)))
    clock = SteppedClock()
    _, _, _, info = env.step(action, clock)
    assert info["applied_at"] == 100.0 and clock.reads == 1       # read once, right after the targets went out
    _, _, _, info = env.step(action)
    assert "applied_at" not in info                                # batch steps never read a clock


@pytest.mark.parametrize("live", [True, False])
def test_loop_records_pre_step_states_and_applied_time_only_when_live(one_part_env, live):
    env = one_part_env
    env.reset(seed=[0, 0])
    clock = SteppedClock() if live else None
    loop = ControlLoop(env, KeyboardDevice(lambda: {ord("w"): 1}, 20, clock=lambda: 99.0), Recorder(), clock=clock)
    before = []
    for i in range(4):
        if i == 2:
            loop.recorder = Recorder()        # swapped mid-run, as the teleop session starts an episode
            before = []
        before.append(env.world.get_state())
        tick = loop.tick()
        if live:
            clock.sleep(0.05)
    ep = loop.recorder.finish(loop.obs, {"success": False})
    assert np.array_equal(ep.states, np.stack(before))            # each step's state from before that step
    assert (tick.applied_at is not None) == live
    assert (schema.OP_APPLIED_TIME in ep.operator) == live
    if live:
        np.testing.assert_allclose(ep.operator[schema.OP_APPLIED_TIME], [100.1, 100.15], rtol=0, atol=1e-9)
        assert np.all(ep.operator[schema.OP_TIMESTAMP] == 99.0)


def test_ik_budget_travels_in_env_kwargs_and_rebuilds_the_same_env():
    budget = IKBudget(iterations=3, restarts=0, polish=False)
    env = RobotEnv("parts_sorting", overrides=["parts.count=1"], cameras=[], ik_budget=budget)
    plain = RobotEnv("parts_sorting", overrides=["parts.count=1"], cameras=[])
    try:
        kwargs = json.loads(json.dumps(env.env_kwargs()))      # as stored in a file's env_args
        assert kwargs["ik_budget"] == {"iterations": 3, "restarts": 0, "polish": False, "kernel": "numpy"}
        assert "ik_budget" not in plain.env_kwargs()           # generated files' env_args are unchanged
        rebuilt = RobotEnv(kwargs["scene"], overrides=kwargs["overrides"], cameras=[], ik_budget=kwargs["ik_budget"])
        assert rebuilt.ik_budget == budget
        rebuilt.close()
        old = {"iterations": 3, "restarts": 0, "polish": False}          # a file recorded before IKBudget.kernel
        assert IKBudget(**old).kernel == "numpy"                           # replays on the solver it was made with
    finally:
        env.close()
        plain.close()


class OverrunDevice(KeyboardDevice):
    """Keyboard device on no keys whose poll, on chosen ticks, moves the stepped clock on (an overrun) and
    optionally emits a scene reset (an episode event)."""

    def __init__(self, clock: SteppedClock, slow: dict[int, tuple[float, bool]]):
        super().__init__(dict, 20, clock=clock)
        self.stepped, self.slow, self.n = clock, slow, 0
        self.gc_enabled: set[bool] = set()

    def poll(self, obs, t):
        cmd = super().poll(obs, t)
        self.n += 1
        self.gc_enabled.add(gc.isenabled())
        delay, reset = self.slow.get(self.n, (0.0, False))
        self.stepped.t += delay
        if reset:
            cmd = replace(cmd, events=(EVENT_RESET,))
        return cmd


def test_deadline_schedule_counts_missed_ticks_and_does_not_drift(one_part_env, tmp_path: Path):
    env = one_part_env
    env.reset(seed=[0, 0])
    period = 1.0 / env.config.control_hz
    clock = SteppedClock()
    # Deadlines fall on 100 + k * period. The 3rd tick (deadline 2) overruns by 2.5 periods, to 4.5: deadline 3 is
    # skipped (missed) and deadline 4 runs half a period late. The 8th tick (deadline 8) resets the scene and
    # ends at 11.5: deadlines 9 and 10 are skipped as paused, 11 runs half a period late. Every other tick starts
    # exactly on its deadline: lateness never accumulates.
    device = OverrunDevice(clock, {3: (2.5 * period, False), 8: (3.5 * period, True)})
    with DatasetWriter(tmp_path / "t.hdf5", env.data_attrs()) as writer:
        session = TeleopSession(env, device, writer, clock=clock, sleep=clock.sleep, max_seconds=20 * period - 1e-9,
                                log=lambda s: None)
        s = session.run()
    assert s.ended_by == "time limit"
    assert (s.missed_ticks, s.paused_ticks) == (1, 2)
    assert s.ticks + s.missed_ticks + s.paused_ticks == 21       # deadlines 0..20, each run or counted once
    late = np.array(s.lateness) / period
    assert np.count_nonzero(late > 1e-9) == 2 and np.allclose(late[late > 1e-9], 0.5)
    assert len(s.work) == s.ticks - 1 and len(s.work_cpu) == len(s.work)   # the reset tick is not control work
    assert device.gc_enabled == {False} and gc.isenabled()    # no automatic collection inside a tick; restored
    with h5py.File(tmp_path / "t.hdf5") as f:
        assert f[schema.DATA].attrs["total"] == 0
