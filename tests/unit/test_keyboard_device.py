"""Keyboard device: key states -> OperatorCommand (robot-relative deltas, grips, modes, events), strict bindings."""
from __future__ import annotations

import numpy as np
import pytest

from robotschool.devices.keyboard import KeyboardDevice, key_code, load_settings
from robotschool.errors import ConfigError
from robotschool.paths import configs_dir
from robotschool.types import EVENT_SAVE, EVENT_START

DOWN, TRIGGERED, RELEASED = 1, 2, 4


class Keys:
    """The key source a GUI would give: one dict of key code -> PyBullet flags per poll."""

    def __init__(self):
        self.next: dict[int, int] = {}

    def __call__(self):
        out, self.next = self.next, {}
        return out

    def set(self, **flags: int) -> None:
        self.next = {key_code(k): v for k, v in flags.items()}


@pytest.fixture
def kb():
    keys = Keys()
    return keys, KeyboardDevice(keys, control_hz=20, settings=load_settings())


def test_held_key_moves_active_hand_in_base_frame(kb):
    keys, dev = kb
    s = dev.settings
    keys.set(w=DOWN, r=DOWN)
    cmd = dev.poll({}, 0.0)
    step = s.linear_speed * s.speed_scales[s.initial_speed] / 20
    np.testing.assert_allclose(cmd.right.delta.pos, [step, 0.0, step])
    assert cmd.left.delta is None                       # right hand is active by default
    keys.set(**{"3": TRIGGERED | DOWN, "a": DOWN})
    cmd = dev.poll({}, 0.0)
    np.testing.assert_allclose(cmd.left.delta.pos, [0.0, step, 0.0])
    np.testing.assert_allclose(cmd.right.delta.pos, [0.0, step, 0.0])


def test_tap_seen_only_as_released_still_counts_once(kb):
    keys, dev = kb
    keys.set(g=RELEASED, t=RELEASED)                    # a tap shorter than one poll
    cmd = dev.poll({}, 0.0)
    assert cmd.right.grip == 1.0 and cmd.events == (EVENT_START,)
    keys.set(g=TRIGGERED | DOWN)
    assert dev.poll({}, 0.0).right.grip == 0.0          # toggled open again
    keys.set(g=RELEASED)                                 # the release of that same press: no second toggle
    assert dev.poll({}, 0.0).right.grip == 0.0
    keys.set(y=TRIGGERED)
    assert dev.poll({}, 0.0).events == (EVENT_SAVE,)


def test_step_mode_clutch_speed_and_walking(kb):
    keys, dev = kb
    keys.set(m=TRIGGERED)
    dev.poll({}, 0.0)
    keys.set(w=DOWN)                                     # held, not pressed: no step in step mode
    assert dev.poll({}, 0.0).right.delta is None
    keys.set(w=TRIGGERED | DOWN)
    np.testing.assert_allclose(dev.poll({}, 0.0).right.delta.pos, [dev.settings.step_size, 0, 0])
    keys.set(c=TRIGGERED)
    assert not dev.poll({}, 0.0).right.clutch
    before = dev.speed
    keys.set(minus=TRIGGERED)
    dev.poll({}, 0.0)
    assert dev.speed < before
    keys.set(up=DOWN, left=DOWN)
    vx, vy, wz = dev.poll({}, 0.0).base_twist
    assert vx > 0 and vy == 0 and wz > 0


def test_bindings_are_strict(tmp_path):
    base = (configs_dir() / "devices" / "keyboard.yaml").read_text()
    with pytest.raises(ConfigError, match="keys.grip.*already bound to hand_forward"):
        load_settings(overrides=["keys.grip=w"])
    with pytest.raises(ConfigError, match="unknown key name 'F13'"):
        load_settings(overrides=["keys.help=F13"])
    bad = tmp_path / "kb.yaml"
    bad.write_text(base + "colour: red\n")
    with pytest.raises(ConfigError, match="colour"):
        load_settings(bad)
