"""Messages passed between the layers of one control tick, as frozen dataclasses.

    Device.poll() -> OperatorCommand -> Retargeter -> RobotCommand -> (action vector) -> IK -> JointTargets
    -> Robot -> physics -> observation -> StepRecord -> Recorder

Frames and units: metres, radians, quaternions (x, y, z, w). An OperatorCommand is in the *operator frame*
(whatever the device measures in); a RobotCommand is in the *robot base frame* (on the floor under the robot,
x forward, y left, z up), which moves with the robot when it walks.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from robotschool import geometry

ARMS = ("left", "right")

# Operator events (episode control). Devices emit them; the control loop acts on them.
EVENT_START = "start"
EVENT_SAVE = "save"
EVENT_DISCARD = "discard"
EVENT_RESET = "reset"
EVENT_QUIT = "quit"
EVENTS = (EVENT_START, EVENT_SAVE, EVENT_DISCARD, EVENT_RESET, EVENT_QUIT)


@dataclass(frozen=True, eq=False)
class Pose:
    """A rigid transform: position (3,) in metres and orientation quaternion (4,) as x, y, z, w."""

    pos: np.ndarray
    quat: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "pos", np.asarray(self.pos, dtype=np.float64).reshape(3))
        object.__setattr__(self, "quat", np.asarray(self.quat, dtype=np.float64).reshape(4))

    @classmethod
    def identity(cls) -> "Pose":
        return cls(np.zeros(3), np.array([0.0, 0.0, 0.0, 1.0]))

    @classmethod
    def from_matrix(cls, pos, rot: np.ndarray) -> "Pose":
        return cls(pos, geometry.matrix_to_quat(rot))

    @property
    def rot(self) -> np.ndarray:
        return geometry.quat_to_matrix(self.quat)

    def compose(self, other: "Pose") -> "Pose":
        """self * other: `other` expressed in self's frame, returned in self's parent frame."""
        r = self.rot
        return Pose.from_matrix(self.pos + r @ other.pos, r @ other.rot)

    def inverse(self) -> "Pose":
        rt = self.rot.T
        return Pose.from_matrix(-rt @ self.pos, rt)

    def is_finite(self) -> bool:
        return bool(np.isfinite(self.pos).all() and np.isfinite(self.quat).all())


@dataclass(frozen=True)
class HandCommand:
    """What the operator asks of one hand.

    Either an absolute `pose` (operator frame) or a relative `delta` since the last tick (operator frame),
    or neither (hold). `grip` is 0 (open) .. 1 (closed). With `clutch` False the hand holds still whatever
    the device reports, so the operator can re-centre a controller without dragging the robot.
    """

    pose: Pose | None = None
    delta: Pose | None = None
    grip: float = 0.0
    clutch: bool = True


@dataclass(frozen=True)
class OperatorCommand:
    """One sample of the operator stream, the only thing a Device produces.

    base_twist is (vx, vy, wz) in m/s and rad/s in the robot base frame; head is an optional head pose
    (operator frame) that drives the robot's head (its yaw and pitch); torso is an optional torso lift joint
    target (metres, robots with a lift); None holds the current value. timestamp is when the device took the
    sample (seconds, device clock; simulation time for scripted operators); phase is a scripted operator's
    subtask label.
    """

    left: HandCommand = field(default_factory=HandCommand)
    right: HandCommand = field(default_factory=HandCommand)
    base_twist: tuple[float, float, float] = (0.0, 0.0, 0.0)
    head: Pose | None = None
    torso: float | None = None
    events: tuple[str, ...] = ()
    timestamp: float = 0.0
    phase: str = ""

    def hand(self, arm: str) -> HandCommand:
        return self.left if arm == "left" else self.right


@dataclass(frozen=True)
class HandTarget:
    """End-effector (tool centre point) target for one arm in the robot base frame; grip 0 open .. 1 closed."""

    pose: Pose
    grip: float


@dataclass(frozen=True)
class RobotCommand:
    """The retargeter's output and the meaning of the default action.

    Absolute hand targets (robot base frame), the base twist (vx, vy, wz; m/s, rad/s, base frame), the head
    (yaw, pitch) joint targets in radians and the torso lift joint target; None for head/torso means the
    robot's home value (robots without a head or a lift ignore them).
    """

    left: HandTarget
    right: HandTarget
    base_twist: tuple[float, float, float] = (0.0, 0.0, 0.0)
    head: tuple[float, float] | None = None
    torso: float | None = None

    def hand(self, arm: str) -> HandTarget:
        return self.left if arm == "left" else self.right


@dataclass(frozen=True)
class ArmIKResult:
    """IK outcome for one arm. `q` is always safe to send to the motors (finite, within limits, step-capped)."""

    q: np.ndarray
    pos_error: float          # metres, distance between the solved and the requested TCP position
    rot_error: float          # radians
    reachable: bool           # False: the target was out of reach; q is the closest the arm gets
    invalid_target: bool      # True: the target had NaN/inf and the arm held its position
    step_capped: bool         # True: the per-tick joint step cap limited the motion


@dataclass(frozen=True)
class JointTargets:
    """Joint position targets for both arms (radians, in the robot's arm joint order) and grippers (0..1)."""

    arm_q: dict[str, np.ndarray]
    grip: dict[str, float]
    ik: dict[str, ArmIKResult]
    base_twist: tuple[float, float, float] = (0.0, 0.0, 0.0)
    head: tuple[float, float] | None = None     # (yaw, pitch) radians; None: hold home
    torso: float | None = None                  # torso lift joint position; None: hold home
