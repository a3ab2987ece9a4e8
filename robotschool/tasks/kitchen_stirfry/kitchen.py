"""Builders of the stir-fry station's bodies: a flat-bottomed wok, a turner spatula and food slices.

Why a module of its own: the shared asset builders make compounds of boxes, and two shapes here need more.
A food slice is a convex hull with chamfered edges (a real slice is not a sharp box), which is what lets a
thin spatula edge pressed onto the wok floor ride under it instead of only pushing it. The spatula (a turner)
is a multibody: a wedge-tipped blade (convex hull) as its base, a bent neck and an offset handle rising behind
it (so the handle clears the wok's rim while the blade lies on the floor), all rigidly joined.

Frames (metres): wok origin at the centre of its floor's top surface; spatula origin at the centre of the
blade's underside, x toward the tip, y to its left, z up (the handle rises toward -x); a slice's origin at
its centre, its thin axis along local z (the two sides of the heat model are its -z and +z faces).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from robotschool import geometry
from robotschool.types import Pose

WOK_RGBA = (0.18, 0.18, 0.20, 1.0)
BLADE_RGBA = (0.75, 0.76, 0.78, 1.0)
HANDLE_RGBA = (0.35, 0.22, 0.12, 1.0)
STOVE_RGBA = (0.12, 0.12, 0.13, 1.0)


@dataclass(frozen=True)
class WokGeometry:
    floor_radius: float          # flat bottom
    depth: float                 # rim height above the floor
    wall_angle: float            # wall slope from horizontal (rad)
    thickness: float = 0.008
    segments: int = 12

    @property
    def rim_radius(self) -> float:
        return self.floor_radius + self.depth / math.tan(self.wall_angle)


@dataclass(frozen=True)
class SpatulaGeometry:
    blade: tuple[float, float, float]   # length (x), width (y), thickness
    taper: float                        # length of the wedge at the tip (m)
    neck_length: float                   # a bent neck lifts the handle above the wok's rim
    neck_angle: float                    # rise of the neck behind the blade (rad)
    handle_length: float
    handle_section: tuple[float, float]  # y (pinched between the fingers), z
    handle_angle: float                  # rise of the handle behind the neck (rad)
    grip: float                          # grasp point: this far along the handle from the neck

    @staticmethod
    def _axis(angle: float) -> np.ndarray:
        return np.array([-math.cos(angle), 0.0, math.sin(angle)])

    def neck_start(self) -> np.ndarray:
        return np.array([-self.blade[0] / 2, 0.0, self.blade[2] + self.handle_section[1] / 2])

    def handle_start(self) -> np.ndarray:
        return self.neck_start() + self._axis(self.neck_angle) * self.neck_length

    def handle_axis(self) -> np.ndarray:
        """Unit vector along the handle, away from the blade (spatula frame)."""
        return self._axis(self.handle_angle)

    def grasp_in_spatula(self) -> Pose:
        """The hand (TCP) pose that holds the handle, in the spatula frame: fingers closing across the handle,
        hand x along the handle away from the blade (toward the holder), fingers down onto it."""
        pos = self.handle_start() + self.handle_axis() * self.grip
        rot = geometry.axis_angle_matrix([0.0, 0.0, 1.0], math.pi) @ geometry.axis_angle_matrix([0.0, 1.0, 0.0],
                                                                                               -self.handle_angle)
        return Pose.from_matrix(pos, rot)


def build_stove(p, pos: Sequence[float], size: Sequence[float]) -> int:
    """A cooktop block (static): its top face at pos z + size z."""
    half = [size[0] / 2, size[1] / 2, size[2] / 2]
    col = p.createCollisionShape(p.GEOM_BOX, halfExtents=half)
    vis = p.createVisualShape(p.GEOM_BOX, halfExtents=half, rgbaColor=list(STOVE_RGBA))
    return p.createMultiBody(0.0, col, vis, [pos[0], pos[1], pos[2] + half[2]])


def build_wok(p, geo: WokGeometry, pos: Sequence[float], friction: float) -> int:
    """Static wok: a disc floor and a ring of sloped wall plates (one compound, at most 16 children)."""
    t = geo.thickness
    shapes = [(p.GEOM_CYLINDER, [0, 0, 0], geo.floor_radius + 0.005, t, [0.0, 0.0, -t / 2], [0, 0, 0, 1])]
    slope = geo.depth / math.sin(geo.wall_angle)
    mid_r = geo.floor_radius + slope / 2 * math.cos(geo.wall_angle)
    width = 2 * math.pi * (geo.floor_radius + slope * math.cos(geo.wall_angle)) / geo.segments * 1.05
    for k in range(geo.segments):
        phi = 2 * math.pi * k / geo.segments
        rot = geometry.axis_angle_matrix([0, 0, 1], phi) @ geometry.axis_angle_matrix([0, 1, 0], -geo.wall_angle)
        inward = rot[:, 2]
        centre = np.array([mid_r * math.cos(phi), mid_r * math.sin(phi), slope / 2 * math.sin(geo.wall_angle)])
        centre = centre - inward * t / 2
        shapes.append((p.GEOM_BOX, [slope / 2 + t, width / 2, t / 2], 0.0, 0.0, centre.tolist(),
                       geometry.matrix_to_quat(rot).tolist()))
    kw = dict(shapeTypes=[s[0] for s in shapes], halfExtents=[s[1] for s in shapes], radii=[s[2] for s in shapes],
              lengths=[s[3] for s in shapes])
    col = p.createCollisionShapeArray(**kw, collisionFramePositions=[s[4] for s in shapes],
                                      collisionFrameOrientations=[s[5] for s in shapes])
    vis = p.createVisualShapeArray(**kw, visualFramePositions=[s[4] for s in shapes],
                                   visualFrameOrientations=[s[5] for s in shapes])
    body = p.createMultiBody(0.0, col, vis, list(pos))
    p.changeVisualShape(body, -1, rgbaColor=list(WOK_RGBA), specularColor=[0.4, 0.4, 0.4])
    p.changeDynamics(body, -1, lateralFriction=friction)
    return body


def _slab_vertices(sx: float, sy: float, sz: float, chamfer: float) -> list[list[float]]:
    c = min(chamfer, sz / 2 - 1e-4, sx / 2 - 1e-4, sy / 2 - 1e-4)
    out = []
    for z, inset in ((-sz / 2, c), (-sz / 2 + c, 0.0), (sz / 2 - c, 0.0), (sz / 2, c)):
        hx, hy = sx / 2 - inset, sy / 2 - inset
        out += [[hx, hy, z], [-hx, hy, z], [hx, -hy, z], [-hx, -hy, z]]
    return out


def build_piece(p, size: Sequence[float], chamfer: float, pos: Sequence[float], quat: Sequence[float],
                mass: float, friction: float, stiffness: float, damping: float, rgba: Sequence[float]) -> int:
    """A food slice: chamfered convex slab, with its own friction and contact softness."""
    verts = _slab_vertices(size[0], size[1], size[2], chamfer)
    col = p.createCollisionShape(p.GEOM_MESH, vertices=verts)
    vis = p.createVisualShape(p.GEOM_BOX, halfExtents=[v / 2 for v in size], rgbaColor=list(rgba))
    body = p.createMultiBody(mass, col, vis, list(pos), list(quat))
    p.changeDynamics(body, -1, lateralFriction=friction, contactStiffness=stiffness, contactDamping=damping,
                     rollingFriction=0.0, spinningFriction=0.001)
    return body


def build_spatula(p, geo: SpatulaGeometry, pos: Sequence[float], quat: Sequence[float], mass: float,
                  friction: float) -> int:
    """The turner: blade (base, wedge tip at +x) + neck + handle, rigid. Most of the mass in the blade, so it
    rests on its blade with the handle in the air."""
    L, W, T = geo.blade
    taper = min(geo.taper, L / 2)
    blade = []
    for y in (-W / 2, W / 2):
        blade += [[-L / 2, y, 0.0], [-L / 2, y, T], [L / 2 - taper, y, T], [L / 2, y, 0.0]]
    blade_col = p.createCollisionShape(p.GEOM_MESH, vertices=blade)
    blade_vis = p.createVisualShape(p.GEOM_BOX, halfExtents=[L / 2, W / 2, T / 2], visualFramePosition=[0, 0, T / 2],
                                    rgbaColor=list(BLADE_RGBA))
    hy, hz = geo.handle_section
    h_half = [geo.handle_length / 2, hy / 2, hz / 2]
    h_col = p.createCollisionShape(p.GEOM_BOX, halfExtents=h_half)
    h_vis = p.createVisualShape(p.GEOM_BOX, halfExtents=h_half, rgbaColor=list(HANDLE_RGBA))
    h_centre = geo.handle_start() + geo.handle_axis() * geo.handle_length / 2
    h_quat = geometry.matrix_to_quat(geometry.axis_angle_matrix([0, 1, 0], geo.handle_angle)).tolist()
    n_half = [geo.neck_length / 2, 0.006, 0.002]
    n_col = p.createCollisionShape(p.GEOM_BOX, halfExtents=n_half)
    n_vis = p.createVisualShape(p.GEOM_BOX, halfExtents=n_half, rgbaColor=list(BLADE_RGBA))
    n_centre = geo.neck_start() + SpatulaGeometry._axis(geo.neck_angle) * geo.neck_length / 2
    n_quat = geometry.matrix_to_quat(geometry.axis_angle_matrix([0, 1, 0], geo.neck_angle)).tolist()
    links = [(n_centre.tolist(), n_quat, n_col, n_vis, 0.05),
             (h_centre.tolist(), h_quat, h_col, h_vis, 0.15)]
    body = p.createMultiBody(
        baseMass=mass * 0.8, baseCollisionShapeIndex=blade_col, baseVisualShapeIndex=blade_vis,
        basePosition=list(pos), baseOrientation=list(quat), baseInertialFramePosition=[0, 0, T / 2],
        linkMasses=[mass * f for *_, f in links], linkCollisionShapeIndices=[lk[2] for lk in links],
        linkVisualShapeIndices=[lk[3] for lk in links], linkPositions=[lk[0] for lk in links],
        linkOrientations=[lk[1] for lk in links], linkInertialFramePositions=[[0, 0, 0]] * len(links),
        linkInertialFrameOrientations=[[0, 0, 0, 1]] * len(links), linkParentIndices=[0] * len(links),
        linkJointTypes=[p.JOINT_FIXED] * len(links), linkJointAxis=[[0, 0, 1]] * len(links))
    for link in range(-1, len(links)):
        p.changeDynamics(body, link, lateralFriction=friction)
    return body
