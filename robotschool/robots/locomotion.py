"""Moving the robot's base: a kinematically driven base with a visible leg gait or spinning wheels.

Why kinematic: the robots here are demonstration platforms, not balance controllers. What teleoperation data
needs from the base is that it goes exactly where the operator steers, never falls, never drifts, and is
replayed bit-identically; a dynamic walking controller would add falls and a controller's hidden state to
every demo without adding anything a manipulation policy learns from. So the base link is moved by the
commanded twist every physics substep (an acceleration-limited velocity, integrated in the world frame),
and the legs (or wheels) are animated from the distance travelled so the motion reads as walking (or
rolling). The base pose is observed (robot0_base_pose) and recorded like any other state.

The driver's own state (the current base velocity and the gait phase and amplitude) is a World state
extension, so `World.get_state()/set_state()` capture it and replay is exact.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from robotschool import geometry
from robotschool.types import Pose

if TYPE_CHECKING:
    from robotschool.robots.base import Robot


class BaseDriver:
    """Integrates the base twist and animates legs or wheels. One per built robot; a World extension."""

    state_size = 8    # x, y, yaw (world), vx, vy, wz (current, base frame), gait phase, gait amplitude

    def __init__(self, robot: "Robot"):
        self.robot = robot
        spec = robot.spec
        self.kind = spec.base_type
        self.max_speed = np.asarray(spec.max_base_speed, dtype=np.float64)
        self.max_accel = np.asarray(spec.max_base_accel, dtype=np.float64)
        base = robot.base_pose()
        # the driver integrates its own planar pose rather than reading PyBullet's back every substep: no
        # round-off creeps in through quaternion conversions, and the pose is exactly part of the state
        self.pose = np.array([base.pos[0], base.pos[1], geometry.quat_yaw(base.quat)])
        self.height = float(base.pos[2])
        self.vel = np.zeros(3)
        self.phase = 0.0
        self.amplitude = 0.0
        self.command = np.zeros(3)
        g = spec.gait
        idx = robot.joint_index
        self._legs = {side: [idx[j] for j in getattr(g, side)] for side in ("left", "right")} if g.left else {}
        self._wheels = [idx[w] for w in spec.wheels.joints]
        self._home = {j: float(robot.home_q[robot.movable.index(j)]) for leg in self._legs.values() for j in leg}

    # -- World extension ------------------------------------------------------------------------------------
    def get_state(self) -> np.ndarray:
        return np.array([*self.pose, *self.vel, self.phase, self.amplitude])

    def set_state(self, state: np.ndarray) -> None:
        self.pose = np.array(state[:3], dtype=np.float64)
        self.vel = np.array(state[3:6], dtype=np.float64)
        self.phase, self.amplitude = float(state[6]), float(state[7])

    # -- driving --------------------------------------------------------------------------------------------
    def set_command(self, twist) -> None:
        t = np.array(twist, dtype=np.float64)       # a copy: changed below
        if not np.isfinite(t).all():     # (np.nan_to_num always: ~20 us a call in the live tick, for a rare case)
            t = np.nan_to_num(t)
        if self.kind == "differential":
            t[1] = 0.0          # a differential base cannot move sideways
        self.command = np.clip(t, -self.max_speed, self.max_speed)

    def substep(self, dt: float) -> None:
        """Advance the base by one physics substep (before stepSimulation)."""
        dv = np.clip(self.command - self.vel, -self.max_accel * dt, self.max_accel * dt)
        self.vel = self.vel + dv
        moving = bool(np.any(self.vel != 0.0))
        if moving:
            x, y, yaw = self.pose
            c, s = math.cos(yaw), math.sin(yaw)
            vx, vy, wz = self.vel
            self.pose = np.array([x + dt * (c * vx - s * vy), y + dt * (s * vx + c * vy), yaw + dt * wz])
            self.robot.set_base_pose(Pose([self.pose[0], self.pose[1], self.height], geometry.yaw_quat(self.pose[2])))
        if self._legs and (self.amplitude > 0.0 or self.phase != 0.0 or moving):
            self._gait(dt)
        if self._wheels and moving:
            self._spin_wheels(dt)

    def _gait(self, dt: float) -> None:
        g = self.robot.spec.gait
        effort = float(np.max(np.abs(self.vel) / np.maximum(self.max_speed, 1e-9)))
        target_amp = min(1.0, effort / g.full_stride_at) if effort > 1e-6 else 0.0
        # amplitude follows the speed smoothly; the phase runs while stepping and stops at a stance
        self.amplitude += float(np.clip(target_amp - self.amplitude, -dt / g.blend_s, dt / g.blend_s))
        if self.amplitude > 1e-4 or math.sin(self.phase) ** 2 > 1e-4:
            self.phase = (self.phase + 2 * math.pi * g.step_hz * dt) % (2 * math.pi)
            if self.amplitude <= 1e-4 and math.sin(self.phase) ** 2 < 0.01:
                self.phase = round(self.phase / math.pi) * math.pi % (2 * math.pi)
        direction = 1.0 if self.vel[0] >= -1e-9 else -1.0
        lateral = self.vel[1] / max(self.max_speed[1], 1e-9)
        turn = self.vel[2] / max(self.max_speed[2], 1e-9)
        a = self.amplitude
        targets: dict[int, float] = {}
        for side, sign in (("left", 1.0), ("right", -1.0)):
            hip_yaw, hip_roll, hip_pitch, knee, ankle_pitch, ankle_roll = self._legs[side]
            swing = sign * math.sin(self.phase)         # > 0 while this leg swings
            lift = max(0.0, swing)
            hp = -direction * g.hip_pitch * a * swing
            kn = g.knee * a * lift
            targets[hip_pitch] = self._home[hip_pitch] + hp
            targets[knee] = self._home[knee] + kn
            targets[ankle_pitch] = self._home[ankle_pitch] - hp - kn    # keep the foot flat
            targets[hip_roll] = self._home[hip_roll] + g.hip_roll * lateral * a * lift
            targets[ankle_roll] = self._home[ankle_roll] - g.hip_roll * lateral * a * lift
            targets[hip_yaw] = self._home[hip_yaw] + g.hip_yaw * turn * a * lift
        self.robot.hold_joints(targets)

    def _spin_wheels(self, dt: float) -> None:
        w = self.robot.spec.wheels
        p = self.robot.world.p
        speed = math.hypot(self.vel[0], self.vel[1]) * (1.0 if self.vel[0] >= 0 else -1.0)
        for j, side in zip(self._wheels, w.sides):
            rate = (speed - side * self.vel[2] * w.track / 2) / w.radius
            q = p.getJointState(self.robot.body, j)[0]
            p.resetJointState(self.robot.body, j, q + rate * dt, rate)


__all__ = ["BaseDriver"]
