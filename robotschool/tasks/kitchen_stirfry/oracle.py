"""Scripted operator of kitchen_stirfry: take the spatula, flip each slice when its underside is done, put the
spatula back, wait until everything is cooked.

Like a cook: it watches how done each slice's underside is (the observed cooking state, as a person sees the
colour) and turns the most done slice once that side is cooked. A flip is a lever: the blade comes down
behind the slice, square to it, and is pressed onto the wok floor so its wedge tip slides under the slice's
near edge; then the tip lifts that edge along an arc around the slice's far edge (which stays on the floor:
the food sticks a little to the hot wok) until the slice stands past upright and tips over onto its other
side, away from the spatula. The blade only translates (and levels its slight tip-down pitch): these arms
cannot roll a wrist the ~110 degrees a turn-over-the-blade flip needs. Between flips the spatula stirs over
the free part of the wok, clear of the food (the `stir` phase). Each flip is planned from the slice's observed
pose (a neighbour's flip may have nudged or turned it), from the edge most square to the robot that the cooking
arm can reach through the whole flip (kinematic reach check); a slice still unturned is tried again at once,
being then the most done. The blade is narrower than a slice plus its gaps, so it lifts no neighbour. Blade
poses are planned in the spatula's frame and turned into hand targets through the grasp actually made (hand
relative to spatula, measured once it is held).

Human-like variety: per-episode speeds, arc angle, hover height, how long past done it waits to flip, and
small position noise, all from the episode's rng.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from robotschool import geometry
from robotschool.recording import schema
from robotschool.tasks.base import Reach, StationOracle, uniform
from robotschool.tasks.kitchen_stirfry.heat import FEATURES
from robotschool.tasks.motion import step_towards
from robotschool.types import ARMS, HandCommand, OperatorCommand, Pose

if TYPE_CHECKING:
    from robotschool.tasks.kitchen_stirfry.task import KitchenStirfry


ARRIVE = 0.012          # measured TCP within this of a waypoint (m)
LIFTED = 0.04           # the spatula rose this much with the hand: it is held (m)
MAX_EXTRA_SLIDE = 0.02  # the blade follows a slice it pushes ahead this much further at most (m)
MAX_FLIP_YAW = 1.0     # blade headings beyond this (rad) would tip the slice sideways onto its neighbours


class StirfryOracle(StationOracle):
    """Phases (the per-step subtask labels): grasp_spatula, stir, flip, return_spatula, finished."""

    def __init__(self, task: "KitchenStirfry", params: dict[str, Any], rng: np.random.Generator,
                 reach: Reach | None):
        super().__init__(task, params, rng, reach)
        oc = self.oc
        self.n = len(params["pieces"])
        self.geo = task.spatula_geometry()
        self.arm = oc.arm
        self.grasp = self.geo.grasp_in_spatula()          # nominal; replaced by the measured one once held
        self.cooked = task.config.heat.cooked
        # per-episode style
        self.speed = uniform(rng, oc.speed)
        self.slide_speed = uniform(rng, oc.slide_speed)
        self.lever_speed = uniform(rng, oc.lever_speed)
        self.lever_angle = uniform(rng, oc.lever_angle)
        self.hover = uniform(rng, oc.hover)
        self.margin = uniform(rng, oc.flip_margin)
        self.stir_period = uniform(rng, (2.5, 4.0))
        self.phase = "grasp_spatula"
        self.step = "approach"
        self.start: dict[str, Pose] = {}
        self.targets: dict[str, Pose] = {}
        self.grips = {arm: 0.0 for arm in ARMS}
        self.goal: Pose | None = None
        self.since = 0.0
        self.piece: int | None = None
        self.tries = np.zeros(self.n, dtype=int)
        self.flip: dict[str, Any] = {}
        self.rest_blade: Pose | None = None
        self.attempts = 0
        self.all_cooked = False

    @property
    def done(self) -> bool:
        return self.phase == "finished" and self.all_cooked

    # -- what the operator sees ----------------------------------------------------------------------------
    def _pose(self, obs, i: int) -> Pose:
        row = obs[schema.OBS_OBJECT][7 * i:7 * i + 7]
        return Pose(row[:3], row[3:])

    def _spatula(self, obs) -> Pose:
        return self._pose(obs, self.n)

    def _wok(self, obs) -> Pose:
        return self._pose(obs, self.n + 1)

    def _cooking(self, obs) -> np.ndarray:
        return obs[schema.OBS_OBJECT][7 * (self.n + 2):].reshape(self.n, FEATURES)

    def _hand(self, obs) -> Pose:
        return Pose(obs[schema.OBS_EEF_POS.format(arm=self.arm)], obs[schema.OBS_EEF_QUAT.format(arm=self.arm)])

    def _floor(self, obs) -> float:
        return float(self._wok(obs).pos[2])

    # -- blade poses ---------------------------------------------------------------------------------------
    def _blade_at_tip(self, tip: np.ndarray, yaw: float, pitch: float) -> Pose:
        """Spatula pose whose blade tip edge (underside) is at `tip`, heading `yaw`, tip pitched down by `pitch`."""
        rot = geometry.axis_angle_matrix([0, 0, 1], yaw) @ geometry.axis_angle_matrix([0, 1, 0], pitch)
        return Pose.from_matrix(tip - rot @ np.array([self.geo.blade[0] / 2, 0.0, 0.0]), rot)

    def _hand_for(self, spatula: Pose) -> Pose:
        return spatula.compose(self.grasp)

    # -- motion --------------------------------------------------------------------------------------------
    def _go(self, step: str, goal: Pose | None, t: float, phase: str | None = None) -> None:
        self.step, self.goal, self.since = step, goal, t
        if phase is not None:
            self.phase = phase

    def _move(self, obs, dt: float, speed: float | None = None, tol: float = ARRIVE) -> bool:
        """Move the cooking hand's target toward the goal; True once there and the measured hand has arrived."""
        target, there = step_towards(self.targets[self.arm], self.goal, speed or self.speed, self.oc.turn_speed, dt)
        self.targets[self.arm] = target
        return there and float(np.linalg.norm(self._hand(obs).pos - self.goal.pos)) < tol

    def _timed_out(self, t: float) -> bool:
        return t - self.since > self.oc.waypoint_timeout

    # -- the script ----------------------------------------------------------------------------------------
    def act(self, obs: dict[str, np.ndarray], t: float) -> OperatorCommand:
        dt = 1.0 / self.cfg.control_hz
        if not self.targets:
            for arm in ARMS:
                self.start[arm] = Pose(obs[schema.OBS_EEF_POS.format(arm=arm)],
                                       obs[schema.OBS_EEF_QUAT.format(arm=arm)])
                self.targets[arm] = self.start[arm]
            self.rest_blade = self._spatula(obs)
        self.all_cooked = bool(np.all(self._cooking(obs)[:, :2].min(axis=1) >= self.cooked))
        getattr(self, "_" + self.phase)(obs, t, dt)
        hands = {arm: HandCommand(pose=self.targets[arm], grip=self.grips[arm]) for arm in ARMS}
        return OperatorCommand(left=hands["left"], right=hands["right"], timestamp=t, phase=self.phase)

    def _grasp_spatula(self, obs, t: float, dt: float) -> None:
        sp = self._spatula(obs)
        grasp = self._hand_for(sp)
        low = Pose(grasp.pos + np.array([0, 0, -0.004]), grasp.quat)
        if self.step == "approach":
            if self.goal is None:
                self.goal = Pose(grasp.pos + np.array([0, 0, 0.08]) + self._noise(), grasp.quat)
            if self._move(obs, dt) or self._timed_out(t):
                self._go("descend", low, t)
        elif self.step == "descend":
            self.goal = low
            if self._move(obs, dt, self.speed / 2, tol=0.006) or self._timed_out(t):
                self.grips[self.arm] = 1.0
                self._go("close", low, t)
        elif self.step == "close":
            if t - self.since >= self.oc.grasp_time:
                up = self.targets[self.arm]
                self._go("lift", Pose(up.pos + np.array([0, 0, 0.10]), up.quat), t)
        elif self.step == "lift":
            if self._move(obs, dt) or self._timed_out(t):
                if sp.pos[2] < self.rest_blade.pos[2] + LIFTED:      # it stayed on the counter: again
                    self.grips[self.arm] = 0.0
                    self.attempts += 1
                    self._go("approach", None, t, "grasp_spatula" if self.attempts < 3 else "finished")
                    return
                self.grasp = sp.inverse().compose(self._hand(obs))   # the grasp actually made
                self._go("carry", None, t, "stir")

    # -- stirring: the blade sweeps over the free near part of the wok until a slice is ready --------------
    def _stir_pose(self, obs, t: float) -> Pose:
        wok = self._wok(obs)
        sweep = 0.06 * math.sin(2 * math.pi * t / self.stir_period)
        tip = wok.pos + np.array([-0.09, sweep, self.hover + 0.01])
        return self._hand_for(self._blade_at_tip(tip, 0.0, 0.0))

    def _stir(self, obs, t: float, dt: float) -> None:
        self.goal = self._stir_pose(obs, t)
        arrived = self._move(obs, dt, tol=0.03)
        if self.step == "carry" and not arrived:
            return
        self.step = "sweep"
        self._next(obs, t)

    def _next(self, obs, t: float) -> None:
        """Start flipping the most done unturned slice once its underside is cooked; return the spatula once
        every slice is turned."""
        cooking = self._cooking(obs)
        todo = [i for i in range(self.n) if self._pose(obs, i).rot[2, 2] > 0.0 and self.tries[i] <= self.oc.retries]
        if not todo:
            self._go("up", None, t, "return_spatula")
            return
        nxt = max(todo, key=lambda i: cooking[i, 0])
        if cooking[nxt, 0] >= self.cooked + self.margin:
            self.piece = nxt
            self.tries[nxt] += 1
            self._plan_flip(obs, t)

    # -- flipping ------------------------------------------------------------------------------------------
    def _plan_flip(self, obs, t: float) -> None:
        """Square the blade to the slice (an edge facing the hand), tip just behind its near edge.

        The slice's pose is the observed one (an earlier flip may have nudged or turned it). Of its four edges,
        the blade takes the one most square to the robot whose whole flip (pressed tip, the top of the lever
        arc) the cooking arm can reach: a slice turned by a neighbour's flip can put the square edge's blade
        heading out of one arm's reach, and a blade that cannot come down would only shove the slice."""
        oc = self.oc
        piece = self._pose(obs, self.piece)
        size = self.params["pieces"][self.piece]["size"]
        floor = self._floor(obs)
        centre = piece.pos.copy()
        centre[2] = floor
        yaw0 = geometry.quat_yaw(piece.quat)
        k0 = round(-yaw0 / (math.pi / 2))                 # the edge most square to the robot (blade heading 0)
        options = sorted((k for k in range(k0 - 1, k0 + 2) if abs(yaw0 + k * math.pi / 2) <= MAX_FLIP_YAW),
                         key=lambda k: abs(yaw0 + k * math.pi / 2))
        k = next((k for k in options if self._flip_reachable(centre, yaw0 + k * math.pi / 2,
                                                             size[0] / 2 if k % 2 == 0 else size[1] / 2)), k0)
        yaw = yaw0 + k * math.pi / 2
        half = size[0] / 2 if k % 2 == 0 else size[1] / 2
        u = np.array([math.cos(yaw), math.sin(yaw), 0.0])
        tip0 = centre - u * (half + oc.gap) + self._noise() * np.array([0.5, 0.5, 0.0])
        tip0[2] = floor - oc.press
        self.flip = {"yaw": yaw, "u": u, "half": half, "far": centre + u * half, "tip": tip0, "a": 0.0}
        above = self._blade_at_tip(tip0 + np.array([0, 0, self.hover]), yaw, oc.tip_down)
        self._go("approach", self._hand_for(above), t, "flip")

    def _flip_reachable(self, centre: np.ndarray, yaw: float, half: float) -> bool:
        """Can the cooking arm hold the blade pressed under this edge and lift it round the whole arc?"""
        if self.reach is None:
            return True
        oc = self.oc
        u = np.array([math.cos(yaw), math.sin(yaw), 0.0])
        under = centre - u * (half - oc.under)
        under[2] -= oc.press
        f = {"yaw": yaw, "u": u, "far": centre + u * half, "radius": 2 * half - oc.under + oc.overreach}
        poses = [self._blade_at_tip(under, yaw, oc.tip_down)]
        for a in (math.pi / 2, self.lever_angle):
            f["a"] = a
            poses.append(self._lever_blade(f, oc.push if a == self.lever_angle else 0.0))
        return all(self.reach(self.arm, self._hand_for(pose)) for pose in poses)

    def _flip(self, obs, t: float, dt: float) -> None:
        oc, f = self.oc, self.flip
        if self.step == "approach":
            if self._move(obs, dt) or self._timed_out(t):
                self._go("descend", self._hand_for(self._blade_at_tip(f["tip"], f["yaw"], oc.tip_down)), t)
        elif self.step == "descend":
            if self._move(obs, dt, tol=0.008) or self._timed_out(t):
                f["slid"] = 0.0
                self._go("slide", None, t)
        elif self.step == "slide":        # until the tip is `under` past the slice's near edge as it is now
            piece = self._pose(obs, self.piece).pos
            near = float(np.dot(piece - f["tip"], f["u"])) - f["half"]          # near edge ahead of the start tip
            goal = min(near + oc.under, oc.gap + oc.under + MAX_EXTRA_SLIDE)
            f["slid"] = min(goal, f["slid"] + self.slide_speed * dt)
            tip = f["tip"] + f["u"] * f["slid"]
            self.targets[self.arm] = self._hand_for(self._blade_at_tip(tip, f["yaw"], oc.tip_down))
            if f["slid"] >= goal:
                far = f["tip"] + f["u"] * (near + 2 * f["half"])
                f["far"] = np.array([far[0], far[1], self._floor(obs)])
                f["radius"] = 2 * f["half"] - max(0.0, f["slid"] - near) + oc.overreach
                self._go("lever", None, t)
        elif self.step == "lever":
            f["a"] = min(self.lever_angle, f["a"] + self.lever_speed * dt)
            self.targets[self.arm] = self._hand_for(self._lever_blade(f))
            if f["a"] >= self.lever_angle:
                f["push"] = 0.0
                self._go("push", None, t)
        elif self.step == "push":            # past upright: nudge the standing slice over its far edge
            f["push"] = min(oc.push, f["push"] + self.slide_speed * dt)
            self.targets[self.arm] = self._hand_for(self._lever_blade(f, f["push"]))
            if f["push"] >= oc.push:
                up = self.targets[self.arm].pos + np.array([0, 0, self.hover])
                self._go("retreat", Pose(up - f["u"] * 0.03, self.targets[self.arm].quat), t)
        elif self.step == "retreat":
            if self._move(obs, dt, tol=0.02) or self._timed_out(t):
                self._go("carry", None, t, "stir")
                self._next(obs, t)            # the next slice may be ready already: straight on to it

    def _lever_blade(self, f: dict[str, Any], push: float = 0.0) -> Pose:
        """The blade with its tip on the arc round the slice's far edge (angle f["a"]), `push` further along."""
        oc = self.oc
        a, r = f["a"], f["radius"]
        tip = f["far"] - f["u"] * (r * math.cos(a) - push) + np.array([0.0, 0.0, r * math.sin(a) - oc.press / 2])
        pitch = oc.tip_down * max(0.0, 1.0 - a / self.lever_angle)
        return self._blade_at_tip(tip, f["yaw"], pitch)

    def _return_spatula(self, obs, t: float, dt: float) -> None:
        rest = self.rest_blade
        if self.step == "up":
            self.goal = self._hand_for(Pose(rest.pos + np.array([0, 0, 0.08]), rest.quat))
            if self._move(obs, dt) or self._timed_out(t):
                self._go("down", self._hand_for(Pose(rest.pos + np.array([0, 0, 0.008]), rest.quat)), t)
        elif self.step == "down":
            if self._move(obs, dt, self.speed / 2) or self._timed_out(t):
                self.grips[self.arm] = 0.0
                self._go("release", None, t)
        elif self.step == "release":
            if t - self.since >= 0.3:
                up = self.targets[self.arm].pos + np.array([0, 0, 0.08])
                self._go("retreat", Pose(up, self.targets[self.arm].quat), t)
        elif self.step == "retreat":
            if self._move(obs, dt) or self._timed_out(t):
                self._go("rest", self.start[self.arm], t)
        elif self.step == "rest":
            if self._move(obs, dt) or self._timed_out(t):
                self._go("wait", None, t, "finished")

    def _finished(self, obs, t: float, dt: float) -> None:
        """Hands at rest; the food finishes cooking on its second side (the episode ends once it has)."""
