"""parts_sorting: sort mixed auto parts from a tote into one labelled bin per part type.

Description:
    A humanoid stands at a standing-height workbench. A tote in front of it holds bolts, nuts, gears and
    brackets lying in random poses; one labelled bin per part type stands on each side of the tote. The
    operator picks every part and drops it into its type's bin, both arms working (each arm serves the bins
    on its side; only one hand is inside the tote at a time).
Randomisation (scenes/parts_sorting.yaml):
    bench position and height; tote position and yaw; number of parts (`parts.count`) and their types (every
    type appears before any repeats), positions (non-overlapping, with finger clearance) and yaws; per-part
    mass (scale on the steel mass) and friction; bin positions. Generic (tasks/base.py, `appearance:`): part
    colours, light direction/colour/intensity, camera pose jitter.
Success:
    every part rests (speed below success.settle_speed) inside the bin of its type: within the bin's inner
    footprint and below its rim.
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
from robotschool.sim.parts import PARTS
from robotschool.sim.world import World
from robotschool.tasks.base import Oracle, SceneConfig, Task, uniform
from robotschool.types import Pose


@dataclass(frozen=True)
class BenchConfig:
    size: tuple[float, float] = (0.7, 1.4)
    height: float = field(default=0.98, metadata=check(lo=0.5, hi=1.3))
    center_x: float = 0.53
    jitter: tuple[float, float, float] = (0.015, 0.015, 0.01)


@dataclass(frozen=True)
class ToteConfig:
    inner: tuple[float, float, float] = (0.24, 0.36, 0.05)
    wall: float = field(default=0.006, metadata=check(lo=0.002, hi=0.05))
    center: tuple[float, float] = (0.375, 0.0)
    jitter: tuple[float, float] = (0.015, 0.02)
    yaw_jitter: float = field(default=0.06, metadata=check(lo=0.0, hi=0.5))
    rgba: tuple[float, float, float, float] = (0.15, 0.35, 0.65, 1.0)


@dataclass(frozen=True)
class PartsConfig:
    count: int = field(default=6, metadata=check(lo=1, hi=12))
    types: list[str] = field(default_factory=lambda: ["bolt", "nut", "gear", "bracket"],
                             metadata=check(choices=tuple(PARTS)))
    mass_scale: tuple[float, float] = (0.85, 1.15)
    friction: tuple[float, float] = (0.5, 0.9)
    clearance: float = field(default=0.025, metadata=check(lo=0.0, hi=0.2))
    wall_margin: float = field(default=0.012, metadata=check(lo=0.0, hi=0.1))


@dataclass(frozen=True)
class BinSpot:
    center: tuple[float, float]
    rgba: tuple[float, float, float, float] = (0.8, 0.8, 0.8, 1.0)


@dataclass(frozen=True)
class BinsConfig:
    inner: tuple[float, float, float] = (0.15, 0.15, 0.08)
    wall: float = field(default=0.006, metadata=check(lo=0.002, hi=0.05))
    jitter: tuple[float, float] = (0.01, 0.01)
    layout: dict[str, BinSpot] = field(default_factory=dict)


@dataclass(frozen=True)
class OracleConfig:
    speed: tuple[float, float] = (0.30, 0.45)
    turn_speed: float = field(default=2.5, metadata=check(lo=0.1))
    approach_height: float = field(default=0.09, metadata=check(lo=0.02))
    carry_height: float = field(default=0.13, metadata=check(lo=0.02))
    finger_clearance: float = field(default=0.018, metadata=check(lo=0.0))
    finger_margin: float = field(default=0.015, metadata=check(lo=0.0, hi=0.05))  # opening beyond the part, per side
    release_height: float = field(default=0.04, metadata=check(lo=0.0))   # TCP above the bin rim when letting go
    grasp_time: float = field(default=0.6, metadata=check(lo=0.05))
    release_time: float = field(default=0.4, metadata=check(lo=0.05))
    position_noise: float = field(default=0.003, metadata=check(lo=0.0, hi=0.02))
    yaw_noise: float = field(default=0.05, metadata=check(lo=0.0, hi=0.3))
    waypoint_timeout: float = field(default=4.0, metadata=check(lo=0.5))
    retries: int = field(default=2, metadata=check(lo=0, hi=10))
    rest: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    preferred_yaw: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SuccessConfig:
    settle_speed: float = field(default=0.05, metadata=check(lo=0.0))


@dataclass(frozen=True)
class PartsSortingConfig(SceneConfig):
    bench: BenchConfig = field(default_factory=BenchConfig)
    tote: ToteConfig = field(default_factory=ToteConfig)
    parts: PartsConfig = field(default_factory=PartsConfig)
    bins: BinsConfig = field(default_factory=BinsConfig)
    oracle: OracleConfig = field(default_factory=OracleConfig)
    success: SuccessConfig = field(default_factory=SuccessConfig)


def _rot2(a: float) -> np.ndarray:
    return np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])


def footprint_rect(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Centre offset and half extents (part frame, metres) of a part's footprint when it lies at rest."""
    pt = PARTS[kind]
    pts = np.concatenate([q.points() for q in pt.prims]) @ geometry.quat_to_matrix(pt.rest_quat).T
    lo, hi = pts[:, :2].min(axis=0), pts[:, :2].max(axis=0)
    return (lo + hi) / 2, (hi - lo) / 2


