"""The stir-fry heat model on its own (pure numpy): rates, which side is down, cooking, burning, state."""
from __future__ import annotations

import numpy as np
import pytest

from robotschool.tasks.kitchen_stirfry.heat import (NO_SIDE, SIDE_A, SIDE_B, HeatModel, HeatSettings, cook_rates,
                                                    side_down)

S = HeatSettings(cook_time_s=10.0, ref_temp_c=180.0, min_temp_c=100.0, ref_thickness=0.015, cooked=1.0,
                 burn_limit=3.0)


def test_rates_follow_oil_temperature_and_thickness():
    ref = cook_rates(S, 180.0, [0.015])[0]
    assert ref == pytest.approx(0.1)                       # a reference slice cooks a side in cook_time_s
    assert cook_rates(S, 200.0, [0.015])[0] > ref          # hotter oil cooks faster
    assert cook_rates(S, 180.0, [0.02])[0] < ref           # a thicker slice cooks slower
    assert cook_rates(S, 100.0, [0.015])[0] == 0.0         # oil at or below min_temp_c does not cook
    assert cook_rates(S, 80.0, [0.015])[0] == 0.0


def test_side_down_from_the_thin_axis():
    assert side_down([1.0, 0.8, -0.9, 0.1, -0.5], 0.7).tolist() == [SIDE_A, SIDE_A, SIDE_B, NO_SIDE, NO_SIDE]


def _run(model: HeatModel, seconds: float, down: int, on_wok: bool = True, dt: float = 0.05) -> None:
    for _ in range(int(round(seconds / dt))):
        model.update(np.array([on_wok]), np.array([down]), dt)


def test_a_slice_left_still_burns():
    m = HeatModel(S, cook_rates(S, 180.0, [0.015]))
    _run(m, 25.0, SIDE_A)
    assert m.cooking[0, 0] == pytest.approx(2.5) and not m.burnt()[0]
    _run(m, 6.0, SIDE_A)
    assert m.burnt()[0] and m.cooking[0, 1] == 0.0 and not m.done()[0]


def test_a_slice_flipped_in_time_cooks_both_sides():
    m = HeatModel(S, cook_rates(S, 180.0, [0.015]))
    _run(m, 12.0, SIDE_A)                   # side A done (1.2)
    _run(m, 12.0, SIDE_B)                   # flipped: side B done, side A untouched
    assert m.done()[0] and not m.burnt()[0]
    assert m.cooking[0].tolist() == pytest.approx([1.2, 1.2])
    f = m.features()
    assert f.shape == (3,) and f[2] == 0.0


def test_no_cooking_off_the_wok_or_on_edge():
    m = HeatModel(S, cook_rates(S, 180.0, [0.015, 0.015]))
    m.update(np.array([False, True]), np.array([SIDE_A, NO_SIDE]), 1.0)
    assert np.all(m.cooking == 0.0)


def test_state_round_trip_is_exact():
    m = HeatModel(S, cook_rates(S, 170.0, [0.014, 0.016]))
    m.update(np.array([True, True]), np.array([SIDE_A, SIDE_B]), 0.3)
    other = HeatModel(S, m.rates)
    other.set_state(m.get_state())
    assert np.array_equal(other.cooking, m.cooking) and m.state_size == 4
