"""Auto parts as dynamic compound rigid bodies: bolt, nut, gear, bracket.

Why compound shapes: a single box or cylinder cannot have a hole (a nut, a gear slid onto a shaft), cannot lie
on a hex flat, and gets the grasp geometry wrong. Each part is a handful of boxes and cylinders in one
`createCollisionShapeArray`, so contacts, holes and resting poses come out of the physics rather than being
faked. Sizes are real catalogue sizes and the default masses are steel (7850 kg/m^3) volumes, so a gripper
sees realistic widths and loads.

Part frame: the origin is the part's centre of mass (the base inertial frame is the identity, so
`getBasePositionAndOrientation` returns exactly the part frame). Axes per part:

- bolt: shaft along +x, hex head at the -x end, one pair of head flats normal to z.
- nut, gear: axis along z, centred; nut flats normal to x (one of them), a gear tooth on +x.
- bracket: base leg flat in the xy plane extending along +x, upright leg at the base's -x end rising along +z,
  width along y.

Every part kind is a `PartType` in `PARTS`. `PartType.build(p, pos, quat, mass, rgba, lateral_friction)` creates
one body in the client `p`; `PartType.spawn` fills in the defaults.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

from robotschool import geometry

STEEL_DENSITY = 7850.0  # kg/m^3
IDENTITY_QUAT = (0.0, 0.0, 0.0, 1.0)
MAX_CHILDREN = 16  # PyBullet keeps at most 16 children per compound and silently drops the rest
Vec = Sequence[float]

# Contact settings for small steel parts at 240 Hz: no bounce, a little rolling / spinning resistance so that
# a part that has come to rest does not creep or spin (values are lengths in Bullet: torque = mu * normal force).
ROLLING_FRICTION = 1e-4
SPINNING_FRICTION = 1e-3
RESTITUTION = 0.0


def _axis_quat(axis: Sequence[float], angle: float) -> tuple[float, float, float, float]:
    a = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    s = math.sin(angle / 2)
    return (float(a[0] * s), float(a[1] * s), float(a[2] * s), float(math.cos(angle / 2)))


@dataclass(frozen=True)
class Prim:
    """One child shape of a compound, in the part (or design) frame.

    kind "box": size = half extents (hx, hy, hz). kind "cylinder": size = (radius, length), axis = its local z.
    `fill` is the fraction of the primitive's volume counted for mass properties; it corrects the overlap of
    primitives that tile a symmetric ring or hexagon so that the summed volume is the true volume.
    """

    kind: str
    size: tuple[float, ...]
    pos: tuple[float, float, float]
    quat: tuple[float, float, float, float] = IDENTITY_QUAT
    fill: float = 1.0

    def volume(self) -> float:
        if self.kind == "box":
            return 8.0 * self.size[0] * self.size[1] * self.size[2] * self.fill
        r, length = self.size
        return math.pi * r * r * length * self.fill

    def local_inertia(self, mass: float) -> np.ndarray:
        """Inertia tensor about the primitive's own centre, in its own frame."""
        if self.kind == "box":
            hx, hy, hz = self.size
            return np.diag([mass / 3 * (hy * hy + hz * hz), mass / 3 * (hx * hx + hz * hz),
                            mass / 3 * (hx * hx + hy * hy)])
        r, length = self.size
        i = mass * (3 * r * r + length * length) / 12
        return np.diag([i, i, mass * r * r / 2])

    def points(self) -> np.ndarray:
        """Points on the primitive's outer boundary (box corners; two rings for a cylinder), parent frame."""
        if self.kind == "box":
            hx, hy, hz = self.size
            local = np.array([[sx * hx, sy * hy, sz * hz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
        else:
            r, length = self.size
            ang = np.linspace(0, 2 * math.pi, 72, endpoint=False)
            ring = np.stack([r * np.cos(ang), r * np.sin(ang), np.zeros_like(ang)], axis=1)
            local = np.concatenate([ring + [0, 0, -length / 2], ring + [0, 0, length / 2]])
        return local @ geometry.quat_to_matrix(self.quat).T + np.asarray(self.pos)

    def shifted(self, offset: np.ndarray) -> "Prim":
        return replace(self, pos=tuple(float(v) for v in np.asarray(self.pos) + offset))


def centre_of_mass(prims: Sequence[Prim]) -> np.ndarray:
    vols = np.array([q.volume() for q in prims])
    return (vols[:, None] * np.array([q.pos for q in prims])).sum(axis=0) / vols.sum()


def centred(prims: Sequence[Prim]) -> list[Prim]:
    """Shift design-frame primitives so that the centre of mass is at the origin."""
    com = centre_of_mass(prims)
    return [q.shifted(-com) for q in prims]


def inertia_diagonal(prims: Sequence[Prim], mass: float) -> np.ndarray:
    """Diagonal of the inertia tensor about the origin (parallel-axis sum; off-diagonal terms dropped)."""
    vols = np.array([q.volume() for q in prims])
    total = np.zeros((3, 3))
    for q, v in zip(prims, vols):
        m = mass * v / vols.sum()
        r = geometry.quat_to_matrix(q.quat)
        d = np.asarray(q.pos)
        total += r @ q.local_inertia(m) @ r.T + m * (d @ d * np.eye(3) - np.outer(d, d))
    return np.diag(total).copy()


def build_compound(p, prims: Sequence[Prim], pos: Vec, quat: Vec, mass: float, rgba: Vec,
                   lateral_friction: float) -> int:
    """One dynamic multibody whose base is the compound of `prims` (part frame = base inertial frame)."""
    if len(prims) > MAX_CHILDREN:
        raise ValueError(f"{len(prims)} child shapes; PyBullet compounds keep at most {MAX_CHILDREN}")
    kinds = [p.GEOM_BOX if q.kind == "box" else p.GEOM_CYLINDER for q in prims]
    half = [list(q.size) if q.kind == "box" else [0.0, 0.0, 0.0] for q in prims]
    radii = [q.size[0] if q.kind == "cylinder" else 0.0 for q in prims]
    lengths = [q.size[1] if q.kind == "cylinder" else 0.0 for q in prims]
    frame_pos = [list(q.pos) for q in prims]
    frame_quat = [list(q.quat) for q in prims]
    col = p.createCollisionShapeArray(shapeTypes=kinds, halfExtents=half, radii=radii, lengths=lengths,
                                      collisionFramePositions=frame_pos, collisionFrameOrientations=frame_quat)
    vis = p.createVisualShapeArray(shapeTypes=kinds, halfExtents=half, radii=radii, lengths=lengths,
                                   visualFramePositions=frame_pos, visualFrameOrientations=frame_quat)
    body = p.createMultiBody(baseMass=mass, baseCollisionShapeIndex=col, baseVisualShapeIndex=vis,
                             basePosition=list(pos), baseOrientation=list(quat))
    p.changeVisualShape(body, -1, rgbaColor=list(rgba), specularColor=[0.4, 0.4, 0.4])
    p.changeDynamics(body, -1, lateralFriction=lateral_friction, rollingFriction=ROLLING_FRICTION,
                     spinningFriction=SPINNING_FRICTION, restitution=RESTITUTION,
                     localInertiaDiagonal=inertia_diagonal(prims, mass).tolist())
    return body


BuildFn = Callable[..., int]


@dataclass(frozen=True, eq=False)
class PartType:
    """Everything a task needs to know about one kind of part.

    build(p, pos, quat, mass, rgba, lateral_friction) -> body id; pos/quat are the part frame (= centre of mass).
    rest_quat: a stable resting orientation on a flat surface with yaw 0 (compose a yaw about world z on its left).
    rest_height: height of the part origin above the surface when resting in rest_quat (measured by settling).
    grasp_point / grasp_axis: part-frame point for the tool centre of a top-down two-finger grasp, and the
    horizontal (at rest) unit axis along which the fingers close; grasp_width: distance between the two contact
    faces along grasp_axis. footprint_radius: circle about the origin, in the horizontal plane, containing the
    part when it rests in rest_quat (any yaw). prims: the child shapes in the part frame (for rendering or
    geometric queries without a simulation).
    """

    name: str
    build: BuildFn
    default_mass: float
    default_rgba: tuple[float, float, float, float]
    rest_quat: tuple[float, float, float, float]
    rest_height: float
    grasp_point: tuple[float, float, float]
    grasp_axis: tuple[float, float, float]
    grasp_width: float
    footprint_radius: float
    prims: tuple[Prim, ...] = ()

    def spawn(self, p, pos: Vec, quat: Vec | None = None, mass: float | None = None, rgba: Vec | None = None,
              lateral_friction: float = 0.5) -> int:
        """build() with the defaults: rest orientation, default mass and colour."""
        return self.build(p, pos, self.rest_quat if quat is None else quat,
                          self.default_mass if mass is None else mass,
                          self.default_rgba if rgba is None else rgba, lateral_friction)


def _footprint(prims: Sequence[Prim], rest_quat) -> float:
    pts = np.concatenate([q.points() for q in prims]) @ geometry.quat_to_matrix(rest_quat).T
    return float(np.max(np.hypot(pts[:, 0], pts[:, 1])))


def _ring(n: int, r_in: float, r_out: float, half_z: float, phase: float = 0.0) -> list[Prim]:
    """n boxes tiling a regular n-gon ring around z: inner apothem r_in (the hole), outer apothem r_out."""
    half_w = r_out * math.tan(math.pi / n)
    out = []
    for k in range(n):
        a = phase + 2 * math.pi * k / n
        rc = (r_in + r_out) / 2
        out.append(Prim("box", ((r_out - r_in) / 2, half_w, half_z), (rc * math.cos(a), rc * math.sin(a), 0.0),
                        _axis_quat((0, 0, 1), a), fill=(r_out + r_in) / (2 * r_out)))
    return out


def _make_type(name: str, prims: list[Prim], rgba, rest_quat, rest_height: float, grasp_point, grasp_axis,
               grasp_width: float) -> PartType:
    prims = tuple(prims)

    def build(p, pos, quat, mass, rgba, lateral_friction) -> int:
        return build_compound(p, prims, pos, quat, mass, rgba, lateral_friction)

    build.__name__ = f"build_{name}"
    mass = STEEL_DENSITY * sum(q.volume() for q in prims)
    return PartType(name=name, build=build, default_mass=round(mass, 4), default_rgba=tuple(rgba),
                    rest_quat=tuple(float(v) for v in rest_quat), rest_height=rest_height,
                    grasp_point=tuple(float(v) for v in grasp_point), grasp_axis=tuple(float(v) for v in grasp_axis),
                    grasp_width=grasp_width, footprint_radius=round(_footprint(prims, rest_quat), 4), prims=prims)


# ---------------------------------------------------------------------------------------------------- bolt
BOLT_SHAFT_D, BOLT_SHAFT_L = 0.016, 0.100
BOLT_HEAD_AF, BOLT_HEAD_T = 0.024, 0.010  # across flats, thickness


def make_bolt() -> PartType:
    """M16 x 100 hex bolt. Rests on one head flat and the shaft tip, so the axis tilts ~2.3 deg (tip down).

    Grasp: the middle of the shaft, fingers closing along y across its 16 mm diameter.
    """
    a = BOLT_HEAD_AF / 2
    side = BOLT_HEAD_AF / math.sqrt(3)  # hexagon side = across corners / 2
    # three rectangles inscribed in the hexagon, 60 deg apart, make it up exactly; their areas add up to twice its
    head = [Prim("box", (BOLT_HEAD_T / 2, side / 2, a), (-BOLT_HEAD_T / 2, 0, 0),
                 _axis_quat((1, 0, 0), k * math.pi / 3), fill=0.5) for k in range(3)]
    shaft = Prim("cylinder", (BOLT_SHAFT_D / 2, BOLT_SHAFT_L), (BOLT_SHAFT_L / 2, 0, 0),
                 _axis_quat((0, 1, 0), math.pi / 2))
    com = centre_of_mass(head + [shaft])
    prims = centred(head + [shaft])
    tilt = math.atan2(a - BOLT_SHAFT_D / 2, BOLT_SHAFT_L)
    grasp = np.array([BOLT_SHAFT_L / 2, 0, 0]) - com  # middle of the shaft, fingers across its diameter
    return _make_type("bolt", prims, (0.72, 0.73, 0.75, 1.0), _axis_quat((0, 1, 0), tilt), 0.0104,
                      grasp, (0, 1, 0), BOLT_SHAFT_D)


# ----------------------------------------------------------------------------------------------------- nut
NUT_AF, NUT_T, NUT_HOLE = 0.030, 0.016, 0.020


def make_nut() -> PartType:
    """M20 hex nut: six boxes around z; the hole is a hexagon whose inscribed circle is 20 mm. Lies on a face."""
    prims = _ring(6, NUT_HOLE / 2, NUT_AF / 2, NUT_T / 2)
    # grasp across the two flats normal to x (the ray from outside meets the outer flat before the hole)
    return _make_type("nut", prims, (0.86, 0.76, 0.36, 1.0), IDENTITY_QUAT, 0.0080, (0, 0, 0), (1, 0, 0), NUT_AF)


# ---------------------------------------------------------------------------------------------------- gear
GEAR_TIP_D, GEAR_T, GEAR_TEETH = 0.070, 0.012, 16
GEAR_MODULE = GEAR_TIP_D / (GEAR_TEETH + 2)
GEAR_ROOT_R = GEAR_MODULE * (GEAR_TEETH - 2.5) / 2
GEAR_TOOTH_W = math.pi * GEAR_MODULE / 2  # tooth thickness on the pitch circle


def make_gear(bore: float = 0.016) -> PartType:
    """Spur gear, 70 mm tip diameter, 12 mm thick, 16 teeth (module ~3.9 mm), a tooth on +x and one on -x.

    PyBullet keeps at most 16 children of a compound shape (it silently drops the rest), so:
    bore > 0: 16 radial boxes, each a hub sector plus its tooth, running from the bore to the tip circle; they
    tile a ring solid out to the root circle and leave a 16-gon hole along z whose inscribed circle has diameter
    `bore` (a shaft of exactly that diameter fits with zero clearance). The teeth are as wide as a sector at
    the root (~10 mm), so the tooth gaps are narrow V notches. bore == 0: a solid cylinder hub plus 8 boxes
    across the full tip diameter, each giving two teeth of the pitch-circle tooth thickness (~6 mm).
    """
    half_t, r_tip = GEAR_T / 2, GEAR_TIP_D / 2
    n = GEAR_TEETH
    prims = []
    if bore > 0:
        half_w = GEAR_ROOT_R * math.sin(math.pi / n)
        length = r_tip - bore / 2
        for k in range(n):
            a = 2 * math.pi * k / n
            rc = (bore / 2 + r_tip) / 2
            prims.append(Prim("box", (length / 2, half_w, half_t), (rc * math.cos(a), rc * math.sin(a), 0.0),
                              _axis_quat((0, 0, 1), a)))
        fill = _union_area(prims) / sum(4 * q.size[0] * q.size[1] for q in prims)
        prims = [replace(q, fill=fill) for q in prims]
    else:
        prims.append(Prim("cylinder", (GEAR_ROOT_R, GEAR_T), (0.0, 0.0, 0.0)))
        for k in range(n // 2):
            a = 2 * math.pi * k / n
            prims.append(Prim("box", (r_tip, GEAR_TOOTH_W / 2, half_t), (0.0, 0.0, 0.0), _axis_quat((0, 0, 1), a),
                              fill=(r_tip - GEAR_ROOT_R) / r_tip))  # only the two tooth ends add material
    name = "gear" if bore == 0.016 else ("gear_solid" if bore <= 0 else f"gear_bore{bore * 1000:g}mm")
    # grasp across the tips of the teeth on +x and -x, at mid thickness
    return _make_type(name, prims, (0.22, 0.23, 0.25, 1.0), IDENTITY_QUAT, 0.0060, (0, 0, 0), (1, 0, 0), GEAR_TIP_D)


def _union_area(prims: Sequence[Prim], step: float = 2e-4) -> float:
    """Area of the xy-union of z-rotated boxes (rasterised; used once per gear type for its mass)."""
    pts = np.concatenate([q.points() for q in prims])
    xs = np.arange(pts[:, 0].min(), pts[:, 0].max(), step)
    ys = np.arange(pts[:, 1].min(), pts[:, 1].max(), step)
    gx, gy = np.meshgrid(xs, ys)
    xy = np.stack([gx.ravel(), gy.ravel()], axis=1)
    inside = np.zeros(len(xy), dtype=bool)
    for q in prims:
        r = geometry.quat_to_matrix(q.quat)[:2, :2]
        local = (xy - np.asarray(q.pos[:2])) @ r
        inside |= (np.abs(local[:, 0]) <= q.size[0]) & (np.abs(local[:, 1]) <= q.size[1])
    return float(inside.sum() * step * step)


# ------------------------------------------------------------------------------------------------- bracket
BRACKET_T, BRACKET_W, BRACKET_BASE_L, BRACKET_UP_H = 0.004, 0.040, 0.060, 0.040


def make_bracket() -> PartType:
    """L-bracket, 4 mm steel, 40 mm wide (y): 60 mm base leg along +x, 40 mm upright leg at its -x end.

    Grasp: across the 40 mm width of the upright leg (fingers close along y), 10 mm below its top edge,
    so the fingertips stay ~25 mm clear of the surface the bracket lies on.
    """
    t, w = BRACKET_T, BRACKET_W
    base = Prim("box", (BRACKET_BASE_L / 2, w / 2, t / 2), (BRACKET_BASE_L / 2, 0, t / 2))
    up = Prim("box", (t / 2, w / 2, (BRACKET_UP_H - t) / 2), (t / 2, 0, t + (BRACKET_UP_H - t) / 2))
    com = centre_of_mass([base, up])
    grasp = np.array([t / 2, 0, BRACKET_UP_H - 0.010]) - com
    return _make_type("bracket", centred([base, up]), (0.13, 0.30, 0.62, 1.0), IDENTITY_QUAT, 0.0095,
                      grasp, (0, 1, 0), w)


PARTS: dict[str, PartType] = {t.name: t for t in (make_bolt(), make_nut(), make_gear(), make_bracket())}
