"""The control loop shared by every way of producing demos (scripted generation, teleoperation, replay).

    device.poll -> OperatorCommand -> Retargeter -> RobotCommand -> action (float32) -> env.step -> Recorder

One function, so human and scripted demos are recorded identically.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from robotschool import geometry
from robotschool.control.retarget import Retargeter
from robotschool.devices.base import Device
from robotschool.env import RobotEnv
from robotschool.recording import schema
from robotschool.recording.episode import Episode
from robotschool.recording.recorder import Recorder, operator_row
from robotschool.types import ARMS, JointTargets, Pose, RobotCommand


@dataclass
class EpisodeResult:
    success: bool
    steps: int
    episode: Episode | None
    info: dict[str, Any]


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


def run_episode(env: RobotEnv, device: Device, record: bool = True, max_steps: int | None = None,
                attrs: dict[str, Any] | None = None) -> EpisodeResult:
    """Run one episode from the env's current (freshly reset) state until the device is finished and
    success has held for `success_hold_s`, or the device has been finished for 2 s, or the horizon."""
    retarget = make_retargeter(env)
    recorder = Recorder() if record else None
    max_steps = max_steps or env.max_steps
    hold = max(1, math.ceil(env.config.success_hold_s * env.config.control_hz))
    grace = 2 * env.config.control_hz
    streak, finished_for = 0, 0
    obs = env.observe()
    info: dict[str, Any] = {"success": False}
    for _ in range(max_steps):
        cmd = device.poll(obs, env.time)
        action = env.encode(retarget(cmd))
        if recorder is not None:
            state = env.world.get_state()
            tcp_now = {arm: Pose(obs[schema.OBS_EEF_POS.format(arm=arm)], obs[schema.OBS_EEF_QUAT.format(arm=arm)])
                       for arm in ARMS}
        next_obs, reward, done, info = env.step(action)
        if recorder is not None:
            recorder.add(obs, state, action, action_dict(info["command"], info["targets"], tcp_now), reward,
                         operator_row(cmd))
        obs = next_obs
        streak = streak + 1 if info["success"] else 0
        finished_for = finished_for + 1 if device.finished else 0
        if (device.finished and streak >= hold) or finished_for > grace or done:
            break
    success = bool(info["success"])
    episode = None
    if recorder is not None and len(recorder):
        meta = {"success": success, "device": device.name, "operator_id": device.operator_id}
        meta.update(attrs or {})
        episode = recorder.finish(obs, meta)
    steps = len(recorder) if recorder is not None else env.steps
    return EpisodeResult(success, steps, episode, {"progress": info.get("progress", 0.0)})
