"""kitchen_stirfry: cook every food slice on both sides in a hot wok without burning it.

Description:
    A robot stands at a kitchen counter with a cooktop. On the cooktop sits a flat-bottomed wok with sloped
    sides, hot with oil; in it lie food slices (chamfered slabs) that start cooking on the side facing down.
    A turner spatula (wedge-tipped blade, bent neck, wooden handle) rests on the counter beside the stove. The
    operator takes the spatula by its handle and, watching how done each slice's underside is, flips every
    slice in time: pressing the blade onto the wok floor it slides the tip under the slice's near edge, then
    lifts that edge along an arc around the far edge until the slice stands past upright and tips over onto
    its other side. Between flips the spatula stirs (sweeps over the free part of the wok, clear of the food);
    once every slice is turned it puts the spatula back and waits for the second sides to finish.
Randomisation (scenes/kitchen_stirfry.yaml):
    counter height, wok position; spatula rest pose, mass; per slice: size (two sides and thickness), mass,
    friction, contact stiffness and damping (softness), position (jittered along a row) and yaw; oil
    temperature (the cooking rate of every slice). Generic (`appearance:`): colours, light, camera jitter.
Heat model (heat.py): each slice's two sides (the faces of its thin axis) accumulate cooking while the slice
    touches the wok with that face down, at a rate set by the oil temperature and the slice's thickness; 1.0 is
    cooked, `heat.burn_limit` burnt. The state is a World StateExtension (replay is exact) and is observed:
    after the poses, (side A, side B, burnt) per slice.
Success:
    every slice cooked on both sides (>= heat.cooked), none burnt (< heat.burn_limit on both sides), and every
    slice in the wok (inside its rim, not above it).
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
from robotschool.tasks.kitchen_stirfry import heat as heatmod
from robotschool.tasks.kitchen_stirfry.heat import HeatModel, HeatSettings
from robotschool.tasks.kitchen_stirfry.kitchen import (SpatulaGeometry, WokGeometry, build_piece, build_spatula,
                                                       build_stove, build_wok)
from robotschool.types import Pose

PIECE_RGBA = (0.92, 0.80, 0.55, 1.0)


@dataclass(frozen=True)
class CounterConfig:
    size: tuple[float, float] = (0.80, 1.40)
    height: float = field(default=0.86, metadata=check(lo=0.5, hi=1.2))
    height_jitter: float = field(default=0.015, metadata=check(lo=0.0, hi=0.1))
    center_x: float = field(default=0.60, metadata=check(lo=0.2, hi=1.5))
    stove: tuple[float, float, float] = (0.56, 0.56, 0.03)


@dataclass(frozen=True)
class WokConfig:
    floor_radius: float = field(default=0.23, metadata=check(lo=0.08, hi=0.3))
    depth: float = field(default=0.04, metadata=check(lo=0.02, hi=0.2))
    wall_angle: float = field(default=0.6, metadata=check(lo=0.2, hi=1.4))
    center: tuple[float, float] = (0.50, 0.0)
    jitter: tuple[float, float] = (0.015, 0.02)
    friction: float = field(default=1.0, metadata=check(lo=0.0, hi=2.0))   # food sticks a little


@dataclass(frozen=True)
class SpatulaConfig:
    blade: tuple[float, float, float] = (0.10, 0.05, 0.002)
    taper: float = field(default=0.03, metadata=check(lo=0.0, hi=0.1))
    neck_length: float = field(default=0.055, metadata=check(lo=0.0, hi=0.2))
    neck_angle: float = field(default=0.9, metadata=check(lo=0.0, hi=1.5))
    handle_length: float = field(default=0.18, metadata=check(lo=0.08, hi=0.4))
    handle_section: tuple[float, float] = (0.022, 0.014)
    handle_angle: float = field(default=0.1, metadata=check(lo=-0.5, hi=1.2))
    grip: float = field(default=0.08, metadata=check(lo=0.02, hi=0.4))
    rest: tuple[float, float] = (0.40, -0.36)          # blade centre on the counter (x, y)
    rest_jitter: tuple[float, float, float] = (0.02, 0.02, 0.15)   # x, y, yaw
    mass: tuple[float, float] = (0.15, 0.22)
    friction: float = field(default=0.15, metadata=check(lo=0.0, hi=2.0))   # oiled steel


@dataclass(frozen=True)
class PieceConfig:
    count: int = field(default=6, metadata=check(lo=1, hi=8))
    # a row across the wok: slice k at `spacing` apart, centred, `row_x` from the wok centre (x toward the far
    # side); each slice's square is turned to face `aim` (where the cooking hand works from, robot base frame)
    row_x: float = field(default=0.0, metadata=check(lo=-0.2, hi=0.2))
    spacing: float = field(default=0.068, metadata=check(lo=0.03, hi=0.2))
    aim: tuple[float, float] = (-1.0, -0.1)
    jitter: float = field(default=0.006, metadata=check(lo=0.0, hi=0.03))
    yaw_jitter: float = field(default=0.15, metadata=check(lo=0.0, hi=math.pi))
    side: tuple[float, float] = (0.034, 0.042)        # each of the two long sides (m)
    thickness: tuple[float, float] = (0.014, 0.016)
    chamfer: float = field(default=0.004, metadata=check(lo=0.0, hi=0.01))
    mass: tuple[float, float] = (0.012, 0.030)
    friction: tuple[float, float] = (0.5, 0.9)
    stiffness: tuple[float, float] = (3000.0, 30000.0)   # contact stiffness (N/m): soft to firm food
    damping_ratio: tuple[float, float] = (0.5, 1.0)      # contact damping as a fraction of critical


@dataclass(frozen=True)
class HeatConfig:
    oil_temp_c: tuple[float, float] = (165.0, 190.0)
    cook_time_s: float = field(default=12.0, metadata=check(lo=0.1))
    ref_temp_c: float = 180.0
    min_temp_c: float = 100.0
    ref_thickness: float = field(default=0.015, metadata=check(lo=0.001))
    cooked: float = field(default=1.0, metadata=check(lo=0.01))
    burn_limit: float = field(default=3.0, metadata=check(lo=0.01))

    def settings(self) -> HeatSettings:
        return HeatSettings(cook_time_s=self.cook_time_s, ref_temp_c=self.ref_temp_c, min_temp_c=self.min_temp_c,
                            ref_thickness=self.ref_thickness, cooked=self.cooked, burn_limit=self.burn_limit)


@dataclass(frozen=True)
class OracleConfig:
    speed: tuple[float, float] = (0.30, 0.40)          # free hand moves (m/s), drawn per episode
    slide_speed: tuple[float, float] = (0.08, 0.10)    # blade tip under a slice (m/s)
    lever_speed: tuple[float, float] = (2.4, 3.0)      # the tip's arc around the slice's far edge (rad/s)
    lever_angle: tuple[float, float] = (1.60, 1.75)    # how far round the arc (rad): past upright
    turn_speed: float = field(default=2.0, metadata=check(lo=0.1))
    hover: tuple[float, float] = (0.04, 0.06)          # blade above the wok floor between moves
    flip_margin: tuple[float, float] = (0.05, 0.2)     # flip once side A is this far past cooked
    press: float = field(default=0.006, metadata=check(lo=0.0, hi=0.01))   # blade tip target below the floor
    tip_down: float = field(default=0.05, metadata=check(lo=0.0, hi=0.3))   # blade pitch while sliding (rad)
    gap: float = field(default=0.012, metadata=check(lo=0.0, hi=0.05))     # blade tip behind the slice to start
    under: float = field(default=0.015, metadata=check(lo=0.003, hi=0.03))  # tip under the slice before lifting
    overreach: float = field(default=0.008, metadata=check(lo=0.0, hi=0.03))  # arc radius beyond the near edge
    push: float = field(default=0.02, metadata=check(lo=0.0, hi=0.06))      # tip forward once past upright
    grasp_time: float = field(default=0.5, metadata=check(lo=0.05))
    position_noise: float = field(default=0.002, metadata=check(lo=0.0, hi=0.01))
    waypoint_timeout: float = field(default=3.0, metadata=check(lo=0.5))
    retries: int = field(default=1, metadata=check(lo=0, hi=5))           # flips of a slice that stayed unturned
    arm: str = field(default="right", metadata=check(choices=("left", "right")))   # the cooking hand


@dataclass(frozen=True)
class SuccessConfig:
    above_rim: float = field(default=0.02, metadata=check(lo=0.0))   # a slice higher than rim + this is out


@dataclass(frozen=True)
class KitchenStirfryConfig(SceneConfig):
    counter: CounterConfig = field(default_factory=CounterConfig)
    wok: WokConfig = field(default_factory=WokConfig)
    spatula: SpatulaConfig = field(default_factory=SpatulaConfig)
    pieces: PieceConfig = field(default_factory=PieceConfig)
    heat: HeatConfig = field(default_factory=HeatConfig)
    oracle: OracleConfig = field(default_factory=OracleConfig)
    success: SuccessConfig = field(default_factory=SuccessConfig)



class PieceHeat:
    """World StateExtension: the heat model of the built slices, updated from their contacts with the wok."""

    def __init__(self, world: World, model: HeatModel, pieces: list[int], wok: int):
        self.world, self.model, self.pieces, self.wok = world, model, pieces, wok

    @property
    def state_size(self) -> int:
        return self.model.state_size

    def get_state(self) -> np.ndarray:
        return self.model.get_state()

    def set_state(self, state: np.ndarray) -> None:
        self.model.set_state(state)

    def update(self, dt: float) -> None:
        p = self.world.p
        on_wok = np.array([bool(p.getContactPoints(bodyA=b, bodyB=self.wok)) for b in self.pieces])
        up_z = np.array([geometry.quat_to_matrix(p.getBasePositionAndOrientation(b)[1])[2, 2] for b in self.pieces])
        self.model.update(on_wok, heatmod.side_down(up_z, self.model.settings.face_down_cos), dt)


@SCENES.register("kitchen_stirfry")
class KitchenStirfry(Task):
    """Object observation: per slice its pose (7), then the spatula's and the wok's poses (7 each), then per
    slice its cooking (side A, side B, burnt): 7 n + 14 + 3 n floats for n slices."""

    config_cls = KitchenStirfryConfig

    def __init__(self, config: KitchenStirfryConfig):
        super().__init__(config)
        self.heat: PieceHeat | None = None
        self._params: dict[str, Any] | None = None
        self.pieces: list[int] = []
        self.spatula = -1
        self.wok = -1

    # -- geometry ------------------------------------------------------------------------------------------
    def wok_geometry(self) -> WokGeometry:
        w = self.config.wok
        return WokGeometry(w.floor_radius, w.depth, w.wall_angle)

    def spatula_geometry(self) -> SpatulaGeometry:
        s = self.config.spatula
        return SpatulaGeometry(tuple(s.blade), s.taper, s.neck_length, s.neck_angle,
                               s.handle_length, tuple(s.handle_section), s.handle_angle, s.grip)

    @staticmethod
    def floor_z(params: dict[str, Any]) -> float:
        """World height of the wok floor's top surface."""
        return params["wok"]["z"]

    # -- randomisation -------------------------------------------------------------------------------------
    def sample_scene(self, rng: np.random.Generator) -> dict[str, Any]:
        c: KitchenStirfryConfig = self.config
        height = c.counter.height + uniform(rng, (-c.counter.height_jitter, c.counter.height_jitter))
        w = c.wok
        wok = {"x": w.center[0] + uniform(rng, (-w.jitter[0], w.jitter[0])),
               "y": w.center[1] + uniform(rng, (-w.jitter[1], w.jitter[1])),
               "z": height + c.counter.stove[2] + self.wok_geometry().thickness}
        s = c.spatula
        jx, jy, jyaw = s.rest_jitter
        spatula = {"x": s.rest[0] + uniform(rng, (-jx, jx)), "y": s.rest[1] + uniform(rng, (-jy, jy)),
                   "yaw": uniform(rng, (-jyaw, jyaw)), "mass": uniform(rng, s.mass)}
        pc = c.pieces
        pieces = []
        for k in range(pc.count):
            x = wok["x"] + pc.row_x + uniform(rng, (-pc.jitter, pc.jitter))
            y = wok["y"] + (k - (pc.count - 1) / 2) * pc.spacing + uniform(rng, (-pc.jitter, pc.jitter))
            thick = uniform(rng, pc.thickness)
            mass = uniform(rng, pc.mass)
            stiffness = uniform(rng, pc.stiffness)
            pieces.append({
                "x": x, "y": y,
                "yaw": math.atan2(y - pc.aim[1], x - pc.aim[0]) + uniform(rng, (-pc.yaw_jitter, pc.yaw_jitter)),
                "size": [uniform(rng, pc.side), uniform(rng, pc.side), thick],
                "mass": mass, "friction": uniform(rng, pc.friction), "stiffness": stiffness,
                "damping": 2.0 * math.sqrt(stiffness * mass) * uniform(rng, pc.damping_ratio)})
        oil = uniform(rng, c.heat.oil_temp_c)
        return {"counter": {"height": height}, "wok": wok, "spatula": spatula, "pieces": pieces,
                "oil_temp_c": oil}

    def object_count(self, params: dict[str, Any]) -> int:
        return len(params["pieces"]) + 2

    # -- scene ---------------------------------------------------------------------------------------------
    def build_scene(self, world: World, params: dict[str, Any]) -> None:
        c: KitchenStirfryConfig = self.config
        p = world.p
        h = params["counter"]["height"]
        wk = params["wok"]
        assets.table(p, c.counter.size, h, (c.counter.center_x, 0.0), 0.0, (0.80, 0.78, 0.74, 1.0))
        build_stove(p, (wk["x"], wk["y"], h), c.counter.stove)
        self.wok = build_wok(p, self.wok_geometry(), (wk["x"], wk["y"], wk["z"]), c.wok.friction)
        sp = params["spatula"]
        geo = self.spatula_geometry()
        self.spatula = build_spatula(p, geo, (sp["x"], sp["y"], h + 0.0005), geometry.yaw_quat(sp["yaw"]).tolist(),
                                     sp["mass"], c.spatula.friction)
        self.pieces = []
        for pc in params["pieces"]:
            pos = (pc["x"], pc["y"], wk["z"] + pc["size"][2] / 2 + 0.0005)
            self.pieces.append(build_piece(p, pc["size"], c.pieces.chamfer, pos, geometry.yaw_quat(pc["yaw"]).tolist(),
                                           pc["mass"], pc["friction"], pc["stiffness"], pc["damping"], PIECE_RGBA))
        settings = c.heat.settings()
        rates = heatmod.cook_rates(settings, params["oil_temp_c"], [pc["size"][2] for pc in params["pieces"]])
        self.heat = PieceHeat(world, HeatModel(settings, rates), self.pieces, self.wok)
        world.add_extension(self.heat)
        self.object_bodies = self.pieces + [self.spatula, self.wok]
        self._params = params

    def after_control_tick(self, world: World, dt: float) -> None:
        if self.heat is not None:
            self.heat.update(dt)

    def object_obs(self, world: World, base: Pose) -> np.ndarray:
        return np.concatenate([super().object_obs(world, base), self.heat.model.features()])

    # -- success -------------------------------------------------------------------------------------------
    def in_wok(self, world: World) -> np.ndarray:
        """Per slice: inside the wok's rim (horizontally) and not above it."""
        params, geo = self._params, self.wok_geometry()
        wk = params["wok"]
        out = []
        for b in self.pieces:
            pos = np.asarray(world.p.getBasePositionAndOrientation(b)[0])
            r = math.hypot(pos[0] - wk["x"], pos[1] - wk["y"])
            top = wk["z"] + geo.depth + self.config.success.above_rim
            out.append(r < geo.rim_radius and wk["z"] - 0.01 < pos[2] < top)
        return np.array(out, dtype=bool)

    def evaluate(self, world: World) -> dict[str, Any]:
        model = self.heat.model
        s = model.settings
        cooked = model.done()
        burnt = model.burnt()
        inside = self.in_wok(world)
        success = bool(np.all(cooked) and not np.any(burnt) and np.all(inside))
        sides = np.minimum(model.cooking / s.cooked, 1.0).mean(axis=1) * (~burnt) * inside
        return {"success": success, "progress": float(sides.mean()), "cooked": int(np.sum(cooked & ~burnt)),
                "burnt": int(np.sum(burnt)), "out_of_wok": int(np.sum(~inside))}

    def make_oracle(self, params: dict[str, Any], rng: np.random.Generator, reach=None) -> Oracle:
        from robotschool.tasks.kitchen_stirfry.oracle import StirfryOracle

        return StirfryOracle(self, params, rng, reach)
