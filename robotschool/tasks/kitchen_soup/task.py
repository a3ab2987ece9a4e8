"""kitchen_soup: take the lid off the pot, ladle the soup into a bowl, put the ladle back in its rest.

Description:
    A home kitchen counter in front of the robot with a stove built in (a counter-height box with a burner
    plate). On the burner stands an octagonal pot of soup, closed by a lid with a bar handle on top; the soup is
    `soup.count` small rigid spheres. On the counter to the right stand a bowl and a ladle lying in its rest
    (a plate under the cup and a post under the grip's end). The operator lifts the lid by its handle (left
    hand) and sets it down on the counter to the left, takes the ladle by its grip (right hand), scoops soup
    (tilted cup swept across the pot floor, levelled under the surface, lifted slowly), pours it into the bowl
    (cup tilted slowly above it), scoops again while the bowl holds fewer than it wants, and lays the ladle back
    in its rest.
Randomisation (scenes/kitchen_soup.yaml):
    counter height; pot position, yaw and mass; lid yaw (the handle's direction); bowl position; ladle rest
    position and yaw (the ladle lies in it); the number of soup particles and where they start in the pot.
    Generic (tasks/base.py, `appearance:`): object colours, light, camera pose jitter.
Success:
    the lid rests flat on the counter (so it is off the pot), at least `success.min_in_bowl` (K) particles are in
    the bowl, at most `success.max_spilled` (M) are spilled (outside the pot, the bowl and the ladle), and the
    ladle lies in its rest (cup over the plate, aligned, resting). Object observation: pot, lid, ladle, bowl,
    rest poses (7 each), then per particle (x, y, z, present) padded to the largest `soup.count` (what a person
    sees: where the soup is).
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
from robotschool.tasks.kitchen_soup import kitchenware as kw
from robotschool.types import Pose

Range = tuple[float, float]


@dataclass(frozen=True)
class CounterConfig:
    size: tuple[float, float] = (0.60, 1.40)          # depth (x), width (y)
    height: float = field(default=0.90, metadata=check(lo=0.7, hi=1.1))
    height_jitter: float = field(default=0.02, metadata=check(lo=0.0, hi=0.05))
    center_x: float = field(default=0.58, metadata=check(lo=0.3, hi=1.0))
    rgba: tuple[float, float, float, float] = (0.80, 0.78, 0.72, 1.0)


@dataclass(frozen=True)
class StoveConfig:
    size: tuple[float, float] = (0.34, 0.34)          # the stove box's top (x, y), flush with the counter
    burner_radius: float = field(default=0.10, metadata=check(lo=0.03, hi=0.2))
    burner_thickness: float = field(default=0.012, metadata=check(lo=0.002, hi=0.05))
    rgba: tuple[float, float, float, float] = (0.15, 0.15, 0.16, 1.0)


@dataclass(frozen=True)
class PotConfig:
    apothem: float = field(default=0.10, metadata=check(lo=0.06, hi=0.2))    # inner half width (m)
    wall: float = field(default=0.008, metadata=check(lo=0.003, hi=0.03))
    height: float = field(default=0.085, metadata=check(lo=0.04, hi=0.2))    # floor top to rim
    floor: float = field(default=0.01, metadata=check(lo=0.003, hi=0.03))
    handles: float = field(default=0.035, metadata=check(lo=0.0, hi=0.08))
    center: tuple[float, float] = (0.42, 0.0)
    jitter: tuple[float, float] = (0.02, 0.03)
    yaw_jitter: float = field(default=0.3, metadata=check(lo=0.0, hi=math.pi))
    mass: tuple[float, float] = (1.5, 3.0)              # kg, drawn per episode
    friction: float = field(default=0.9, metadata=check(lo=0.1, hi=2.0))
    rgba: tuple[float, float, float, float] = (0.62, 0.64, 0.68, 1.0)


@dataclass(frozen=True)
class LidConfig:
    radius: float = field(default=0.12, metadata=check(lo=0.05, hi=0.3))     # more than the pot's outer corner
    thickness: float = field(default=0.008, metadata=check(lo=0.003, hi=0.03))
    bar: tuple[float, float, float] = (0.08, 0.022, 0.034)   # handle length, width (grasped across), height
    mass: float = field(default=0.35, metadata=check(lo=0.05, hi=2.0))
    friction: float = field(default=0.8, metadata=check(lo=0.1, hi=2.0))
    rgba: tuple[float, float, float, float] = (0.55, 0.57, 0.60, 1.0)


@dataclass(frozen=True)
class LadleConfig:
    cup: float = field(default=0.075, metadata=check(lo=0.04, hi=0.12))
    depth: float = field(default=0.045, metadata=check(lo=0.02, hi=0.08))
    wall: float = field(default=0.004, metadata=check(lo=0.002, hi=0.01))
    grip_z: float = field(default=0.15, metadata=check(lo=0.08, hi=0.3))
    grip_length: float = field(default=0.16, metadata=check(lo=0.08, hi=0.3))
    grip_width: float = field(default=0.02, metadata=check(lo=0.01, hi=0.04))
    grasp_x: float = field(default=-0.12, metadata=check(lo=-0.3, hi=-0.05))
    mass: float = field(default=0.25, metadata=check(lo=0.05, hi=1.0))
    friction: float = field(default=0.6, metadata=check(lo=0.1, hi=2.0))
    rgba: tuple[float, float, float, float] = (0.75, 0.76, 0.78, 1.0)


@dataclass(frozen=True)
class RestConfig:
    plate: float = field(default=0.10, metadata=check(lo=0.05, hi=0.2))
    thickness: float = field(default=0.006, metadata=check(lo=0.002, hi=0.03))
    center: tuple[float, float] = (0.60, -0.44)        # the cup's place on the counter
    jitter: tuple[float, float] = (0.015, 0.015)
    yaw: tuple[float, float] = (-0.10, 0.25)           # about the grip pointing at the robot (away from the bowl)
    rgba: tuple[float, float, float, float] = (0.35, 0.22, 0.15, 1.0)


@dataclass(frozen=True)
class BowlConfig:
    apothem: float = field(default=0.07, metadata=check(lo=0.03, hi=0.15))
    wall: float = field(default=0.006, metadata=check(lo=0.002, hi=0.02))
    height: float = field(default=0.05, metadata=check(lo=0.02, hi=0.15))
    floor: float = field(default=0.008, metadata=check(lo=0.002, hi=0.03))
    center: tuple[float, float] = (0.46, -0.24)        # where the right arm pours with its wrist in range
    jitter: tuple[float, float] = (0.015, 0.015)
    mass: float = field(default=0.5, metadata=check(lo=0.05, hi=3.0))
    rgba: tuple[float, float, float, float] = (0.92, 0.92, 0.88, 1.0)


@dataclass(frozen=True)
class SoupConfig:
    count: tuple[int, int] = (30, 40)                  # particles, drawn uniformly (inclusive)
    radius: float = field(default=0.011, metadata=check(lo=0.005, hi=0.03))
    mass: float = field(default=0.008, metadata=check(lo=0.001, hi=0.1))
    friction: float = field(default=0.4, metadata=check(lo=0.0, hi=2.0))
    rgba: tuple[float, float, float, float] = (0.90, 0.55, 0.15, 1.0)


@dataclass(frozen=True)
class SoupOracleConfig:
    speed: tuple[float, float] = (0.20, 0.30)          # free hand moves (m/s), drawn per episode
    carry_speed: tuple[float, float] = (0.10, 0.15)    # carrying the lid or a full ladle (m/s)
    scoop_speed: tuple[float, float] = (0.05, 0.07)    # the cup in the soup or pouring (m/s)
    turn_speed: float = field(default=1.5, metadata=check(lo=0.1))      # hand rad/s
    grasp_roll: float = field(default=0.1, metadata=check(lo=-0.6, hi=0.6))   # hand turned about the grip (rad)
    tilt_speed: tuple[float, float] = (0.6, 0.9)       # rad/s when tilting the cup
    ladle_yaw: tuple[float, float] = (0.82, 0.88)       # the ladle's yaw while scooping (rad)
    pour_yaw: tuple[float, float] = (0.90, 0.94)       # the ladle's yaw while pouring (rad)
    scoop_tilt: tuple[float, float] = (0.30, 0.38)     # the cup's lip down (rad) as it enters the soup
    lift_tilt: tuple[float, float] = (0.28, 0.34)      # the lip up (rad) at the end of a sweep, lifting the soup
    hold_tilt: tuple[float, float] = (0.17, 0.20)      # the lip up (rad) while carrying soup to the bowl
    pour_tilt: tuple[float, float] = (0.50, 0.60)      # the lip down (rad) when pouring (the cup is open that side)
    pour_time: tuple[float, float] = (1.0, 1.4)        # hold the tilted cup in the bowl (s)
    approach_height: tuple[float, float] = (0.06, 0.09)
    lid_lift: tuple[float, float] = (0.08, 0.11)       # lid bottom above the pot rim while carrying it
    lid_place: tuple[float, float] = (0.40, 0.33)      # where the lid goes on the counter (x, y)
    lid_place_jitter: float = field(default=0.02, metadata=check(lo=0.0, hi=0.1))
    carry_height: tuple[float, float] = (0.05, 0.07)   # cup bottom above the highest rim while carrying
    scoop_margin: float = field(default=0.004, metadata=check(lo=0.0, hi=0.05))   # cup edge to pot wall
    grasp_time: float = field(default=0.5, metadata=check(lo=0.05))
    release_time: float = field(default=0.4, metadata=check(lo=0.05))
    position_noise: float = field(default=0.003, metadata=check(lo=0.0, hi=0.01))
    waypoint_timeout: float = field(default=3.0, metadata=check(lo=0.5))
    arrive_distance: float = field(default=0.012, metadata=check(lo=0.001))
    target_in_bowl: int = field(default=6, metadata=check(lo=1))   # scoop again while fewer are in the bowl
    max_scoops: int = field(default=3, metadata=check(lo=1, hi=10))


@dataclass(frozen=True)
class SoupSuccessConfig:
    min_in_bowl: int = field(default=5, metadata=check(lo=1))       # K
    max_spilled: int = field(default=3, metadata=check(lo=0))       # M
    lid_height: float = field(default=0.015, metadata=check(lo=0.001, hi=0.1))   # lid bottom above the counter
    max_tilt: float = field(default=0.2, metadata=check(lo=0.0, hi=1.0))
    rest_distance: float = field(default=0.03, metadata=check(lo=0.001, hi=0.2))   # cup centre vs rest plate
    rest_yaw: float = field(default=0.35, metadata=check(lo=0.0, hi=math.pi))
    rest_height: float = field(default=0.015, metadata=check(lo=0.001, hi=0.1))
    settle_speed: float = field(default=0.05, metadata=check(lo=0.0))


@dataclass(frozen=True)
class KitchenSoupConfig(SceneConfig):
    counter: CounterConfig = field(default_factory=CounterConfig)
    stove: StoveConfig = field(default_factory=StoveConfig)
    pot: PotConfig = field(default_factory=PotConfig)
    lid: LidConfig = field(default_factory=LidConfig)
    ladle: LadleConfig = field(default_factory=LadleConfig)
    rest: RestConfig = field(default_factory=RestConfig)
    bowl: BowlConfig = field(default_factory=BowlConfig)
    soup: SoupConfig = field(default_factory=SoupConfig)
    oracle: SoupOracleConfig = field(default_factory=SoupOracleConfig)
    success: SoupSuccessConfig = field(default_factory=SoupSuccessConfig)



def _jit(rng: np.random.Generator, centre, jitter) -> list[float]:
    return [float(c + rng.uniform(-j, j)) for c, j in zip(centre, jitter)]


N_BODIES = 5            # pot, lid, ladle, bowl, rest: 7 values each in the object observation
PARTICLE_OBS = 4        # x, y, z (robot base frame) and 1.0 (present) per particle; padding is all zeros


@SCENES.register("kitchen_soup")
class KitchenSoup(Task):
    config_cls = KitchenSoupConfig

    def __init__(self, config: KitchenSoupConfig):
        super().__init__(config)
        c = config
        if c.soup.count[0] < 1 or c.soup.count[0] > c.soup.count[1]:
            raise ConfigError(f"kitchen_soup: key 'soup.count': {list(c.soup.count)} must be an increasing range "
                              "of at least 1")
        if c.success.min_in_bowl > c.soup.count[0]:
            raise ConfigError(f"kitchen_soup: key 'success.min_in_bowl': {c.success.min_in_bowl} is more than the "
                              f"fewest particles drawn ({c.soup.count[0]}); lower it or raise soup.count")
        outer = (c.pot.apothem + c.pot.wall) / math.cos(math.pi / kw.OCTAGON)
        if c.lid.radius <= outer:
            raise ConfigError(f"kitchen_soup: key 'lid.radius': {c.lid.radius} must exceed the pot's outer corner "
                              f"radius {outer:.3f}, or the lid falls into the pot")
        if c.ladle.cup + 2 * c.ladle.wall >= 2 * c.pot.apothem - 0.02:
            raise ConfigError("kitchen_soup: key 'ladle.cup': the ladle's cup does not fit the pot with room to sweep")
        self.ladle_geo = kw.LadleGeometry(cup=c.ladle.cup, depth=c.ladle.depth, wall=c.ladle.wall,
                                          grip_z=c.ladle.grip_z, grip_length=c.ladle.grip_length,
                                          grip_width=c.ladle.grip_width, grasp_x=c.ladle.grasp_x)
        self.pot_ware = kw.octagonal_container(c.pot.apothem, c.pot.wall, c.pot.height, c.pot.floor, c.pot.handles)
        self.bowl_ware = kw.octagonal_container(c.bowl.apothem, c.bowl.wall, c.bowl.height, c.bowl.floor)
        self.lid_ware = kw.lid(c.lid.radius, c.lid.thickness, c.lid.bar)
        self.ladle_ware = kw.ladle(self.ladle_geo)
        self.wares = [self.pot_ware, self.lid_ware, self.ladle_ware, self.bowl_ware, None]   # object_bodies order
        self.particles: list[int] = []
        self._params: dict[str, Any] = {}

    # -- geometry shared with the oracle -----------------------------------------------------------------------
    def burner_top(self, params: dict[str, Any]) -> float:
        return params["counter"]["height"] + self.config.stove.burner_thickness

    def pot_rim(self, params: dict[str, Any]) -> float:
        """World height of the pot's rim (the lid's underside when closed)."""
        return self.burner_top(params) + self.config.pot.floor + self.config.pot.height

    def rest_design(self, params: dict[str, Any]) -> Pose:
        """The ladle's design pose when it lies in its rest."""
        r = params["rest"]
        return Pose([r["x"], r["y"], params["counter"]["height"] + self.config.rest.thickness],
                    [0.0, 0.0, math.sin(r["yaw"] / 2), math.cos(r["yaw"] / 2)])

    # -- randomisation ---------------------------------------------------------------------------------------
    def sample_scene(self, rng: np.random.Generator) -> dict[str, Any]:
        c: KitchenSoupConfig = self.config
        counter = {"height": c.counter.height + uniform(rng, (-c.counter.height_jitter, c.counter.height_jitter))}
        px, py = _jit(rng, c.pot.center, c.pot.jitter)
        pot = {"x": px, "y": py, "yaw": uniform(rng, (-c.pot.yaw_jitter, c.pot.yaw_jitter)), "mass": uniform(rng, c.pot.mass)}
        lid = {"yaw": uniform(rng, (-math.pi / 2, math.pi / 2))}
        bx, by = _jit(rng, c.bowl.center, c.bowl.jitter)
        rx, ry = _jit(rng, c.rest.center, c.rest.jitter)
        rest = {"x": rx, "y": ry, "yaw": uniform(rng, c.rest.yaw)}
        count = int(rng.integers(c.soup.count[0], c.soup.count[1] + 1))
        return {"counter": counter, "pot": pot, "lid": lid, "bowl": {"x": bx, "y": by}, "rest": rest,
                "soup": {"count": count, "start": self._soup_start(rng, count)}}

    def _soup_start(self, rng: np.random.Generator, count: int) -> list[list[float]]:
        """Particle centres in the pot frame (x, y, layer): random, non-overlapping, filling layer by layer."""
        r = self.config.soup.radius
        reach = self.config.pot.apothem - r - 0.003
        placed: list[list[float]] = []
        layer = 0
        while len(placed) < count:
            for _ in range(400):
                x, y = rng.uniform(-reach, reach, size=2)
                if not kw.inside_octagon(np.array([[x, y]]), reach)[0]:
                    continue
                if all(q[2] != layer or (x - q[0]) ** 2 + (y - q[1]) ** 2 > (2.2 * r) ** 2 for q in placed):
                    placed.append([float(x), float(y), layer])
                    break
            else:
                layer += 1
        return placed

    # -- scene -----------------------------------------------------------------------------------------------
    def object_count(self, params: dict[str, Any]) -> int:
        return N_BODIES

    def build_scene(self, world: World, params: dict[str, Any]) -> None:
        c: KitchenSoupConfig = self.config
        p = world.p
        h = params["counter"]["height"]
        pot = params["pot"]
        assets.table(p, c.counter.size, h, (c.counter.center_x, 0.0), 0.0, c.counter.rgba)
        sx, sy = c.stove.size
        burner = [kw.Prim("box", (sx / 2, sy / 2, 0.01), (0.0, 0.0, h - 0.009)),    # the stove top, proud 1 mm
                  kw.Prim("box", (sx / 2 - 0.02, sy / 2 - 0.02, (h - 0.02) / 2), (0.0, 0.0, (h - 0.02) / 2)),
                  kw.Prim("cylinder", (c.stove.burner_radius, c.stove.burner_thickness),
                          (0.0, 0.0, h + c.stove.burner_thickness / 2))]
        kw.static_body(p, burner, (pot["x"], pot["y"], 0.0), 0.0, c.stove.rgba, friction=0.9)
        pot_pose = Pose([pot["x"], pot["y"], self.burner_top(params)], _yawq(pot["yaw"]))
        pot_body = self.pot_ware.build(p, pot_pose, pot["mass"], c.pot.rgba, c.pot.friction)
        lid_pose = Pose([pot["x"], pot["y"], self.pot_rim(params) + 0.0005], _yawq(params["lid"]["yaw"]))
        lid_body = self.lid_ware.build(p, lid_pose, c.lid.mass, c.lid.rgba, c.lid.friction)
        rest = self.rest_design(params)
        ladle_body = self.ladle_ware.build(p, Pose(rest.pos + [0, 0, 0.001], rest.quat), c.ladle.mass, c.ladle.rgba,
                                           c.ladle.friction)
        b = params["bowl"]
        bowl_body = self.bowl_ware.build(p, Pose([b["x"], b["y"], h], [0, 0, 0, 1]), c.bowl.mass, c.bowl.rgba, 0.8)
        rest_body = kw.static_body(p, kw.ladle_rest(self.ladle_geo, c.rest.plate, c.rest.thickness),
                                   (params["rest"]["x"], params["rest"]["y"], h), params["rest"]["yaw"], c.rest.rgba)
        s = c.soup
        floor = self.burner_top(params) + c.pot.floor
        cy, sy_ = math.cos(pot["yaw"]), math.sin(pot["yaw"])
        positions = [[pot["x"] + cy * x - sy_ * y, pot["y"] + sy_ * x + cy * y,
                      floor + s.radius * (1 + 2.1 * k) + 0.001] for x, y, k in params["soup"]["start"]]
        self.particles = kw.particles(p, positions, s.radius, s.mass, s.friction, s.rgba)
        self.object_bodies = [pot_body, lid_body, ladle_body, bowl_body, rest_body]
        self._params = params

    # -- observation -----------------------------------------------------------------------------------------
    def object_obs(self, world: World, base: Pose) -> np.ndarray:
        """Design-frame poses of pot, lid, ladle, bowl and rest (7 each, robot base frame), then (x, y, z, 1)
        per soup particle, zero-padded to the largest particle count so every episode has one size."""
        inv = base.inverse()
        out = []
        for body, ware in zip(self.object_bodies, self.wares):
            pos, orn = world.p.getBasePositionAndOrientation(body)
            pose = Pose(pos, orn) if ware is None else ware.design_pose(Pose(pos, orn))
            rel = inv.compose(pose)
            out += [rel.pos, rel.quat]
        pts = np.zeros((self.config.soup.count[1], PARTICLE_OBS))
        if self.particles:
            xyz = self._particle_xyz(world)
            pts[:len(xyz), :3] = xyz @ inv.rot.T + inv.pos
            pts[:len(xyz), 3] = 1.0
        return np.concatenate(out + [pts.ravel()])

    def _particle_xyz(self, world: World) -> np.ndarray:
        return np.array([world.p.getBasePositionAndOrientation(b)[0] for b in self.particles], dtype=np.float64)

    # -- success ---------------------------------------------------------------------------------------------
    def _design(self, world: World, k: int) -> Pose:
        pos, orn = world.p.getBasePositionAndOrientation(self.object_bodies[k])
        return self.wares[k].design_pose(Pose(pos, orn))

    def soup_counts(self, world: World) -> dict[str, int]:
        """How many particles are in the pot, the bowl, the ladle's cup, and elsewhere (spilled)."""
        c: KitchenSoupConfig = self.config
        xyz = self._particle_xyz(world)
        if xyz.size == 0:
            return {"in_pot": 0, "in_bowl": 0, "in_ladle": 0, "spilled": 0}

        def inside(k: int, apothem: float, height: float) -> np.ndarray:
            frame = self._design(world, k)
            local = (xyz - frame.pos) @ frame.rot
            return kw.inside_octagon(local[:, :2], apothem) & (local[:, 2] > -0.01) & (local[:, 2] < height)

        ladle = self._design(world, 2)
        local = (xyz - ladle.pos) @ ladle.rot
        half = c.ladle.cup / 2
        in_ladle = ((np.abs(local[:, 0]) < half) & (np.abs(local[:, 1]) < half) & (local[:, 2] > 0)
                    & (local[:, 2] < c.ladle.wall + c.ladle.depth + 0.01))
        in_pot = inside(0, c.pot.apothem, c.pot.floor + c.pot.height + 0.01) & ~in_ladle   # the cup may be in the
        in_bowl = inside(3, c.bowl.apothem, c.bowl.floor + c.bowl.height + 0.01) & ~in_ladle   # pot or the bowl
        elsewhere = ~(in_pot | in_bowl | in_ladle)
        return {"in_pot": int(in_pot.sum()), "in_bowl": int(in_bowl.sum()), "in_ladle": int(in_ladle.sum()),
                "spilled": int(elsewhere.sum())}

    def lid_on_counter(self, world: World) -> bool:
        c: KitchenSoupConfig = self.config
        lid = self._design(world, 1)
        tilt = math.acos(max(-1.0, min(1.0, float(lid.rot[2, 2]))))
        height = float(lid.pos[2]) - self._params["counter"]["height"]
        return 0.0 <= height + 0.003 and height < c.success.lid_height and tilt < c.success.max_tilt

    def ladle_in_rest(self, world: World) -> bool:
        c = self.config.success
        ladle = self._design(world, 2)
        rest = self.rest_design(self._params)
        dist = float(np.linalg.norm(ladle.pos[:2] - rest.pos[:2]))
        yaw = geometry.quat_yaw(ladle.quat)
        rest_yaw = self._params["rest"]["yaw"]
        dyaw = abs(math.remainder(yaw - rest_yaw, 2 * math.pi))
        lin, _ = world.p.getBaseVelocity(self.object_bodies[2])
        return (dist < c.rest_distance and dyaw < c.rest_yaw and abs(float(ladle.pos[2] - rest.pos[2])) < c.rest_height
                and float(np.linalg.norm(lin)) < c.settle_speed)

    def evaluate(self, world: World) -> dict[str, Any]:
        c = self.config.success
        counts = self.soup_counts(world)
        lid_off = self.lid_on_counter(world)
        served = counts["in_bowl"] >= c.min_in_bowl
        tidy = counts["spilled"] <= c.max_spilled
        ladle_back = self.ladle_in_rest(world)
        success = lid_off and served and tidy and ladle_back
        progress = (0.25 * lid_off + 0.5 * min(1.0, counts["in_bowl"] / c.min_in_bowl)
                    + 0.25 * (ladle_back and served)) if tidy else 0.0
        return {"success": success, "progress": float(progress), "lid_off": lid_off, "ladle_in_rest": ladle_back,
                **counts}

    def make_oracle(self, params: dict[str, Any], rng: np.random.Generator, reach=None) -> Oracle:
        from robotschool.tasks.kitchen_soup.oracle import SoupOracle

        return SoupOracle(self, params, rng, reach)


def _yawq(yaw: float) -> list[float]:
    return [0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)]
