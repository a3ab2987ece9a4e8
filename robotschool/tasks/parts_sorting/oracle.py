"""Scripted operator of parts_sorting: two arms, one shared tote, grasps chosen like a careful person.

Each arm serves the bins on its side and runs a small pick-and-place state machine, moving its hand target
at a bounded speed (drawn per episode). Only one hand is inside the tote at a time. The operator sees only
observations (part poses, hand poses) plus the layout it was told (scene parameters), and asks the robot's
kinematics whether a hand pose is reachable before committing to it.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from robotschool import geometry
from robotschool.recording import schema
from robotschool.sim.parts import PARTS
from robotschool.tasks.base import Reach, StationOracle, uniform
from robotschool.tasks.motion import step_towards
from robotschool.tasks.parts_sorting.task import PartsSorting, PartsSortingConfig
from robotschool.types import ARMS, HandCommand, OperatorCommand, Pose


# How many equivalent grasp axes a part offers over half a turn (a nut across any pair of flats, a gear
# across any pair of teeth): the oracle picks the one with the most room for the fingers.
GRASP_SYMMETRY = {"nut": 3, "gear": 8}
# Second-choice grasps (part frame point, closing axis, width): a bracket whose upright leg faces a wall is
# pinched across the leg's 4 mm thickness instead of across its 40 mm width.
EXTRA_GRASPS = {"bracket": [((-0.0175, 0.0, 0.0205), (1.0, 0.0, 0.0), 0.004)]}
FINGER_THICKNESS = 0.012     # the humanoid's finger pads along the closing axis, for clearance checks (m)
FINGER_WIDTH = 0.024         # ... and across it
MAX_OPENING = 0.11           # full opening between the fingers (m): 2 x the finger joint travel


class _ArmScript:
    """One arm's pick-and-place state machine, moving its hand target at a bounded speed."""

    def __init__(self, arm: str, queue: list[int], rest: Pose):
        self.arm = arm
        self.queue = queue
        self.rest = rest
        self.phase = "idle"
        self.part: int | None = None
        self.attempts = 0
        self.target: Pose | None = None
        self.goal: Pose | None = None
        self.grip = 0.0
        self.since = 0.0
        self.grasp_pose: Pose | None = None
        self.part_z0 = 0.0
        self.relocating = False
        self.opening = MAX_OPENING   # finger opening chosen for the current grasp (m)


