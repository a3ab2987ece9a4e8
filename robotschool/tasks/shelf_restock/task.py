"""shelf_restock: find the empty slots of a supermarket shelf with the head camera and refill them.

Description:
    A stepped supermarket shelf (3 levels x 4 slots) stands in front of the robot. Every slot has a coloured
    label strip on its board's front edge naming the category it holds (can, box or bag: cylinders, boxes,
    flat pouches with a rounded top). Some slots are empty. A cart with a basket of replacement goods stands
    next to the robot, left of the shelf. The operator looks at the shelf with the head camera, finds the
    empty slots in the depth image (gaps.py, never from the simulator's state), then for each gap takes an item
    of the slot's category from the basket, walks over and sets it upright into the slot.
Randomisation (scenes/shelf_restock.yaml):
    shelf distance, lateral offset, yaw and board heights; the planogram (each slot's category, every category
    present); how many slots are empty and which; every item's size, mass and friction within its category;
    the basket's contents (one match per gap plus distractors) and their order in it; cart offset and yaw.
Success:
    every gap holds an item of its slot's category, upright, inside the slot and resting on its board, and
    every item that started on the shelf is still upright in its own slot (nothing knocked off or dragged).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robotschool import geometry
from robotschool.config import check
from robotschool.errors import ConfigError
from robotschool.registry import SCENES
from robotschool.sim import assets
from robotschool.sim.world import World
from robotschool.tasks.base import Oracle, SceneConfig, Task, uniform
from robotschool.tasks.shelf_restock.gaps import GapDetectorSettings
from robotschool.tasks.shelf_restock.shelf import (ShelfGeometry, build_goods, build_labels, build_shelf,
                                                   goods_height, shelf_to_world)
from robotschool.types import Pose


@dataclass(frozen=True)
class ShelfConfig:
    levels: list[float] = field(default_factory=lambda: [0.78, 0.93, 1.08])   # board top heights (m)
    level_jitter: float = field(default=0.012, metadata=check(lo=0.0, hi=0.05))
    columns: int = field(default=4, metadata=check(lo=1, hi=6))
    pitch: float = field(default=0.13, metadata=check(lo=0.08, hi=0.3))        # slot width
    step: float = field(default=0.11, metadata=check(lo=0.08, hi=0.3))         # slot depth = level setback
    distance: tuple[float, float] = (0.50, 0.58)      # robot start to the lowest board's front edge
    lateral: tuple[float, float] = (-0.08, 0.08)
    yaw: tuple[float, float] = (-0.15, 0.15)
    rgba: tuple[float, float, float, float] = (0.78, 0.78, 0.76, 1.0)
    position_jitter: tuple[float, float] = (0.004, 0.008)   # goods on the shelf: +- along depth, width (m)
    yaw_jitter: float = field(default=0.08, metadata=check(lo=0.0, hi=0.5))


@dataclass(frozen=True)
class CategoryConfig:
    shape: str = field(default="can", metadata=check(choices=("can", "box", "bag")))
    size: list[tuple[float, float]] = field(default_factory=list)   # per dimension [lo, hi] (shelf.goods_prims)
    mass: tuple[float, float] = (0.2, 0.4)
    friction: tuple[float, float] = (0.5, 0.8)
    rgba: tuple[float, float, float, float] = (0.8, 0.2, 0.2, 1.0)
    label_rgba: tuple[float, float, float, float] = (0.9, 0.1, 0.1, 1.0)


@dataclass(frozen=True)
class GapConfig:
    count: tuple[int, int] = (2, 4)                   # empty slots at reset, drawn uniformly, inclusive


@dataclass(frozen=True)
class BasketConfig:
    extra: tuple[int, int] = (0, 2)                   # distractor items besides one match per gap
    cart_top: tuple[float, float] = (0.40, 0.46)      # x (depth), y (width)
    cart_height: float = field(default=0.74, metadata=check(lo=0.5, hi=1.0))
    cart_front: tuple[float, float] = (-0.12, -0.08)  # cart front edge along the shelf x (< 0: nearer the robot)
    cart_gap: tuple[float, float] = (0.06, 0.10)      # between the shelf's left end and the cart
    cart_yaw: float = field(default=0.1, metadata=check(lo=0.0, hi=0.5))   # +- about the shelf's yaw
    inner: tuple[float, float, float] = (0.22, 0.40, 0.04)
    wall: float = field(default=0.008, metadata=check(lo=0.003, hi=0.02))
    rows: list[float] = field(default_factory=lambda: [-0.05, 0.05])         # item places along x in the basket
    cols: list[float] = field(default_factory=lambda: [0.13, 0.0, -0.13])    # ... and along y
    place_jitter: float = field(default=0.005, metadata=check(lo=0.0, hi=0.02))
    yaw_jitter: float = field(default=0.08, metadata=check(lo=0.0, hi=0.5))
    cart_rgba: tuple[float, float, float, float] = (0.30, 0.32, 0.36, 1.0)
    basket_rgba: tuple[float, float, float, float] = (0.15, 0.35, 0.70, 1.0)


@dataclass(frozen=True)
class ShelfOracleConfig:
    camera: str = "head"
    image: tuple[int, int] = (160, 120)                # look image width, height (px)
    look_time: float = field(default=0.8, metadata=check(lo=0.0))   # head settles before the image is taken
    rest: dict[str, tuple[float, float, float]] = field(default_factory=dict)   # idle hand TCP (default: start)
    hand_speed: tuple[float, float] = (0.25, 0.35)
    place_speed: tuple[float, float] = (0.10, 0.14)   # the last centimetres into the slot
    hand_turn_speed: float = field(default=2.0, metadata=check(lo=0.1))
    walk_speed: tuple[float, float] = (0.35, 0.45)
    side_speed: float = field(default=0.25, metadata=check(lo=0.05))
    turn_speed: tuple[float, float] = (0.6, 0.8)
    accel: tuple[float, float, float] = (0.6, 0.6, 1.2)
    finish_speed: tuple[float, float] = (0.0, 0.0)   # m/s, rad/s floor near a stand pose (motion.Navigator)
    arm: str = field(default="left", metadata=check(choices=("left", "right")))
    hand_y: float = field(default=0.15, metadata=check(lo=-0.4, hi=0.4))   # the working hand's lateral offset
    reach_basket: float = field(default=0.36, metadata=check(lo=0.2, hi=0.6))   # base to a basket item (x)
    reach_levels: list[float] = field(default_factory=lambda: [0.30, 0.36, 0.42])   # base to a slot, per level
    walk_line: float = field(default=-0.25, metadata=check(lo=-1.0, hi=0.0))   # shelf x of the base walking along it
    carry_clearance: float = field(default=0.04, metadata=check(lo=0.0))   # item bottom above the top items
    grasp_depth: float = field(default=0.03, metadata=check(lo=0.0, hi=0.08))   # TCP below an item's top
    approach: tuple[float, float] = (0.05, 0.08)      # TCP above the grasp / place pose before descending
    preshape_grip: float = field(default=0.3, metadata=check(lo=0.0, hi=0.49))   # open part way
    drop: float = field(default=0.004, metadata=check(lo=0.0, hi=0.02))    # item bottom above the board on release
    grasp_time: float = field(default=0.5, metadata=check(lo=0.05))
    release_time: float = field(default=0.4, metadata=check(lo=0.05))
    waypoint_timeout: float = field(default=2.0, metadata=check(lo=0.1))
    hand_tolerance: float = field(default=0.015, metadata=check(lo=0.001))
    stand_noise: float = field(default=0.008, metadata=check(lo=0.0, hi=0.03))
    # extra along-the-shelf offset of every stand (uniform +-, metres; 0 = none and no draw): an operator does not
    # stop exactly in front of a slot, and demos whose hand always travels the same few millimetres sideways teach
    # a policy nothing about correcting a stand that came out a few centimetres off (seen in rollouts: stopped 2 cm
    # beside the gap, the hand froze over the board instead of moving over the slot)
    stand_side_noise: float = field(default=0.0, metadata=check(lo=0.0, hi=0.08))
    position_noise: float = field(default=0.002, metadata=check(lo=0.0, hi=0.01))


@dataclass(frozen=True)
class ShelfSuccessConfig:
    max_tilt: float = field(default=0.25, metadata=check(lo=0.0, hi=1.0))      # rad from upright
    height_tolerance: float = field(default=0.015, metadata=check(lo=0.0))     # item bottom vs its board (m)
    edge_margin: float = field(default=0.005, metadata=check(lo=0.0))          # item centre inside the slot
    settle_speed: float = field(default=0.05, metadata=check(lo=0.0))


@dataclass(frozen=True)
class ShelfRestockConfig(SceneConfig):
    shelf: ShelfConfig = field(default_factory=ShelfConfig)
    categories: dict[str, CategoryConfig] = field(default_factory=dict)
    gaps: GapConfig = field(default_factory=GapConfig)
    basket: BasketConfig = field(default_factory=BasketConfig)
    detector: GapDetectorSettings = field(default_factory=GapDetectorSettings)
    oracle: ShelfOracleConfig = field(default_factory=ShelfOracleConfig)
    success: ShelfSuccessConfig = field(default_factory=ShelfSuccessConfig)



@SCENES.register("shelf_restock")
class ShelfRestock(Task):
    """Object observation order (7 values each, robot base frame): the shelf frame, the basket, the basket
    items (zeros past the drawn count, up to `max_basket`), then one entry per slot: the item that started in
    that slot, zeros for a slot that started empty (a gap); then the goal, one entry per gap (up to the most
    gaps): the empty slot's centre on its board, with the shelf's yaw."""

    config_cls = ShelfRestockConfig

    def __init__(self, config: ShelfRestockConfig):
        super().__init__(config)
        c = config
        if len(c.categories) < 1:
            raise ConfigError("shelf_restock: key 'categories': define at least one goods category")
        slots = len(c.shelf.levels) * c.shelf.columns
        if len(c.categories) > slots:
            raise ConfigError(f"shelf_restock: key 'categories': {len(c.categories)} categories do not fit "
                              f"the shelf's {slots} slots")
        if not 0 <= c.gaps.count[0] <= c.gaps.count[1] <= slots:
            raise ConfigError(f"shelf_restock: key 'gaps.count': {list(c.gaps.count)} must be an increasing range "
                              f"within the shelf's {slots} slots")
        if c.gaps.count[1] + c.basket.extra[1] > len(c.basket.rows) * len(c.basket.cols):
            raise ConfigError(f"shelf_restock: keys 'gaps.count' and 'basket.extra': up to "
                              f"{c.gaps.count[1] + c.basket.extra[1]} items do not fit the basket's "
                              f"{len(c.basket.rows) * len(c.basket.cols)} places (basket.rows x basket.cols)")
        if len(c.oracle.reach_levels) != len(c.shelf.levels):
            raise ConfigError("shelf_restock: key 'oracle.reach_levels': give one distance per shelf level")
        for name, cat in c.categories.items():
            need = 2 if cat.shape == "can" else 3
            if len(cat.size) != need:
                raise ConfigError(f"shelf_restock: key 'categories.{name}.size': a {cat.shape} needs {need} "
                                  f"[lo, hi] ranges, got {len(cat.size)}")
        self.max_basket = c.gaps.count[1] + c.basket.extra[1]
        self._params: dict[str, Any] = {}
        self.shelf_body = -1
        self.basket_body = -1

    # -- geometry the oracle shares ------------------------------------------------------------------------
    def geometry(self, params: dict[str, Any]) -> ShelfGeometry:
        s = self.config.shelf
        return ShelfGeometry(tuple(params["shelf"]["levels"]), s.columns, s.pitch, s.step)

    @staticmethod
    def shelf_pose(params: dict[str, Any]) -> tuple[float, float, float]:
        s = params["shelf"]
        return s["x"], s["y"], s["yaw"]

    def basket_place(self, params: dict[str, Any], place: int) -> np.ndarray:
        """World (x, y) of basket place `place` (row-major over basket.rows x basket.cols)."""
        b = self.config.basket
        r, c = divmod(place, len(b.cols))
        cart = params["cart"]
        return shelf_to_world((cart["x"], cart["y"], cart["yaw"]), (b.rows[r], b.cols[c], 0.0))[:2]

    def basket_floor(self) -> float:
        return self.config.basket.cart_height + self.config.basket.wall

    # -- randomisation -------------------------------------------------------------------------------------
    def _item(self, rng: np.random.Generator, category: str) -> dict[str, Any]:
        cat = self.config.categories[category]
        return {"category": category, "size": [uniform(rng, r) for r in cat.size], "mass": uniform(rng, cat.mass),
                "friction": uniform(rng, cat.friction)}

    def sample_scene(self, rng: np.random.Generator) -> dict[str, Any]:
        c: ShelfRestockConfig = self.config
        s, b = c.shelf, c.basket
        names = sorted(c.categories)
        yaw = uniform(rng, s.yaw)
        front = uniform(rng, s.distance)
        lateral = uniform(rng, s.lateral)
        levels = [z + uniform(rng, (-s.level_jitter, s.level_jitter)) for z in s.levels]
        shelf = {"x": front * math.cos(yaw) - lateral * math.sin(yaw),
                 "y": front * math.sin(yaw) + lateral * math.cos(yaw), "yaw": yaw, "levels": levels}
        n_slots = len(s.levels) * s.columns
        # planogram: every category somewhere, the rest drawn; the label colours name the categories
        planogram = list(names) + [names[int(rng.integers(len(names)))] for _ in range(n_slots - len(names))]
        planogram = [planogram[int(i)] for i in rng.permutation(n_slots)]
        n_gaps = int(rng.integers(c.gaps.count[0], c.gaps.count[1] + 1))
        gaps = sorted(int(k) for k in rng.choice(n_slots, size=n_gaps, replace=False))
        goods = []
        for k in range(n_slots):
            if k in gaps:
                continue
            item = self._item(rng, planogram[k])
            item.update(slot=k, dx=uniform(rng, (-s.position_jitter[0], s.position_jitter[0])),
                        dy=uniform(rng, (-s.position_jitter[1], s.position_jitter[1])),
                        yaw=uniform(rng, (-s.yaw_jitter, s.yaw_jitter)))
            goods.append(item)
        contents = [planogram[k] for k in gaps]
        contents += [names[int(rng.integers(len(names)))] for _ in range(int(rng.integers(b.extra[0], b.extra[1] + 1)))]
        places = rng.permutation(len(b.rows) * len(b.cols))[:len(contents)]
        basket = []
        for cat, place in zip(contents, places):
            item = self._item(rng, cat)
            item.update(place=int(place), dx=uniform(rng, (-b.place_jitter, b.place_jitter)),
                        dy=uniform(rng, (-b.place_jitter, b.place_jitter)), yaw=uniform(rng, (-b.yaw_jitter, b.yaw_jitter)))
            basket.append(item)
        cart_yaw = yaw + uniform(rng, (-b.cart_yaw, b.cart_yaw))
        cart_local = (uniform(rng, b.cart_front) + b.cart_top[0] / 2,
                      s.columns * s.pitch / 2 + 0.01 + uniform(rng, b.cart_gap) + b.cart_top[1] / 2, 0.0)
        cx, cy, _ = shelf_to_world((shelf["x"], shelf["y"], yaw), cart_local)
        return {"shelf": shelf, "planogram": planogram, "gaps": gaps, "goods": goods, "basket": basket,
                "cart": {"x": float(cx), "y": float(cy), "yaw": cart_yaw},
                "labels": {name: list(c.categories[name].label_rgba) for name in names}}

    # -- scene ---------------------------------------------------------------------------------------------
    def object_count(self, params: dict[str, Any]) -> int:
        return 2 + len(params["basket"]) + len(params["goods"])

    def build_scene(self, world: World, params: dict[str, Any]) -> None:
        c: ShelfRestockConfig = self.config
        p = world.p
        geo = self.geometry(params)
        pose = self.shelf_pose(params)
        self.shelf_body = build_shelf(p, geo, pose, c.shelf.rgba)
        build_labels(p, geo, pose, [params["labels"][cat] for cat in params["planogram"]])
        b = c.basket
        cart = params["cart"]
        hx, hy = b.cart_top[0] / 2, b.cart_top[1] / 2
        boxes = [((hx, hy, 0.015), (0.0, 0.0, b.cart_height - 0.015)),                    # top
                 ((0.04, hy - 0.04, (b.cart_height - 0.03) / 2), (hx - 0.06, 0.0, (b.cart_height - 0.03) / 2))]
        assets._static_boxes(p, boxes, (cart["x"], cart["y"], 0.0), cart["yaw"], b.cart_rgba)   # pedestal at back
        self.basket_body = assets.open_box(p, b.inner, b.wall, (cart["x"], cart["y"], b.cart_height), cart["yaw"],
                                           b.basket_rgba)
        basket_items = []
        for item in params["basket"]:
            xy = self.basket_place(params, item["place"])
            local_shift = shelf_to_world((0.0, 0.0, cart["yaw"]), (item["dx"], item["dy"], 0.0))
            z = self.basket_floor() + goods_height(self._shape(item), item["size"]) / 2 + 0.001
            basket_items.append(self._build_item(p, item, (xy[0] + local_shift[0], xy[1] + local_shift[1], z),
                                                 cart["yaw"] + item["yaw"]))
        shelved = []
        for item in params["goods"]:
            centre = geo.slot_centre(item["slot"])
            h = goods_height(self._shape(item), item["size"])
            local = (centre[0] + item["dx"], centre[1] + item["dy"], centre[2] + h / 2 + 0.001)
            shelved.append(self._build_item(p, item, shelf_to_world(pose, local), pose[2] + item["yaw"]))
        self.basket_items = basket_items
        self.shelved = shelved
        self.object_bodies = [self.shelf_body, self.basket_body, *basket_items, *shelved]
        self._params = params

    def _shape(self, item: dict[str, Any]) -> str:
        return self.config.categories[item["category"]].shape

    def _build_item(self, p, item: dict[str, Any], pos, yaw: float) -> int:
        cat = self.config.categories[item["category"]]
        return build_goods(p, cat.shape, item["size"], pos, yaw, item["mass"], cat.rgba, item["friction"])

    def object_obs(self, world: World, base: Pose) -> np.ndarray:
        """Fixed size in every episode (policies and dataset statistics need that): the shelf frame, the
        basket, `max_basket` basket items and one entry per slot for the shelved goods, zeros where a slot
        started empty. Entry k is always slot k's item, so a gap is visible to a policy as the entry that is
        zero (packed in order, the gap's slot would only show as a shift of every later entry). Last, the goal:
        the centre of each slot that started empty (on its board, shelf yaw), in slot order, zeros up to the
        YAML's most gaps. Why: a low-dim policy would otherwise have to turn "entry k is zero" into slot k's
        position through the shelf's geometry, and measured it does that to about a column (10 cm) off;
        robot-learning envs hand a policy its goal the same way (a target site, a goal position)."""
        inv = base.inverse()
        p = world.p

        def rel(pose: Pose) -> np.ndarray:
            r = inv.compose(pose)
            return np.concatenate([r.pos, r.quat])

        sx, sy, syaw = self.shelf_pose(self._params)
        shelf = Pose([sx, sy, 0.0], geometry.yaw_quat(syaw))
        out = [rel(shelf)]
        for body in [self.basket_body, *self.basket_items]:
            out.append(rel(Pose(*p.getBasePositionAndOrientation(body))))
        out += [np.zeros(7)] * (self.max_basket - len(self.basket_items))
        geo = self.geometry(self._params)
        slots = [np.zeros(7)] * geo.slots
        for body, item in zip(self.shelved, self._params["goods"]):
            slots[item["slot"]] = rel(Pose(*p.getBasePositionAndOrientation(body)))
        gaps = [rel(shelf.compose(Pose(geo.slot_centre(k), [0.0, 0.0, 0.0, 1.0]))) for k in self._params["gaps"]]
        gaps += [np.zeros(7)] * (self.config.gaps.count[1] - len(gaps))
        return np.concatenate(out + slots + gaps)

    # -- success -------------------------------------------------------------------------------------------
    def slot_of(self, world: World, body: int, item: dict[str, Any]) -> int | None:
        """The slot `body` stands in upright and at rest on its board, or None."""
        c = self.config
        params = self._params
        geo = self.geometry(params)
        pos, orn = world.p.getBasePositionAndOrientation(body)
        lin, _ = world.p.getBaseVelocity(body)
        sx, sy, syaw = self.shelf_pose(params)
        dx, dy = pos[0] - sx, pos[1] - sy
        lx, ly = math.cos(syaw) * dx + math.sin(syaw) * dy, -math.sin(syaw) * dx + math.cos(syaw) * dy
        up = geometry.quat_to_matrix(orn)[:, 2]
        if math.acos(max(-1.0, min(1.0, float(up[2])))) > c.success.max_tilt:
            return None
        if float(np.linalg.norm(lin)) > c.success.settle_speed:
            return None
        lv = int(math.floor(lx / geo.step))
        col = int(math.floor((geo.columns / 2) - ly / geo.pitch))
        if not (0 <= lv < len(geo.levels) and 0 <= col < geo.columns):
            return None
        k = lv * geo.columns + col
        centre = geo.slot_centre(k)
        m = c.success.edge_margin
        if abs(lx - centre[0]) > geo.step / 2 - m or abs(ly - centre[1]) > geo.pitch / 2 - m:
            return None
        bottom = pos[2] - goods_height(self._shape(item), item["size"]) / 2
        if abs(bottom - centre[2]) > c.success.height_tolerance:
            return None
        return k

    def evaluate(self, world: World) -> dict[str, Any]:
        params = self._params
        gaps = params["gaps"]
        planogram = params["planogram"]
        filled = set()
        for body, item in zip(self.basket_items, params["basket"]):
            k = self.slot_of(world, body, item)
            if k in gaps and planogram[k] == item["category"]:
                filled.add(k)
        kept = sum(self.slot_of(world, body, item) == item["slot"] for body, item in zip(self.shelved, params["goods"]))
        disturbed = len(self.shelved) - kept
        n = len(gaps)
        success = n > 0 and len(filled) == n and disturbed == 0
        progress = len(filled) / n if n else 0.0
        return {"success": success, "progress": progress if disturbed == 0 else 0.0,
                "gaps_filled": len(filled), "gaps": n, "goods_disturbed": disturbed}

    def instruction(self, params: dict[str, Any]) -> str:
        return self.config.instruction

    def make_oracle(self, params: dict[str, Any], rng: np.random.Generator, reach=None) -> Oracle:
        from robotschool.tasks.shelf_restock.oracle import ShelfOracle

        return ShelfOracle(self, params, rng, reach)
