"""Recorder: collects one episode's steps in memory and hands a complete Episode to the DatasetWriter.

Nothing is written while an episode runs; the writer stores an episode whole or not at all.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from robotschool.recording import schema
from robotschool.recording.episode import Episode
from robotschool.types import ARMS, HandCommand, OperatorCommand, Pose

_NAN7 = np.full(7, np.nan)


def _pose7(pose: Pose | None) -> np.ndarray:
    return _NAN7 if pose is None else np.concatenate([pose.pos, pose.quat])


def _pose_or_none(row: np.ndarray) -> Pose | None:
    row = np.asarray(row, dtype=np.float64)
    return Pose(row[:3], row[3:7]) if np.all(np.isfinite(row)) else None


def operator_row(cmd: OperatorCommand) -> dict[str, Any]:
    """The raw operator command as flat arrays (NaN where a field was absent), so it can be re-targeted later.

    `operator_command` is the exact inverse: every field of the OperatorCommand is stored.
    """
    row: dict[str, Any] = {}
    for arm in ARMS:
        h = cmd.hand(arm)
        row[f"{arm}_pose"] = _pose7(h.pose)
        row[f"{arm}_delta"] = _pose7(h.delta)
        row[f"{arm}_grip"] = np.float64(h.grip)
        row[f"{arm}_clutch"] = np.uint8(h.clutch)
    row["base_twist"] = np.asarray(cmd.base_twist, dtype=np.float64)
    row["head_pose"] = _pose7(cmd.head)
    row["torso"] = np.float64(np.nan if cmd.torso is None else cmd.torso)
    row["events"] = ",".join(cmd.events)
    row[schema.OP_TIMESTAMP] = np.float64(cmd.timestamp)
    row["phase"] = cmd.phase
    return row


def operator_command(stream: dict[str, np.ndarray], t: int) -> OperatorCommand:
    """Row `t` of a recorded operator/ stream back as the OperatorCommand that produced it (replay devices).

    Streams recorded before `torso` was logged replay with torso None (hold home), which is what they did.
    """
    def text(key: str) -> str:
        v = stream[key][t] if key in stream else ""
        return v.decode() if isinstance(v, bytes) else str(v)

    hands = {}
    for arm in ARMS:
        hands[arm] = HandCommand(pose=_pose_or_none(stream[f"{arm}_pose"][t]),
                                 delta=_pose_or_none(stream[f"{arm}_delta"][t]),
                                 grip=float(stream[f"{arm}_grip"][t]), clutch=bool(stream[f"{arm}_clutch"][t]))
    torso = float(stream["torso"][t]) if "torso" in stream else float("nan")
    events = tuple(e for e in text("events").split(",") if e)
    return OperatorCommand(left=hands["left"], right=hands["right"],
                           base_twist=tuple(float(v) for v in stream["base_twist"][t]),
                           head=_pose_or_none(stream["head_pose"][t]), torso=torso if np.isfinite(torso) else None,
                           events=events, timestamp=float(stream[schema.OP_TIMESTAMP][t]), phase=text("phase"))


class Recorder:
    def __init__(self):
        self.obs: dict[str, list] = {}
        self.actions: list[np.ndarray] = []
        self.action_dict: dict[str, list] = {}
        self.rewards: list[float] = []
        self.states: list[np.ndarray] = []
        self.operator: dict[str, list] = {}

    def __len__(self) -> int:
        return len(self.actions)

    def add(self, obs: dict[str, np.ndarray], state: np.ndarray, action: np.ndarray,
            action_dict: dict[str, np.ndarray], reward: float, operator: dict[str, Any]) -> None:
        """One control step: the observation and state *before* the action, the action and its outcome."""
        for k, v in obs.items():
            self.obs.setdefault(k, []).append(v)
        for k, v in action_dict.items():
            self.action_dict.setdefault(k, []).append(v)
        for k, v in operator.items():
            self.operator.setdefault(k, []).append(v)
        self.states.append(state)
        self.actions.append(action)
        self.rewards.append(reward)

    def finish(self, final_obs: dict[str, np.ndarray], attrs: dict[str, Any]) -> Episode:
        if not self.actions:
            raise ValueError("cannot finish an episode with no steps")
        t = len(self.actions)
        dones = np.zeros(t, dtype=np.uint8)
        dones[-1] = 1
        operator = {}
        for k, v in self.operator.items():
            operator[k] = np.array(v, dtype=str) if isinstance(v[0], str) else np.stack([np.asarray(x) for x in v])
        obs = {k: np.stack(v) for k, v in self.obs.items()}
        return Episode(
            obs={k: (v.astype(np.float32) if v.dtype == np.float64 else v)
                 for k, v in obs.items()},
            final_obs={k: (np.asarray(v, dtype=np.float32) if np.asarray(v).dtype == np.float64 else np.asarray(v))
                       for k, v in final_obs.items()},
            actions=np.stack(self.actions).astype(np.float32),
            action_dict={k: np.stack(v).astype(np.float32) for k, v in self.action_dict.items()},
            rewards=np.asarray(self.rewards, dtype=np.float32),
            dones=dones,
            states=np.stack(self.states).astype(np.float64),
            operator=operator,
            attrs=dict(attrs),
        )