class SortingOracle(StationOracle):
    """Scripted operator for parts_sorting: two arms, a shared tote (one hand inside at a time)."""

    noise_z = 0.3

    def __init__(self, task: PartsSorting, params: dict[str, Any], rng: np.random.Generator, reach: Reach | None):
        super().__init__(task, params, rng, reach)
        self.cfg: PartsSortingConfig
        self.floor_z = task.tote_floor_z(params)
        self.speed = uniform(rng, self.oc.speed)
        self.kinds = [q["type"] for q in params["parts"]]
        self.bin_side = {k: ("left" if v["y"] >= 0 else "right") for k, v in params["bins"].items()}
        self.arms = {}
        for arm in ARMS:
            rest_pos = self.oc.rest.get(arm, (0.22, 0.32 if arm == "left" else -0.32, 1.16))
            rest = Pose(rest_pos, geometry.yaw_quat(self.oc.preferred_yaw.get(arm, 0.0)))
            queue = [i for i, k in enumerate(self.kinds) if self.bin_side[k] == arm]
            self.arms[arm] = _ArmScript(arm, queue, rest)
        self.tote_owner: str | None = None
        self.skipped: list[int] = []
        self.placed: set[int] = set()
        self.relocations: dict[int, tuple[str, np.ndarray, float]] = {}   # part -> (owner, xy shift, turn)
        self.max_opening = MAX_OPENING

    @property
    def done(self) -> bool:
        return all(a.phase == "finished" for a in self.arms.values())

    # -- helpers -------------------------------------------------------------------------------------------
    def _part_pose(self, obs, i: int) -> Pose:
        row = obs[schema.OBS_OBJECT][7 * i:7 * i + 7]
        return Pose(row[:3], row[3:])

    def _grasp_pose(self, arm: str, obs, i: int, shift: np.ndarray | None = None,
                    turn: float = 0.0) -> tuple[Pose, float] | None:
        """A reachable grasp of part i and its opening, or None; optionally as if the part had been moved by
        `shift` (xy, metres) and turned by `turn` (radians) about the vertical through its grasp point.

        Like a careful operator: open the hand only a little wider than the part, pick the grasp axis among
        the part's symmetric ones so the fingertips keep clear of the tote walls and the other parts, prefer
        a vertical hand (small tilts about the closing axis when the vertical one is out of reach), and a hand
        yaw near the comfortable one.
        """
        kind = self.kinds[i]
        pt = PARTS[kind]
        part = self._part_pose(obs, i)
        r = part.rot
        pref = self.oc.preferred_yaw.get(arm, 0.0)
        options = [(pt.grasp_point, pt.grasp_axis, pt.grasp_width)] + EXTRA_GRASPS.get(kind, [])
        for grasp_point, grasp_axis, width in options:
            point = part.pos + r @ np.asarray(grasp_point)
            if shift is not None:
                point[:2] += shift
            point[2] = max(point[2], self.floor_z + self.oc.finger_clearance)
            opening = min(width + 2 * self.oc.finger_margin, self.max_opening)
            g = r @ np.asarray(grasp_axis)
            if abs(g[2]) > 0.5:
                continue  # the part has tipped over: this grasp's closing axis is no longer horizontal
            theta0 = math.atan2(g[1], g[0]) + turn
            order = GRASP_SYMMETRY.get(kind, 1)
            candidates = sorted(((self._finger_clearance(obs, i, point, theta0 + k * math.pi / order, opening),
                                  theta0 + k * math.pi / order) for k in range(order)), key=lambda c: -c[0])
            usable = [theta for clear, theta in candidates if clear >= 0.003] or [candidates[0][1]]
            for theta in usable:
                yaws = sorted((theta - math.pi / 2, theta + math.pi / 2),
                              key=lambda y: abs(math.remainder(y - pref, 2 * math.pi)))
                for tilt in (0.0, 0.3, -0.3, 0.55, -0.55):
                    for yaw in yaws:
                        if self._wall_clearance(point, theta, yaw, tilt, opening) < 0.003:
                            continue
                        rot = geometry.axis_angle_matrix((0, 0, 1), yaw) @ geometry.axis_angle_matrix((0, 1, 0), tilt)
                        pose = Pose.from_matrix(point, rot)
                        above = Pose(point + np.array([0, 0, self.oc.approach_height]), pose.quat)
                        if self.reach is None or (self.reach(arm, pose) and self.reach(arm, above)):
                            return pose, opening
        return None

    def _relocation(self, arm: str, obs, i: int) -> tuple[np.ndarray, float] | None:
        """(shift, turn) that moves part i to a free spot in the tote where `arm` can grasp it, held by the
        other hand the whole way, or None."""
        kind = self.kinds[i]
        part = self._part_pose(obs, i)
        tote = self.params["tote"]
        c, s = math.cos(tote["yaw"]), math.sin(tote["yaw"])
        half = np.array(self.cfg.tote.inner[:2]) / 2
        r_i = PARTS[kind].footprint_radius
        side = 1.0 if arm == "left" else -1.0
        spots = []
        for lx in (-0.07, -0.04, -0.01, 0.02):
            for ly in (0.02, 0.05, 0.08, 0.11, 0.14):
                local = np.array([lx, side * ly])
                if np.any(np.abs(local) > half - r_i - 0.008):
                    continue
                xy = np.array([tote["x"] + c * local[0] - s * local[1], tote["y"] + s * local[0] + c * local[1]])
                gaps = [float(np.linalg.norm(xy - self._part_pose(obs, j).pos[:2])) - PARTS[k].footprint_radius - r_i
                        for j, k in enumerate(self.kinds) if j != i and j not in self.placed]
                gap = min(gaps, default=1.0)
                if gap >= 0.01:
                    spots.append((-gap, xy))
        helper = "right" if arm == "left" else "left"
        held = self._grasp_pose(helper, obs, i)
        if held is None:
            return None
        for _, xy in sorted(spots, key=lambda x: x[0]):
            shift = xy - part.pos[:2]
            for turn in (0.0, math.pi / 2, -math.pi / 2, math.pi / 4, -math.pi / 4):
                if self._grasp_pose(arm, obs, i, shift, turn) is None:
                    continue
                place = self._turned(held[0], shift, turn)
                if self.reach is None or (self.reach(helper, place) and
                                          self.reach(helper, Pose(place.pos + [0, 0, self.oc.approach_height], place.quat))):
                    return shift, turn
        return None

    @staticmethod
    def _turned(grasp: Pose, shift: np.ndarray, turn: float, dz: float = 0.0) -> Pose:
        """The helper hand's pose after moving a held part by `shift` and turning it by `turn` about z."""
        rot = geometry.axis_angle_matrix((0, 0, 1), turn) @ grasp.rot
        return Pose.from_matrix(grasp.pos + np.array([shift[0], shift[1], dz]), rot)

    def _wall_clearance(self, point: np.ndarray, theta: float, yaw: float, tilt: float, opening: float) -> float:
        """Smallest gap (m) between the fingers and the tote walls, at fingertip and at rim height: a tilted
        hand swings its fingers sideways by h * sin(tilt) at height h above the tool centre point."""
        tote = self.params["tote"]
        c, s = math.cos(tote["yaw"]), math.sin(tote["yaw"])
        half = np.array(self.cfg.tote.inner[:2]) / 2
        axis = np.array([math.cos(theta), math.sin(theta)])
        hand_x = np.array([math.cos(yaw), math.sin(yaw)])
        rim_h = self.floor_z + self.cfg.tote.inner[2] - point[2]
        gap = float("inf")
        for h in (0.0, max(rim_h, 0.0)):
            for side in (-1.0, 1.0):
                centre = point[:2] + side * axis * (opening / 2 + FINGER_THICKNESS / 2) + hand_x * h * math.sin(tilt)
                for a in (-1.0, 1.0):
                    for b in (-1.0, 1.0):
                        corner = centre + a * axis * FINGER_THICKNESS / 2 + b * hand_x * FINGER_WIDTH / 2
                        d = corner - np.array([tote["x"], tote["y"]])
                        local = np.array([c * d[0] + s * d[1], -s * d[0] + c * d[1]])
                        gap = min(gap, float(np.min(half - np.abs(local))))
        return gap

    def _finger_clearance(self, obs, i: int, point: np.ndarray, theta: float, opening: float) -> float:
        """Smallest gap (m) between the open fingertips and the tote walls or another part's footprint."""
        axis = np.array([math.cos(theta), math.sin(theta)])
        tips = [point[:2] + s * axis * (opening / 2 + FINGER_THICKNESS) for s in (-1.0, 1.0)]
        tote = self.params["tote"]
        c, s = math.cos(tote["yaw"]), math.sin(tote["yaw"])
        half = np.array(self.cfg.tote.inner[:2]) / 2
        gaps = []
        for tip in tips:
            d = tip - np.array([tote["x"], tote["y"]])
            local = np.array([c * d[0] + s * d[1], -s * d[0] + c * d[1]])
            gaps.append(float(np.min(half - np.abs(local))))
            for j, kind in enumerate(self.kinds):
                if j != i and j not in self.placed:
                    other = self._part_pose(obs, j).pos[:2]
                    gaps.append(float(np.linalg.norm(tip - other)) - PARTS[kind].footprint_radius)
        return min(gaps)

    def _ask_relocation(self, owner: str, obs, i: int) -> bool:
        """The owner cannot reach part i: if the other hand can, it slides the part to where the owner can."""
        if i in self.relocations:
            return False  # moved once already; do not loop
        helper = "right" if owner == "left" else "left"
        if self._grasp_pose(helper, obs, i) is None:
            return False
        move = self._relocation(owner, obs, i)
        if move is None:
            return False
        self.relocations[i] = (owner, move[0], move[1])
        h = self.arms[helper]
        h.queue.insert(1 if h.part is not None else 0, i)  # after the part the helper is busy with
        if self.arms[helper].phase == "finished":
            self.arms[helper].phase = "idle"
        return True

    def _bin_pose(self, arm: str, kind: str, obs) -> Pose:
        """Above the emptiest reachable spot of the bin (so a third gear does not land on the first two),
        with a hand orientation the arm can hold both there and lowered to the release height."""
        spot = self.params["bins"][kind]
        centre = np.array([spot["x"], spot["y"]])
        q = self.cfg.bins.inner[0] / 5
        inside = [self._part_pose(obs, j).pos[:2] for j in self.placed if self.kinds[j] == kind]
        options = [centre] + [centre + np.array([dx, dy]) * q for dx in (-1, 1) for dy in (-1, 1)]
        if inside:
            options.sort(key=lambda o: -min(float(np.linalg.norm(o - p)) for p in inside))
        rim = self.params["bench"]["height"] + self.cfg.bins.wall + self.cfg.bins.inner[2]
        noise = self._noise(3)
        pref = self.oc.preferred_yaw.get(arm, 0.0)
        for xy in options:
            for yaw in (pref, pref - math.pi / 2, pref + math.pi / 2, pref + math.pi):
                for tilt in (0.0, 0.3, -0.3):
                    rot = geometry.axis_angle_matrix((0, 0, 1), yaw) @ geometry.axis_angle_matrix((0, 1, 0), tilt)
                    high = Pose.from_matrix(np.array([xy[0], xy[1], rim + self.oc.carry_height]) + noise, rot)
                    low = Pose(np.array([high.pos[0], high.pos[1], rim + self.oc.release_height]), high.quat)
                    if self.reach is None or (self.reach(arm, high) and self.reach(arm, low)):
                        return high
        return Pose(np.array([centre[0], centre[1], rim + self.oc.carry_height]) + noise, geometry.yaw_quat(pref))

    def _move(self, s: _ArmScript, obs, dt: float) -> bool:
        """Advance the hand target toward the goal; True once target and measured hand have arrived."""
        s.target, there = step_towards(s.target, s.goal, self.speed, self.oc.turn_speed, dt)
        if not there:
            return False
        tcp = obs[schema.OBS_EEF_POS.format(arm=s.arm)]
        return float(np.linalg.norm(tcp - s.goal.pos)) < 0.01

    def _grip_for(self, opening: float) -> float:
        """The grip command (0 open .. 1 closed) that leaves `opening` metres between the fingers."""
        return 1.0 - opening / self.max_opening

    def _go(self, s: _ArmScript, phase: str, goal: Pose, t: float) -> None:
        s.phase, s.goal, s.since = phase, goal, t

    # -- the script ----------------------------------------------------------------------------------------
    def act(self, obs: dict[str, np.ndarray], t: float) -> OperatorCommand:
        dt = 1.0 / self.cfg.control_hz
        for arm, s in self.arms.items():
            if s.target is None:
                s.target = Pose(obs[schema.OBS_EEF_POS.format(arm=arm)], obs[schema.OBS_EEF_QUAT.format(arm=arm)])
                self._go(s, "to_rest", s.rest, t)
            self._tick(s, obs, t, dt)
        hands = {arm: HandCommand(pose=s.target, grip=s.grip) for arm, s in self.arms.items()}
        phase = "|".join(f"{arm}:{self.arms[arm].phase}" for arm in ARMS)
        return OperatorCommand(left=hands["left"], right=hands["right"], timestamp=t, phase=phase)

    def _tick(self, s: _ArmScript, obs, t: float, dt: float) -> None:
        oc = self.oc
        timed_out = t - s.since > oc.waypoint_timeout
        if s.phase in ("to_rest", "idle", "waiting"):
            arrived = self._move(s, obs, dt) if s.goal is not None else True
            if s.phase == "to_rest" and not (arrived or timed_out):
                return
            if s.phase == "to_rest" and self.tote_owner == s.arm:
                self.tote_owner = None
            if not s.queue:
                s.phase = "finished" if arrived else "to_rest"
                return
            if self.tote_owner not in (None, s.arm):
                s.phase = "waiting"
                return
            i = s.queue[0]
            relocating = i in self.relocations and self.relocations[i][0] != s.arm
            found = self._grasp_pose(s.arm, obs, i)
            if found is None:
                s.queue.pop(0)
                if not self._ask_relocation(s.arm, obs, i):
                    self.skipped.append(i)  # nobody can help: leave it (the episode will fail honestly)
                s.phase = "to_rest"
                return
            grasp, opening = found
            self.tote_owner = s.arm
            s.part, s.grasp_pose = i, grasp
            s.relocating = relocating
            s.part_z0 = float(self._part_pose(obs, i).pos[2])
            above = Pose(grasp.pos + np.array([0, 0, oc.approach_height]), grasp.quat)
            s.opening = opening
            s.grip = self._grip_for(opening)
            self._go(s, "approach", above, t)
        elif s.phase == "approach":
            if self._move(s, obs, dt) or timed_out:
                self._go(s, "descend", s.grasp_pose, t)
        elif s.phase == "descend":
            if self._move(s, obs, dt) or timed_out:
                s.grip = 1.0
                self._go(s, "grasp", s.grasp_pose, t)
        elif s.phase == "grasp":
            self._move(s, obs, dt)
            if t - s.since >= oc.grasp_time:
                lift = Pose(s.grasp_pose.pos + np.array([0, 0, oc.approach_height + 0.04]), s.grasp_pose.quat)
                self._go(s, "lift", lift, t)
        elif s.phase == "lift":
            if self._move(s, obs, dt) or timed_out:
                lifted = float(self._part_pose(obs, s.part).pos[2]) > s.part_z0 + 0.04
                if lifted and s.relocating:
                    _, shift, turn = self.relocations[s.part]
                    self._go(s, "relocate", self._turned(s.goal, shift, turn), t)
                elif lifted:
                    self.tote_owner = None
                    self._go(s, "carry", self._bin_pose(s.arm, self.kinds[s.part], obs), t)
                else:
                    s.grip = 0.0
                    s.attempts += 1
                    if s.attempts > oc.retries:
                        s.queue.remove(s.part)
                        self.skipped.append(s.part)
                        s.attempts = 0
                    self._go(s, "to_rest", s.rest, t)
                    self.tote_owner = s.arm  # keep the tote until the hand is out (released in to_rest)
        elif s.phase == "relocate":
            if self._move(s, obs, dt) or timed_out:
                _, shift, turn = self.relocations[s.part]
                self._go(s, "set_down", self._turned(s.grasp_pose, shift, turn, dz=0.006), t)
        elif s.phase == "set_down":
            if self._move(s, obs, dt) or timed_out:
                s.grip = self._grip_for(s.opening)   # open as wide as for the grasp, not wider
                self._go(s, "let_go", s.goal, t)
        elif s.phase == "let_go":
            self._move(s, obs, dt)
            if t - s.since >= oc.release_time:
                i = s.part
                s.queue.remove(i)
                owner = self.arms[self.relocations[i][0]]
                owner.queue.insert(1 if owner.part is not None else 0, i)
                if owner.phase == "finished":
                    owner.phase = "idle"
                s.part = None
                up = Pose(s.goal.pos + np.array([0, 0, oc.approach_height]), s.goal.quat)
                self._go(s, "withdraw", up, t)
        elif s.phase == "withdraw":
            if self._move(s, obs, dt) or timed_out:
                self._go(s, "to_rest", s.rest, t)
        elif s.phase == "carry":
            if self._move(s, obs, dt) or timed_out:
                rim = self.params["bench"]["height"] + self.cfg.bins.wall + self.cfg.bins.inner[2]
                low = Pose(np.array([s.goal.pos[0], s.goal.pos[1], rim + oc.release_height]), s.goal.quat)
                self._go(s, "lower", low, t)
        elif s.phase == "lower":
            if self._move(s, obs, dt) or timed_out:
                s.grip = 0.0
                self._go(s, "release", s.goal, t)
        elif s.phase == "release":
            self._move(s, obs, dt)
            if t - s.since >= oc.release_time:
                s.queue.remove(s.part)
                self.placed.add(s.part)
                s.attempts = 0
                s.part = None
                self._go(s, "to_rest", s.rest, t)
