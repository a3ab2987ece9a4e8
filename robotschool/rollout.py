"""The control loop shared by every way of producing demos (scripted generation, teleoperation, replay).

    device.poll -> OperatorCommand -> Retargeter -> RobotCommand -> action (float32) -> env.step -> Recorder

`ControlLoop.tick()` is that one tick, and the only place it is written: `run_episode` (scripted and replay
devices, as fast as the CPU goes) and the interactive teleop session (robotschool/teleop.py, paced by the
wall clock) both call it, so human and scripted demos are recorded by the same code.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from robotschool import geometry
from robotschool.control.retarget import Retargeter
from robotschool.devices.base import Device
from robotschool.env import RobotEnv
from robotschool.recording import schema
from robotschool.recording.episode import Episode
from robotschool.recording.recorder import Recorder, operator_row
from robotschool.types import ARMS, JointTargets, OperatorCommand, Pose, RobotCommand


@dataclass
class EpisodeResult:
    success: bool
    steps: int
    episode: Episode | None
    info: dict[str, Any]


@dataclass
class Tick:
    """What one control tick did: the operator's command, the action sent, and env.step's outcome."""

    command: OperatorCommand
    action: np.ndarray
    obs: dict[str, np.ndarray]        # the observation after the step
    reward: float
    done: bool
    info: dict[str, Any]              # env.step's info: success, progress, targets (IK flags), command
    applied_at: float | None          # clock() right after the joint targets reached the motors (live loops)


def make_retargeter(env: RobotEnv) -> Retargeter:
    r = Retargeter(env.workspace, env.robot.spec.max_base_speed)
    r.reset({arm: env.robot.tcp_pose(arm) for arm in ARMS})
    return r


def action_dict(command: RobotCommand, targets: JointTargets, tcp_now: dict[str, Pose]) -> dict[str, np.ndarray]:
    """Every action representation of one step (the default `actions` is the normalised ee_abs)."""
    ee_abs, ee_delta = [], []
    for arm in ARMS:
        h = command.hand(arm)
        ee_abs += [h.pose.pos, h.pose.quat, [h.grip]]
        rv = geometry.rotation_error(h.pose.rot, tcp_now[arm].rot) if h.pose.is_finite() else np.full(3, np.nan)
        ee_delta += [h.pose.pos - tcp_now[arm].pos, rv, [h.grip]]
    return {
        schema.ACT_EE_ABS: np.concatenate(ee_abs),
        schema.ACT_EE_DELTA: np.concatenate(ee_delta),
        schema.ACT_JOINT_POS: np.concatenate([targets.arm_q[a] for a in ARMS]),
        schema.ACT_GRIPPER: np.array([targets.grip[a] for a in ARMS]),
        schema.ACT_BASE_TWIST: np.asarray(command.base_twist, dtype=np.float64),
    }


class ControlLoop:
    """One env, one device, one retargeter: `tick()` runs poll -> retarget -> encode -> step -> record.

    `recorder` may be swapped between ticks (None: nothing is recorded), which is how the teleop session
    starts and stops episodes without restarting the loop. With a `clock` (live devices: time.monotonic), each
    step is given the clock (env.step's `applied_at`: right after the joint targets were applied) and each
    recorded step stores it as `operator/applied_time` next to the device's `operator/timestamp`, so a file
    carries its input-to-command latency.

    Between the device sample and the applied targets the tick does only what the targets need: the recorder's
    pre-step state is the state the previous step left (read after that step, once its targets were applied),
    and the TCP poses for `action_dict` are assembled after the step. So whatever sets the simulation between
    ticks (env.reset, env.reset_to) must be followed by `reset()` or `resync()`.
    """

    def __init__(self, env: RobotEnv, device: Device, recorder: Recorder | None = None,
                 clock: Callable[[], float] | None = None):
        self.env, self.device, self.recorder, self.clock = env, device, recorder, clock
        self.reset()

    def reset(self) -> None:
        """Restart from the env's current state (after env.reset): fresh retargeter, current observation."""
        self.retarget = make_retargeter(self.env)
        self.resync()

    def resync(self) -> None:
        """The env's simulation was set from outside (reset_to): observe it again, keep the retargeter's targets."""
        self.obs = self.env.observe()
        self._state: np.ndarray | None = None     # world state after the last step; None: read it when needed

    def prepare(self) -> None:
        """Work of the next tick that does not depend on the device sample, for live loops to run before they
        poll, so it stays off the input-to-command path (RobotEnv.prepare: a warm-up and the IK's kinematics at
        the measured joints). Bit-identical either way."""
        self.env.prepare()

    def tick(self, command: OperatorCommand | None = None) -> Tick:
        """One control tick. `command` (already polled by the caller) skips the device poll."""
        env, recorder = self.env, self.recorder
        if recorder is not None and self._state is None:
            self._state = env.world.get_state()
        cmd = self.device.poll(self.obs, env.time) if command is None else command
        action = env.encode(self.retarget(cmd))
        state = self._state
        next_obs, reward, done, info = env.step(action, self.clock)
        applied = info.get("applied_at")
        self._state = None
        if recorder is not None:
            obs = self.obs
            tcp_now = {arm: Pose(obs[schema.OBS_EEF_POS.format(arm=arm)], obs[schema.OBS_EEF_QUAT.format(arm=arm)])
                       for arm in ARMS}
            row = operator_row(cmd)
            if applied is not None:
                row[schema.OP_APPLIED_TIME] = np.float64(applied)
            recorder.add(obs, state, action, action_dict(info["command"], info["targets"], tcp_now), reward, row)
            self._state = env.world.get_state()       # the next tick's pre-step state, off its latency path
        self.obs = next_obs
        return Tick(cmd, action, next_obs, reward, done, info, applied)

    def close(self) -> None:
        """Nothing to release (kept so live sessions can close the loop they opened)."""


def run_episode(env: RobotEnv, device: Device, record: bool = True, max_steps: int | None = None,
                attrs: dict[str, Any] | None = None) -> EpisodeResult:
    """Run one episode from the env's current (freshly reset) state until the device is finished and
    success has held for `success_hold_s`, or the device has been finished for 2 s, or the horizon."""
    loop = ControlLoop(env, device, Recorder() if record else None)
    recorder = loop.recorder
    max_steps = max_steps or env.max_steps
    hold = max(1, math.ceil(env.config.success_hold_s * env.config.control_hz))
    grace = 2 * env.config.control_hz
    streak, finished_for = 0, 0
    info: dict[str, Any] = {"success": False}
    for _ in range(max_steps):
        tick = loop.tick()
        info = tick.info
        streak = streak + 1 if info["success"] else 0
        finished_for = finished_for + 1 if device.finished else 0
        if (device.finished and streak >= hold) or finished_for > grace or tick.done:
            break
    success = bool(info["success"])
    episode = None
    if recorder is not None and len(recorder):
        meta = {"success": success, "device": device.name, "operator_id": device.operator_id}
        meta.update(attrs or {})
        episode = recorder.finish(loop.obs, meta)
    steps = len(recorder) if recorder is not None else env.steps
    return EpisodeResult(success, steps, episode, {"progress": info.get("progress", 0.0)})


def wall_clock() -> float:
    """The clock live devices stamp samples with and the loop stamps applied targets with (seconds)."""
    return time.monotonic()
