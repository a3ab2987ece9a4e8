"""Scripted operator of shelf_restock: look at the shelf, find the gaps in the depth image, refill each one.

Like a shelf-filler: it first turns its head to the shelf and takes one head-camera depth image (through
`Oracle.look`), and finds the empty slots in it with the planogram (gaps.py); it never reads which slots are
empty from the simulator or from the goods' poses. Then, for each gap, it picks an item of the slot's
category out of the basket (the basket's contents and their poses are what it sees there), steps in front of
the slot, lowers the item upright onto the board and lets go. One hand (YAML `oracle.arm`) works, held
fingers-down; the other holds its rest pose. Every stand is square to the shelf, so the base only slides.

Human-like variety: hand, placing and walking speeds, approach heights and small standing and waypoint
noise are drawn per episode from the episode's rng (the same seed still gives the same episode exactly).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from robotschool import geometry
from robotschool.errors import RobotschoolError
from robotschool.recording import schema
from robotschool.tasks.base import Reach, StationOracle, uniform
from robotschool.tasks.motion import Navigator, base_xy_yaw, step_towards, wrap
from robotschool.tasks.shelf_restock.gaps import find_gaps
from robotschool.tasks.shelf_restock.shelf import goods_height
from robotschool.types import ARMS, HandCommand, OperatorCommand, Pose

if TYPE_CHECKING:
    from robotschool.tasks.shelf_restock.task import ShelfRestock


class ShelfOracle(StationOracle):
    """Phases (the per-step subtask labels): look, detect_gaps, walk_to_basket, grasp_item, walk_to_shelf,
    place_item, finished."""

    def __init__(self, task: "ShelfRestock", params: dict[str, Any], rng: np.random.Generator, reach: Reach | None):
        super().__init__(task, params, rng, reach)
        oc = self.oc
        self.geo = task.geometry(params)
        self.arm = oc.arm
        self.hand_speed = uniform(rng, oc.hand_speed)
        self.place_speed = uniform(rng, oc.place_speed)
        self.approach = uniform(rng, oc.approach)
        speeds = (uniform(rng, oc.walk_speed), oc.side_speed, uniform(rng, oc.turn_speed))
        self.nav = Navigator(speeds, oc.accel, min_speed=oc.finish_speed)
        self.corner_nav = Navigator(speeds, oc.accel, pos_tol=0.03, yaw_tol=0.05)
        self.route: list[tuple[float, float, float]] = []     # corners before base_goal (world x, y, yaw)
        tallest = max(r[1] for cat in self.cfg.categories.values() for r in cat.size[-1:])
        # item bottom while carrying: clear of the goods on the level below the top one. Walking, the hand stays
        # in front of the top level (every stand is at least its reach_levels in front of a slot), and carrying
        # no higher keeps the arm in one IK branch (higher up it swings the elbow out sideways)
        below_top = sorted(self.geo.levels)[-2] if len(self.geo.levels) > 1 else self.geo.levels[0] - tallest
        self.carry_bottom = below_top + tallest + oc.carry_clearance
        self.phase = "look"
        self.step = "start"                  # sub-step within a phase
        self.since = 0.0
        self.targets: dict[str, Pose] = {}
        self.goals: dict[str, Pose] = {}
        self.rest: dict[str, Pose] = {}
        self.grip = 0.0
        self.head: Pose | None = None
        self.base_goal: tuple[float, float, float] | None = None
        self.eye = np.array([0.12, 0.0, 1.5])          # where the head camera is, until the first look says
        self.gaps: list[int] = []
        self.detected: list[int] | None = None
        self.plan: list[tuple[int, int]] = []          # (slot, basket item) in order
        self.current = 0
        self.offset = np.zeros(3)                      # held item centre minus TCP (base frame)
        self.held_yaw = 0.0                            # held item yaw minus hand yaw
        self.offset_yaw = 0.0                          # hand yaw when `offset` was measured
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    # -- what the operator sees ----------------------------------------------------------------------------
    @staticmethod
    def _row(obs, i: int) -> Pose:
        row = obs[schema.OBS_OBJECT][7 * i:7 * i + 7]
        return Pose(row[:3], row[3:])

    def _shelf(self, obs) -> Pose:
        return self._row(obs, 0)

    def _item(self, obs, j: int) -> Pose:
        return self._row(obs, 2 + j)

    def _item_height(self, j: int) -> float:
        item = self.params["basket"][j]
        return goods_height(self.cfg.categories[item["category"]].shape, item["size"])

    def _tcp(self, obs) -> np.ndarray:
        return np.asarray(obs[schema.OBS_EEF_POS.format(arm=self.arm)], dtype=np.float64)

    # -- planning ------------------------------------------------------------------------------------------
    def _plan(self, obs) -> None:
        """Pair each gap seen with a basket item of its category: gaps nearest the basket first, each taking
        the nearest unused matching item."""
        planogram = self.params["planogram"]
        used: set[int] = set()
        basket_y = float(self._row(obs, 1).pos[1])
        shelf = self._shelf(obs)
        order = sorted(self.gaps, key=lambda k: abs(float((shelf.compose(
            Pose(self.geo.slot_centre(k), [0, 0, 0, 1]))).pos[1]) - basket_y))
        self.plan = []
        for k in order:
            cands = [j for j, item in enumerate(self.params["basket"])
                     if item["category"] == planogram[k] and j not in used]
            if not cands:
                continue                     # nothing of that category left: leave the gap
            j = min(cands, key=lambda j: float(np.linalg.norm(self._item(obs, j).pos[:2])))
            used.add(j)
            self.plan.append((k, j))

    def _stand(self, obs, target_base: np.ndarray, reach_x: float) -> tuple[float, float, float]:
        """World base pose, square to the shelf, that puts `target_base` (a point in the current base frame)
        at (reach_x, hand_y) in front of the working hand."""
        b = obs[schema.OBS_BASE_POSE]
        base = Pose(b[:3], b[3:])
        shelf_w = base.compose(self._shelf(obs))
        yaw = geometry.quat_yaw(shelf_w.quat)
        t = base.compose(Pose(target_base, [0, 0, 0, 1])).pos
        c, s = math.cos(yaw), math.sin(yaw)
        hy = self.oc.hand_y if self.arm == "left" else -self.oc.hand_y
        n = self.rng.uniform(-self.oc.stand_noise, self.oc.stand_noise, size=2)
        if self.oc.stand_side_noise > 0:          # along the shelf (the base's y axis at the stand)
            hy += self.rng.uniform(-self.oc.stand_side_noise, self.oc.stand_side_noise)
        return (float(t[0] - c * reach_x + s * hy + n[0]), float(t[1] - s * reach_x - c * hy + n[1]), yaw)

    def _carry_pose(self, reach_x: float, height: float, yaw: float) -> Pose:
        hy = self.oc.hand_y if self.arm == "left" else -self.oc.hand_y
        tcp_z = self.carry_bottom + height - self.oc.grasp_depth
        return Pose([reach_x, hy, tcp_z], geometry.yaw_quat(yaw))

    def _look_at(self, point: np.ndarray) -> Pose:
        """A head pose (base frame) whose x axis points from the eye at `point`."""
        d = np.asarray(point, dtype=np.float64) - self.eye
        yaw = math.atan2(d[1], d[0])
        pitch = math.atan2(-d[2], math.hypot(d[0], d[1]))
        rot = geometry.quat_to_matrix(geometry.yaw_quat(yaw)) @ np.array(
            [[math.cos(pitch), 0, math.sin(pitch)], [0, 1, 0], [-math.sin(pitch), 0, math.cos(pitch)]])
        return Pose.from_matrix(self.eye, rot)

    # -- the script ----------------------------------------------------------------------------------------
    def _go(self, phase: str, step: str, t: float, goal: Pose | None = None,
            base_goal: tuple[float, float, float] | None = None, obs=None) -> None:
        self.phase, self.step, self.since = phase, step, t
        if goal is not None:
            self.goals[self.arm] = goal
        self.base_goal = base_goal
        self.route = self._route(obs, base_goal) if base_goal is not None else []

    def _route(self, obs, goal: tuple[float, float, float]) -> list[tuple[float, float, float]]:
        """Corners on the way to `goal`: moving sideways along the shelf, first step back to the walk line
        (`oracle.walk_line` in the shelf frame), slide along it, then step in, so the hand carrying an item never
        sweeps over the goods of the upper levels."""
        b = obs[schema.OBS_BASE_POSE]
        base = Pose(b[:3], b[3:])
        shelf = base.compose(self._shelf(obs))
        inv = shelf.inverse()
        here = inv.compose(base).pos
        there = inv.compose(Pose([goal[0], goal[1], 0.0], [0, 0, 0, 1])).pos
        if abs(there[1] - here[1]) < 0.05:
            return []
        w = self.oc.walk_line
        corners = [(min(here[0], w), here[1]), (min(there[0], w), there[1])]
        out = []
        for x, y in corners:
            p = shelf.compose(Pose([x, y, 0.0], [0, 0, 0, 1])).pos
            out.append((float(p[0]), float(p[1]), goal[2]))
        return out

    def act(self, obs: dict[str, np.ndarray], t: float) -> OperatorCommand:
        dt = 1.0 / self.cfg.control_hz
        if not self.targets:
            for arm in ARMS:
                pose = Pose(obs[schema.OBS_EEF_POS.format(arm=arm)], obs[schema.OBS_EEF_QUAT.format(arm=arm)])
                self.targets[arm] = pose
                rest = self.oc.rest.get(arm)
                self.rest[arm] = Pose(rest, pose.quat) if rest is not None else pose
            self.goals = dict(self.rest)
        commanded, measured = True, True
        for arm in ARMS:
            speed = self.place_speed if self.step in ("lower", "descend") and arm == self.arm else self.hand_speed
            self.targets[arm], arrived = step_towards(self.targets[arm], self.goals[arm], speed,
                                                      self.oc.hand_turn_speed, dt)
            tcp = obs[schema.OBS_EEF_POS.format(arm=arm)]
            commanded &= arrived
            measured &= float(np.linalg.norm(tcp - self.goals[arm].pos)) < self.oc.hand_tolerance
        twist, base_there = (0.0, 0.0, 0.0), True
        base = base_xy_yaw(obs[schema.OBS_BASE_POSE])
        while self.route:                       # pass the route's corners without stopping
            twist, at_corner = self.corner_nav.twist(base, self.route[0])
            if not at_corner:
                break
            self.route.pop(0)
        if not self.route and self.base_goal is not None:
            twist, base_there = self.nav.twist(base, self.base_goal)
        else:
            base_there = self.base_goal is None
        settled = measured or t - self.since > self.oc.waypoint_timeout
        self._tick(obs, t, commanded and base_there and settled)
        grips = {arm: (self.grip if arm == self.arm else 0.0) for arm in ARMS}
        hands = {arm: HandCommand(pose=self.targets[arm], grip=grips[arm]) for arm in ARMS}
        return OperatorCommand(left=hands["left"], right=hands["right"], base_twist=twist, head=self.head,
                               timestamp=t, phase=self.phase)

    def _tick(self, obs, t: float, arrived: bool) -> None:
        oc = self.oc
        if self.phase == "look":
            if self.step == "start":
                shelf = self._shelf(obs)
                mid = shelf.compose(Pose([self.geo.step * len(self.geo.levels) / 2, 0.0,
                                          float(np.mean(self.geo.levels))], [0, 0, 0, 1])).pos
                self.head = self._look_at(mid)
                self._go("look", "wait", t)
            elif arrived and t - self.since >= oc.look_time:
                self._go("detect_gaps", "image", t)
        elif self.phase == "detect_gaps":
            if self.look is None:
                raise RobotschoolError("shelf_restock's operator finds the gaps with the robot's head camera: make "
                                       "it with RobotEnv.make_oracle(), which gives it the camera")
            view = self.look(oc.camera, oc.image[0], oc.image[1])
            self.eye = view.pose.pos.copy()
            self.gaps = find_gaps(view, self.geo, self._shelf(obs), self.cfg.detector)
            self.detected = list(self.gaps)
            self._plan(obs)
            self.current = 0
            self._next(obs, t)
        elif self.phase == "walk_to_basket":
            if arrived:
                self._grasp_start(obs, t)
        elif self.phase == "grasp_item":
            self._grasp(obs, t, arrived)
        elif self.phase == "walk_to_shelf":
            if arrived:
                self._place_start(obs, t)
        elif self.phase == "place_item":
            self._place(obs, t, arrived)
        elif self.phase == "return" and arrived:
            self._go("finished", "done", t)
            self._done = True

    def _next(self, obs, t: float) -> None:
        """Walk to the basket item of the next planned gap, or finish."""
        if self.current >= len(self.plan):
            self.goals = dict(self.rest)
            self.head = None
            self._go("return", "rest", t)
            return
        k, j = self.plan[self.current]
        item = self._item(obs, j)
        self.head = self._look_at(item.pos)
        carry = self._carry_pose(self.oc.reach_basket, self._item_height(j), math.pi)
        self._go("walk_to_basket", "walk", t, carry, self._stand(obs, item.pos, self.oc.reach_basket), obs)

    def _grasp_start(self, obs, t: float) -> None:
        k, j = self.plan[self.current]
        item = self._item(obs, j)
        h = self._item_height(j)
        yaw = math.pi + math.remainder(geometry.quat_yaw(item.quat), math.pi)     # fingers across the item's thin side
        top = item.pos + np.array([0.0, 0.0, h / 2 - self.oc.grasp_depth]) + self._noise() * np.array([1, 1, 0])
        self.grasp_pose = Pose(top, geometry.yaw_quat(yaw))
        self.grip = self.oc.preshape_grip
        self._go("grasp_item", "reach", t, Pose(top + [0, 0, self.approach], self.grasp_pose.quat))

    def _grasp(self, obs, t: float, arrived: bool) -> None:
        oc = self.oc
        k, j = self.plan[self.current]
        if self.step == "reach" and arrived:
            self._go("grasp_item", "descend", t, self.grasp_pose)
        elif self.step == "descend" and arrived:
            self.grip = 1.0
            self._go("grasp_item", "close", t)
        elif self.step == "close" and t - self.since >= oc.grasp_time:
            up = self._carry_pose(float(self.grasp_pose.pos[0]), self._item_height(j), geometry.quat_yaw(self.grasp_pose.quat))
            up = Pose([up.pos[0], self.grasp_pose.pos[1], up.pos[2]], up.quat)
            self._go("grasp_item", "lift", t, up)
        elif self.step == "lift" and arrived:
            item = self._item(obs, j)
            tcp = self._tcp(obs)
            if float(item.pos[2]) < float(tcp[2]) - self._item_height(j):    # not in the hand: try again
                self.grip = 0.0
                self._next(obs, t)
                return
            self.offset = item.pos - tcp
            self.offset_yaw = geometry.quat_yaw(obs[schema.OBS_EEF_QUAT.format(arm=self.arm)])   # the hand's, measured
            self.held_yaw = wrap(geometry.quat_yaw(item.quat) - self.offset_yaw)
            slot = self._slot(obs, k)
            carry = self._carry_pose(self.oc.reach_basket, self._item_height(j), geometry.quat_yaw(self.grasp_pose.quat))
            self.head = self._look_at(slot)
            self._go("walk_to_shelf", "walk", t, carry, self._stand(obs, slot, self._reach_level(k)), obs)

    def _slot(self, obs, k: int) -> np.ndarray:
        return self._shelf(obs).compose(Pose(self.geo.slot_centre(k), [0, 0, 0, 1])).pos

    def _reach_level(self, k: int) -> float:
        return self.oc.reach_levels[self.geo.level(k)]

    def _held_goal(self, centre: np.ndarray, item_yaw: float) -> Pose:
        """The hand pose that puts the held item's centre at `centre` with yaw `item_yaw` (base frame)."""
        cur = geometry.quat_yaw(self.targets[self.arm].quat)
        hand_yaw = cur + wrap(item_yaw - self.held_yaw - cur)      # the smaller turn from where the hand is
        turn = geometry.quat_to_matrix(geometry.yaw_quat(hand_yaw - self.offset_yaw))
        return Pose(centre - turn @ self.offset, geometry.yaw_quat(hand_yaw))

    def _place_start(self, obs, t: float) -> None:
        k, j = self.plan[self.current]
        slot = self._slot(obs, k)
        shelf_yaw = geometry.quat_yaw(self._shelf(obs).quat)
        item_yaw = geometry.quat_yaw(self._item(obs, j).quat)
        self.place_yaw = item_yaw + math.remainder(shelf_yaw - item_yaw, math.pi)   # square to the shelf
        h = self._item_height(j)
        above = slot + np.array([0.0, 0.0, h / 2 + self.approach]) + self._noise() * np.array([1, 1, 0])
        self.place_xy = above[:2].copy()
        self.place_above = above
        # level over the slot at the carrying height first, then straight down: a diagonal would sweep the
        # item through the goods on the level behind
        over = np.array([above[0], above[1], max(above[2], self.carry_bottom + h / 2)])
        self._go("place_item", "over", t, self._held_goal(over, self.place_yaw))

    def _place(self, obs, t: float, arrived: bool) -> None:
        oc = self.oc
        k, j = self.plan[self.current]
        h = self._item_height(j)
        if self.step == "over" and arrived:
            self._go("place_item", "down", t, self._held_goal(self.place_above, self.place_yaw))
        elif self.step == "down" and arrived:
            board = self._slot(obs, k)[2]
            centre = np.array([self.place_xy[0], self.place_xy[1], board + h / 2 + oc.drop])
            self._go("place_item", "lower", t, self._held_goal(centre, self.place_yaw))
        elif self.step == "lower" and arrived:
            self.grip = oc.preshape_grip
            self._go("place_item", "release", t)
        elif self.step == "release" and t - self.since >= oc.release_time:
            g = self.goals[self.arm]     # straight up to the carrying height before walking on
            up = max(float(g.pos[2]) + self.approach, self._carry_pose(0.0, h, 0.0).pos[2],
                     float(self._slot(obs, k)[2]) + h + self.approach)     # fingertips well above the item
            self._go("place_item", "retreat", t, Pose([g.pos[0], g.pos[1], up], g.quat))
        elif self.step == "retreat" and arrived:
            g = self.goals[self.arm]     # back out over the front of the shelf at that height, then on
            back = self._carry_pose(self.oc.reach_basket, h, 0.0).pos
            self._go("place_item", "back", t, Pose([back[0], back[1], g.pos[2]], g.quat))
        elif self.step == "back" and arrived:
            self.current += 1
            self._next(obs, t)
