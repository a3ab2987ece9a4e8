"""Retargeting: OperatorCommand (operator frame) -> RobotCommand (robot base frame).

This is where a human's or a script's hand motion becomes robot hand targets: calibration (operator frame to
robot base frame), motion scaling for relative input, the clutch (a disengaged hand holds its target, so the
operator can re-centre), and a clamp to each arm's workspace box so nothing absurd reaches IK.

It keeps the current targets as state, starting from the robot's measured TCP poses at `reset()`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robotschool import geometry
from robotschool.types import ARMS, HandTarget, OperatorCommand, Pose, RobotCommand


@dataclass(frozen=True)
class RetargetSettings:
    scale: float = 1.0                  # relative (delta) motion scale: robot metres per operator metre
    calibration: Pose | None = None     # operator frame expressed in the robot base frame (None: identical)


class Retargeter:
    def __init__(self, workspace: dict[str, tuple[np.ndarray, np.ndarray]], max_base_speed,
                 settings: RetargetSettings | None = None):
        self.settings = settings or RetargetSettings()
        self.low = {a: np.asarray(workspace[a][0]) for a in ARMS}
        self.high = {a: np.asarray(workspace[a][1]) for a in ARMS}
        self.max_base = np.asarray(max_base_speed, dtype=np.float64)
        self.targets: dict[str, HandTarget] = {}
        self.clamped = {a: False for a in ARMS}
        self.head: tuple[float, float] | None = None     # None: the robot's home head posture
        self.torso: float | None = None

    def reset(self, tcp_poses: dict[str, Pose], grips: dict[str, float] | None = None) -> None:
        self.targets = {a: HandTarget(tcp_poses[a], (grips or {}).get(a, 0.0)) for a in ARMS}
        self.head = None
        self.torso = None

    def __call__(self, cmd: OperatorCommand) -> RobotCommand:
        calib = self.settings.calibration
        out = {}
        for arm in ARMS:
            hc = cmd.hand(arm)
            current = self.targets[arm]
            pose = current.pose
            if hc.clutch:
                if hc.pose is not None and hc.pose.is_finite():
                    pose = calib.compose(hc.pose) if calib is not None else hc.pose
                elif hc.delta is not None and hc.delta.is_finite():
                    d = hc.delta
                    if calib is not None:  # rotate the delta into the base frame
                        r = calib.rot
                        d = Pose.from_matrix(r @ d.pos, r @ d.rot @ r.T)
                    pose = Pose.from_matrix(pose.pos + self.settings.scale * d.pos, d.rot @ pose.rot)
            clipped = geometry.clip(pose.pos, self.low[arm], self.high[arm])
            self.clamped[arm] = bool(np.any(clipped != pose.pos))
            grip = float(geometry.clip(hc.grip, 0.0, 1.0)) if np.isfinite(hc.grip) else current.grip
            out[arm] = HandTarget(Pose(clipped, pose.quat), grip)
        self.targets = out
        twist = np.asarray(cmd.base_twist, dtype=np.float64)
        if not np.isfinite(twist).all():
            twist = np.nan_to_num(twist)
        twist = geometry.clip(twist, -self.max_base, self.max_base)
        if cmd.head is not None and cmd.head.is_finite():
            self.head = head_yaw_pitch(calib.compose(cmd.head) if calib is not None else cmd.head)
        if cmd.torso is not None and np.isfinite(cmd.torso):
            self.torso = float(cmd.torso)
        return RobotCommand(out["left"], out["right"], tuple(float(v) for v in twist), self.head, self.torso)


def head_yaw_pitch(head: Pose) -> tuple[float, float]:
    """Yaw and pitch (radians, pitch > 0 looking down) of where a head pose looks (its x axis)."""
    f = head.rot[:, 0]
    return float(np.arctan2(f[1], f[0])), float(-np.arcsin(np.clip(f[2], -1.0, 1.0)))


__all__ = ["Retargeter", "RetargetSettings"]
