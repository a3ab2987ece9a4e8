"""The default action space: absolute hand targets, normalised to [-1, 1].

Layout (23 float32), per arm left then right: TCP position (3) scaled from the arm's workspace box
[workspace_low, workspace_high] (robot base frame) to [-1, 1]; TCP orientation as the continuous 6-D
representation (first two columns of the rotation matrix, already in [-1, 1]); grip (1): -1 open .. +1
closed. Then the base twist (3): vx, vy, wz divided by the robot's max_base_speed.

Why absolute targets: they carry no hidden controller state, so `actions` alone replay a demo exactly from its
first state, and they are what chunked/diffusion policies learn best. Other representations (deltas, joint
positions) are recorded alongside under action_dict/.

The live control loop itself decodes the float32 action it records, so recording and replay run on
bit-identical inputs.
"""
from __future__ import annotations

import numpy as np

from robotschool import geometry
from robotschool.types import ARMS, HandTarget, Pose, RobotCommand

PER_ARM = 10
DIM = 2 * PER_ARM + 3


class ActionCodec:
    def __init__(self, workspace: dict[str, tuple[np.ndarray, np.ndarray]], max_base_speed):
        self.low = {a: np.asarray(workspace[a][0], dtype=np.float64) for a in ARMS}
        self.high = {a: np.asarray(workspace[a][1], dtype=np.float64) for a in ARMS}
        self.max_base = np.asarray(max_base_speed, dtype=np.float64)
        self.dim = DIM

    @staticmethod
    def names() -> list[str]:
        out = []
        for a in ARMS:
            out += [f"{a}_pos_{c}" for c in "xyz"] + [f"{a}_rot6d_{i}" for i in range(6)] + [f"{a}_grip"]
        return out + ["base_vx", "base_vy", "base_wz"]

    def encode(self, cmd: RobotCommand) -> np.ndarray:
        out = np.empty(DIM, dtype=np.float64)
        for i, a in enumerate(ARMS):
            h = cmd.hand(a)
            k = i * PER_ARM
            out[k:k + 3] = 2 * (h.pose.pos - self.low[a]) / (self.high[a] - self.low[a]) - 1
            out[k + 3:k + 9] = geometry.matrix_to_rot6d(h.pose.rot)
            out[k + 9] = 2 * h.grip - 1
        out[2 * PER_ARM:] = np.asarray(cmd.base_twist) / self.max_base
        return np.clip(out, -1, 1).astype(np.float32)

    def decode(self, action: np.ndarray) -> RobotCommand:
        a = np.asarray(action, dtype=np.float32)
        if a.shape != (DIM,):
            raise ValueError(f"action has shape {a.shape}, expected ({DIM},)")
        a = np.clip(a.astype(np.float64), -1, 1)  # NaN stays NaN: the IK then holds the arm and flags it
        hands = {}
        for i, arm in enumerate(ARMS):
            k = i * PER_ARM
            pos = self.low[arm] + (a[k:k + 3] + 1) / 2 * (self.high[arm] - self.low[arm])
            rot = geometry.rot6d_to_matrix(a[k + 3:k + 9]) if np.all(np.isfinite(a[k + 3:k + 9])) else np.full((3, 3), np.nan)
            pose = Pose(pos, geometry.matrix_to_quat(rot) if np.all(np.isfinite(rot)) else np.full(4, np.nan))
            hands[arm] = HandTarget(pose, float((a[k + 9] + 1) / 2))
        twist = tuple(float(v) for v in a[2 * PER_ARM:] * self.max_base)
        return RobotCommand(hands["left"], hands["right"], twist)

    def describe(self) -> dict:
        """JSON-able description stored in the dataset (data attrs `action_space`)."""
        return {
            "type": "ee_abs_rot6d_normalized",
            "dim": DIM,
            "names": self.names(),
            "frame": "robot base frame (x forward, y left, z up, on the floor under the robot)",
            "position_scaling": {a: {"low": self.low[a].tolist(), "high": self.high[a].tolist(),
                                     "formula": "a = 2 * (p - low) / (high - low) - 1"} for a in ARMS},
            "rotation": "6-D: first two columns of the TCP rotation matrix (Zhou et al. 2019)",
            "grip": "a = 2 * grip - 1; -1 fully open, +1 fully closed",
            "base_twist_scale": self.max_base.tolist(),
        }
