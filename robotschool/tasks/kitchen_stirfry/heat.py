"""The stir-fry heat model: cooking per side of each food piece, from contact time with the hot wok.

Why a model of its own (pure numpy, no PyBullet): the cooking rules are the task's physics of doneness and
must be unit-testable apart from the simulator, and advance deterministically (the state is a flat float
vector that the World saves and restores, so a replay from a recorded state cooks exactly the same).

Each piece has two sides: the faces of its thinnest axis (its local z). Side A is the face whose outward
normal is local -z (it faces down when the piece lies as placed), side B the +z face. While a piece touches
the wok, the side facing down accumulates cooking at the piece's rate; a piece standing on edge or held in
the air cooks no side. Units: cooking is dimensionless, 1.0 = done (`cooked`); a side at `burn_limit` or more
is burnt, and one burnt side burns the piece.

Rate: a piece of reference thickness in oil at the reference temperature cooks a side in `cook_time_s`;
hotter oil cooks faster, linearly in the temperature above `min_temp_c` (no cooking at or below it), and
a thicker piece slower (rate inversely proportional to thickness).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SIDE_A, SIDE_B, NO_SIDE = 0, 1, -1
FEATURES = 3            # per piece in the observation: side A, side B, burnt (0/1)


@dataclass(frozen=True)
class HeatSettings:
    cook_time_s: float = 10.0       # seconds of contact to cook one side at the reference temperature/thickness
    ref_temp_c: float = 180.0
    min_temp_c: float = 100.0       # oil at or below this does not cook
    ref_thickness: float = 0.015    # m
    cooked: float = 1.0             # a side is done at this much cooking
    burn_limit: float = 3.0         # ... and burnt at this much
    face_down_cos: float = 0.7      # the thin axis within ~45 deg of vertical: that face is down


def cook_rates(settings: HeatSettings, oil_temp_c: float, thickness: np.ndarray) -> np.ndarray:
    """Cooking per second of contact for each piece (1/s)."""
    heat = max(0.0, oil_temp_c - settings.min_temp_c) / (settings.ref_temp_c - settings.min_temp_c)
    return heat / settings.cook_time_s * settings.ref_thickness / np.asarray(thickness, dtype=np.float64)


def side_down(up_z: np.ndarray, face_down_cos: float) -> np.ndarray:
    """Which side faces down, per piece, from the world z component of each piece's local z axis:
    SIDE_A (local z up: the -z face is down), SIDE_B (local z down), NO_SIDE (on its edge)."""
    up_z = np.asarray(up_z, dtype=np.float64)
    return np.where(up_z >= face_down_cos, SIDE_A, np.where(up_z <= -face_down_cos, SIDE_B, NO_SIDE))


class HeatModel:
    """Cooking state of n pieces: an (n, 2) array of per-side cooking, advanced by `update`."""

    def __init__(self, settings: HeatSettings, rates: np.ndarray):
        self.settings = settings
        self.rates = np.asarray(rates, dtype=np.float64)
        self.cooking = np.zeros((len(self.rates), 2))

    @property
    def state_size(self) -> int:
        return self.cooking.size

    def get_state(self) -> np.ndarray:
        return self.cooking.reshape(-1).copy()

    def set_state(self, state: np.ndarray) -> None:
        self.cooking = np.asarray(state, dtype=np.float64).reshape(-1, 2).copy()

    def update(self, on_wok: np.ndarray, down: np.ndarray, dt: float) -> None:
        """Advance by `dt` seconds: pieces touching the wok (`on_wok`, bool) cook the side `down` faces."""
        on_wok = np.asarray(on_wok, dtype=bool)
        down = np.asarray(down)
        for side in (SIDE_A, SIDE_B):
            mask = on_wok & (down == side)
            self.cooking[mask, side] += self.rates[mask] * dt

    def burnt(self) -> np.ndarray:
        return self.cooking.max(axis=1) >= self.settings.burn_limit

    def done(self) -> np.ndarray:
        """Both sides cooked (burnt pieces included: check `burnt` too)."""
        return self.cooking.min(axis=1) >= self.settings.cooked

    def features(self) -> np.ndarray:
        """Per piece (side A, side B, burnt), flattened: what a cook sees from the colour of each face."""
        return np.column_stack([self.cooking, self.burnt().astype(np.float64)]).reshape(-1)


__all__ = ["FEATURES", "HeatModel", "HeatSettings", "NO_SIDE", "SIDE_A", "SIDE_B", "cook_rates", "side_down"]
