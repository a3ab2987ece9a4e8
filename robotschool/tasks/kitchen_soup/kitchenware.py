"""Kitchenware of kitchen_soup: stove, pot, lid with a bar handle, ladle, bowl, ladle rest, soup particles.

Why a module of its own: the shared builders make boxes about a vertical axis only, and this station needs
octagonal containers (eight yawed wall boxes: a round-ish pot a ladle can sweep without catching corners), a
disc lid, and a ladle whose centre of mass is not at its design origin. Everything is a compound of the shared
`Prim`s (robotschool/sim/parts.py), so mass properties are computed the same way as for the auto parts.

Frames ("design frames", metres): a container's (pot, bowl) origin is the centre of the underside of its
floor; the lid's is the centre of its underside; the ladle's is the centre of the underside of its cup, its
grip running along -x from the cup at height `grip_z`; the rest's is on the counter under the centre of the
cup plate. A dynamic body's PyBullet base frame is at its centre of mass; `Ware.body_pose` / `design_pose`
convert between the two.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from robotschool import geometry
from robotschool.sim.parts import MAX_CHILDREN, Prim, centre_of_mass, inertia_diagonal
from robotschool.types import Pose

OCTAGON = 8
PARTICLE_ROLLING_FRICTION = 2e-4   # spheres roll (soup flows) but come to rest on a level floor
PARTICLE_SPINNING_FRICTION = 1e-4


def _yaw(angle: float) -> tuple[float, float, float, float]:
    return (0.0, 0.0, math.sin(angle / 2), math.cos(angle / 2))


@dataclass(frozen=True)
class Ware:
    """A compound body: its child shapes in the design frame and where its centre of mass is (design frame)."""

    prims: tuple[Prim, ...]
    com: tuple[float, float, float]

    def body_pose(self, design: Pose) -> Pose:
        """PyBullet base pose (centre of mass) of the body whose design frame is at `design`."""
        return design.compose(Pose(self.com, [0, 0, 0, 1]))

    def design_pose(self, body: Pose) -> Pose:
        """Design frame of a body whose PyBullet base (centre of mass) is at `body`."""
        return body.compose(Pose(-np.asarray(self.com), [0, 0, 0, 1]))

    def build(self, p, design: Pose, mass: float, rgba: Sequence[float], friction: float) -> int:
        if len(self.prims) > MAX_CHILDREN:
            raise ValueError(f"{len(self.prims)} child shapes; PyBullet compounds keep at most {MAX_CHILDREN}")
        prims = [q.shifted(-np.asarray(self.com)) for q in self.prims]
        kinds = [p.GEOM_BOX if q.kind == "box" else p.GEOM_CYLINDER for q in prims]
        kw = dict(shapeTypes=kinds, halfExtents=[list(q.size) if q.kind == "box" else [0.0] * 3 for q in prims],
                  radii=[q.size[0] if q.kind == "cylinder" else 0.0 for q in prims],
                  lengths=[q.size[1] if q.kind == "cylinder" else 0.0 for q in prims])
        frames = dict(pos=[list(q.pos) for q in prims], quat=[list(q.quat) for q in prims])
        col = p.createCollisionShapeArray(**kw, collisionFramePositions=frames["pos"],
                                          collisionFrameOrientations=frames["quat"])
        vis = p.createVisualShapeArray(**kw, visualFramePositions=frames["pos"], visualFrameOrientations=frames["quat"])
        base = self.body_pose(design)
        body = p.createMultiBody(baseMass=mass, baseCollisionShapeIndex=col, baseVisualShapeIndex=vis,
                                 basePosition=base.pos.tolist(), baseOrientation=base.quat.tolist())
        p.changeVisualShape(body, -1, rgbaColor=list(rgba), specularColor=[0.3, 0.3, 0.3])
        p.changeDynamics(body, -1, lateralFriction=friction, rollingFriction=1e-4, spinningFriction=1e-3,
                         restitution=0.0)
        if mass > 0:
            p.changeDynamics(body, -1, localInertiaDiagonal=inertia_diagonal(prims, mass).tolist())
        return body


def _ware(prims: Sequence[Prim], com: Sequence[float] | None = None) -> Ware:
    prims = tuple(prims)
    c = centre_of_mass(prims) if com is None else np.asarray(com, dtype=float)
    return Ware(prims, tuple(float(v) for v in c))


def octagonal_container(apothem: float, wall: float, height: float, floor: float,
                        handles: float = 0.0) -> Ware:
    """A floor disc and eight vertical walls whose inner faces are `apothem` from the axis; the rim is at
    floor + height. `handles` > 0 adds two side handles (boxes sticking out that far along +-y)."""
    side = 2 * (apothem + wall) * math.tan(math.pi / OCTAGON)   # outer side length: walls meet at the corners
    prims = [Prim("cylinder", (apothem + wall, floor), (0.0, 0.0, floor / 2))]
    for k in range(OCTAGON):
        a = 2 * math.pi * k / OCTAGON
        r = apothem + wall / 2
        prims.append(Prim("box", (wall / 2, side / 2, height / 2),
                          (r * math.cos(a), r * math.sin(a), floor + height / 2), _yaw(a)))
    if handles > 0:
        for s in (-1.0, 1.0):
            prims.append(Prim("box", (0.03, handles / 2, 0.008),
                              (0.0, s * (apothem + wall + handles / 2), floor + height - 0.02)))
    return _ware(prims)


def lid(radius: float, thickness: float, bar: Sequence[float]) -> Ware:
    """A disc with a bar handle on top: `bar` = (length along x, width along y, height)."""
    bl, bw, bh = bar
    return _ware([Prim("cylinder", (radius, thickness), (0.0, 0.0, thickness / 2)),
                  Prim("box", (bl / 2, bw / 2, bh / 2), (0.0, 0.0, thickness + bh / 2))])


@dataclass(frozen=True)
class LadleGeometry:
    """A deep square cup (inner size x depth) open on its +y side, a vertical stem behind its -x wall, a
    horizontal grip along -x. The open side is the scoop's lip: swept level along the pot floor toward +y, the
    cup's floor edge slides under the soup's spheres (below their centres) so they ride up into it; tilted
    lip-up it holds them against its -y wall, tilted lip-down it pours them out over the lip."""

    cup: float              # inner width (m), both x and y
    depth: float            # inner depth
    wall: float
    grip_z: float           # grip axis height above the cup's underside
    grip_length: float
    grip_width: float       # square cross-section of the grip (what the fingers close on)
    grasp_x: float          # where the hand holds the grip (design x, negative)
    lip: float = 0.015      # how far the sloping lip reaches out beyond the open side

    @property
    def stem_x(self) -> float:
        return -(self.cup / 2 + self.wall + 0.006)

    @property
    def grip_end_x(self) -> float:
        return self.stem_x - self.grip_length

    @property
    def cup_centre(self) -> np.ndarray:
        """Middle of the cup's cavity (design frame): what the operator aims at the soup and the bowl."""
        return np.array([0.0, 0.0, self.wall + self.depth / 2])

    def grasp(self) -> Pose:
        """The hand's tool frame on the grip, in the design frame: fingers down (tool z up), tool x along -x
        of the ladle (toward the grip's end), fingers closing across the grip."""
        return Pose([self.grasp_x, 0.0, self.grip_z], geometry.yaw_quat(math.pi))


