"""Gap detection: which shelf slots are empty, from one head-camera depth image.

What it may use is what a store robot has: the depth image, the camera's pose and intrinsics from its own
kinematics (`sim.camera.View`), and the planogram (`ShelfGeometry`: where each slot is on the shelf) with the
shelf's pose. It never sees the simulator's bodies.

How: each slot's volume is probed at a small grid of 3D points just above the slot's floor, around its
centre (where any item standing in the slot is). For each probe the image says how far the first surface is
along the ray through that point. If something stands in the slot, the ray meets it at or in front of the
probe; if the slot is empty the ray passes the probe and ends on the board behind it or the riser at the back
(several centimetres further: the camera looks down at the shelf). A slot is occupied when enough of its
visible probes are blocked. Probes outside the image or hidden behind something much nearer than the shelf
(a hand in the way) do not vote; a slot with too few voting probes is reported as unknown (None).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robotschool.sim.camera import View
from robotschool.tasks.shelf_restock.shelf import ShelfGeometry
from robotschool.types import Pose


@dataclass(frozen=True)
class GapDetectorSettings:
    probe_heights: tuple[float, ...] = (0.025, 0.045, 0.065)   # above the slot floor (m)
    probe_dx: tuple[float, ...] = (-0.012, 0.0, 0.012)          # along the slot depth, from its centre (m)
    probe_dy: tuple[float, ...] = (-0.008, 0.0, 0.008)          # across the slot (m)
    margin: float = 0.015             # a surface this much beyond a probe along its ray: the probe is free (m)
    occluder: float = 0.25            # a surface this much nearer than a probe: something in front of the shelf
    occupied_fraction: float = 0.4    # of the voting probes blocked: the slot is occupied
    min_votes: int = 6                # fewer visible probes: unknown


def slot_probes(geo: ShelfGeometry, shelf: Pose, k: int, s: GapDetectorSettings) -> np.ndarray:
    """Probe points of slot k in the frame `shelf` is given in (the robot base frame)."""
    c = geo.slot_centre(k)
    local = np.array([[c[0] + dx, c[1] + dy, c[2] + h] for h in s.probe_heights for dx in s.probe_dx
                      for dy in s.probe_dy])
    return local @ shelf.rot.T + shelf.pos


def slot_occupancy(view: View, geo: ShelfGeometry, shelf: Pose,
                   settings: GapDetectorSettings | None = None) -> list[bool | None]:
    """Per slot: True occupied, False empty, None not seen well enough to tell. `shelf` is the shelf frame
    in the robot base frame (the frame of `view.pose`)."""
    s = settings or GapDetectorSettings()
    h, w = view.depth.shape
    out: list[bool | None] = []
    for k in range(geo.slots):
        col, row, z = view.project(slot_probes(geo, shelf, k, s))
        ci, ri = np.floor(col).astype(int), np.floor(row).astype(int)
        inside = (z > 0) & (ci >= 0) & (ci < w) & (ri >= 0) & (ri < h)
        if not inside.any():
            out.append(None)
            continue
        seen = view.depth[ri[inside], ci[inside]].astype(np.float64)
        expected = z[inside]
        voting = seen > expected - s.occluder
        if int(voting.sum()) < s.min_votes:
            out.append(None)
            continue
        blocked = seen[voting] < expected[voting] + s.margin
        out.append(bool(blocked.mean() >= s.occupied_fraction))
    return out


def find_gaps(view: View, geo: ShelfGeometry, shelf: Pose, settings: GapDetectorSettings | None = None) -> list[int]:
    """Indices of the slots seen empty (slots not seen well enough are left out: look again from elsewhere)."""
    return [k for k, occ in enumerate(slot_occupancy(view, geo, shelf, settings)) if occ is False]


__all__ = ["GapDetectorSettings", "find_gaps", "slot_occupancy", "slot_probes"]
