"""Per-robot constants, loaded from configs/robots/<name>.yaml (the mujoco_playground `*_constants` idea).

A robot is fully described by a URDF plus this spec: which joints form each arm, which link is the tool
centre point, which joints are the gripper fingers, the home pose, gains, cameras and the IK settings.
That is also all a bring-your-own robot needs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from robotschool import config
from robotschool.config import check
from robotschool.control.ik import IKSettings
from robotschool.errors import ConfigError


@dataclass(frozen=True)
class GripperSpec:
    joints: list[str]                        # finger joints; two are coupled with a gear constraint
    open: float                              # finger joint position when fully open
    closed: float                            # ... and fully closed
    force: float = field(default=40.0, metadata=check(lo=0.0))
    gear_ratio: float = -1.0                 # coupling between finger 1 and finger 2 (-1: mirror motion)


@dataclass(frozen=True)
class ArmSpec:
    joints: list[str]                        # the arm's joints from shoulder to wrist (IK moves only these)
    tcp_link: str                            # tool centre point: where hand targets refer to
    hand_link: str                           # the link a grasped object is attached to (grasp assist)
    gripper: GripperSpec
    workspace_low: tuple[float, float, float]   # retargeter clamp box for the TCP, robot base frame (m)
    workspace_high: tuple[float, float, float]


@dataclass(frozen=True)
class CameraMount:
    link: str
    pos: tuple[float, float, float] = (0.0, 0.0, 0.0)       # in the link frame (m)
    forward: tuple[float, float, float] = (1.0, 0.0, 0.0)   # viewing direction in the link frame
    up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    fov: float = field(default=70.0, metadata=check(lo=10.0, hi=170.0))   # vertical, degrees


@dataclass(frozen=True)
class Gains:
    position_gain: float = field(default=0.3, metadata=check(lo=0.0, hi=2.0))
    velocity_gain: float = field(default=1.0, metadata=check(lo=0.0, hi=2.0))
    force_scale: float = field(default=1.0, metadata=check(lo=0.0))   # x URDF effort limits


@dataclass(frozen=True)
class RobotSpec:
    name: str
    urdf: str                                # relative to the YAML file, or "pybullet_data:<path>"
    base_link: str
    arms: dict[str, ArmSpec]                 # keys: left, right
    groups: dict[str, list[str]] = field(default_factory=dict)   # other joint groups (waist, head, legs, ...)
    home: dict[str, float] = field(default_factory=dict)   # joint -> position; others start at 0
    limits: dict[str, tuple[float, float]] = field(default_factory=dict)   # override URDF joint limits
    base_type: Literal["fixed"] = "fixed"
    base_height: float = 0.0                 # z of the base link above the floor
    gains: Gains = field(default_factory=Gains)
    cameras: dict[str, CameraMount] = field(default_factory=dict)
    ik: IKSettings = field(default_factory=IKSettings)
    grasp_assist: bool = True
    max_base_speed: tuple[float, float, float] = (0.5, 0.3, 1.0)   # vx, vy (m/s), wz (rad/s) at action +-1
    source: str = ""                         # filled in by load_spec: where it came from

    def urdf_path(self) -> Path:
        if self.urdf.startswith("pybullet_data:"):
            import pybullet_data
            return Path(pybullet_data.getDataPath()) / self.urdf.split(":", 1)[1]
        path = Path(self.urdf)
        return path if path.is_absolute() else Path(self.source).parent / path


def load_spec(path: str | Path, overrides=()) -> RobotSpec:
    path = Path(path)
    spec = config.load(RobotSpec, path, overrides)
    if sorted(spec.arms) != ["left", "right"]:
        raise ConfigError(f"{path}: key 'arms': expected exactly the arms 'left' and 'right', got {sorted(spec.arms)}")
    object.__setattr__(spec, "source", str(path.resolve()))
    if not spec.urdf_path().is_file():
        raise ConfigError(f"{path}: key 'urdf': file {spec.urdf_path()} not found")
    return spec
