"""Appearance randomisation: object colours, light and camera pose jitter, for every scene alike.

Every scene YAML may have an `appearance:` section (`AppearanceConfig`, part of the generic `SceneConfig`):

    appearance:
      object_color: 0.15              # each object's RGB scaled per channel by uniform(1 - a, 1 + a)
      light_direction: [0.3, -0.4, 1] # towards the light, world frame; null = PyBullet's default lighting
      light_direction_jitter: 0.3     # uniform +- added to each component of the unit direction
      light_color: [0.85, 1.0]        # per-channel factor range on white light
      ambient: [0.5, 0.7]             # TinyRenderer ambient coefficient range
      diffuse: [0.3, 0.5]             # TinyRenderer diffuse coefficient range
      camera_position: 0.005          # metres, uniform +- per axis, in the camera's own frame
      camera_rotation: 0.02           # radians, uniform +- about each camera axis

The defaults switch everything off (a scene without the section renders exactly as before).

Why it cannot change physics: the values are drawn from their own random stream (`appearance_rng`: a child
of the episode's seed sequence that never advances the episode's generator), so the layout, masses and the
scripted operator draw exactly what they drew without it; and they only reach `changeVisualShape` and the
camera renderer, never a body, joint or contact. A replay with the same seed is bit-identical.

The drawn values (`sample`) are plain JSON and live in the episode's scene_params under "appearance", so
re-rendering a stored episode reproduces its images. Object colours are applied at build (`apply_colors`,
from tasks/base.py); light and camera offset at render (sim/camera.py `episode_view`). The camera offset is
one draw per episode applied to every camera in its own frame (a mount calibration error).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robotschool.config import check
from robotschool.errors import ConfigError

PARAMS_KEY = "appearance"          # key of the drawn values in scene_params
_SPAWN_KEY = 0x61707065            # "appe": the child seed sequence's spawn key (any fixed value would do)


@dataclass(frozen=True)
class AppearanceConfig:
    object_color: float = field(default=0.0, metadata=check(lo=0.0, hi=1.0))
    light_direction: list[float] | None = field(default=None, metadata=check(length=3))
    light_direction_jitter: float = field(default=0.0, metadata=check(lo=0.0, hi=2.0))
    light_color: list[float] = field(default_factory=lambda: [1.0, 1.0], metadata=check(lo=0.0, hi=1.0, length=2))
    ambient: list[float] = field(default_factory=lambda: [0.6, 0.6], metadata=check(lo=0.0, hi=1.0, length=2))
    diffuse: list[float] = field(default_factory=lambda: [0.35, 0.35], metadata=check(lo=0.0, hi=1.0, length=2))
    camera_position: float = field(default=0.0, metadata=check(lo=0.0, hi=0.1))
    camera_rotation: float = field(default=0.0, metadata=check(lo=0.0, hi=0.5))

    def __post_init__(self) -> None:
        for name in ("light_color", "ambient", "diffuse"):
            lo, hi = getattr(self, name)
            if lo > hi:
                raise ConfigError(f"key 'appearance.{name}': [{lo}, {hi}] is not a range; give [low, high]")
        if self.light_direction is not None and not any(self.light_direction):
            raise ConfigError("key 'appearance.light_direction': [0, 0, 0] has no direction; give a non-zero "
                              "vector towards the light, or null for the default lighting")


def appearance_rng(rng: np.random.Generator) -> np.random.Generator:
    """The appearance stream of an episode: derived from `rng`'s seed sequence without drawing from `rng`
    (or spawning from it), so the episode's other draws are exactly what they are without appearance."""
    seq = rng.bit_generator.seed_seq
    child = np.random.SeedSequence(seq.entropy, spawn_key=tuple(seq.spawn_key) + (_SPAWN_KEY,),
                                   pool_size=seq.pool_size)
    return np.random.default_rng(child)


def sample(cfg: AppearanceConfig, rng: np.random.Generator, n_objects: int) -> dict[str, Any]:
    """Draw one episode's appearance (JSON-able); only the parts the config switches on are present."""
    out: dict[str, Any] = {}
    if cfg.object_color > 0 and n_objects > 0:
        a = cfg.object_color
        out["object_rgb_scale"] = rng.uniform(1 - a, 1 + a, size=(n_objects, 3)).round(6).tolist()
    if cfg.light_direction is not None:
        d = np.asarray(cfg.light_direction, dtype=np.float64)
        d = d / np.linalg.norm(d) + rng.uniform(-cfg.light_direction_jitter, cfg.light_direction_jitter, 3)
        if np.linalg.norm(d) < 1e-6:
            d = np.asarray(cfg.light_direction, dtype=np.float64)
        out["light"] = {"direction": (d / np.linalg.norm(d)).round(6).tolist(),
                        "color": rng.uniform(*cfg.light_color, size=3).round(6).tolist(),
                        "ambient": round(float(rng.uniform(*cfg.ambient)), 6),
                        "diffuse": round(float(rng.uniform(*cfg.diffuse)), 6)}
    if cfg.camera_position > 0 or cfg.camera_rotation > 0:
        out["camera"] = {"position": rng.uniform(-cfg.camera_position, cfg.camera_position, 3).round(6).tolist(),
                         "rotation": rng.uniform(-cfg.camera_rotation, cfg.camera_rotation, 3).round(6).tolist()}
    return out


def apply_colors(p, bodies: list[int], drawn: dict[str, Any] | None) -> None:
    """Scale each object's visual RGB by its drawn factors (objects beyond the drawn list reuse it cyclically)."""
    scales = (drawn or {}).get("object_rgb_scale")
    if not scales:
        return
    for k, body in enumerate(bodies):
        s = np.asarray(scales[k % len(scales)], dtype=np.float64)
        done: set[int] = set()
        for shape in p.getVisualShapeData(body):
            link, rgba = shape[1], shape[7]
            if link in done:
                continue
            done.add(link)
            rgb = np.clip(np.asarray(rgba[:3]) * s, 0.0, 1.0)
            p.changeVisualShape(body, link, rgbaColor=[*rgb.tolist(), rgba[3]])


def euler_quat(rx: float, ry: float, rz: float) -> list[float]:
    """xyzw quaternion of the rotation rz about z, then ry about y, then rx about x (small angles here)."""
    cx, sx, cy, sy, cz, sz = (math.cos(rx / 2), math.sin(rx / 2), math.cos(ry / 2), math.sin(ry / 2),
                              math.cos(rz / 2), math.sin(rz / 2))
    return [sx * cy * cz - cx * sy * sz, cx * sy * cz + sx * cy * sz, cx * cy * sz - sx * sy * cz,
            cx * cy * cz + sx * sy * sz]
