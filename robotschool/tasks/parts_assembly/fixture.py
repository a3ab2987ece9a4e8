"""The assembly fixture (a base plate with vertical shafts, each on a shoulder collar) and the bored gear.

Why a builder of its own: the shared asset builders make boxes only, and a shaft is a true cylinder (PyBullet's
cylinder collision shape), so a bored gear slides down it with exactly the radial clearance drawn for the
episode and comes to rest on the collar: the seated height is a property of the geometry, not a number the
success check trusts.

Fixture frame: origin on the bench surface under the plate centre; shafts stand along the fixture's y axis
(shaft k at y = `shaft_y[k]`), their axes along +z; yaw about world z. Sizes in metres.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from robotschool.sim.parts import MAX_CHILDREN, PARTS, PartType, make_gear

FIXTURE_RGBA = (0.45, 0.47, 0.50, 1.0)
SHAFT_RGBA = (0.80, 0.80, 0.82, 1.0)


@dataclass(frozen=True)
class FixtureGeometry:
    """Plate, collars and shafts of one fixture. `shaft_radius` is the bore radius less the radial clearance."""

    plate: tuple[float, float, float]     # full size x, y, z (thickness)
    shaft_y: tuple[float, ...]            # shaft positions along the fixture's y axis
    collar_radius: float
    collar_height: float
    shaft_radius: float
    shaft_length: float                   # above the collar

    @property
    def collar_top(self) -> float:
        """Height of the seat (collar top face) above the bench surface."""
        return self.plate[2] + self.collar_height

    @property
    def shaft_top(self) -> float:
        return self.collar_top + self.shaft_length

    def shaft_local(self, k: int) -> tuple[float, float]:
        """Shaft k's axis in the fixture frame (x, y)."""
        return 0.0, self.shaft_y[k]


def build_fixture(p, geo: FixtureGeometry, pos: Sequence[float], yaw: float, friction: float = 0.5) -> int:
    """One static body: plate (box) + per shaft a collar and a shaft (cylinders). Returns the body id."""
    px, py, pz = (v / 2 for v in geo.plate)
    shapes = [(p.GEOM_BOX, [px, py, pz], 0.0, 0.0, [0.0, 0.0, pz])]
    for y in geo.shaft_y:
        shapes.append((p.GEOM_CYLINDER, [0, 0, 0], geo.collar_radius, geo.collar_height,
                       [0.0, y, geo.plate[2] + geo.collar_height / 2]))
        shapes.append((p.GEOM_CYLINDER, [0, 0, 0], geo.shaft_radius, geo.shaft_length,
                       [0.0, y, geo.collar_top + geo.shaft_length / 2]))
    if len(shapes) > MAX_CHILDREN:
        raise ValueError(f"{len(shapes)} fixture shapes; PyBullet compounds keep at most {MAX_CHILDREN}")
    kw = dict(shapeTypes=[s[0] for s in shapes], halfExtents=[s[1] for s in shapes], radii=[s[2] for s in shapes],
              lengths=[s[3] for s in shapes])
    col = p.createCollisionShapeArray(**kw, collisionFramePositions=[s[4] for s in shapes])
    vis = p.createVisualShapeArray(**kw, visualFramePositions=[s[4] for s in shapes])
    body = p.createMultiBody(baseMass=0.0, baseCollisionShapeIndex=col, baseVisualShapeIndex=vis,
                             basePosition=list(pos), baseOrientation=[0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)])
    p.changeVisualShape(body, -1, rgbaColor=list(FIXTURE_RGBA), specularColor=[0.3, 0.3, 0.3])
    p.changeDynamics(body, -1, lateralFriction=friction)
    return body


@lru_cache(maxsize=8)
def bored_gear(bore: float) -> PartType:
    """The catalogue 70 mm spur gear with a bore of `bore` metres (the shared `gear` part when it is 16 mm)."""
    if abs(bore - 0.016) < 1e-9:
        return PARTS["gear"]
    return make_gear(bore)