def _separated(ca, ya, ha, cb, yb, hb, gap: float) -> bool:
    """2-D separating-axis test: are two oriented rectangles at least `gap` apart along some axis?
    (Plain floats: this runs thousands of times per layout.)"""
    ca_, sa, cb_, sb = math.cos(ya), math.sin(ya), math.cos(yb), math.sin(yb)
    axes_a = ((ca_, sa), (-sa, ca_))
    axes_b = ((cb_, sb), (-sb, cb_))
    dx, dy = float(cb[0] - ca[0]), float(cb[1] - ca[1])
    for ax, ay in axes_a + axes_b:
        pa = abs(axes_a[0][0] * ax + axes_a[0][1] * ay) * ha[0] + abs(axes_a[1][0] * ax + axes_a[1][1] * ay) * ha[1]
        pb = abs(axes_b[0][0] * ax + axes_b[0][1] * ay) * hb[0] + abs(axes_b[1][0] * ax + axes_b[1][1] * ay) * hb[1]
        if abs(dx * ax + dy * ay) >= pa + pb + gap:
            return True
    return False



@SCENES.register("parts_sorting")
class PartsSorting(Task):
    config_cls = PartsSortingConfig

    def __init__(self, config: PartsSortingConfig):
        super().__init__(config)
        missing = [t for t in config.parts.types if t not in config.bins.layout]
        if missing:
            from robotschool.errors import ConfigError
            raise ConfigError(f"parts_sorting: key 'bins.layout': no bin for part type {missing[0]!r}")
        self.bin_bodies: dict[str, int] = {}

    # -- randomisation -------------------------------------------------------------------------------------
    def sample_scene(self, rng: np.random.Generator) -> dict[str, Any]:
        c: PartsSortingConfig = self.config
        jx, jy, jz = c.bench.jitter
        bench = {"x": c.bench.center_x + uniform(rng, (-jx, jx)), "y": uniform(rng, (-jy, jy)),
                 "height": c.bench.height + uniform(rng, (-jz, jz))}
        tote = {"x": c.tote.center[0] + uniform(rng, (-c.tote.jitter[0], c.tote.jitter[0])),
                "y": c.tote.center[1] + uniform(rng, (-c.tote.jitter[1], c.tote.jitter[1])),
                "yaw": uniform(rng, (-c.tote.yaw_jitter, c.tote.yaw_jitter))}
        types = list(c.parts.types)
        order = [types[i] for i in rng.permutation(len(types))]
        kinds = [order[i] if i < len(order) else order[int(rng.integers(len(order)))] for i in range(c.parts.count)]
        parts = self._place_parts(rng, kinds, tote)
        bins = {}
        for t in sorted(set(kinds)):
            cx, cy = c.bins.layout[t].center
            bins[t] = {"x": cx + uniform(rng, (-c.bins.jitter[0], c.bins.jitter[0])),
                       "y": cy + uniform(rng, (-c.bins.jitter[1], c.bins.jitter[1]))}
        return {"bench": bench, "tote": tote, "parts": parts, "bins": bins}

    def _place_parts(self, rng, kinds: list[str], tote: dict) -> list[dict]:
        """Non-overlapping poses by rejection sampling of oriented footprint rectangles (a long bolt packs
        like a bolt, not like a disc); a layout that gets stuck is restarted whole, and a rare crowded draw
        (e.g. three gears) is packed with half the clearance rather than refused."""
        c: PartsSortingConfig = self.config
        half_inner = np.array(c.tote.inner[:2]) / 2 - c.parts.wall_margin
        for attempt in range(400):
            clearance = c.parts.clearance * (0.5 ** (attempt // 100))
            placed: list[dict] = []
            rects: list[tuple[np.ndarray, float, np.ndarray]] = []
            for kind in kinds:
                offset, half = footprint_rect(kind)
                for _ in range(300):
                    yaw = float(rng.uniform(-math.pi, math.pi))
                    centre = -half_inner + (2 * half_inner) * rng.random(2)   # = uniform(-h, h), cheaper
                    cos_y, sin_y = abs(math.cos(yaw)), abs(math.sin(yaw))
                    ext_x = cos_y * half[0] + sin_y * half[1]   # half extents of the rotated rectangle
                    ext_y = sin_y * half[0] + cos_y * half[1]
                    if abs(centre[0]) + ext_x > half_inner[0] or abs(centre[1]) + ext_y > half_inner[1]:
                        continue
                    origin = centre - _rot2(yaw) @ offset   # part origin such that the rectangle is centred
                    if all(_separated(centre, yaw, half, oc, oy, oh, clearance) for oc, oy, oh in rects):
                        break
                else:
                    break
                rects.append((centre, yaw, half))
                placed.append({"type": kind, "lx": float(origin[0]), "ly": float(origin[1]), "yaw": yaw,
                               "mass": PARTS[kind].default_mass * uniform(rng, c.parts.mass_scale),
                               "friction": uniform(rng, c.parts.friction)})
            if len(placed) == len(kinds):
                return placed
        from robotschool.errors import ConfigError
        raise ConfigError(f"parts_sorting: {len(kinds)} parts do not fit in the tote; lower parts.count, "
                          f"parts.clearance or parts.wall_margin")

    # -- scene ---------------------------------------------------------------------------------------------
    def tote_floor_z(self, params) -> float:
        return params["bench"]["height"] + self.config.tote.wall

    def object_count(self, params: dict[str, Any]) -> int:
        return len(params["parts"])          # one drawn colour per part (base Task.object_count)

    def build_scene(self, world: World, params: dict[str, Any]) -> None:
        c: PartsSortingConfig = self.config
        p = world.p
        b = params["bench"]
        assets.table(p, c.bench.size, b["height"], (b["x"], b["y"]), 0.0, (0.55, 0.45, 0.35, 1.0))
        t = params["tote"]
        assets.open_box(p, c.tote.inner, c.tote.wall, (t["x"], t["y"], b["height"]), t["yaw"], c.tote.rgba)
        self.bin_bodies = {}
        for kind, spot in params["bins"].items():
            pos = (spot["x"], spot["y"], b["height"])
            self.bin_bodies[kind] = assets.open_box(p, c.bins.inner, c.bins.wall, pos, 0.0, (0.35, 0.36, 0.38, 1.0))
            assets.label_plate(p, pos, 0.0, c.bins.inner, c.bins.wall, c.bins.layout[kind].rgba)
            if world.gui:  # the plate is what cameras see; a person at the window also gets the name
                p.addUserDebugText(kind, [spot["x"] - 0.04, spot["y"], b["height"] + c.bins.inner[2] + 0.06],
                                   textColorRGB=list(c.bins.layout[kind].rgba[:3]), textSize=1.3)
        floor = self.tote_floor_z(params)
        cy, sy = math.cos(t["yaw"]), math.sin(t["yaw"])
        self.object_bodies = []
        for part in params["parts"]:
            pt = PARTS[part["type"]]
            x = t["x"] + cy * part["lx"] - sy * part["ly"]
            y = t["y"] + sy * part["lx"] + cy * part["ly"]
            quat = geometry.quat_multiply(geometry.yaw_quat(part["yaw"] + t["yaw"]), pt.rest_quat)
            body = pt.build(p, (x, y, floor + pt.rest_height + 0.001), quat, part["mass"], pt.default_rgba,
                            part["friction"])
            self.object_bodies.append(body)
        self._params = params

    def object_obs(self, world: World, base: Pose) -> np.ndarray:
        """Each part's position and quaternion in the base frame (7 values per part, as the oracle reads
        them), then each part's type as a one-hot over `parts.types` (T values per part), so 7N + TN values.

        Why the type: it decides the bin and the arm, and a pose alone does not tell a nut from a gear (they
        rest flat at heights closer than the bench-height jitter); a camera sees the shape, a low-dim policy
        needs it spelled out. Appended after all the poses so `object[7i:7i+7]` stays part i's pose; the
        size depends only on the config (`parts.count`, `parts.types`)."""
        poses = super().object_obs(world, base)
        types = list(self.config.parts.types)
        onehot = np.zeros((len(self._params["parts"]), len(types)))
        for i, part in enumerate(self._params["parts"]):
            onehot[i, types.index(part["type"])] = 1.0
        return np.concatenate([poses, onehot.reshape(-1)])

    # -- success -------------------------------------------------------------------------------------------
    def part_in_bin(self, world: World, body: int, kind: str) -> bool:
        c: PartsSortingConfig = self.config
        spot = self._params["bins"][kind]
        floor = self._params["bench"]["height"] + c.bins.wall
        pos, _ = world.p.getBasePositionAndOrientation(body)
        lin, _ = world.p.getBaseVelocity(body)
        hx, hy, hz = c.bins.inner[0] / 2, c.bins.inner[1] / 2, c.bins.inner[2]
        inside = abs(pos[0] - spot["x"]) < hx and abs(pos[1] - spot["y"]) < hy and floor - 0.01 < pos[2] < floor + hz
        return inside and float(np.linalg.norm(lin)) < c.success.settle_speed

    def evaluate(self, world: World) -> dict[str, Any]:
        kinds = [q["type"] for q in self._params["parts"]]
        sorted_ok = [self.part_in_bin(world, b, k) for b, k in zip(self.object_bodies, kinds)]
        n = len(sorted_ok)
        return {"success": all(sorted_ok), "progress": sum(sorted_ok) / n if n else 1.0, "parts_sorted": sum(sorted_ok)}

    def make_oracle(self, params: dict[str, Any], rng: np.random.Generator, reach=None) -> Oracle:
        from robotschool.tasks.parts_sorting.oracle import SortingOracle

        return SortingOracle(self, params, rng, reach)
