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
from robotschool.robots.assembly import AssemblySpec, build_urdf, resolve_urdf


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
class GaitSpec:
    """Kinematic leg animation of a legged base (robots/locomotion.py). Angles in radians at full stride."""

    left: list[str] = field(default_factory=list)    # hip_yaw, hip_roll, hip_pitch, knee, ankle_pitch, ankle_roll
    right: list[str] = field(default_factory=list)
    step_hz: float = field(default=1.6, metadata=check(lo=0.1, hi=5.0))   # gait cycles per second
    hip_pitch: float = field(default=0.35, metadata=check(lo=0.0, hi=1.5))
    knee: float = field(default=0.6, metadata=check(lo=0.0, hi=2.0))
    hip_roll: float = field(default=0.12, metadata=check(lo=0.0, hi=0.5))
    hip_yaw: float = field(default=0.2, metadata=check(lo=0.0, hi=0.6))
    full_stride_at: float = field(default=0.5, metadata=check(lo=0.05, hi=1.0))   # speed fraction of full stride
    blend_s: float = field(default=0.3, metadata=check(lo=0.01, hi=5.0))         # stride amplitude time constant


@dataclass(frozen=True)
class WheelSpec:
    """Visual wheels of a wheeled base: spun from the base velocity (the base itself is driven kinematically)."""

    joints: list[str] = field(default_factory=list)
    sides: list[float] = field(default_factory=list)   # +1 left, -1 right (for the yaw-rate share)
    radius: float = field(default=0.08, metadata=check(lo=0.01))
    track: float = field(default=0.5, metadata=check(lo=0.0))


@dataclass(frozen=True)
class RobotSpec:
    name: str
    base_link: str
    arms: dict[str, ArmSpec]                 # keys: left, right
    urdf: str = ""                           # relative to the YAML file, or "pybullet_data:<path>"
    assembly: AssemblySpec | None = None     # ... or several URDFs merged into one (robots/assembly.py)
    groups: dict[str, list[str]] = field(default_factory=dict)   # other joint groups (waist, head, legs, ...)
    home: dict[str, float] = field(default_factory=dict)   # joint -> position; others start at 0
    limits: dict[str, tuple[float, float]] = field(default_factory=dict)   # override URDF joint limits
    # fixed: never moves; legged: kinematic base with a leg gait; holonomic / differential: wheeled base
    base_type: Literal["fixed", "legged", "holonomic", "differential"] = "fixed"
    base_height: float = 0.0                 # z of the base link above the floor
    torso_joint: str = ""                    # a torso lift joint commanded through the action ("" if none)
    head_joints: list[str] = field(default_factory=list)   # [yaw, pitch] commanded through the action
    gait: GaitSpec = field(default_factory=GaitSpec)
    wheels: WheelSpec = field(default_factory=WheelSpec)
    gains: Gains = field(default_factory=Gains)
    cameras: dict[str, CameraMount] = field(default_factory=dict)
    ik: IKSettings = field(default_factory=IKSettings)
    grasp_assist: bool = True
    max_base_speed: tuple[float, float, float] = (0.5, 0.3, 1.0)   # vx, vy (m/s), wz (rad/s) at action +-1
    max_base_accel: tuple[float, float, float] = (1.0, 1.0, 2.0)   # m/s^2, m/s^2, rad/s^2
    source: str = ""                         # filled in by load_spec: where it came from

    def urdf_path(self) -> Path:
        if self.assembly is not None:
            return build_urdf(self.assembly, self.name, Path(self.source).parent)
        return resolve_urdf(self.urdf, Path(self.source).parent)


def load_spec(path: str | Path, overrides=()) -> RobotSpec:
    path = Path(path)
    spec = config.load(RobotSpec, path, overrides)
    if sorted(spec.arms) != ["left", "right"]:
        raise ConfigError(f"{path}: key 'arms': expected exactly the arms 'left' and 'right', got {sorted(spec.arms)}")
    object.__setattr__(spec, "source", str(path.resolve()))
    if bool(spec.urdf) == (spec.assembly is not None):
        raise ConfigError(f"{path}: give either key 'urdf' (one URDF file) or key 'assembly' (several merged), "
                          "not both or neither")
    if spec.head_joints and len(spec.head_joints) != 2:
        raise ConfigError(f"{path}: key 'head_joints': expected [yaw_joint, pitch_joint], got {spec.head_joints}")
    if spec.base_type == "legged" and (len(spec.gait.left) != 6 or len(spec.gait.right) != 6):
        raise ConfigError(f"{path}: key 'gait': a legged base needs gait.left and gait.right with 6 joints each "
                          "(hip_yaw, hip_roll, hip_pitch, knee, ankle_pitch, ankle_roll)")
    if len(spec.wheels.sides) != len(spec.wheels.joints):
        raise ConfigError(f"{path}: key 'wheels.sides': give one side (+1 left, -1 right) per wheel joint")
    if not spec.urdf_path().is_file():
        raise ConfigError(f"{path}: key 'urdf': file {spec.urdf_path()} not found")
    return spec
