"""The stepped supermarket shelf (its planogram geometry and builder) and the goods (cans, boxes, bags).

Why a stepped shelf: a hand held fingers-down must reach every slot from above, so each level sits one step
further back and higher than the one below (a tiered display gondola); no board hangs over a slot, and a head
camera looking down at it sees every slot's floor and the riser behind it (the "back wall" of the slot).

Shelf frame: origin on the floor under the centre of the lowest board's front edge; x into the shelf (away
from the robot), y to the robot's left, z up; yaw about world z. Level L's board spans x in
[L * step, (L + 1) * step] with its top at `levels[L]`; slot k is level k // columns, column k % columns, and
column 0 is the leftmost (largest y). Sizes in metres.

Goods frame: origin at the centre of the item's bounding box (its centre of mass up to the bag's rounded
top), z up when the item stands upright; the fingers close along the item's y axis (its thin side).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from robotschool.sim import assets
from robotschool.sim.parts import Prim, build_compound

BOARD_T = 0.02          # board thickness
RISER_T = 0.012         # riser (the vertical panel behind each level) thickness
BACK_HEIGHT = 0.22      # back panel above the top board
KICK_RECESS = 0.10      # the plinth under the lowest board stands this far back (room for feet and wheels)
LABEL_HEIGHT = 0.014    # label strip on each board's front edge


@dataclass(frozen=True)
class ShelfGeometry:
    """The planogram: where each slot is in the shelf frame."""

    levels: tuple[float, ...]        # board top heights (m)
    columns: int
    pitch: float                     # slot width along y
    step: float                      # slot depth along x (and how far each level sits behind the one below)

    @property
    def slots(self) -> int:
        return len(self.levels) * self.columns

    @property
    def width(self) -> float:
        return self.columns * self.pitch + 0.02

    def level(self, k: int) -> int:
        return k // self.columns

    def slot_centre(self, k: int) -> np.ndarray:
        """Centre of slot k's floor (on the board top), shelf frame."""
        lv, col = divmod(k, self.columns)
        return np.array([(lv + 0.5) * self.step, ((self.columns - 1) / 2 - col) * self.pitch, self.levels[lv]])


def shelf_to_world(pose: Sequence[float], local: Sequence[float]) -> np.ndarray:
    """A point in the shelf frame given by pose (x, y, yaw), in the world."""
    x, y, yaw = pose
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([x + c * local[0] - s * local[1], y + s * local[0] + c * local[1], local[2]])


def build_shelf(p, geo: ShelfGeometry, pose: Sequence[float], rgba: Sequence[float]) -> int:
    """One static body: boards, the risers between them, a back panel and a recessed plinth."""
    half_w = geo.width / 2
    boxes = []
    top = len(geo.levels) - 1
    for lv, z in enumerate(geo.levels):
        x0, x1 = lv * geo.step, (lv + 1) * geo.step
        boxes.append(((geo.step / 2, half_w, BOARD_T / 2), ((x0 + x1) / 2, 0.0, z - BOARD_T / 2)))
        z_hi = geo.levels[lv + 1] - BOARD_T if lv < top else z + BACK_HEIGHT
        z_lo = z - BOARD_T if lv < top else 0.0
        boxes.append(((RISER_T / 2, half_w, (z_hi - z_lo) / 2), (x1 + RISER_T / 2, 0.0, (z_hi + z_lo) / 2)))
    z0 = geo.levels[0] - BOARD_T
    boxes.append(((0.01, half_w, z0 / 2), (KICK_RECESS, 0.0, z0 / 2)))                 # plinth front
    for sy in (-1, 1):                                                                  # end panels, low
        boxes.append(((geo.step * (top + 1) / 2 - KICK_RECESS / 2, 0.01, z0 / 2),
                      ((geo.step * (top + 1) + KICK_RECESS) / 2, sy * (half_w - 0.01), z0 / 2)))
    return assets._static_boxes(p, boxes, (pose[0], pose[1], 0.0), pose[2], rgba)


def build_labels(p, geo: ShelfGeometry, pose: Sequence[float], rgbas: Sequence[Sequence[float]]) -> list[int]:
    """Visual-only coloured label strips on the front edge of each slot's board (one body per slot)."""
    out = []
    quat = [0.0, 0.0, math.sin(pose[2] / 2), math.cos(pose[2] / 2)]
    for k, rgba in enumerate(rgbas):
        c = geo.slot_centre(k)
        local = [c[0] - geo.step / 2 - 0.001, c[1], c[2] - BOARD_T / 2]
        vis = p.createVisualShape(p.GEOM_BOX, halfExtents=[0.001, 0.4 * geo.pitch, LABEL_HEIGHT / 2],
                                  rgbaColor=list(rgba), specularColor=[0.05, 0.05, 0.05])
        out.append(p.createMultiBody(baseMass=0.0, baseCollisionShapeIndex=-1, baseVisualShapeIndex=vis,
                                     basePosition=shelf_to_world(pose, local).tolist(), baseOrientation=quat))
    return out


# -- goods -----------------------------------------------------------------------------------------------------
def goods_prims(shape: str, size: Sequence[float]) -> list[Prim]:
    """Child shapes of one item. size: can (radius, height); box (depth x, width y, height); bag (width x,
    thickness y, height: a flat pouch whose top is rounded, a cylinder along x)."""
    if shape == "can":
        r, h = size
        return [Prim("cylinder", (r, h), (0.0, 0.0, 0.0))]
    if shape == "box":
        dx, dy, h = size
        return [Prim("box", (dx / 2, dy / 2, h / 2), (0.0, 0.0, 0.0))]
    if shape == "bag":
        dx, dy, h = size
        r = dy / 2
        body = h - r
        along_x = (0.0, math.sin(math.pi / 4), 0.0, math.cos(math.pi / 4))
        return [Prim("box", (dx / 2, r, body / 2), (0.0, 0.0, -h / 2 + body / 2)),
                Prim("cylinder", (r, dx), (0.0, 0.0, h / 2 - r), along_x)]
    raise ValueError(f"unknown goods shape {shape!r}; use can, box or bag")


def goods_height(shape: str, size: Sequence[float]) -> float:
    return float(size[-1])


def goods_width(shape: str, size: Sequence[float]) -> float:
    """Extent along the item's y axis (the fingers' closing direction)."""
    return float(2 * size[0] if shape == "can" else size[1])


def build_goods(p, shape: str, size: Sequence[float], pos: Sequence[float], yaw: float, mass: float,
                rgba: Sequence[float], friction: float) -> int:
    quat = (0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2))
    return build_compound(p, goods_prims(shape, size), pos, quat, mass, rgba, friction)
