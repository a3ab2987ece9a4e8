"""Cameras mounted on robot links, rendered with PyBullet's CPU TinyRenderer (no display needed).

Rendered at the control rate only (a 128 px frame costs ~8 ms here; at the 240 Hz physics rate it would
dominate everything). Depth is returned in metres (linearised from the z-buffer).
"""
from __future__ import annotations

import numpy as np

from robotschool.types import Pose


def render(p, eye_pose: Pose, forward_local, up_local, fov: float, width: int, height: int,
           near: float, far: float, depth: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """RGB uint8 (H, W, 3) and optionally depth float32 (H, W) from a camera at `eye_pose` (world frame)."""
    r = eye_pose.rot
    eye = eye_pose.pos
    target = eye + r @ np.asarray(forward_local, dtype=np.float64)
    up = r @ np.asarray(up_local, dtype=np.float64)
    view = p.computeViewMatrix(eye.tolist(), target.tolist(), up.tolist())
    proj = p.computeProjectionMatrixFOV(fov, width / height, near, far)
    flags = 0 if depth else p.ER_NO_SEGMENTATION_MASK
    _, _, rgba, zbuf, _ = p.getCameraImage(width, height, view, proj, renderer=p.ER_TINY_RENDERER, flags=flags,
                                           shadow=0)
    rgb = np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[:, :, :3].copy()
    d = None
    if depth:
        z = np.asarray(zbuf, dtype=np.float64).reshape(height, width)
        d = (far * near / (far - (far - near) * z)).astype(np.float32)
    return rgb, d
