"""parts_assembly: mount a bored gear onto a shaft of an assembly fixture, with millimetres of clearance.

Description:
    A robot stands at a standing-height workbench. On the bench lie a 70 mm spur gear (bored) and an assembly
    fixture: a base plate with two vertical shafts, each standing on a shoulder collar. The operator picks the
    gear up by its rim, carries it above the shaft named in the instruction, lines the bore up with the shaft
    and lowers it until it sits on the collar, lets go and withdraws.
Randomisation (scenes/parts_assembly.yaml):
    bench position and height; which side of the bench the fixture stands on (the gear lies on the other
    side); fixture position and yaw; target shaft (one of two); gear position and yaw; gear mass (scale on the
    steel mass) and friction; the radial clearance between bore and shaft (shaft diameter = bore - 2 x
    clearance). Generic (tasks/base.py, `appearance:`): gear and fixture colours, light, camera pose jitter.
Success:
    the gear is seated on the target shaft and resting: its axis within `success.max_tilt` of the shaft axis,
    its centre within `success.depth_tolerance` of the seated height (collar top + half the gear thickness)
    and within the bore radius of the shaft axis, and its speed below `success.settle_speed`.
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
from robotschool.sim.parts import GEAR_T
from robotschool.sim.world import World
from robotschool.tasks.base import Oracle, SceneConfig, Task, uniform
from robotschool.tasks.parts_assembly.fixture import FixtureGeometry, bored_gear, build_fixture
from robotschool.types import Pose


@dataclass(frozen=True)
class BenchConfig:
    size: tuple[float, float] = (0.7, 1.4)
    height: float = field(default=0.98, metadata=check(lo=0.5, hi=1.3))
    center_x: float = 0.53
    jitter: tuple[float, float, float] = (0.015, 0.015, 0.02)


@dataclass(frozen=True)
class FixtureConfig:
    plate: tuple[float, float, float] = (0.07, 0.17, 0.012)
    shaft_spacing: float = field(default=0.09, metadata=check(lo=0.075, hi=0.3))   # > gear diameter
    collar_diameter: float = field(default=0.032, metadata=check(lo=0.01, hi=0.06))
    collar_height: float = field(default=0.02, metadata=check(lo=0.0, hi=0.1))
    shaft_length: float = field(default=0.032, metadata=check(lo=0.013, hi=0.06))   # above the collar
    radial_clearance: tuple[float, float] = (0.002, 0.003)   # uniform per episode (m)
    center: tuple[float, float] = (0.42, 0.10)   # x, |y|: the side (sign of y) is drawn per episode
    jitter: tuple[float, float] = (0.025, 0.02)
    yaw_jitter: float = field(default=0.3, metadata=check(lo=0.0, hi=math.pi))
    friction: float = field(default=0.4, metadata=check(lo=0.0, hi=2.0))
    shaft_names: list[str] = field(default_factory=lambda: ["left", "right"])   # fixture +y first


@dataclass(frozen=True)
class GearConfig:
    bore: float = field(default=0.016, metadata=check(lo=0.008, hi=0.03))
    center: tuple[float, float] = (0.31, 0.06)   # x, |y| on the side opposite the fixture
    jitter: tuple[float, float] = (0.025, 0.025)
    mass_scale: tuple[float, float] = (0.85, 1.15)
    friction: tuple[float, float] = (0.5, 0.9)


@dataclass(frozen=True)
class OracleConfig:
    speed: tuple[float, float] = (0.25, 0.40)           # TCP speed (m/s) for free moves, drawn per episode
    insert_speed: tuple[float, float] = (0.025, 0.045)  # m/s while the bore is on the shaft
    turn_speed: float = field(default=2.5, metadata=check(lo=0.1))
    approach_height: tuple[float, float] = (0.07, 0.11)  # above the grasp point before descending
    approach_offset: float = field(default=0.02, metadata=check(lo=0.0, hi=0.05))   # along the hand x (m)
    carry_height: tuple[float, float] = (0.05, 0.09)    # gear bottom above the shaft top while carrying
    hover: tuple[float, float] = (0.010, 0.020)         # gear bottom above the shaft top before inserting
    finger_clearance: float = field(default=0.018, metadata=check(lo=0.0))   # lowest TCP above the bench
    max_opening: float = field(default=0.11, metadata=check(lo=0.02, hi=0.3))   # fingers fully open (m)
    grasp_time: float = field(default=0.6, metadata=check(lo=0.05))
    release_time: tuple[float, float] = (0.3, 0.5)
    retreat_height: tuple[float, float] = (0.06, 0.10)
    position_noise: float = field(default=0.002, metadata=check(lo=0.0, hi=0.01))   # per-waypoint uniform +- (m)
    yaw_noise: float = field(default=0.15, metadata=check(lo=0.0, hi=0.5))          # on the preferred hand yaw
    align_tolerance: float = field(default=0.0015, metadata=check(lo=0.0002, hi=0.01))   # bore vs shaft, xy (m)
    jam_margin: float = field(default=0.004, metadata=check(lo=0.001))   # gear this far above where the hand is
    waypoint_timeout: float = field(default=4.0, metadata=check(lo=0.5))
    retries: int = field(default=2, metadata=check(lo=0, hi=10))          # grasp attempts and re-centrings
    rest: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    preferred_yaw: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SuccessConfig:
    max_tilt: float = field(default=0.12, metadata=check(lo=0.0, hi=1.0))            # rad between axes
    depth_tolerance: float = field(default=0.004, metadata=check(lo=0.0, hi=0.05))   # m from the seated height
    settle_speed: float = field(default=0.05, metadata=check(lo=0.0))                # m/s


@dataclass(frozen=True)
class PartsAssemblyConfig(SceneConfig):
    bench: BenchConfig = field(default_factory=BenchConfig)
    fixture: FixtureConfig = field(default_factory=FixtureConfig)
    gear: GearConfig = field(default_factory=GearConfig)
    oracle: OracleConfig = field(default_factory=OracleConfig)
    success: SuccessConfig = field(default_factory=SuccessConfig)



@SCENES.register("parts_assembly")
class PartsAssembly(Task):
    """Object observation order: the gear, then the fixture (its pose locates the shafts)."""

    config_cls = PartsAssemblyConfig

    def __init__(self, config: PartsAssemblyConfig):
        super().__init__(config)
        f = config.fixture
        if len(f.shaft_names) != 2:
            raise ConfigError(f"parts_assembly: key 'fixture.shaft_names': expected 2 names, got {len(f.shaft_names)}")
        if config.gear.bore / 2 - f.radial_clearance[1] < 0.002:
            raise ConfigError("parts_assembly: key 'fixture.radial_clearance': leaves a shaft under 4 mm thick; "
                              "use a larger gear.bore or a smaller clearance")
        if f.collar_diameter <= config.gear.bore:
            raise ConfigError("parts_assembly: key 'fixture.collar_diameter': must exceed gear.bore, or the gear "
                              "has nothing to sit on")
        self.gear_type = bored_gear(config.gear.bore)
        self._params: dict[str, Any] | None = None

    # -- geometry ------------------------------------------------------------------------------------------
    def geometry(self, params: dict[str, Any]) -> FixtureGeometry:
        f: FixtureConfig = self.config.fixture
        half = f.shaft_spacing / 2
        return FixtureGeometry(plate=tuple(f.plate), shaft_y=(half, -half), collar_radius=f.collar_diameter / 2,
                               collar_height=f.collar_height,
                               shaft_radius=self.config.gear.bore / 2 - params["fixture"]["clearance"],
                               shaft_length=f.shaft_length)

    def shaft_world(self, params: dict[str, Any], k: int | None = None) -> np.ndarray:
        """World (x, y) of shaft k's axis (the target shaft by default)."""
        fx = params["fixture"]
        k = fx["shaft"] if k is None else k
        lx, ly = self.geometry(params).shaft_local(k)
        c, s = math.cos(fx["yaw"]), math.sin(fx["yaw"])
        return np.array([fx["x"] + c * lx - s * ly, fx["y"] + s * lx + c * ly])

    def seated_z(self, params: dict[str, Any]) -> float:
        """World height of the gear's centre when it sits on the collar."""
        return params["bench"]["height"] + self.geometry(params).collar_top + GEAR_T / 2

    # -- randomisation -------------------------------------------------------------------------------------
    def sample_scene(self, rng: np.random.Generator) -> dict[str, Any]:
        c: PartsAssemblyConfig = self.config
        jx, jy, jz = c.bench.jitter
        bench = {"x": c.bench.center_x + uniform(rng, (-jx, jx)), "y": uniform(rng, (-jy, jy)),
                 "height": c.bench.height + uniform(rng, (-jz, jz))}
        side = 1.0 if rng.random() < 0.5 else -1.0
        f, g = c.fixture, c.gear
        fixture = {"x": f.center[0] + uniform(rng, (-f.jitter[0], f.jitter[0])),
                   "y": side * f.center[1] + uniform(rng, (-f.jitter[1], f.jitter[1])),
                   "yaw": uniform(rng, (-f.yaw_jitter, f.yaw_jitter)),
                   "shaft": int(rng.integers(2)),
                   "clearance": uniform(rng, f.radial_clearance)}
        gear = {"x": g.center[0] + uniform(rng, (-g.jitter[0], g.jitter[0])),
                "y": -side * g.center[1] + uniform(rng, (-g.jitter[1], g.jitter[1])),
                "yaw": uniform(rng, (-math.pi, math.pi)),
                "mass": self.gear_type.default_mass * uniform(rng, g.mass_scale),
                "friction": uniform(rng, g.friction)}
        return {"bench": bench, "fixture": fixture, "gear": gear}

    # -- scene ---------------------------------------------------------------------------------------------
    def object_count(self, params: dict[str, Any]) -> int:
        return 2                             # the gear and the fixture: a drawn colour each (appearance:)

    def build_scene(self, world: World, params: dict[str, Any]) -> None:
        c: PartsAssemblyConfig = self.config
        p = world.p
        b, fx, g = params["bench"], params["fixture"], params["gear"]
        assets.table(p, c.bench.size, b["height"], (b["x"], b["y"]), 0.0, (0.55, 0.45, 0.35, 1.0))
        fixture = build_fixture(p, self.geometry(params), (fx["x"], fx["y"], b["height"]), fx["yaw"],
                                c.fixture.friction)
        pt = self.gear_type
        quat = geometry.quat_multiply(geometry.yaw_quat(g["yaw"]), pt.rest_quat)
        gear = pt.build(p, (g["x"], g["y"], b["height"] + pt.rest_height + 0.001), quat, g["mass"], pt.default_rgba,
                        g["friction"])
        if world.gui:   # cameras see the fixture; a person at the window also gets the target named
            sx, sy = self.shaft_world(params)
            p.addUserDebugText(self.shaft_name(params), [sx, sy, self.seated_z(params) + 0.08],
                               textColorRGB=[0.9, 0.2, 0.2], textSize=1.3)
        self.object_bodies = [gear, fixture]
        self._params = params

    def shaft_name(self, params: dict[str, Any]) -> str:
        return self.config.fixture.shaft_names[params["fixture"]["shaft"]]

    def object_obs(self, world: World, base: Pose) -> np.ndarray:
        """The gear's pose, the fixture's pose (7 values each), then the target shaft as a one-hot over
        `fixture.shaft_names` (2 values): the instruction names it, and a low-dim policy has no other way
        to know which shaft to use. Appended after the poses, so `object[7i:7i+7]` stays object i's pose."""
        onehot = np.zeros(len(self.config.fixture.shaft_names))
        onehot[self._params["fixture"]["shaft"]] = 1.0
        return np.concatenate([super().object_obs(world, base), onehot])

    def instruction(self, params: dict[str, Any]) -> str:
        """The scene's instruction with `{shaft}` filled in with the target shaft's name."""
        return self.config.instruction.replace("{shaft}", self.shaft_name(params))

    # -- success -------------------------------------------------------------------------------------------
    def seating(self, world: World) -> dict[str, float]:
        """The gear's tilt from the shaft axis (rad), height above the seated height (m), distance of its
        centre from the target shaft's axis (m) and speed (m/s)."""
        params = self._params
        pos, orn = world.p.getBasePositionAndOrientation(self.object_bodies[0])
        lin, _ = world.p.getBaseVelocity(self.object_bodies[0])
        axis = geometry.quat_to_matrix(orn)[:, 2]
        return {"tilt": math.acos(min(1.0, abs(float(axis[2])))),   # the gear is symmetric: either face down
                "height": float(pos[2]) - self.seated_z(params),
                "offset": float(np.linalg.norm(np.asarray(pos[:2]) - self.shaft_world(params))),
                "speed": float(np.linalg.norm(lin))}

    def evaluate(self, world: World) -> dict[str, Any]:
        s = self.seating(world)
        c = self.config.success
        on_shaft = s["offset"] < self.config.gear.bore / 2
        seated = on_shaft and s["tilt"] < c.max_tilt and abs(s["height"]) < c.depth_tolerance
        success = seated and s["speed"] < c.settle_speed
        # progress: 0 on the bench, 0.5 once the bore is over the shaft, 1 when seated and resting
        over = on_shaft and s["height"] < self.geometry(self._params).shaft_length + 0.02
        progress = 1.0 if success else (0.5 if over else 0.0)
        return {"success": success, "progress": progress, "tilt": s["tilt"], "seat_error": s["height"]}

    def make_oracle(self, params: dict[str, Any], rng: np.random.Generator, reach=None) -> Oracle:
        from robotschool.tasks.parts_assembly.oracle import AssemblyOracle

        return AssemblyOracle(self, params, rng, reach)
