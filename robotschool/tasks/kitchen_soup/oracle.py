"""Scripted operator of kitchen_soup: lid off with the left hand, then ladle soup into the bowl with the right.

Like a careful cook: the left hand takes the lid by its bar handle (turning the hand to whichever of the
handle's four grasp directions is nearest its comfortable yaw and reachable), lifts it clear of the pot and
sets it on the counter to the left. The right hand takes the ladle from its rest by the grip and from then on
is planned by where the *cup* should go (the hand pose follows from how the ladle was actually grasped,
measured once it is held): it enters the soup with the cup's open lip tilted down at the far side of the pot,
sweeps it along the floor toward the near side while levelling it (spheres ride up the lip into the cup),
tilts the lip up and lifts slowly, carries the cup to the bowl, lowers the lip inside the bowl and tilts it
slowly to pour. It counts the particles it sees in the bowl and scoops again (beside the last sweep) while
there are fewer than it wants, then lays the ladle back in its rest and withdraws.

Why these yaws and tilts: the right wrist's roll joint (+-1.2 rad) is what tips the cup about the grip, and
the shoulder's yaw already sits at its limit in the ready posture. Where a tilted-cup pose needs a joint past
its limit, the IK gives up tracking from the current posture, restarts from another, and the arm swings
through joint space with the soup. So the hand takes the grip turned a little about it (`grasp_roll`), the cup
works at one yaw over the pot and another over the bowl, the tilts are no larger than the open-sided cup
needs, and the bowl stands where this whole path is followed in one posture (checked with the arm's IK along
the path, not only at its ends). The cup's observed miss is corrected per phase (the arm's posture, hence the
miss, differs over the pot and over the bowl).

It sees only observations (object poses, particle positions, hand poses) plus what it was told (the
kitchenware's dimensions), and asks the robot's kinematics (`reach`) before choosing the lid grasp. Human-like
variety: speeds, the ladle's working yaw, entry tilt, tilt and pour timing, where the lid goes, and small
position noise are drawn per episode from the episode's rng.

Phases (the per-step subtask labels): open_lid, place_lid, grasp_ladle, scoop, pour, return_ladle, retreat,
finished.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from robotschool import geometry
from robotschool.recording import schema
from robotschool.tasks.base import Reach, StationOracle, uniform
from robotschool.tasks.kitchen_soup import kitchenware as kw
from robotschool.tasks.kitchen_soup.task import N_BODIES, PARTICLE_OBS
from robotschool.tasks.motion import step_towards, wrap
from robotschool.types import ARMS, HandCommand, OperatorCommand, Pose

if TYPE_CHECKING:
    from robotschool.tasks.kitchen_soup.task import KitchenSoup


LID_ARM, LADLE_ARM = "left", "right"
LIP_CLEARANCE = 0.0025      # the lip's edge above the pot floor while sweeping (m)
SWEEP_STEPS = 12            # waypoints of the levelling sweep
LEVEL_DISTANCE = 0.08       # the cup is level after this much of the sweep (m)
SCOOP_OFFSETS = (0.0, 0.02, -0.02, 0.01)   # successive sweeps beside each other, across the sweep (m)
SETTLE_TIME = 0.3           # wait at a waypoint before looking where the cup really is (s)
CORRECTION_GAIN = 0.8       # fraction of the cup's observed miss corrected


@dataclass
class Step:
    """One item of an arm's script: move the hand to `pose`, set the grip and wait, or call `then`."""

    phase: str
    pose: Pose | None = None
    cup: Pose | None = None           # a ladle move: where the cup goes (the hand pose is worked out on start)
    speed: float = 0.0
    turn: float = 0.0
    grip: float | None = None
    wait: float = 0.0
    then: Callable[[dict, float], None] | None = None


