"""Recovery demos (DART, Laskey et al. 2017): the scripted operator's hands are pushed off their path for a
while and the operator brings them back, so the data shows a policy how to return to the demonstrated states.

    robotschool generate --scene parts_sorting --set parts.count=1 --perturb 0.03 --episodes 200 --out d.hdf5

Why: a policy cloned from clean demos has only seen states on the operator's path; its small errors carry it
off that path, where it has no data and drifts further (covariate shift). Here a perturbation starts with
probability `rate` per control step (none while one is active or during `gap` steps after it), draws one
offset per hand (each component normal with std `scale` metres, clipped to 2 * scale) and adds it to the
commanded hand positions, growing linearly over `steps` control steps, then drops it: from then on the
operator's own command (computed, as always, from its observations) pulls the hand back. The executed
command is what is recorded (actions, action_dict and the operator stream), so a perturbed file replays
bit-identically like any other; the offset of every step is stored as ``operator/perturb_offset`` (T, 6):
left xyz then right xyz, zero where the hands were not perturbed, so a learner can leave the perturbed
actions out of its loss and learn only the corrections (`robotschool train` does).

The offsets are drawn from their own generator, ``default_rng([seed, attempt, PERTURB_STREAM])``: the scene
and the operator draw exactly what they draw without perturbation, and the same (seed, attempt, settings)
gives the same file. Orientation and grip are never perturbed.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from robotschool.devices.base import Device
from robotschool.errors import ConfigError
from robotschool.recording.schema import ATTR_PERTURB, OP_PERTURB_OFFSET
from robotschool.types import ARMS, OperatorCommand, Pose

PERTURB_STREAM = 0x9E77          # third seed word of the offsets' generator (any constant other streams do not use)


@dataclass(frozen=True)
class Perturbation:
    """How the executed hand positions are pushed off the operator's path (see the module doc)."""

    scale: float                 # metres: std of each offset component (clipped to 2 * scale)
    rate: float = 0.05           # chance per control step that a perturbation starts
    steps: int = 10              # control steps over which the offset grows before it is dropped
    gap: int = 10                # control steps after a drop before the next perturbation may start

    def __post_init__(self) -> None:
        if not (np.isfinite(self.scale) and 0 < self.scale <= 0.2):
            raise ConfigError(f"perturbation scale must be in (0, 0.2] metres, got {self.scale!r}")
        if not 0 < self.rate <= 1:
            raise ConfigError(f"perturbation rate must be in (0, 1], got {self.rate!r}")
        if int(self.steps) != self.steps or self.steps < 1 or int(self.gap) != self.gap or self.gap < 0:
            raise ConfigError(f"perturbation steps must be >= 1 and gap >= 0 (integers), got {self.steps!r}, "
                              f"{self.gap!r}")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    def rng(self, seed: int, attempt: int) -> np.random.Generator:
        return np.random.default_rng([seed, attempt, PERTURB_STREAM])


class PerturbedDevice(Device):
    """Wraps a device: adds the current offset to each hand's commanded position and logs the offsets."""

    def __init__(self, inner: Device, perturbation: Perturbation, rng: np.random.Generator):
        self.inner, self.p, self.rng = inner, perturbation, rng
        self.name, self.operator_id = inner.name, inner.operator_id
        self.offsets: list[np.ndarray] = []     # one (6,) row per poll: what the recorder needs per step
        self._target: np.ndarray | None = None  # (2, 3) full offset of the active perturbation
        self._k = 0                             # steps into the active perturbation
        self._rest = 0                          # steps left before another may start

    @property
    def finished(self) -> bool:
        return self.inner.finished

    def _next_offset(self) -> np.ndarray:
        p = self.p
        start = self.rng.random() < p.rate      # drawn every step, so the stream does not depend on the branch
        if self._target is None and self._rest == 0 and start:
            self._target = np.clip(self.rng.normal(0.0, p.scale, size=(2, 3)), -2 * p.scale, 2 * p.scale)
            self._k = 0
        if self._target is None:
            self._rest = max(self._rest - 1, 0)
            return np.zeros((2, 3))
        self._k += 1
        offset = self._target * (self._k / p.steps)
        if self._k >= p.steps:
            self._target, self._rest = None, p.gap
        return offset

    def poll(self, obs: Mapping[str, np.ndarray], t: float) -> OperatorCommand:
        cmd = self.inner.poll(obs, t)
        offset = self._next_offset()
        hands = {}
        for j, arm in enumerate(ARMS):
            h = cmd.hand(arm)
            if offset[j].any() and h.pose is not None and h.pose.is_finite():
                h = dataclasses.replace(h, pose=Pose(h.pose.pos + offset[j], h.pose.quat))
            else:
                offset[j] = 0.0                 # nothing absolute to push (no pose, or a relative device)
            hands[arm] = h
        self.offsets.append(offset.reshape(6))
        return dataclasses.replace(cmd, left=hands["left"], right=hands["right"])

    def offset_stream(self) -> np.ndarray:
        return np.asarray(self.offsets, dtype=np.float64).reshape(-1, 6)


__all__ = ["Perturbation", "PerturbedDevice", "OP_PERTURB_OFFSET", "ATTR_PERTURB"]
