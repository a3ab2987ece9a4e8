"""Motion primitives shared by scripted operators: bounded-speed hand targets and base navigation.

A person moves a hand target smoothly toward where they want it and walks toward where they want to stand;
these helpers do that at speeds drawn per episode, so scripted demos look like a steady operator, not a
teleporting one. Poses are in whatever frame the caller uses consistently (hand targets: robot base frame;
navigation: world frame, with (x, y, yaw) for the base).
"""
from __future__ import annotations

import math

import numpy as np

from robotschool import geometry
from robotschool.types import Pose


def step_towards(current: Pose, goal: Pose, speed: float, turn_speed: float, dt: float) -> tuple[Pose, bool]:
    """Move `current` toward `goal` by at most speed*dt metres and turn_speed*dt radians; True once there."""
    step = speed * dt
    d = goal.pos - current.pos
    dist = float(np.linalg.norm(d))
    pos = goal.pos if dist <= step else current.pos + d / dist * step
    rerr = geometry.rotation_error(goal.rot, current.rot)
    ang = float(np.linalg.norm(rerr))
    max_turn = turn_speed * dt
    rot = goal.rot if ang <= max_turn else geometry.axis_angle_matrix(rerr / ang, max_turn) @ current.rot
    return Pose.from_matrix(pos, rot), dist <= step and ang <= max_turn


def wrap(angle: float) -> float:
    return math.remainder(angle, 2 * math.pi)


def base_xy_yaw(base_pose7: np.ndarray) -> tuple[float, float, float]:
    """(x, y, yaw) of an upright base from an observed robot0_base_pose (x, y, z, qx, qy, qz, qw)."""
    return float(base_pose7[0]), float(base_pose7[1]), 2.0 * math.atan2(base_pose7[5], base_pose7[6])


class Navigator:
    """Steers the base to a goal (x, y, yaw) in the world: turn toward far goals first, then walk, braking in
    time for the robot's acceleration limit, with a holonomic final approach. Returns base-frame twists.

    `min_speed` (metres/s, radians/s) ends the approach crisply: near the goal the speed never drops below
    it (nor below what closes the rest of the error in `1 / finish_gain` s), so the last millimetres take a
    tick or two instead of an exponential creep. Why it matters: a policy learnt from the demos has to guess
    when the walk is over from the state alone, and a long creep of near-identical states labelled "keep
    walking" teaches it to creep for ever (README, Training). (0, 0), the default, is the old creep."""

    def __init__(self, max_speed: tuple[float, float, float], accel: tuple[float, float, float],
                 pos_tol: float = 0.004, yaw_tol: float = 0.004, min_speed: tuple[float, float] = (0.0, 0.0),
                 finish_gain: float = 20.0):
        self.vmax = np.asarray(max_speed, dtype=np.float64)
        self.accel = np.asarray(accel, dtype=np.float64)
        self.pos_tol = pos_tol
        self.yaw_tol = yaw_tol
        self.vmin = (float(min_speed[0]), float(min_speed[1]))
        self.finish_gain = finish_gain

    def twist(self, base: tuple[float, float, float], goal: tuple[float, float, float]) -> tuple[tuple[float, float, float], bool]:
        x, y, yaw = base
        ex, ey = goal[0] - x, goal[1] - y
        c, s = math.cos(yaw), math.sin(yaw)
        bx, by = c * ex + s * ey, -s * ex + c * ey          # the goal in the base frame
        dist = math.hypot(bx, by)
        eyaw = wrap(goal[2] - yaw)
        arrived = dist < self.pos_tol and abs(eyaw) < self.yaw_tol
        if arrived:
            return (0.0, 0.0, 0.0), True

        def speed(err: float, vmax: float, acc: float, vmin: float) -> float:
            v = min(vmax, math.sqrt(2 * 0.7 * acc * abs(err)), 2.0 * abs(err))
            if vmin > 0.0:
                v = max(v, min(vmin, self.finish_gain * abs(err)))
            return math.copysign(v, err)

        wz = speed(eyaw, self.vmax[2], self.accel[2], self.vmin[1])
        if abs(eyaw) > 0.35:                                 # turn on the spot before walking on
            return (0.0, 0.0, wz), False
        if dist > 1e-9:
            v = speed(dist, self.vmax[0], self.accel[0], self.vmin[0])
            vx, vy = v * bx / dist, v * by / dist
            if abs(vy) > self.vmax[1]:                       # sideways is slower: scale the whole step
                vx, vy = vx * self.vmax[1] / abs(vy), math.copysign(self.vmax[1], vy)
        else:
            vx = vy = 0.0
        return (vx, vy, wz), False


__all__ = ["Navigator", "base_xy_yaw", "step_towards", "wrap"]
