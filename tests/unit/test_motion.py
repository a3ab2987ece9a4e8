"""motion.Navigator: the walk to a goal ends crisply with a speed floor, and creeps without one."""
from __future__ import annotations

import math

import pytest

from robotschool.tasks.motion import Navigator

DT = 0.05                                # one 20 Hz control tick


def _walk(nav: Navigator, start: tuple[float, float, float], goal: tuple[float, float, float],
          ticks: int = 400) -> list[float]:
    """Follow the navigator's twists on an ideal base (the twist is the motion); the distance left per tick,
    until it says it has arrived."""
    x, y, yaw = start
    left = []
    for _ in range(ticks):
        (vx, vy, wz), arrived = nav.twist((x, y, yaw), goal)
        if arrived:
            return left
        c, s = math.cos(yaw), math.sin(yaw)
        x, y, yaw = x + (c * vx - s * vy) * DT, y + (s * vx + c * vy) * DT, yaw + wz * DT
        left.append(math.hypot(goal[0] - x, goal[1] - y))
    pytest.fail(f"no arrival in {ticks} ticks (last distance {left[-1]:.4f} m)")


def test_a_speed_floor_ends_the_approach_within_a_few_ticks_instead_of_a_creep():
    speeds, accel = (0.4, 0.3, 0.7), (0.6, 0.6, 1.2)
    start, goal = (0.0, 0.0, 0.0), (0.6, 0.1, 0.05)
    creep = _walk(Navigator(speeds, accel), start, goal)
    crisp = _walk(Navigator(speeds, accel, min_speed=(0.05, 0.1)), start, goal)
    near = lambda left: sum(d < 0.01 for d in left)          # ticks spent within 1 cm of the goal
    assert near(crisp) <= 3
    assert near(creep) >= 8                                  # the exponential tail: 2 x distance per second
    assert len(crisp) < len(creep)


def test_the_floor_never_overshoots_nor_exceeds_the_top_speed():
    nav = Navigator((0.4, 0.3, 0.7), (0.6, 0.6, 1.2), min_speed=(0.05, 0.1))
    for d in (0.005, 0.01, 0.05, 0.3, 2.0):                  # all beyond the 4 mm / 4 mrad tolerance
        (vx, vy, wz), arrived = nav.twist((0.0, 0.0, 0.0), (d, 0.0, 0.0))
        assert not arrived and vy == 0.0 and wz == 0.0
        assert 0.0 < vx * DT <= d + 1e-12 and vx <= 0.4     # one tick never carries it past the goal
        (vx, _, wz), arrived = nav.twist((0.0, 0.0, 0.0), (0.0, 0.0, d))
        assert not arrived and vx == 0.0
        assert 0.0 < wz * DT <= d + 1e-12 and wz <= 0.7
