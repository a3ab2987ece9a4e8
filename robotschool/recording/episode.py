"""One recorded episode in memory: what the Recorder hands to the DatasetWriter.

Arrays are time-major (first axis T = number of control steps). Observation t is what the policy saw before
action t; `final_obs` is the observation after the last action (it becomes next_obs[T-1]). `states[t]` is the
full simulator state at observation t, enough to reset the world there exactly.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Episode:
    obs: dict[str, np.ndarray]            # key -> (T, ...) ; images uint8 (T, H, W, 3), depth float32 (T, H, W)
    final_obs: dict[str, np.ndarray]      # key -> (...)    ; the observation after the last step
    actions: np.ndarray                   # (T, A) float32 in [-1, 1]
    action_dict: dict[str, np.ndarray]    # name -> (T, ...) float32: ee_abs, ee_delta, joint_pos, gripper, base_twist
    rewards: np.ndarray                   # (T,) float32
    dones: np.ndarray                     # (T,) uint8, 1 on the last step
    states: np.ndarray                    # (T, S) float64
    operator: dict[str, np.ndarray]       # name -> (T, ...): raw operator stream, timestamps, events, phase
    attrs: dict[str, Any] = field(default_factory=dict)  # demo attributes: seed, success, device, ...

    @property
    def num_samples(self) -> int:
        return int(self.actions.shape[0])
