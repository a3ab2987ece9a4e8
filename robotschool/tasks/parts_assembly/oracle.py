"""Scripted operator of parts_assembly: one hand picks the gear by its rim and mounts it on the target shaft.

Like a careful person: it chooses the hand (and the grasp among the gear's symmetric tooth pairs) whose whole
motion the robot can reach, keeps the hand vertical so the gear stays level, lines the bore up with the shaft
by looking at where the gear really is in the hand (not where the hand is), then lowers it slowly in small
steps. If the gear stops going down while the hand keeps going (a jam), it lifts a little, re-centres on the
shaft and tries again. It sees only observations (gear and fixture poses, hand poses) plus what it was told
(the target shaft, the fixture's geometry), and asks the robot's kinematics (`reach`) before committing to a
grasp.

Human-like variety: every episode draws its own speeds, approach height and sideways approach offset, carry
and hover heights, hand-yaw preference, release and retreat, and small position noise per waypoint, all from
the episode's rng, so a batch of demos is not one trajectory repeated (the same seed still gives the same
episode exactly).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from robotschool import geometry
from robotschool.recording import schema
from robotschool.sim.parts import GEAR_T
from robotschool.tasks.base import Reach, StationOracle, uniform
from robotschool.tasks.parts_assembly.task import PartsAssemblyConfig
from robotschool.types import ARMS, HandCommand, OperatorCommand, Pose

if TYPE_CHECKING:
    from robotschool.tasks.parts_assembly.task import PartsAssembly


GRASP_AXES = 8          # diametral tooth pairs of the 16-tooth gear: grasp axes every pi/8
SETTLE_TICKS = 3        # control ticks to wait after arriving before measuring the gear in the hand
MAX_ALIGN_STEPS = 4     # re-centring moves before inserting anyway
LATERAL_GAIN = 0.5      # fraction of the bore-to-shaft error corrected per tick while inserting (compliance)
LATERAL_STEP = 0.001    # ... at most this much per tick (m)
ARRIVE_DISTANCE = 0.01  # the measured hand is within this of a waypoint (m) ...
ARRIVE_ANGLE = 0.05     # ... and turned to within this of it (rad): fingers do not sweep while descending
DISTURBED = 0.01        # the gear moved this far (m) before the fingers closed: grasp it again
MAX_HELD_TILT = 0.15    # rad: a gear held more askew than this would jam on the shaft
FINGER_THICKNESS = 0.012   # finger pads along the closing axis, for clearance checks (m)
FINGER_WIDTH = 0.024       # ... and across it
FIXTURE_MARGIN = 0.008     # open fingertips keep this far from the fixture's plate and collars (m)


class AssemblyOracle(StationOracle):
    """One arm does the work; the other holds its pose. Phases (the per-step subtask labels): approach,
    descend, grasp, lift, put_back, carry, align, insert, recenter, release, retreat, to_rest, finished."""

    def __init__(self, task: "PartsAssembly", params: dict[str, Any], rng: np.random.Generator,
                 reach: Reach | None):
        super().__init__(task, params, rng, reach)
        self.cfg: PartsAssemblyConfig
        oc = self.oc
        self.geo = task.geometry(params)
        self.shaft = params["fixture"]["shaft"]
        # per-episode style, all from the episode's rng
        self.speed = uniform(rng, oc.speed)
        self.insert_speed = uniform(rng, oc.insert_speed)
        self.approach_height = uniform(rng, oc.approach_height)
        self.approach_offset = uniform(rng, (-oc.approach_offset, oc.approach_offset))
        self.carry_height = uniform(rng, oc.carry_height)
        self.hover = uniform(rng, oc.hover)
        self.release_time = uniform(rng, oc.release_time)
        self.retreat_height = uniform(rng, oc.retreat_height)
        self.yaw_bias = uniform(rng, (-oc.yaw_noise, oc.yaw_noise))
        self.arm_bias = uniform(rng, (-0.03, 0.03))      # how far past the midline this operator still uses a hand
        self.phase = "start"
        self.arm: str | None = None
        self.start: dict[str, Pose] = {}       # each hand's pose when the script began (the ready pose)
        self.targets: dict[str, Pose] = {}
        self.grips = {arm: 0.0 for arm in ARMS}
        self.goal: Pose | None = None
        self.since = 0.0
        self.ticks = 0
        self.attempts = 0
        self.recenters = 0
        self.align_steps = 0
        self.grasp: Pose | None = None
        self.offset = np.zeros(3)       # gear centre minus measured TCP while held (robot base frame)
        self.gear_z0 = 0.0
        self.gear_seen: Pose | None = None   # the gear as seen when the grasp was planned

    @property
    def done(self) -> bool:
        return self.phase == "finished"

    # -- what the operator sees ----------------------------------------------------------------------------
    @staticmethod
    def _object(obs, i: int) -> Pose:
        row = obs[schema.OBS_OBJECT][7 * i:7 * i + 7]
        return Pose(row[:3], row[3:])

    def _gear(self, obs) -> Pose:
        return self._object(obs, 0)

    def _fixture(self, obs) -> Pose:
        return self._object(obs, 1)

    def _tcp(self, obs, arm: str) -> np.ndarray:
        return np.asarray(obs[schema.OBS_EEF_POS.format(arm=arm)], dtype=np.float64)

    def _shaft(self, obs) -> np.ndarray:
        """The target shaft's axis point at the seat (collar top), robot base frame."""
        lx, ly = self.geo.shaft_local(self.shaft)
        return self._fixture(obs).compose(Pose([lx, ly, self.geo.collar_top], [0, 0, 0, 1])).pos

    # -- planning ------------------------------------------------------------------------------------------
    def _plan(self, obs) -> tuple[str, Pose] | None:
        """(arm, grasp pose) whose grasp, lift, carry and seating poses are all reachable, or None.

        Hand order: the hand on the side of the work (between the gear and the shaft) first. Grasp order: hand
        yaws nearest this operator's preferred yaw; the hand stays vertical so the gear stays level."""
        gear = self._gear(obs)
        seat = self._shaft(obs)
        bench_z = float(self._fixture(obs).pos[2])
        mid_y = (gear.pos[1] + seat[1]) / 2 + self.arm_bias
        arms = ("left", "right") if mid_y >= 0 else ("right", "left")
        gear_yaw = geometry.quat_yaw(gear.quat)
        point = gear.pos + self._noise() * np.array([1.0, 1.0, 0.0])
        point[2] = max(float(gear.pos[2]), bench_z + self.oc.finger_clearance)
        tcp_above_gear = point[2] - gear.pos[2]
        seated = seat + np.array([0.0, 0.0, GEAR_T / 2 + tcp_above_gear])
        carry = seated + np.array([0.0, 0.0, self.geo.shaft_length + self.carry_height])
        for arm in arms:
            pref = self._preferred_yaw(arm) + self.yaw_bias
            yaws = []
            for k in range(GRASP_AXES):
                theta = gear_yaw + k * math.pi / GRASP_AXES
                for yaw in (theta - math.pi / 2, theta + math.pi / 2):
                    yaws.append(math.remainder(yaw - pref, 2 * math.pi) + pref)
            for yaw in sorted(yaws, key=lambda y: abs(y - pref)):
                if self._fixture_clearance(obs, point, yaw) < FIXTURE_MARGIN:
                    continue
                q = geometry.yaw_quat(yaw)
                poses = [Pose(point, q), Pose(point + [0, 0, self.approach_height], q), Pose(carry, q), Pose(seated, q)]
                if self.reach is None or all(self.reach(arm, pz) for pz in poses):
                    return arm, poses[0]
        return None

    def _fixture_clearance(self, obs, point: np.ndarray, yaw: float) -> float:
        """Smallest gap (m) between the fully open fingers of a vertical hand at `point` with `yaw` and the
        fixture's plate (a rectangle) or collars (circles), in the horizontal plane: the fingertips reach below
        the plate's top when grasping a gear lying next to it."""
        fixture = self._fixture(obs)
        inv = fixture.inverse()
        closing = np.array([-math.sin(yaw), math.cos(yaw)])    # the hand's y axis
        hand_x = np.array([math.cos(yaw), math.sin(yaw)])
        half_open = self.oc.max_opening / 2 + FINGER_THICKNESS / 2
        plate_half = np.array(self.geo.plate[:2]) / 2
        gap = float("inf")
        for side in (-1.0, 1.0):
            centre = point[:2] + side * closing * half_open
            for a in (-1.0, 0.0, 1.0):
                for b in (-1.0, 0.0, 1.0):
                    corner = centre + a * closing * FINGER_THICKNESS / 2 + b * hand_x * FINGER_WIDTH / 2
                    local = inv.compose(Pose([corner[0], corner[1], fixture.pos[2]], [0, 0, 0, 1])).pos[:2]
                    outside = np.maximum(np.abs(local) - plate_half, 0.0)
                    gap = min(gap, float(np.linalg.norm(outside)) if np.any(outside > 0) else
                              -float(np.min(plate_half - np.abs(local))))
                    for k in range(len(self.geo.shaft_y)):
                        d = float(np.linalg.norm(local - np.array(self.geo.shaft_local(k))))
                        gap = min(gap, d - self.geo.collar_radius)
        return gap

    # -- motion --------------------------------------------------------------------------------------------
    def _go(self, phase: str, goal: Pose | None, t: float) -> None:
        self.phase, self.goal, self.since, self.ticks = phase, goal, t, 0

    def _move(self, obs, dt: float, speed: float | None = None) -> bool:
        """Advance the working hand's target toward the goal at a bounded speed; True once the target is there
        and the measured hand has arrived within 1 cm."""
        target, goal = self.targets[self.arm], self.goal
        step = (speed or self.speed) * dt
        d = goal.pos - target.pos
        dist = float(np.linalg.norm(d))
        pos = goal.pos if dist <= step else target.pos + d / dist * step
        rerr = geometry.rotation_error(goal.rot, target.rot)
        ang = float(np.linalg.norm(rerr))
        max_turn = self.oc.turn_speed * dt
        rot = goal.rot if ang <= max_turn else geometry.axis_angle_matrix(rerr / ang, max_turn) @ target.rot
        self.targets[self.arm] = Pose.from_matrix(pos, rot)
        if dist > step or ang > max_turn:
            return False
        quat = obs[schema.OBS_EEF_QUAT.format(arm=self.arm)]
        turned = geometry.angle_between(geometry.quat_to_matrix(quat), goal.rot) < ARRIVE_ANGLE
        return turned and float(np.linalg.norm(self._tcp(obs, self.arm) - goal.pos)) < ARRIVE_DISTANCE

    def _held_goal(self, obs, gear_centre: np.ndarray) -> Pose:
        """The hand pose that puts the held gear's centre at `gear_centre` (same hand orientation)."""
        return Pose(gear_centre - self.offset, self.targets[self.arm].quat)

    # -- the script ----------------------------------------------------------------------------------------
    def act(self, obs: dict[str, np.ndarray], t: float) -> OperatorCommand:
        dt = 1.0 / self.cfg.control_hz
        if not self.targets:
            for arm in ARMS:
                self.start[arm] = Pose(self._tcp(obs, arm), obs[schema.OBS_EEF_QUAT.format(arm=arm)])
                self.targets[arm] = self.start[arm]
        self._tick(obs, t, dt)
        self.ticks += 1
        hands = {arm: HandCommand(pose=self.targets[arm], grip=self.grips[arm]) for arm in ARMS}
        label = "|".join(f"{arm}:{self.phase if arm == self.arm else 'idle'}" for arm in ARMS)
        return OperatorCommand(left=hands["left"], right=hands["right"], timestamp=t, phase=label)

    def _start_pick(self, obs, t: float) -> None:
        plan = self._plan(obs)
        if plan is None:
            self._go("finished", None, t)   # nothing reachable: give up honestly (the episode fails)
            return
        arm, self.grasp = plan
        if self.arm is not None and arm != self.arm:
            self.targets[self.arm] = self._rest(self.arm)
        self.arm = arm
        self.grips[arm] = 0.0
        self.gear_seen = self._gear(obs)
        self.gear_z0 = float(self.gear_seen.pos[2])
        hand_x = self.grasp.rot[:, 0]
        above = self.grasp.pos + np.array([0, 0, self.approach_height]) + hand_x * self.approach_offset
        self._go("approach", Pose(above + self._noise(), self.grasp.quat), t)

    def _rest_if(self, oc) -> Pose | None:
        """Goal after a failed grasp: none while retries are left (re-plan from here), else the rest pose."""
        return None if self.attempts <= oc.retries else self._rest(self.arm)

    def _preferred_yaw(self, arm: str) -> float:
        """The hand yaw this operator finds comfortable: configured, or the robot's ready pose's."""
        if arm in self.oc.preferred_yaw:
            return self.oc.preferred_yaw[arm]
        return geometry.quat_yaw(self.start[arm].quat)

    def _rest(self, arm: str) -> Pose:
        """Where a hand waits when it is done: the configured rest, or where it started (the robot's ready
        pose, so the script needs no per-robot numbers), give or take a few millimetres."""
        start = self.start[arm]
        pos = np.asarray(self.oc.rest.get(arm, start.pos), dtype=np.float64)
        quat = geometry.yaw_quat(self.oc.preferred_yaw[arm]) if arm in self.oc.preferred_yaw else start.quat
        return Pose(pos + self._noise() * 3, quat)

    def _tick(self, obs, t: float, dt: float) -> None:
        oc = self.oc
        timed_out = t - self.since > oc.waypoint_timeout
        gear = self._gear(obs)
        seat = self._shaft(obs)
        if self.phase == "start":     # (re)plan once the hand is clear above the bench
            if self.goal is None or self._move(obs, dt) or timed_out:
                self._start_pick(obs, t)
        elif self.phase == "approach":
            if self._move(obs, dt) or timed_out:
                self._go("descend", self.grasp, t)
        elif self.phase == "descend":
            if self._move(obs, dt) or timed_out:
                if float(np.linalg.norm(gear.pos - self.gear_seen.pos)) > DISTURBED:   # pushed it: look again
                    self.attempts += 1
                    up = self.targets[self.arm].pos + np.array([0, 0, self.approach_height])
                    self._go("start" if self.attempts <= oc.retries else "to_rest", Pose(up, self.grasp.quat), t)
                    return
                self.grips[self.arm] = 1.0
                self._go("grasp", self.grasp, t)
        elif self.phase == "grasp":
            self._move(obs, dt)
            if t - self.since >= oc.grasp_time:
                top = seat[2] + self.geo.shaft_length + GEAR_T + self.carry_height + (self.grasp.pos[2] - self.gear_z0)
                lift_z = max(self.grasp.pos[2] + self.approach_height, top)
                self._go("lift", Pose([*self.grasp.pos[:2], lift_z], self.grasp.quat), t)
        elif self.phase == "lift":
            if self._move(obs, dt) or timed_out:
                if float(gear.pos[2]) < self.gear_z0 + 0.03:   # the gear stayed behind: try again
                    self.grips[self.arm] = 0.0
                    self.attempts += 1
                    self._go("start" if self.attempts <= oc.retries else "to_rest", self._rest_if(oc), t)
                    return
                if math.acos(min(1.0, abs(float(gear.rot[2, 2])))) > MAX_HELD_TILT:   # askew in the hand:
                    self.attempts += 1                                            # set it down, grasp again
                    self._go("put_back", Pose(self.grasp.pos + np.array([0, 0, 0.005]), self.grasp.quat), t)
                    return
                self.offset = gear.pos - self._tcp(obs, self.arm)
                centre = seat + np.array([0, 0, self.geo.shaft_length + self.carry_height + GEAR_T / 2])
                self._go("carry", self._held_goal(obs, centre + self._noise()), t)
        elif self.phase == "put_back":
            if self._move(obs, dt) or timed_out:
                self.grips[self.arm] = 0.0
                up = Pose(self.goal.pos + np.array([0, 0, self.approach_height]), self.goal.quat)
                self._go("start" if self.attempts <= oc.retries else "to_rest", up, t)
        elif self.phase == "carry":
            if self._dropped(gear, seat, t):
                return
            if self._move(obs, dt) or timed_out:
                centre = seat + np.array([0, 0, self.geo.shaft_length + self.hover + GEAR_T / 2])
                self._go("align", self._held_goal(obs, centre), t)
        elif self.phase == "align":
            if self._dropped(gear, seat, t):
                return
            arrived = self._move(obs, dt, self.speed / 2) or timed_out
            if arrived and self.ticks >= SETTLE_TICKS:
                err = seat[:2] - gear.pos[:2]
                if float(np.linalg.norm(err)) <= oc.align_tolerance or self.align_steps >= MAX_ALIGN_STEPS:
                    self.offset = gear.pos - self._tcp(obs, self.arm)
                    self._go("insert", self.targets[self.arm], t)
                else:                                # re-centre on what the gear really does
                    self.align_steps += 1
                    g = self.goal
                    self._go("align", Pose(g.pos + np.array([err[0], err[1], 0.0]), g.quat), t)
        elif self.phase in ("insert", "recenter"):
            self._insert(obs, gear, seat, t, dt)
        elif self.phase == "release":
            if t - self.since >= self.release_time:
                up = self.targets[self.arm].pos + np.array([0, 0, self.retreat_height]) + self._noise()
                self._go("retreat", Pose(up, self.targets[self.arm].quat), t)
        elif self.phase == "retreat":
            if self._move(obs, dt) or timed_out:
                self._go("to_rest", self._rest(self.arm), t)
        elif self.phase == "to_rest":
            if self._move(obs, dt) or timed_out:
                self._go("finished", None, t)

    def _dropped(self, gear: Pose, seat: np.ndarray, t: float) -> bool:
        """The gear fell out of the hand while carried: open, and pick it up again from where it lies."""
        if float(gear.pos[2]) > seat[2] - self.geo.collar_top + 0.03:
            return False
        self.grips[self.arm] = 0.0
        self.attempts += 1
        self._go("start" if self.attempts <= self.oc.retries else "to_rest", self._rest_if(self.oc), t)
        return True

    def _insert(self, obs, gear: Pose, seat: np.ndarray, t: float, dt: float) -> None:
        """Guarded insertion: step down slowly, nudge the bore toward the shaft axis (a little lateral
        compliance), and if the gear stops following the hand, back off and re-centre."""
        oc = self.oc
        target = self.targets[self.arm]
        seated_z = seat[2] + GEAR_T / 2
        if self.phase == "recenter":
            pos = target.pos.copy()
            pos[2] = min(pos[2] + self.insert_speed * dt, self.goal.pos[2])
            if pos[2] >= self.goal.pos[2] and self.ticks >= SETTLE_TICKS:
                err = seat[:2] - gear.pos[:2]
                pos[:2] += err
                self.offset = gear.pos - self._tcp(obs, self.arm)
                self._go("insert", None, t)
            self.targets[self.arm] = Pose(pos, target.quat)
            return
        expected = target.pos[2] + self.offset[2]
        if float(gear.pos[2]) <= seated_z + 0.0015 or expected <= seated_z - 0.002:
            self.grips[self.arm] = 0.0          # seated (or as deep as it goes): let go
            self._go("release", None, t)
            return
        if float(gear.pos[2]) > expected + oc.jam_margin and self.recenters < oc.retries:
            self.recenters += 1                 # jammed: back off a centimetre and re-centre
            self._go("recenter", Pose(target.pos + np.array([0, 0, 0.01]), target.quat), t)
            return
        err = seat[:2] - gear.pos[:2]
        nudge = np.clip(LATERAL_GAIN * err, -LATERAL_STEP, LATERAL_STEP)
        pos = target.pos + np.array([nudge[0], nudge[1], -self.insert_speed * dt])
        self.targets[self.arm] = Pose(pos, target.quat)
