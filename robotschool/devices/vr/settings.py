"""VR device settings (configs/devices/vr.yaml): rates, limits and motion mapping of the pose stream."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from robotschool import config
from robotschool.paths import configs_dir

HARD_MAX_BYTES = 1 << 20        # the WebSocket library drops a connection above this (still counted)


@dataclass(frozen=True)
class VRSettings:
    port: int = field(default=8765, metadata=config.check(lo=0, hi=65535))
    scale: float = field(default=1.0, metadata=config.check(lo=0.01, hi=10.0))
    smoothing: float = field(default=0.5, metadata=config.check(lo=0.01, hi=1.0))
    stall_s: float = field(default=0.1, metadata=config.check(lo=0.001, hi=10.0))
    max_message_bytes: int = field(default=65536, metadata=config.check(lo=256, hi=HARD_MAX_BYTES))
    max_position_m: float = field(default=10.0, metadata=config.check(lo=0.1, hi=1000.0))
    clutch_threshold: float = field(default=0.5, metadata=config.check(lo=0.0, hi=1.0))
    walk_deadzone: float = field(default=0.15, metadata=config.check(lo=0.0, hi=0.9))
    base_speed: tuple[float, float, float] = (0.3, 0.2, 0.6)
    auth_timeout_s: float = field(default=2.0, metadata=config.check(lo=0.1, hi=60.0))


def load_settings(path: str | Path | None = None, overrides: Sequence[str] = ()) -> VRSettings:
    return config.load(VRSettings, Path(path) if path else configs_dir() / "devices" / "vr.yaml", overrides)
