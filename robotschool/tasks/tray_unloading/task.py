"""tray_unloading: carry electronic material trays from a rack to a cart behind the robot.

Description:
    The electronics line's material station. A rack in front of the robot holds flat ESD component trays
    (one or two per shelf, sticking out over the shelf front like trays in slides); a cart stands 2 m or more
    behind the robot. For every tray the operator walks up to the rack, raises both hands, grasps the tray by
    its two side rims, lifts and walks back to pull it out, turns round, walks to the cart, sets the tray down
    in the next free place (three columns, stacked when more than three), lets go, backs off and turns back;
    after the last tray it returns to where it started.
Randomisation (scenes/tray_unloading.yaml):
    rack distance, lateral offset and yaw; shelf heights; tray count and which shelf slots hold trays; tray
    mass (components loaded) and friction; cart distance, lateral offset and yaw.
Success:
    every tray rests on the cart: inside its top's footprint, above the top and at most `success.max_height`
    above it, nearly flat, slower than `success.settle_speed`. (A dropped tray is on the floor, so never on
    the cart: nothing dropped is implied.)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robotschool import geometry
from robotschool.config import check
from robotschool.registry import SCENES
from robotschool.sim import assets
from robotschool.sim.world import World
from robotschool.tasks.base import Oracle, SceneConfig, Task, uniform
from robotschool.types import Pose


@dataclass(frozen=True)
class RackConfig:
    size: tuple[float, float] = (0.30, 1.04)          # depth (x, away from the robot), width (y)
    levels: list[float] = field(default_factory=lambda: [0.84, 1.04])   # shelf top heights (m)
    level_jitter: float = field(default=0.02, metadata=check(lo=0.0, hi=0.1))
    slot_y: float = field(default=0.23, metadata=check(lo=0.0, hi=0.5))     # two slots per shelf at +-slot_y
    overhang: float = field(default=0.08, metadata=check(lo=0.03, hi=0.15))  # trays stick out over the front
    # a stepped (flow-rack style) front: each shelf reaches this much further toward the robot than the one
    # above it, so the hands on a lower tray are clear of the tray overhanging above it
    step: float = field(default=0.20, metadata=check(lo=0.0, hi=0.3))
    distance: tuple[float, float] = (0.77, 0.97)      # robot start to the rack's upper shelf front (m)
    lateral: tuple[float, float] = (-0.20, 0.20)
    yaw: tuple[float, float] = (-0.15, 0.15)
    rgba: tuple[float, float, float, float] = (0.55, 0.58, 0.62, 1.0)


@dataclass(frozen=True)
class TrayConfig:
    count: tuple[int, int] = (3, 4)                   # drawn uniformly, inclusive
    inner: tuple[float, float, float] = (0.228, 0.308, 0.026)   # pocket: x (depth), y (width), z
    wall: float = field(default=0.006, metadata=check(lo=0.003, hi=0.02))
    mass: tuple[float, float] = (0.4, 1.5)            # kg, a tray loaded with components
    friction: tuple[float, float] = (0.5, 0.9)
    rgba: tuple[float, float, float, float] = (0.10, 0.10, 0.12, 1.0)


@dataclass(frozen=True)
class CartConfig:
    top: tuple[float, float] = (0.45, 1.24)           # depth (x), width (y)
    height: float = field(default=0.80, metadata=check(lo=0.5, hi=1.2))
    distance: tuple[float, float] = (2.0, 2.4)        # robot start to the cart's near edge, behind the robot
    lateral: tuple[float, float] = (-0.3, 0.3)
    yaw: tuple[float, float] = (-0.3, 0.3)            # about facing the robot
    columns: list[float] = field(default_factory=lambda: [0.0, 0.41, -0.41])   # tray places across the top
    rgba: tuple[float, float, float, float] = (0.20, 0.45, 0.30, 1.0)


@dataclass(frozen=True)
class TrayOracleConfig:
    hand_speed: tuple[float, float] = (0.25, 0.40)    # m/s, drawn per episode
    walk_speed: tuple[float, float] = (0.35, 0.50)    # m/s
    turn_speed: tuple[float, float] = (0.7, 1.0)      # rad/s of the base
    side_speed: float = field(default=0.25, metadata=check(lo=0.01))       # m/s sideways
    accel: tuple[float, float, float] = (0.6, 0.6, 1.2)   # what the operator expects of the base when braking
    finish_speed: tuple[float, float] = (0.0, 0.0)   # m/s, rad/s floor near a stand pose (motion.Navigator)
    hand_turn_speed: float = field(default=2.0, metadata=check(lo=0.1))
    grasp_from_front: tuple[float, float] = (0.035, 0.055)   # where along the side rims the hands hold
    grasp_depth: float = field(default=0.012, metadata=check(lo=0.0, hi=0.03))   # TCP below the rim top
    preshape_grip: float = field(default=0.45, metadata=check(lo=0.0, hi=0.49))  # hand only part open: the
    # fingers must straddle one 6 mm rim without landing on the neighbouring tray
    approach_height: float = field(default=0.08, metadata=check(lo=0.02))
    lift: float = field(default=0.03, metadata=check(lo=0.005, hi=0.1))
    reach: list[float] = field(default_factory=lambda: [0.36, 0.34, 0.38, 0.32, 0.40, 0.30])   # tray rim from base
    turn_clearance: float = field(default=0.75, metadata=check(lo=0.3))   # base to rack front before turning
    cart_backoff: float = field(default=0.35, metadata=check(lo=0.0))
    stand_noise: float = field(default=0.01, metadata=check(lo=0.0, hi=0.05))
    grasp_time: float = field(default=0.5, metadata=check(lo=0.05))
    release_time: float = field(default=0.4, metadata=check(lo=0.05))
    waypoint_timeout: float = field(default=2.0, metadata=check(lo=0.1))   # longest wait for a lagging hand
    hand_tolerance: float = field(default=0.02, metadata=check(lo=0.001))   # measured hand "there" (m)
    raised: dict[str, tuple[float, float, float]] = field(default_factory=dict)   # hands while walking empty


@dataclass(frozen=True)
class TraySuccessConfig:
    settle_speed: float = field(default=0.05, metadata=check(lo=0.0))
    max_height: float = field(default=0.25, metadata=check(lo=0.0))
    max_tilt: float = field(default=0.15, metadata=check(lo=0.0))


@dataclass(frozen=True)
class TrayUnloadingConfig(SceneConfig):
    rack: RackConfig = field(default_factory=RackConfig)
    trays: TrayConfig = field(default_factory=TrayConfig)
    cart: CartConfig = field(default_factory=CartConfig)
    oracle: TrayOracleConfig = field(default_factory=TrayOracleConfig)
    success: TraySuccessConfig = field(default_factory=TraySuccessConfig)



def planar(x: float, y: float, yaw: float, lx: float, ly: float) -> tuple[float, float]:
    """A point given in a frame at (x, y, yaw), in the world."""
    c, s = math.cos(yaw), math.sin(yaw)
    return x + c * lx - s * ly, y + s * lx + c * ly


@SCENES.register("tray_unloading")
class TrayUnloading(Task):
    config_cls = TrayUnloadingConfig

    def __init__(self, config: TrayUnloadingConfig):
        super().__init__(config)
        slots = 2 * len(config.rack.levels)
        if config.trays.count[1] > slots or config.trays.count[0] > config.trays.count[1]:
            from robotschool.errors import ConfigError
            raise ConfigError(f"tray_unloading: key 'trays.count': {list(config.trays.count)} must be an increasing "
                              f"range within the rack's {slots} slots (2 per level)")
        self._params: dict[str, Any] = {}

    # -- randomisation -------------------------------------------------------------------------------------
    def sample_scene(self, rng: np.random.Generator) -> dict[str, Any]:
        c: TrayUnloadingConfig = self.config
        depth = c.rack.size[0]
        rack_yaw = uniform(rng, c.rack.yaw)
        front = uniform(rng, c.rack.distance)
        rack_xy = planar(front, uniform(rng, c.rack.lateral), rack_yaw, depth / 2, 0.0)   # rack centre
        rack = {"x": rack_xy[0], "y": rack_xy[1], "yaw": rack_yaw,
                "levels": [z + uniform(rng, (-c.rack.level_jitter, c.rack.level_jitter)) for z in c.rack.levels]}
        count = int(rng.integers(c.trays.count[0], c.trays.count[1] + 1))
        slots = [(lv, side) for lv in range(len(c.rack.levels)) for side in (1, -1)]
        chosen = sorted(int(k) for k in rng.choice(len(slots), size=count, replace=False))
        trays = [{"level": slots[k][0], "side": slots[k][1], "mass": uniform(rng, c.trays.mass),
                  "friction": uniform(rng, c.trays.friction)} for k in chosen]
        near = uniform(rng, c.cart.distance)
        cart = {"x": -(near + c.cart.top[0] / 2), "y": uniform(rng, c.cart.lateral), "yaw": math.pi + uniform(rng, c.cart.yaw)}
        return {"rack": rack, "trays": trays, "cart": cart}

    # -- geometry the oracle shares --------------------------------------------------------------------------
    def tray_outer(self) -> tuple[float, float, float]:
        t = self.config.trays
        return t.inner[0] + 2 * t.wall, t.inner[1] + 2 * t.wall, t.inner[2] + t.wall

    def shelf_front(self, level: int) -> float:
        """How far in front of the rack centre (toward the robot) shelf `level`'s front edge is."""
        r = self.config.rack
        return r.size[0] / 2 + r.step * (len(r.levels) - 1 - level)

    def tray_start(self, params: dict[str, Any], i: int) -> Pose:
        """World pose of tray i's origin (centre of its underside) on the rack."""
        c: TrayUnloadingConfig = self.config
        r, tray = params["rack"], params["trays"][i]
        lx = -self.shelf_front(tray["level"]) - c.rack.overhang + self.tray_outer()[0] / 2
        x, y = planar(r["x"], r["y"], r["yaw"], lx, tray["side"] * c.rack.slot_y)
        return Pose([x, y, r["levels"][tray["level"]]], geometry.yaw_quat(r["yaw"]))

    def cart_place(self, params: dict[str, Any], k: int) -> Pose:
        """World pose for the k-th tray put on the cart (columns first, then stacked on the rims below)."""
        c: TrayUnloadingConfig = self.config
        cart = params["cart"]
        cols = c.cart.columns
        x, y = planar(cart["x"], cart["y"], cart["yaw"], 0.0, cols[k % len(cols)])
        z = c.cart.height + (k // len(cols)) * self.tray_outer()[2]
        return Pose([x, y, z], geometry.yaw_quat(cart["yaw"]))

    # -- scene ---------------------------------------------------------------------------------------------
    def build_scene(self, world: World, params: dict[str, Any]) -> None:
        c: TrayUnloadingConfig = self.config
        p = world.p
        r = params["rack"]
        d, w = c.rack.size
        top = max(r["levels"]) + 0.12
        boxes = []
        for level, z in enumerate(r["levels"]):
            front = self.shelf_front(level)        # boards reach from the back (x = d/2) to their front
            boxes.append((((d / 2 + front) / 2, w / 2, 0.01), ((d / 2 - front) / 2, 0.0, z - 0.01)))
        lowest = self.shelf_front(0)
        if lowest > d / 2:                         # front legs under the lowest, deepest shelf
            for sy in (-1, 1):
                boxes.append(((0.015, 0.015, r["levels"][0] / 2), (-(lowest - 0.015), sy * (w / 2 - 0.015),
                                                                    r["levels"][0] / 2)))
        for sx in (-1, 1):
            for sy in (-1, 1):
                boxes.append(((0.015, 0.015, top / 2), (sx * (d / 2 - 0.015), sy * (w / 2 - 0.015), top / 2)))
        boxes.append(((0.01, w / 2, 0.08), (d / 2 - 0.01, 0.0, top - 0.08)))          # back rail
        assets._static_boxes(p, boxes, (r["x"], r["y"], 0.0), r["yaw"], c.rack.rgba)
        cart = params["cart"]
        assets.table(p, c.cart.top, c.cart.height, (cart["x"], cart["y"]), cart["yaw"], c.cart.rgba, top_thickness=0.03)
        self.object_bodies = []
        for i, tray in enumerate(params["trays"]):
            pose = self.tray_start(params, i)
            yaw = geometry.quat_yaw(pose.quat)
            body = assets.open_box(p, c.trays.inner, c.trays.wall, pose.pos + [0, 0, 0.0005], yaw, c.trays.rgba,
                                   mass=tray["mass"])
            p.changeDynamics(body, -1, lateralFriction=tray["friction"])
            self.object_bodies.append(body)
        self._params = params

    def rack_front(self, params: dict[str, Any]) -> Pose:
        """World pose of the rack's most protruding tray front (the lowest shelf's, centred, at its height),
        facing the way the rack faces: what the operator backs away from before turning round."""
        c: TrayUnloadingConfig = self.config
        r = params["rack"]
        x, y = planar(r["x"], r["y"], r["yaw"], -(self.shelf_front(0) + c.rack.overhang), 0.0)
        return Pose([x, y, r["levels"][0]], geometry.yaw_quat(r["yaw"]))

    def object_obs(self, world: World, base: Pose) -> np.ndarray:
        """Each tray's pose in the base frame (7 values), padded with zeros to the largest tray count, so the
        observation has one size in every episode (policies and dataset statistics need that); then the
        cart's top-centre pose (7), where the trays must go; then the rack's front (7, `rack_front`). Both are
        drawn per episode: without the cart a policy could not know where to walk, and without the rack it
        could not know how far it has backed out once the tray is off the shelf (the tray then moves with the
        hands; traced in session 8: the policy backed away for 0.9 m instead of ~0.3, slowing as it went).
        (The scripted operator reads only the tray poses, `object[7i:7i+7]`.)"""
        trays = super().object_obs(world, base)
        cart = self._params["cart"]
        top = Pose([cart["x"], cart["y"], self.config.cart.height], geometry.yaw_quat(cart["yaw"]))
        inv = base.inverse()
        rel, rack = inv.compose(top), inv.compose(self.rack_front(self._params))
        return np.concatenate([trays, np.zeros(7 * self.config.trays.count[1] - trays.size), rel.pos, rel.quat,
                               rack.pos, rack.quat])

    # -- success -------------------------------------------------------------------------------------------
    def tray_on_cart(self, world: World, body: int) -> bool:
        c: TrayUnloadingConfig = self.config
        cart = self._params["cart"]
        pos, orn = world.p.getBasePositionAndOrientation(body)
        lin, _ = world.p.getBaseVelocity(body)
        dx, dy = pos[0] - cart["x"], pos[1] - cart["y"]
        cy, sy = math.cos(cart["yaw"]), math.sin(cart["yaw"])
        lx, ly = cy * dx + sy * dy, -sy * dx + cy * dy
        up = geometry.quat_to_matrix(orn)[:, 2]
        on_top = abs(lx) < c.cart.top[0] / 2 and abs(ly) < c.cart.top[1] / 2
        height_ok = c.cart.height - 0.005 < pos[2] < c.cart.height + c.success.max_height
        flat = math.acos(max(-1.0, min(1.0, float(up[2])))) < c.success.max_tilt
        return on_top and height_ok and flat and float(np.linalg.norm(lin)) < c.success.settle_speed

    def evaluate(self, world: World) -> dict[str, Any]:
        on_cart = [self.tray_on_cart(world, b) for b in self.object_bodies]
        n = len(on_cart)
        return {"success": n > 0 and all(on_cart), "progress": sum(on_cart) / n if n else 0.0,
                "trays_on_cart": sum(on_cart)}

    def make_oracle(self, params: dict[str, Any], rng: np.random.Generator, reach=None) -> Oracle:
        from robotschool.tasks.tray_unloading.oracle import TrayOracle

        return TrayOracle(self, params, rng, reach)
