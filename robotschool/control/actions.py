"""The default action space: absolute targets, normalised to [-1, 1].

Layout (26 float32):
    per arm, left then right (10 each): TCP position (3) scaled from the arm's workspace box
        [workspace_low, workspace_high] (robot base frame) to [-1, 1]; TCP orientation as the continuous 6-D
        representation (first two columns of the rotation matrix, already in [-1, 1]); grip (1): -1 open ..
        +1 closed;
    base twist (3): vx, vy, wz (robot base frame) divided by the robot's max_base_speed;
    torso (1): the torso lift joint target scaled from its joint range (0 for robots without a lift);
    head (2): head yaw and pitch joint targets scaled from their joint ranges (0 for robots without a head).

Why absolute targets: they carry no hidden controller state, so `actions` alone replay a demo exactly from its
first state, and they are what chunked/diffusion policies learn best. Other representations (deltas, joint
positions) are recorded alongside under action_dict/. The base is the exception: it is commanded by velocity,
because a walking robot's position is not something an operator dictates, and the base pose is observed.

The live control loop itself decodes the float32 action it records, so recording and replay run on
bit-identical inputs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robotschool import geometry
from robotschool.types import ARMS, HandTarget, Pose, RobotCommand

PER_ARM = 10
BASE = slice(2 * PER_ARM, 2 * PER_ARM + 3)
TORSO = 2 * PER_ARM + 3
HEAD = slice(2 * PER_ARM + 4, 2 * PER_ARM + 6)
DIM = 2 * PER_ARM + 6


@dataclass(frozen=True)
class JointRange:
    """A joint commanded through the action: its limits (scaling) and home (what `None` means)."""

    low: float
    high: float
    home: float

    def encode(self, value: float | None) -> float:
        v = self.home if value is None else value
        return 2 * (v - self.low) / (self.high - self.low) - 1 if self.high > self.low else 0.0

    def decode(self, a: float) -> float:
        return self.low + (a + 1) / 2 * (self.high - self.low)


class ActionCodec:
    def __init__(self, workspace: dict[str, tuple[np.ndarray, np.ndarray]], max_base_speed,
                 torso: JointRange | None = None, head: tuple[JointRange, JointRange] | None = None):
        self.low = {a: np.asarray(workspace[a][0], dtype=np.float64) for a in ARMS}
        self.high = {a: np.asarray(workspace[a][1], dtype=np.float64) for a in ARMS}
        self.max_base = np.asarray(max_base_speed, dtype=np.float64)
        self.torso = torso
        self.head = head
        self.dim = DIM

    @staticmethod
    def names() -> list[str]:
        out = []
        for a in ARMS:
            out += [f"{a}_pos_{c}" for c in "xyz"] + [f"{a}_rot6d_{i}" for i in range(6)] + [f"{a}_grip"]
        return out + ["base_vx", "base_vy", "base_wz", "torso_lift", "head_yaw", "head_pitch"]

    def encode(self, cmd: RobotCommand) -> np.ndarray:
        out = np.zeros(DIM, dtype=np.float64)
        for i, a in enumerate(ARMS):
            h = cmd.hand(a)
            k = i * PER_ARM
            out[k:k + 3] = 2 * (h.pose.pos - self.low[a]) / (self.high[a] - self.low[a]) - 1
            out[k + 3:k + 9] = geometry.matrix_to_rot6d(h.pose.rot)
            out[k + 9] = 2 * h.grip - 1
        out[BASE] = np.asarray(cmd.base_twist) / self.max_base
        if self.torso is not None:
            out[TORSO] = self.torso.encode(cmd.torso)
        if self.head is not None:
            head = cmd.head if cmd.head is not None else (None, None)
            out[HEAD] = [r.encode(v) for r, v in zip(self.head, head)]
        return geometry.clip(out, -1, 1).astype(np.float32)

    def decode(self, action: np.ndarray) -> RobotCommand:
        a = np.asarray(action, dtype=np.float32)
        if a.shape != (DIM,):
            raise ValueError(f"action has shape {a.shape}, expected ({DIM},)")
        a = geometry.clip(a.astype(np.float64), -1, 1)  # NaN stays NaN: the IK then holds the arm and flags it
        finite = np.isfinite(a)                    # after the clip only NaN can be non-finite
        hands = {}
        for i, arm in enumerate(ARMS):
            k = i * PER_ARM
            pos = self.low[arm] + (a[k:k + 3] + 1) / 2 * (self.high[arm] - self.low[arm])
            rot = geometry.rot6d_to_matrix(a[k + 3:k + 9]) if finite[k + 3:k + 9].all() else np.full((3, 3), np.nan)
            pose = Pose(pos, geometry.matrix_to_quat(rot) if np.isfinite(rot).all() else np.full(4, np.nan))
            hands[arm] = HandTarget(pose, float((a[k + 9] + 1) / 2))
        twist = tuple(float(v) for v in np.where(finite[BASE], a[BASE], 0.0) * self.max_base)   # NaN: stand still
        torso = None
        if self.torso is not None and finite[TORSO]:
            torso = self.torso.decode(float(a[TORSO]))
        head = None
        if self.head is not None and finite[HEAD].all():
            head = (self.head[0].decode(float(a[HEAD][0])), self.head[1].decode(float(a[HEAD][1])))
        return RobotCommand(hands["left"], hands["right"], twist, head, torso)

    def describe(self) -> dict:
        """JSON-able description stored in the dataset (data attrs `action_space`)."""
        def joint(r: JointRange | None):
            return None if r is None else {"low": r.low, "high": r.high, "home": r.home,
                                           "formula": "a = 2 * (q - low) / (high - low) - 1"}
        return {
            "type": "ee_abs_rot6d_normalized",
            "dim": DIM,
            "names": self.names(),
            "frame": "robot base frame (x forward, y left, z up, on the floor under the robot; moves with it)",
            "position_scaling": {a: {"low": self.low[a].tolist(), "high": self.high[a].tolist(),
                                     "formula": "a = 2 * (p - low) / (high - low) - 1"} for a in ARMS},
            "rotation": "6-D: first two columns of the TCP rotation matrix (Zhou et al. 2019)",
            "grip": "a = 2 * grip - 1; -1 fully open, +1 fully closed",
            "base_twist_scale": self.max_base.tolist(),
            "torso": joint(self.torso),
            "head": None if self.head is None else {"yaw": joint(self.head[0]), "pitch": joint(self.head[1])},
        }
