"""Scene builders: static furniture (ground, workbench, open containers, labels) and the auto parts.

Why it looks like this: every object is one multibody whose base is a compound of boxes (one
`createCollisionShapeArray` + a matching `createVisualShapeArray`), so a table has real legs and a tote has
real walls and a floor that parts can fall into and hit, instead of a single box with a painted cavity.
Sizes are in metres at real-world scale. The builders are task-agnostic: a task decides where things go.
All calls go through the client `p` (a BulletClient), never the module-global pybullet client.

Frames: the table origin is on the floor under the centre of its top; a container's origin is at the centre of
the underside of its floor (z_bottom); both are rotated by `yaw` about world z. The parts (`PARTS`, re-exported
from `robotschool.sim.parts`) have their origin at their centre of mass.

PyBullet limit worth knowing: a compound keeps at most 16 children (`createCollisionShapeArray` silently drops
the rest), so nothing here uses more.
"""
from __future__ import annotations

import math
from typing import Sequence

# PARTS, PartType, build_compound and make_gear are re-exported for callers that only import assets
from robotschool.sim.parts import MAX_CHILDREN, PARTS, PartType, build_compound, make_gear  # noqa: F401

Vec2 = Sequence[float]
Vec3 = Sequence[float]
RGBA = Sequence[float]

GROUND_RGBA = (0.42, 0.42, 0.42, 1.0)
LABEL_THICKNESS = 0.002


def _yaw_quat(yaw: float) -> list[float]:
    return [0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)]


def _static_boxes(p, boxes: Sequence[tuple[Vec3, Vec3]], pos: Vec3, yaw: float, rgba: RGBA, mass: float = 0.0,
                  collide: bool = True) -> int:
    """One body from boxes given as (half_extents, centre) in the body frame; yaw about z. Matte."""
    n = len(boxes)
    if n > MAX_CHILDREN:
        raise ValueError(f"{n} boxes; PyBullet compounds keep at most {MAX_CHILDREN}")
    kw = dict(shapeTypes=[p.GEOM_BOX] * n, halfExtents=[list(h) for h, _ in boxes])
    vis = p.createVisualShapeArray(**kw, visualFramePositions=[list(c) for _, c in boxes])
    col = p.createCollisionShapeArray(**kw, collisionFramePositions=[list(c) for _, c in boxes]) if collide else -1
    body = p.createMultiBody(baseMass=mass, baseCollisionShapeIndex=col, baseVisualShapeIndex=vis,
                             basePosition=list(pos), baseOrientation=_yaw_quat(yaw))
    p.changeVisualShape(body, -1, rgbaColor=list(rgba), specularColor=[0.05, 0.05, 0.05])
    return body


def ground(p) -> int:
    """Infinite collision plane at z = 0 (the visual is a 40 m square, since PyBullet draws no plane)."""
    col = p.createCollisionShape(p.GEOM_PLANE)
    vis = p.createVisualShape(p.GEOM_BOX, halfExtents=[20.0, 20.0, 0.001], visualFramePosition=[0, 0, -0.001],
                              rgbaColor=list(GROUND_RGBA), specularColor=[0, 0, 0])
    return p.createMultiBody(baseMass=0.0, baseCollisionShapeIndex=col, baseVisualShapeIndex=vis)


def table(p, top_size: Vec2, height: float, pos: Vec2, yaw: float, rgba: RGBA, top_thickness: float = 0.04) -> int:
    """Static workbench: top of size top_size (x, y) whose upper surface is at z = height, four 6 cm legs.

    Origin: (pos[0], pos[1], 0), on the floor under the centre of the top; top_size[0] is along the yawed x.
    """
    hx, hy = top_size[0] / 2, top_size[1] / 2
    leg_h = height - top_thickness
    leg, inset = 0.03, 0.05  # leg half width; legs sit `inset` in from the edges of the top
    boxes = [((hx, hy, top_thickness / 2), (0.0, 0.0, height - top_thickness / 2))]
    for sx in (-1, 1):
        for sy in (-1, 1):
            boxes.append(((leg, leg, leg_h / 2), (sx * (hx - inset - leg), sy * (hy - inset - leg), leg_h / 2)))
    return _static_boxes(p, boxes, (pos[0], pos[1], 0.0), yaw, rgba)


def open_box(p, inner: Vec3, wall: float, pos: Vec3, yaw: float, rgba: RGBA, mass: float = 0.0) -> int:
    """Open-top container (floor + 4 walls): cavity `inner` (x, y, z), walls and floor `wall` thick.

    Origin: pos = (x, y, z_bottom), the centre of the floor's underside. The floor's top surface is at
    z_bottom + wall, the rim at z_bottom + wall + inner[2]; the outer size is inner + 2 * wall in x and y.
    With mass > 0 it is dynamic, with its centre of mass at the origin (bottom-heavy: hard to tip over).
    """
    ix, iy, iz = (v / 2 for v in inner)
    w = wall / 2
    zc = wall + iz  # centre height of the walls
    boxes = [
        ((ix + wall, iy + wall, w), (0.0, 0.0, w)),  # floor
        ((w, iy + wall, iz), (-(ix + w), 0.0, zc)),  # -x wall (front, carries the label)
        ((w, iy + wall, iz), (ix + w, 0.0, zc)),  # +x wall
        ((ix, w, iz), (0.0, -(iy + w), zc)),  # -y wall
        ((ix, w, iz), (0.0, iy + w, zc)),  # +y wall
    ]
    return _static_boxes(p, boxes, pos, yaw, rgba, mass=mass)


def label_plate(p, box_pos: Vec3, box_yaw: float, inner: Vec3, wall: float, rgba: RGBA) -> int:
    """Visual-only coloured plate on the outside of an open_box's front wall, the wall facing -x in the
    container frame (a robot at the container's -x side sees it). Same box_pos / box_yaw / inner / wall as
    the open_box call. The plate covers 70 % of the wall's width and 50 % of its height, centred, 2 mm thick,
    standing 0.5 mm proud of the wall. No collision shape, so it never touches anything.
    """
    half_w = 0.35 * (inner[1] + 2 * wall)
    half_h = 0.25 * inner[2]
    x = -(inner[0] / 2 + wall + 0.0005 + LABEL_THICKNESS / 2)
    z = wall + inner[2] / 2
    c, s = math.cos(box_yaw), math.sin(box_yaw)
    world = (box_pos[0] + c * x, box_pos[1] + s * x, box_pos[2] + z)
    vis = p.createVisualShape(p.GEOM_BOX, halfExtents=[LABEL_THICKNESS / 2, half_w, half_h], rgbaColor=list(rgba),
                              specularColor=[0.05, 0.05, 0.05])
    return p.createMultiBody(baseMass=0.0, baseCollisionShapeIndex=-1, baseVisualShapeIndex=vis,
                             basePosition=list(world), baseOrientation=_yaw_quat(box_yaw))


def part(p, name: str, pos: Vec3, quat: Sequence[float] | None = None, mass: float | None = None,
         rgba: RGBA | None = None, lateral_friction: float = 0.5) -> int:
    """Convenience: PARTS[name].spawn(...) (rest orientation, default mass and colour unless given)."""
    return PARTS[name].spawn(p, pos, quat, mass, rgba, lateral_friction)
