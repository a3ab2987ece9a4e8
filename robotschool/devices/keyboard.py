"""Keyboard operator in the PyBullet window, read with PyBullet's own getKeyboardEvents (never pynput,
which fails over SSH and Wayland).

Frame: ROBOT-RELATIVE. Every hand motion is a delta in the robot base frame (x forward, y to the robot's left,
z up), which walks and turns with the robot, so "forward" always means the way the robot faces whatever the
camera shows. The device emits deltas (HandCommand.delta) and the Retargeter adds them to the current hand
targets; with clutch off the hands hold whatever keys are pressed. Rotations are about the base frame axes.

Modes: continuous (default: the hand moves at `linear_speed` x speed scale while a key is held) or step
(`step_mode` key: each key press moves one `step_size`), so the hand moves only while intended. Bindings and
speeds come from configs/devices/keyboard.yaml (strict: unknown keys, unknown key names and a key bound twice
are one-line errors). The device only reads keys and says what they mean; the teleop session draws the HUD
from its public state (`active`, `grips`, `clutch`, `step_mode`, `speed`, `help_visible`).
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from robotschool import config, geometry
from robotschool.devices.base import Device
from robotschool.errors import ConfigError
from robotschool.paths import configs_dir
from robotschool.registry import DEVICES
from robotschool.types import (ARMS, EVENT_DISCARD, EVENT_QUIT, EVENT_RESET, EVENT_SAVE, EVENT_START, HandCommand,
                               OperatorCommand, Pose)

# PyBullet key codes (pybullet.B3G_* values) for the named keys; letters and digits are their ASCII codes.
_NAMED = {"up": 65297, "down": 65298, "left": 65295, "right": 65296, "space": 32, "return": 65309,
          "backspace": 65305, "tab": 9, "minus": 45, "equal": 61, "comma": 44, "period": 46, "slash": 47,
          "semicolon": 59, "bracketleft": 91, "bracketright": 93}
_IS_DOWN, _TRIGGERED, _RELEASED = 1, 2, 4    # pybullet.KEY_IS_DOWN, KEY_WAS_TRIGGERED, KEY_WAS_RELEASED


def key_code(name: str) -> int:
    """Key name as written in keyboard.yaml -> PyBullet key code; ValueError for an unknown name."""
    if name in _NAMED:
        return _NAMED[name]
    if len(name) == 1 and (name.islower() or name.isdigit()):
        return ord(name)
    raise ValueError(name)


@dataclass(frozen=True)
class KeyBindings:
    hand_forward: str = "w"
    hand_back: str = "s"
    hand_left: str = "a"
    hand_right: str = "d"
    hand_up: str = "r"
    hand_down: str = "f"
    roll_plus: str = "o"
    roll_minus: str = "u"
    pitch_plus: str = "k"
    pitch_minus: str = "i"
    yaw_plus: str = "j"
    yaw_minus: str = "l"
    select_left: str = "1"
    select_right: str = "2"
    select_both: str = "3"
    grip: str = "g"
    clutch: str = "c"
    step_mode: str = "m"
    slower: str = "minus"
    faster: str = "equal"
    walk_forward: str = "up"
    walk_back: str = "down"
    turn_left: str = "left"
    turn_right: str = "right"
    strafe_left: str = "comma"
    strafe_right: str = "period"
    start: str = "t"
    save: str = "y"
    discard: str = "x"
    reset: str = "z"
    quit: str = "q"
    help: str = "h"


@dataclass(frozen=True)
class KeyboardSettings:
    linear_speed: float = field(default=0.15, metadata=config.check(lo=0.0, hi=2.0))
    angular_speed: float = field(default=0.8, metadata=config.check(lo=0.0, hi=10.0))
    step_size: float = field(default=0.01, metadata=config.check(lo=0.0, hi=0.2))
    step_angle: float = field(default=0.05, metadata=config.check(lo=0.0, hi=1.0))
    speed_scales: tuple[float, ...] = field(default=(0.25, 0.5, 1.0, 2.0), metadata=config.check(lo=0.0, hi=10.0))
    initial_speed: int = field(default=2, metadata=config.check(lo=0))
    base_speed: tuple[float, float, float] = (0.3, 0.2, 0.6)
    keys: KeyBindings = field(default_factory=KeyBindings)


def load_settings(path: str | Path | None = None, overrides: Sequence[str] = ()) -> KeyboardSettings:
    """configs/devices/keyboard.yaml (or `path`) -> KeyboardSettings; every mistake is one ConfigError line."""
    path = Path(path) if path is not None else configs_dir() / "devices" / "keyboard.yaml"
    s = config.load(KeyboardSettings, path, overrides)
    if not s.speed_scales:
        raise ConfigError(f"{path}: key 'speed_scales': expected at least one value")
    if s.initial_speed >= len(s.speed_scales):
        raise ConfigError(f"{path}: key 'initial_speed': {s.initial_speed} is not an index of speed_scales "
                          f"(0..{len(s.speed_scales) - 1})")
    seen: dict[int, str] = {}
    for f in dataclasses.fields(KeyBindings):
        name = getattr(s.keys, f.name)
        try:
            code = key_code(name)
        except ValueError:
            raise ConfigError(f"{path}: key 'keys.{f.name}': unknown key name {name!r}; use a lower-case letter, "
                              f"a digit or one of: {', '.join(_NAMED)}") from None
        if code in seen:
            raise ConfigError(f"{path}: key 'keys.{f.name}': {name!r} is already bound to {seen[code]}")
        seen[code] = f.name
    return s


# (positive key, negative key, axis index) for translation and rotation
_MOVE = (("hand_forward", "hand_back", 0), ("hand_left", "hand_right", 1), ("hand_up", "hand_down", 2))
_TURN = (("roll_plus", "roll_minus", 0), ("pitch_plus", "pitch_minus", 1), ("yaw_plus", "yaw_minus", 2))
_WALK = (("walk_forward", "walk_back", 0), ("strafe_left", "strafe_right", 1), ("turn_left", "turn_right", 2))
_EVENTS = (("start", EVENT_START), ("save", EVENT_SAVE), ("discard", EVENT_DISCARD), ("reset", EVENT_RESET),
           ("quit", EVENT_QUIT))
_HELP = (("hand_forward", "hand_back", "hand fwd/back (base x)"), ("hand_left", "hand_right", "hand left/right (y)"),
         ("hand_up", "hand_down", "hand up/down (z)"), ("roll_plus", "roll_minus", "roll"),
         ("pitch_plus", "pitch_minus", "pitch"), ("yaw_plus", "yaw_minus", "yaw"),
         ("select_left", "select_right", "left / right hand"), ("select_both", None, "both hands"),
         ("grip", None, "open/close grip"), ("clutch", None, "clutch on/off"), ("step_mode", None, "step mode"),
         ("faster", "slower", "speed +/-"), ("walk_forward", "walk_back", "walk fwd/back"),
         ("turn_left", "turn_right", "turn left/right"), ("strafe_left", "strafe_right", "strafe left/right"),
         ("start", None, "start recording"), ("save", None, "save episode"), ("discard", None, "discard episode"),
         ("reset", None, "reset scene"), ("quit", None, "quit"), ("help", None, "hide this help"))


def _rotvec_matrix(v: np.ndarray) -> np.ndarray:
    angle = float(np.linalg.norm(v))
    return geometry.axis_angle_matrix(v / angle, angle) if angle > 0 else np.eye(3)


@DEVICES.register("keyboard")
class KeyboardDevice(Device):
    """Both hands and the base from the keyboard of the PyBullet GUI (see module docstring)."""

    name = "keyboard"
    live = True

    @classmethod
    def open(cls, ctx) -> "KeyboardDevice":
        """Build from a teleop.LiveContext (the GUI's key reader, the control rate, YAML overrides)."""
        return cls(ctx.read_keys, ctx.control_hz, load_settings(overrides=ctx.overrides), ctx.operator_id)

    def __init__(self, read_keys: Callable[[], Mapping[int, int]], control_hz: float,
                 settings: KeyboardSettings | None = None, operator_id: str = "human",
                 clock: Callable[[], float] = time.monotonic):
        """`read_keys` is the GUI client's getKeyboardEvents (key code -> state flags)."""
        self.read_keys = read_keys
        self.dt = 1.0 / control_hz
        self.settings = settings or load_settings()
        self.operator_id = operator_id
        self.clock = clock
        self.codes = {f.name: key_code(getattr(self.settings.keys, f.name)) for f in dataclasses.fields(KeyBindings)}
        self.active: tuple[str, ...] = ("right",)
        self.grips = {arm: 0.0 for arm in ARMS}
        self.clutch = True
        self.step_mode = False
        self.speed_index = self.settings.initial_speed
        self.help_visible = False
        self._held: set[int] = set()     # keys seen going down and not yet released

    @property
    def speed(self) -> float:
        return self.settings.speed_scales[self.speed_index]

    def reset_hands(self) -> None:
        """A new episode starts with open grippers (the robot was reset to its home posture)."""
        self.grips = {arm: 0.0 for arm in ARMS}

    def status_lines(self) -> list[str]:
        """HUD lines: what the keys do right now."""
        hands = " + ".join(self.active)
        grips = ", ".join(f"{a} {'closed' if self.grips[a] > 0.5 else 'open'}" for a in ARMS)
        mode = "step" if self.step_mode else "continuous"
        return [f"hand: {hands} | grips: {grips}",
                f"clutch {'ON' if self.clutch else 'OFF (hands hold)'} | {mode} | speed x{self.speed:g} | "
                f"{self.settings.keys.help}: help"]

    def help_lines(self) -> list[str]:
        k = self.settings.keys
        out = []
        for a, b, text in _HELP:
            keys = getattr(k, a) + (f"/{getattr(k, b)}" if b else "")
            out.append(f"{keys:>14}  {text}")
        return out

    def poll(self, obs: Mapping[str, np.ndarray], t: float) -> OperatorCommand:
        keys = self.read_keys()
        stamp = self.clock()
        c = self.codes

        def down(name: str) -> bool:
            return bool(keys.get(c[name], 0) & _IS_DOWN)

        fired = set()
        for code, flags in keys.items():
            # A tap shorter than a poll interval can arrive as "released" only, without "triggered".
            if flags & _TRIGGERED or (flags & _RELEASED and code not in self._held):
                fired.add(code)
            if flags & _TRIGGERED:
                self._held.add(code)
            if flags & _RELEASED:
                self._held.discard(code)

        def pressed(name: str) -> bool:
            return c[name] in fired

        if pressed("select_left"):
            self.active = ("left",)
        if pressed("select_right"):
            self.active = ("right",)
        if pressed("select_both"):
            self.active = ARMS
        if pressed("grip"):
            closed = not all(self.grips[a] > 0.5 for a in self.active)
            for a in self.active:
                self.grips[a] = 1.0 if closed else 0.0
        if pressed("clutch"):
            self.clutch = not self.clutch
        if pressed("step_mode"):
            self.step_mode = not self.step_mode
        if pressed("faster"):
            self.speed_index = min(self.speed_index + 1, len(self.settings.speed_scales) - 1)
        if pressed("slower"):
            self.speed_index = max(self.speed_index - 1, 0)
        if pressed("help"):
            self.help_visible = not self.help_visible
        events = tuple(ev for name, ev in _EVENTS if pressed(name))

        s = self.settings
        active = pressed if self.step_mode else down
        lin = s.step_size if self.step_mode else s.linear_speed * self.speed * self.dt
        ang = s.step_angle if self.step_mode else s.angular_speed * self.speed * self.dt
        dpos = np.array([lin * (active(p) - active(n)) for p, n, _ in _MOVE])
        drot = np.array([ang * (active(p) - active(n)) for p, n, _ in _TURN])
        delta = Pose.from_matrix(dpos, _rotvec_matrix(drot)) if (dpos.any() or drot.any()) else None
        twist = tuple(float(v * self.speed * (down(p) - down(n))) for (p, n, _), v in zip(_WALK, s.base_speed))
        hands = {arm: HandCommand(delta=delta if arm in self.active else None, grip=self.grips[arm],
                                  clutch=self.clutch) for arm in ARMS}
        return OperatorCommand(left=hands["left"], right=hands["right"], base_twist=twist, events=events,
                               timestamp=stamp)
