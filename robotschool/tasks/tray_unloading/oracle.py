"""Scripted operator of tray_unloading: walk, grasp a tray with both hands, turn round, carry, unload, return.

Like a trainer in VR: both hands move together (a tray is held by its two side rims), the base walks and
turns on the spot (robots/locomotion.py moves it as commanded), and while carrying the hands hold still in
the robot's frame so the tray rides with the body. Everything is planned from observations (tray poses in
the base frame, the base pose in the world) plus the layout the operator was told (rack and cart poses),
and grasp distances are checked with the robot's kinematics (`reach`) before walking up to a tray.
Speeds, where along the rims the hands hold, and small standing offsets are drawn per episode.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from robotschool import geometry
from robotschool.recording import schema
from robotschool.tasks.base import Reach, StationOracle, uniform
from robotschool.tasks.motion import Navigator, base_xy_yaw, step_towards
from robotschool.types import ARMS, HandCommand, OperatorCommand, Pose

if TYPE_CHECKING:
    from robotschool.tasks.tray_unloading.task import TrayUnloading


class TrayOracle(StationOracle):
    def __init__(self, task: "TrayUnloading", params: dict[str, Any], rng: np.random.Generator, reach: Reach | None):
        super().__init__(task, params, rng, reach)
        self.hand_speed = uniform(rng, self.oc.hand_speed)
        self.nav = Navigator((uniform(rng, self.oc.walk_speed), self.oc.side_speed, uniform(rng, self.oc.turn_speed)),
                             self.oc.accel, min_speed=self.oc.finish_speed)
        self.grasp_x = [uniform(rng, self.oc.grasp_from_front) for _ in params["trays"]]
        self.stand_noise = [rng.uniform(-self.oc.stand_noise, self.oc.stand_noise, size=2) for _ in params["trays"]]
        self.order = list(range(len(params["trays"])))
        self.current = 0                          # index into order
        self.placed = 0
        self.phase = "start"
        self.since = 0.0
        self.targets: dict[str, Pose] = {}
        self.goals: dict[str, Pose] = {}
        self.grip = 0.0
        self.twist = (0.0, 0.0, 0.0)
        self.base_goal: tuple[float, float, float] | None = None
        self.rest: dict[str, Pose] = {}
        self.hold: dict[str, Pose] = {}           # grasp poses of the tray being carried (base frame)
        self.reach_d = self.oc.reach[0]
        self.start_pose = (0.0, 0.0, 0.0)
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    # -- geometry ------------------------------------------------------------------------------------------
    def _tray_pose(self, obs, i: int) -> Pose:
        row = obs[schema.OBS_OBJECT][7 * i:7 * i + 7]
        return Pose(row[:3], row[3:])

    def _grasps(self, tray: Pose, i: int) -> dict[str, Pose]:
        """Hand poses (same frame as `tray`) pinching the two side rims near the tray's front edge."""
        t = self.cfg.trays
        ox, oy, oz = self.task.tray_outer()
        rim_y = t.inner[1] / 2 + t.wall / 2
        lx = -ox / 2 + self.grasp_x[i]
        z = oz - self.oc.grasp_depth
        yaw_rot = tray.rot
        out = {}
        for arm, side in (("left", 1.0), ("right", -1.0)):
            pos = tray.pos + yaw_rot @ np.array([lx, side * rim_y, z])
            out[arm] = Pose.from_matrix(pos, yaw_rot @ self.rest[arm].rot)
        return out

    def _above(self, pose: Pose, dz: float) -> Pose:
        return Pose(pose.pos + np.array([0.0, 0.0, dz]), pose.quat)

    def _stand_at_rack(self, obs, i: int) -> tuple[float, float, float]:
        """World base pose facing the rack, centred on tray i (where it is seen now, which may be off its
        slot if an arm brushed it), with its grasp rims at a reachable distance."""
        b = obs[schema.OBS_BASE_POSE]
        start = Pose(b[:3], b[3:]).compose(self._tray_pose(obs, i))
        yaw = self.params["rack"]["yaw"]
        ox = self.task.tray_outer()[0]
        tray_local = Pose([0.0, 0.0, start.pos[2]], [0, 0, 0, 1])    # tray in a base frame facing it, at x=0
        grasps = self._grasps(tray_local, i)
        self.reach_d = self.oc.reach[0]
        for d in self.oc.reach:
            shifted = {a: Pose(g.pos + np.array([d + ox / 2 - self.grasp_x[i], 0.0, 0.0]), g.quat)
                       for a, g in grasps.items()}
            if self.reach is None or all(self.reach(a, g) and self.reach(a, self._above(g, self.oc.approach_height))
                                         for a, g in shifted.items()):
                self.reach_d = d
                break
        back = self.reach_d + ox / 2 - self.grasp_x[i]          # base to tray centre along the facing direction
        n = self.stand_noise[i]
        c, s = math.cos(yaw), math.sin(yaw)
        return (start.pos[0] - c * back + n[0], start.pos[1] - s * back + n[1], yaw)

    def _stand_at_cart(self, obs, k: int) -> tuple[float, float, float]:
        """World base pose that puts the tray now in the hands (as seen) onto the cart's k-th place."""
        place = self.task.cart_place(self.params, k)
        held = self._tray_pose(obs, self.order[self.current])          # base frame
        place_yaw = geometry.quat_yaw(place.quat)
        yaw = place_yaw - geometry.quat_yaw(held.quat)
        c, s = math.cos(yaw), math.sin(yaw)
        hx, hy = held.pos[0], held.pos[1]
        return (place.pos[0] - (c * hx - s * hy), place.pos[1] - (s * hx + c * hy), yaw)

    def _backed_off(self, base: tuple[float, float, float], distance: float) -> tuple[float, float, float]:
        x, y, yaw = base
        return (x - math.cos(yaw) * distance, y - math.sin(yaw) * distance, yaw)

    # -- the script ----------------------------------------------------------------------------------------
    def _go(self, phase: str, t: float, goals: dict[str, Pose] | None = None,
            base_goal: tuple[float, float, float] | None = None) -> None:
        self.phase, self.since = phase, t
        if goals is not None:
            self.goals = goals
        self.base_goal = base_goal

    def act(self, obs: dict[str, np.ndarray], t: float) -> OperatorCommand:
        dt = 1.0 / self.cfg.control_hz
        base = base_xy_yaw(obs[schema.OBS_BASE_POSE])
        if not self.targets:
            for arm in ARMS:
                pose = Pose(obs[schema.OBS_EEF_POS.format(arm=arm)], obs[schema.OBS_EEF_QUAT.format(arm=arm)])
                self.targets[arm] = pose
                raised = self.oc.raised.get(arm)
                self.rest[arm] = Pose(raised, pose.quat) if raised is not None else pose
            self.goals = dict(self.rest)
            self.start_pose = base
        commanded, measured = True, True
        for arm in ARMS:
            self.targets[arm], arrived = step_towards(self.targets[arm], self.goals[arm], self.hand_speed,
                                                      self.oc.hand_turn_speed, dt)
            tcp = obs[schema.OBS_EEF_POS.format(arm=arm)]
            commanded &= arrived
            measured &= float(np.linalg.norm(tcp - self.goals[arm].pos)) < self.oc.hand_tolerance
        base_there = True
        self.twist = (0.0, 0.0, 0.0)
        if self.base_goal is not None:
            self.twist, base_there = self.nav.twist(base, self.base_goal)
        # a loaded arm sags a little: once everything commanded has arrived, wait at most waypoint_timeout
        # for the measured hands to catch up
        settled = measured or t - self.since > self.oc.waypoint_timeout
        self._tick(obs, t, base, commanded and base_there and settled)
        hands = {arm: HandCommand(pose=self.targets[arm], grip=self.grip) for arm in ARMS}
        return OperatorCommand(left=hands["left"], right=hands["right"], base_twist=self.twist, timestamp=t,
                               phase=self.phase)

    def _tick(self, obs, t: float, base, arrived: bool) -> None:
        i = self.order[self.current] if self.current < len(self.order) else None
        if self.phase == "start":
            self._go("walk_to_rack", t, dict(self.rest), self._stand_at_rack(obs, i))
        elif self.phase in ("grasp", "release"):      # the fingers need time to close or open
            if t - self.since >= (self.oc.grasp_time if self.phase == "grasp" else self.oc.release_time):
                self._advance(obs, t, base, i)
        elif arrived and self.phase != "finished":
            self._advance(obs, t, base, i)

    def _advance(self, obs, t: float, base, i: int | None) -> None:
        oc = self.oc
        p = self.phase
        if p == "walk_to_rack":
            grasps = self._grasps(self._tray_pose(obs, i), i)
            self.hold = grasps
            self.grip = oc.preshape_grip
            # raise the hands straight up to the approach height first: a straight line from the walking pose
            # to above the rims of an upper-shelf tray would sweep through the tray's front and tip it up
            above = {a: self._above(g, oc.approach_height) for a, g in grasps.items()}
            self._go("raise_arms", t, {a: Pose([*self.targets[a].pos[:2], max(self.targets[a].pos[2], above[a].pos[2])],
                                               above[a].quat) for a in ARMS})
        elif p == "raise_arms":
            self._go("reach", t, {a: self._above(g, oc.approach_height) for a, g in self.hold.items()})
        elif p == "reach":
            self._go("descend", t, dict(self.hold))
        elif p == "descend":
            self.grip = 1.0
            self._go("grasp", t)
        elif p == "grasp":
            self.hold = {a: self._above(g, oc.lift) for a, g in self.hold.items()}
            self._go("lift", t, dict(self.hold))
        elif p == "lift":
            front = self.task.rack_front(self.params).pos                  # the most protruding tray front
            along = math.cos(base[2]) * (front[0] - base[0]) + math.sin(base[2]) * (front[1] - base[1])
            self._go("pull_out", t, base_goal=self._backed_off(base, max(0.0, oc.turn_clearance - along)))
        elif p == "pull_out":
            self._go("walk_to_cart", t, base_goal=self._stand_at_cart(obs, self.placed))
        elif p == "walk_to_cart":
            lower = self.cfg.cart.height + (self.placed // len(self.cfg.cart.columns)) * self.task.tray_outer()[2]
            dz = lower + 0.008 - self._tray_pose(obs, i).pos[2]     # the base frame is on the floor
            self._go("lower", t, {a: self._above(g, dz) for a, g in self.hold.items()})
        elif p == "lower":
            self.grip = oc.preshape_grip
            self._go("release", t)
        elif p == "release":
            self._go("raise", t, {a: self._above(g, oc.approach_height) for a, g in self.goals.items()})
        elif p == "raise":
            self.placed += 1
            self.current += 1
            self._go("back_off", t, dict(self.rest), self._backed_off(base, oc.cart_backoff))
        elif p == "back_off":
            if self.current < len(self.order):
                self._go("walk_to_rack", t, dict(self.rest), self._stand_at_rack(obs, self.order[self.current]))
            else:
                self._go("return", t, dict(self.rest), self.start_pose)
        elif p == "return":
            self._go("finished", t, dict(self.rest))
            self._done = True
