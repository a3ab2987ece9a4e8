"""Cameras mounted on robot links, rendered with PyBullet's CPU TinyRenderer (no display needed).

Rendered at the control rate only (a 128 px frame costs ~8 ms here; at the 240 Hz physics rate it would
dominate everything). Depth is returned in metres (linearised from the z-buffer).
"""
from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True, eq=False)
class View:
    """One depth frame from a robot camera and what the robot knows about that camera: its pose in the robot
    base frame from the kinematics (the mount's nominal pose: an episode's drawn calibration error is in the
    image, not here) and its intrinsics (vertical field of view in degrees, near/far planes in metres).

    A scripted operator that looks (e.g. finds empty shelf slots) gets one of these from `RobotEnv.look`."""

    rgb: np.ndarray             # (H, W, 3) uint8
    depth: np.ndarray           # (H, W) float32, metres along the optical axis
    pose: Pose                  # camera frame in the robot base frame
    forward: tuple[float, float, float]   # optical axis in the camera frame
    up: tuple[float, float, float]        # image up in the camera frame
    fov: float

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pixel column, row (float) and optical-axis depth (m) of (N, 3) points given in the robot base frame,
        with the same view and projection `render` uses."""
        r = self.pose.rot
        f = r @ np.asarray(self.forward, dtype=np.float64)
        right = np.cross(f, r @ np.asarray(self.up, dtype=np.float64))
        right /= np.linalg.norm(right)
        up = np.cross(right, f)
        d = np.asarray(points, dtype=np.float64).reshape(-1, 3) - self.pose.pos
        z, x, y = d @ f, d @ right, d @ up
        h, w = self.depth.shape
        t = np.tan(np.radians(self.fov) / 2)
        col = (0.5 + x / (z * t * w / h) / 2) * w
        row = (0.5 - y / (z * t) / 2) * h
        return col, row, z