class SoupOracle(StationOracle):
    noise_z = 0.3             # the cup and the lid handle want height more exactly

    def __init__(self, task: "KitchenSoup", params: dict[str, Any], rng: np.random.Generator, reach: Reach | None):
        super().__init__(task, params, rng, reach)
        oc = self.oc
        self.geo = task.ladle_geo
        # per-episode style
        self.speed = uniform(rng, oc.speed)
        self.carry_speed = uniform(rng, oc.carry_speed)
        self.scoop_speed = uniform(rng, oc.scoop_speed)
        self.tilt_speed = uniform(rng, oc.tilt_speed)
        self.entry = uniform(rng, oc.scoop_tilt)
        self.hold_tilt = uniform(rng, oc.hold_tilt)
        self.lift_tilt = uniform(rng, oc.lift_tilt)
        self.pour_tilt = uniform(rng, oc.pour_tilt)
        self.pour_time = uniform(rng, oc.pour_time)
        self.scoop_yaw = uniform(rng, oc.ladle_yaw)
        self.pour_yaw = uniform(rng, oc.pour_yaw)
        self.psi = self.scoop_yaw                 # the ladle's working yaw now
        self.approach = uniform(rng, oc.approach_height)
        self.lid_lift = uniform(rng, oc.lid_lift)
        self.carry_height = uniform(rng, oc.carry_height)
        j = oc.lid_place_jitter
        self.lid_place = np.array(oc.lid_place) + rng.uniform(-j, j, size=2)
        self.phase = "open_lid"
        self.start: dict[str, Pose] = {}
        self.targets: dict[str, Pose] = {}
        self.grips = {arm: 0.0 for arm in ARMS}
        self.script: list[tuple[str, Step]] = []
        self.since = 0.0
        self.scoops = 0
        self.lid_hold: Pose | None = None       # the lid's design frame in the hand's tool frame, once held
        self.ladle_hold: Pose | None = None     # the ladle's design frame in the hand's tool frame, once held
        # added to hand targets: the cup's observed miss, accumulated per phase (the arm's posture, hence how far
        # the cup misses, differs over the pot and over the bowl: a miss seen at one does not carry to the other)
        self.cup_correction: dict[str, np.ndarray] = {}
        self._last_cup: tuple[str, Pose] | None = None   # (phase, cup pose) of the last ladle move
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    # -- what the operator sees ------------------------------------------------------------------------------
    def _object(self, obs, i: int) -> Pose:
        row = obs[schema.OBS_OBJECT][7 * i:7 * i + 7]
        return Pose(row[:3], row[3:])

    def _particles(self, obs) -> np.ndarray:
        pts = obs[schema.OBS_OBJECT][7 * N_BODIES:].reshape(-1, PARTICLE_OBS)
        return pts[pts[:, 3] > 0.5, :3]

    def _tcp(self, obs, arm: str) -> Pose:
        return Pose(obs[schema.OBS_EEF_POS.format(arm=arm)], obs[schema.OBS_EEF_QUAT.format(arm=arm)])

    def in_bowl(self, obs) -> int:
        """Particles the operator sees inside the bowl."""
        c = self.cfg.bowl
        bowl = self._object(obs, 3)
        local = (self._particles(obs) - bowl.pos) @ bowl.rot
        inside = (kw.inside_octagon(local[:, :2], c.apothem) & (local[:, 2] > 0)
                  & (local[:, 2] < c.floor + c.height + 0.01))
        return int(inside.sum())

    # -- the loop --------------------------------------------------------------------------------------------
    def act(self, obs: dict[str, np.ndarray], t: float) -> OperatorCommand:
        dt = 1.0 / self.cfg.control_hz
        if not self.targets:
            for arm in ARMS:
                self.start[arm] = self._tcp(obs, arm)
                self.targets[arm] = self.start[arm]
            self._plan_lid(obs, t)
            self.since = t
        self._run(obs, t, dt)
        hands = {arm: HandCommand(pose=self.targets[arm], grip=self.grips[arm]) for arm in ARMS}
        return OperatorCommand(left=hands["left"], right=hands["right"], timestamp=t, phase=self.phase)

    def _run(self, obs, t: float, dt: float) -> None:
        """Advance the script's current step; steps that finish this tick hand over to the next one."""
        while self.script:
            arm, step = self.script[0]
            self.phase = step.phase
            if step.then is not None:
                self.script.pop(0)
                step.then(obs, t)
                self.since = t
                continue
            if step.cup is not None and step.pose is None:
                step.pose = self._hand_for(step.cup, step.phase)
            if step.grip is not None and self.grips[arm] != step.grip:
                self.grips[arm] = step.grip
                self.since = t
            if step.pose is not None:
                self.targets[arm], there = step_towards(self.targets[arm], step.pose, step.speed, step.turn, dt)
                near = float(np.linalg.norm(self._tcp(obs, arm).pos - step.pose.pos)) < self.oc.arrive_distance
                if not (there and (near or t - self.since > self.oc.waypoint_timeout)):
                    return
            if t - self.since < step.wait:
                return
            self.script.pop(0)
            self.since = t
        if not self._done and self.phase == "finished":
            self._done = True

    def _add(self, arm: str, phase: str, **kw_) -> None:
        self.script.append((arm, Step(phase, **kw_)))

    def _move(self, arm: str, phase: str, pose: Pose, speed: float, turn: float | None = None) -> None:
        self._add(arm, phase, pose=pose, speed=speed, turn=self.oc.turn_speed if turn is None else turn)

    # -- lid -------------------------------------------------------------------------------------------------
    def _lid_grasp(self, obs) -> Pose:
        """TCP pose on the lid's bar handle: the reachable hand yaw nearest the hand's comfortable one, among the
        four that close the fingers across the bar or along it (preferring across)."""
        c = self.cfg.lid
        lid = self._object(obs, 1)
        bar = lid.compose(Pose([0.0, 0.0, c.thickness + c.bar[2] / 2 + 0.004], [0, 0, 0, 1]))
        lid_yaw = geometry.quat_yaw(lid.quat)
        pref = geometry.quat_yaw(self.start[LID_ARM].quat)
        options = []
        for k in range(4):
            yaw = wrap(lid_yaw + k * math.pi / 2 - pref) + pref
            options.append((abs(yaw - pref) + (0.35 if k % 2 else 0.0), yaw))
        point = bar.pos + self._noise() * np.array([1.0, 1.0, 0.0])
        for _, yaw in sorted(options):
            q = geometry.yaw_quat(yaw)
            poses = [Pose(point, q), Pose(point + [0, 0, self.approach], q)]
            if self.reach is None or all(self.reach(LID_ARM, pz) for pz in poses):
                return poses[0]
        return Pose(point, geometry.yaw_quat(sorted(options)[0][1]))

    def _plan_lid(self, obs, t: float) -> None:
        grasp = self._lid_grasp(obs)
        up = Pose(grasp.pos + [0, 0, self.approach], grasp.quat)
        self._move(LID_ARM, "open_lid", up, self.speed)
        self._move(LID_ARM, "open_lid", grasp, self.speed / 2)
        self._add(LID_ARM, "open_lid", grip=1.0, wait=self.oc.grasp_time)
        self._add(LID_ARM, "open_lid", then=self._lift_lid)

    def _lift_lid(self, obs, t: float) -> None:
        hand = self._tcp(obs, LID_ARM)
        self.lid_hold = hand.inverse().compose(self._object(obs, 1))
        pot = self._object(obs, 0)
        rim = pot.pos[2] + self.cfg.pot.floor + self.cfg.pot.height
        raise_by = rim + self.lid_lift - self._object(obs, 1).pos[2]
        target = self.targets[LID_ARM]
        lifted = Pose(target.pos + [0, 0, raise_by], target.quat)
        self._move(LID_ARM, "open_lid", lifted, self.carry_speed)
        counter = self._object(obs, 4).pos[2]          # the rest stands on the counter
        lid_at = np.array([*self.lid_place, counter + 0.004])
        # hand pose that puts the lid's design frame at lid_at (same hand orientation)
        offset = target.rot @ self.lid_hold.pos
        above = Pose([lid_at[0] - offset[0], lid_at[1] - offset[1], lifted.pos[2]], target.quat)
        self._move(LID_ARM, "place_lid", above, self.carry_speed)
        self._move(LID_ARM, "place_lid", Pose(lid_at - offset + [0, 0, 0.03], target.quat), self.carry_speed)
        self._move(LID_ARM, "place_lid", Pose(lid_at - offset, target.quat), self.carry_speed / 2)
        self._add(LID_ARM, "place_lid", grip=0.0, wait=self.oc.release_time)
        self._move(LID_ARM, "place_lid", Pose(lid_at - offset + [0, 0, self.approach], target.quat), self.speed)
        self._move(LID_ARM, "place_lid", self._rest(LID_ARM), self.speed)
        self._add(LID_ARM, "grasp_ladle", then=self._plan_ladle)

    def _rest(self, arm: str) -> Pose:
        return Pose(self.start[arm].pos + self._noise(2.0), self.start[arm].quat)

    # -- ladle -----------------------------------------------------------------------------------------------
    def _plan_ladle(self, obs, t: float) -> None:
        ladle = self._object(obs, 2)
        # turned about the grip axis: the wrist's roll range then spans the cup's tilts (lip down to scoop and
        # pour, up to carry) without running into a joint limit, where the arm would swing to another posture
        roll = Pose.from_matrix([0.0, 0.0, 0.0], geometry.axis_angle_matrix([1, 0, 0], self.oc.grasp_roll))
        grasp = ladle.compose(self.geo.grasp()).compose(roll)
        grasp = Pose(grasp.pos + self._noise() * np.array([1.0, 0.0, 0.0]), grasp.quat)
        self._move(LADLE_ARM, "grasp_ladle", Pose(grasp.pos + [0, 0, self.approach], grasp.quat), self.speed)
        self._move(LADLE_ARM, "grasp_ladle", grasp, self.speed / 2)
        self._add(LADLE_ARM, "grasp_ladle", grip=1.0, wait=self.oc.grasp_time)
        self._add(LADLE_ARM, "grasp_ladle", then=self._hold_ladle)

    def _hold_ladle(self, obs, t: float) -> None:
        self.ladle_hold = self._tcp(obs, LADLE_ARM).inverse().compose(self._object(obs, 2))
        target = self.targets[LADLE_ARM]
        self._move(LADLE_ARM, "grasp_ladle", Pose(target.pos + [0, 0, 0.08], target.quat), self.carry_speed)
        self._add(LADLE_ARM, "scoop", then=self._plan_scoop)

    def _hand_for(self, cup: Pose, phase: str) -> Pose:
        """The hand pose that puts the held ladle's design frame at `cup`, corrected by how far the cup was
        seen to miss where it was sent (the arm sags and tilts a little under a held ladle)."""
        hand = cup.compose(self.ladle_hold.inverse())
        return Pose(hand.pos + self.cup_correction.get(phase, np.zeros(3)), hand.quat)

    def _correct(self, obs, t: float, sent: tuple[str, Pose]) -> None:
        """Look where the cup really is after the move that sent it to `sent` and shift the following moves
        of that phase by the miss."""
        phase, last = sent
        seen = self._object(obs, 2).pos
        miss = last.pos - seen
        if float(np.linalg.norm(miss)) < 0.05:           # a sane miss (not a slipped grasp)
            self.cup_correction[phase] = self.cup_correction.get(phase, np.zeros(3)) + CORRECTION_GAIN * miss

    def _R(self, tilt: float) -> np.ndarray:
        """Cup orientation at the working yaw, tilted by `tilt` about the grip axis (+: the open lip up)."""
        return geometry.axis_angle_matrix([0, 0, 1], self.psi) @ geometry.axis_angle_matrix([1, 0, 0], tilt)

    def _at_lip(self, lip_world: np.ndarray, tilt: float) -> Pose:
        """Ladle design pose whose lip edge (the open side's lowest edge) is at `lip_world`."""
        half = self.geo.cup / 2 + self.geo.wall
        r = self._R(tilt)
        return Pose.from_matrix(np.asarray(lip_world) - r @ np.array([0.0, half + self.geo.lip, 0.0]), r)

    def _cup_move(self, phase: str, cup: Pose, speed: float, turn: float | None = None) -> None:
        self._add(LADLE_ARM, phase, cup=cup, speed=speed, turn=self.oc.turn_speed if turn is None else turn)
        self._last_cup = (phase, cup)

    def _settle_and_correct(self, phase: str) -> None:
        """Wait, then compare the cup with where the move just planned (not a later one) sent it."""
        last = self._last_cup
        self._add(LADLE_ARM, phase, wait=SETTLE_TIME)
        self._add(LADLE_ARM, phase, then=lambda obs, t: self._correct(obs, t, last))

    def _plan_scoop(self, obs, t: float) -> None:
        c = self.cfg
        self.psi = self.scoop_yaw
        pot = self._object(obs, 0)
        floor = pot.pos[2] + c.pot.floor
        rim = floor + c.pot.height
        bowl = self._object(obs, 3)
        high = max(rim, bowl.pos[2] + c.bowl.floor + c.bowl.height) + self.carry_height
        half = self.geo.cup / 2 + self.geo.wall
        reach = c.pot.apothem - half - c.oracle.scoop_margin
        r0 = self._R(0.0)
        d, side = r0[:, 1], r0[:, 0]
        off = SCOOP_OFFSETS[self.scoops % len(SCOOP_OFFSETS)] + self._noise()[0]
        start = np.array([pot.pos[0], pot.pos[1], floor]) - reach * d + off * side
        lip0 = start + r0 @ np.array([0.0, half + self.geo.lip, 0.0])
        cur = self._tcp(obs, LADLE_ARM).compose(self.ladle_hold)
        if cur.pos[2] < high:       # coming from the bowl: rise before crossing over
            self._cup_move("scoop", Pose([*cur.pos[:2], high], cur.quat), self.carry_speed)
        above = self._at_lip(lip0 + [0, 0, rim - floor + 0.02], -self.entry)
        self._cup_move("scoop", self._at_lip(lip0 + [0, 0, high - floor], -self.entry), self.speed)
        self._cup_move("scoop", above, self.carry_speed)
        self._settle_and_correct("scoop")
        self._cup_move("scoop", above, self.carry_speed)
        self._settle_and_correct("scoop")
        self._cup_move("scoop", self._at_lip(lip0 + [0, 0, LIP_CLEARANCE], -self.entry), self.scoop_speed)
        travel = 2 * reach - self.geo.lip
        for i in range(1, SWEEP_STEPS + 1):
            f = i / SWEEP_STEPS
            tilt = -self.entry * max(0.0, 1.0 - f * travel / LEVEL_DISTANCE)
            self._cup_move("scoop", self._at_lip(lip0 + f * travel * d + [0, 0, LIP_CLEARANCE], tilt), self.scoop_speed)
        end = lip0 + travel * d + [0, 0, LIP_CLEARANCE] - r0 @ np.array([0.0, half + self.geo.lip, 0.0])
        # tilt the lip up about the cup's back bottom edge, then lift slowly, away from the near wall
        pivot = end + r0 @ np.array([0.0, -half, 0.0])
        tilted = self._R(self.lift_tilt)
        origin = pivot + tilted @ (r0.T @ (end - pivot))
        self._cup_move("scoop", Pose.from_matrix(origin, tilted), self.scoop_speed, self.tilt_speed)
        self._cup_move("scoop", Pose.from_matrix(origin + [0, 0, 0.02], tilted), self.scoop_speed / 2)
        self._cup_move("scoop", Pose.from_matrix(np.r_[origin[:2] - 0.03 * d[:2], high], tilted), self.scoop_speed * 2)
        self._add(LADLE_ARM, "pour", then=self._plan_pour)

    def _plan_pour(self, obs, t: float) -> None:
        c = self.cfg
        self.psi = self.pour_yaw
        bowl = self._object(obs, 3)
        rim = bowl.pos[2] + c.bowl.floor + c.bowl.height
        d = self._R(0.0)[:, 1]
        lip = np.array([bowl.pos[0], bowl.pos[1], rim - 0.012]) + 0.01 * d + self._noise()
        up = np.array([0.0, 0.0, 0.07])
        hold = self.hold_tilt     # the whole path was chosen so the arm follows it (scenes/kitchen_soup.yaml)
        # a full cup is carried gently and turned to the pouring yaw at the tilting pace: the step start of a
        # brisk carry throws soup over the lip, and the wrist swings a long way here
        self._cup_move("pour", self._at_lip(lip + up, hold), self.scoop_speed * 1.5, self.tilt_speed)
        self._settle_and_correct("pour")
        self._cup_move("pour", self._at_lip(lip + up, hold), self.carry_speed)
        self._settle_and_correct("pour")
        for i in range(1, 5):       # tilt while descending, in small steps the arm follows smoothly
            f = i / 4
            tilt = hold - f * (hold + self.pour_tilt)
            self._cup_move("pour", self._at_lip(lip + up * (1 - f), tilt), self.scoop_speed, self.tilt_speed)
        self._add(LADLE_ARM, "pour", wait=self.pour_time)
        # straight up out of the bowl, then un-tilt in small steps to the next scoop's entry tilt, clear of the
        # bowl's rim (the arm keeps its posture; a swinging cup would drag the bowl)
        self._cup_move("pour", self._at_lip(lip + up, -self.pour_tilt), self.scoop_speed)
        for i in range(1, 4):
            tilt = -self.pour_tilt + i / 3 * (self.pour_tilt - self.entry)
            self._cup_move("pour", self._at_lip(lip + up, tilt), self.scoop_speed, self.tilt_speed)
        self._add(LADLE_ARM, "pour", then=self._after_pour)

    def _after_pour(self, obs, t: float) -> None:
        self.scoops += 1
        if self.in_bowl(obs) < self.oc.target_in_bowl and self.scoops < self.oc.max_scoops:
            self._plan_scoop(obs, t)
        else:
            self._plan_return(obs, t)

    def _plan_return(self, obs, t: float) -> None:
        c = self.cfg
        rest = self._object(obs, 4)
        place = Pose(rest.pos + [0, 0, c.rest.thickness + 0.004], rest.quat)
        pot = self._object(obs, 0)
        high = pot.pos[2] + c.pot.floor + c.pot.height + self.carry_height
        above = Pose([*place.pos[:2], max(high, place.pos[2] + 0.08)], place.quat)
        self._cup_move("return_ladle", above, self.carry_speed)
        self._cup_move("return_ladle", place, self.carry_speed / 2)
        self._add(LADLE_ARM, "return_ladle", grip=0.0, wait=self.oc.release_time)
        self._add(LADLE_ARM, "retreat", then=self._plan_retreat)

    def _plan_retreat(self, obs, t: float) -> None:
        target = self.targets[LADLE_ARM]
        self._move(LADLE_ARM, "retreat", Pose(target.pos + [0, 0, self.approach], target.quat), self.speed)
        self._move(LADLE_ARM, "retreat", self._rest(LADLE_ARM), self.speed)
        self._add(LADLE_ARM, "finished", wait=0.0)