def ladle(g: LadleGeometry) -> Ware:
    h, w = g.cup / 2, g.wall / 2
    top = g.wall + g.depth
    prims = [Prim("box", (h + g.wall, h + g.wall, w), (0.0, 0.0, w)),
             Prim("box", (w, h + g.wall, g.depth / 2), (-(h + w), 0.0, g.wall + g.depth / 2)),
             Prim("box", (w, h + g.wall, g.depth / 2), (h + w, 0.0, g.wall + g.depth / 2)),
             Prim("box", (h, w, g.depth / 2), (0.0, -(h + w), g.wall + g.depth / 2))]   # +y: open
    # the lip: a thin plate sloping from the floor's open edge down to the cup's underside, like a dustpan's,
    # so a sphere met by the swept cup is pushed well below its centre and rolls up into the cup
    run, rise, t = g.lip, g.wall - 0.0005, 0.0015
    slope = math.atan2(rise, run)
    prims.append(Prim("box", (h + g.wall, math.hypot(run, rise) / 2, t / 2),
                      (0.0, h + g.wall + run / 2, 0.0005 + rise / 2),
                      (math.sin(-slope / 2), 0.0, 0.0, math.cos(-slope / 2))))
    stem_top = g.grip_z + g.grip_width / 2
    prims.append(Prim("box", (0.006, 0.008, (stem_top - top / 2) / 2), (g.stem_x, 0.0, (stem_top + top / 2) / 2)))
    prims.append(Prim("box", (g.grip_length / 2, g.grip_width / 2, g.grip_width / 2),
                      ((g.stem_x + g.grip_end_x) / 2, 0.0, g.grip_z)))
    # a real ladle's weight is in its cup and the near part of the handle
    com = (g.stem_x * 0.6, 0.0, g.grip_z * 0.45)
    return _ware(prims, com)


def ladle_rest(g: LadleGeometry, plate: float, thickness: float) -> list[Prim]:
    """A spoon rest: a plate under the cup and a post under the grip's end, so the ladle lies level on it."""
    post_top = thickness + g.grip_z - g.grip_width / 2 - 0.002
    post_x = g.grip_end_x + 0.02
    return [Prim("box", (plate / 2, plate / 2, thickness / 2), (0.0, 0.0, thickness / 2)),
            Prim("box", (0.015, 0.02, post_top / 2), (post_x, 0.0, post_top / 2))]


def static_body(p, prims: Sequence[Prim], pos: Sequence[float], yaw: float, rgba: Sequence[float],
                friction: float = 0.6) -> int:
    """A static (mass 0) compound at `pos` with `yaw`, prims in its own frame."""
    return _ware(prims, (0.0, 0.0, 0.0)).build(p, Pose(pos, _yaw(yaw)), 0.0, rgba, friction)


def particles(p, positions: Sequence[Sequence[float]], radius: float, mass: float, friction: float,
              rgba: Sequence[float]) -> list[int]:
    """One sphere body per position (world frame): the soup."""
    col = p.createCollisionShape(p.GEOM_SPHERE, radius=radius)
    vis = p.createVisualShape(p.GEOM_SPHERE, radius=radius, rgbaColor=list(rgba), specularColor=[0.2, 0.2, 0.2])
    out = []
    for pos in positions:
        body = p.createMultiBody(baseMass=mass, baseCollisionShapeIndex=col, baseVisualShapeIndex=vis,
                                 basePosition=list(pos))
        p.changeDynamics(body, -1, lateralFriction=friction, rollingFriction=PARTICLE_ROLLING_FRICTION,
                         spinningFriction=PARTICLE_SPINNING_FRICTION, restitution=0.0)
        out.append(body)
    return out


def inside_octagon(local_xy: np.ndarray, apothem: float) -> np.ndarray:
    """Which points (N x 2, in the container's frame) lie inside the octagon of inner `apothem`."""
    angles = 2 * np.pi * np.arange(OCTAGON) / OCTAGON
    normals = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return (np.asarray(local_xy) @ normals.T).max(axis=1) <= apothem
