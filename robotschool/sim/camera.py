"""Cameras mounted on robot links, rendered with PyBullet's CPU TinyRenderer (no display needed).

Rendered at the control rate only (a 128 px frame costs ~8 ms here; at the 240 Hz physics rate it would
dominate everything). Depth is returned in metres (linearised from the z-buffer).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from robotschool.sim import appearance
from robotschool.types import Pose


def render(p, eye_pose: Pose, forward_local, up_local, fov: float, width: int, height: int,
           near: float, far: float, depth: bool = False,
           light: Mapping[str, Any] | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """RGB uint8 (H, W, 3) and optionally depth float32 (H, W) from a camera at `eye_pose` (world frame).

    `light`: TinyRenderer lighting arguments of `getCameraImage` (lightDirection, lightColor,
    lightAmbientCoeff, lightDiffuseCoeff), e.g. an episode's drawn appearance (sim/appearance.py);
    None or empty keeps PyBullet's default lighting."""
    r = eye_pose.rot
    eye = eye_pose.pos
    target = eye + r @ np.asarray(forward_local, dtype=np.float64)
    up = r @ np.asarray(up_local, dtype=np.float64)
    view = p.computeViewMatrix(eye.tolist(), target.tolist(), up.tolist())
    proj = p.computeProjectionMatrixFOV(fov, width / height, near, far)
    flags = 0 if depth else p.ER_NO_SEGMENTATION_MASK
    _, _, rgba, zbuf, _ = p.getCameraImage(width, height, view, proj, renderer=p.ER_TINY_RENDERER, flags=flags,
                                           shadow=0, **dict(light or {}))
    rgb = np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[:, :, :3].copy()
    d = None
    if depth:
        z = np.asarray(zbuf, dtype=np.float64).reshape(height, width)
        d = (far * near / (far - (far - near) * z)).astype(np.float32)
    return rgb, d


def episode_view(params: Mapping[str, Any] | None, eye: Pose) -> tuple[Pose, dict[str, Any]]:
    """An episode's drawn appearance applied to a camera: its jittered pose (world frame) and the `light`
    arguments for `render` (sim/appearance.py). Without drawn values: `eye` unchanged, default light."""
    drawn = (params or {}).get(appearance.PARAMS_KEY) or {}
    cam = drawn.get("camera")
    if cam:
        eye = eye.compose(Pose(cam["position"], appearance.euler_quat(*cam["rotation"])))
    light = drawn.get("light")
    kwargs = {} if not light else {"lightDirection": light["direction"], "lightColor": light["color"],
                                   "lightAmbientCoeff": light["ambient"], "lightDiffuseCoeff": light["diffuse"]}
    return eye, kwargs
