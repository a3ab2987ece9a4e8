"""VR pose-stream protocol, schema version 1: the message schema and its validation (no networking here).

    {"version": 1, "type": "pose",
     "head":  {"pos": [x, y, z], "quat": [x, y, z, w]},
     "left":  {"pos": [...], "quat": [...], "trigger": 0..1, "grip": 0..1, "stick": [x, y],
               "buttons": {"calibrate": false, "start": false, "save": false, "discard": false,
                           "reset": false, "quit": false}},
     "right": {...}}
    {"version": 1, "type": "hello", "token": "..."}          (token-protected servers, instead of the header)

Poses are in the operator's tracking frame: metres, right-handed, z up, x forward, quaternions xyzw.
`parse_message` turns one raw message into a VRSample or raises MessageError naming the counter it counts
against (malformed, oversized, out_of_range, bad_version), so the server can reject it without crashing.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from robotschool.types import ARMS, EVENT_DISCARD, EVENT_QUIT, EVENT_RESET, EVENT_SAVE, EVENT_START, Pose

PROTOCOL_VERSION = 1
BUTTON_EVENTS = {"start": EVENT_START, "save": EVENT_SAVE, "discard": EVENT_DISCARD, "reset": EVENT_RESET,
                 "quit": EVENT_QUIT}
BUTTONS = ("calibrate", *BUTTON_EVENTS)
COUNTERS = ("connections", "received", "accepted", "malformed", "oversized", "out_of_range", "bad_version",
            "auth_failed")


class MessageError(ValueError):
    """A rejected message; `counter` names the counter it increments."""

    def __init__(self, counter: str, text: str):
        super().__init__(text)
        self.counter = counter


@dataclass(frozen=True)
class ControllerSample:
    pose: Pose | None
    trigger: float = 0.0
    grip: float = 0.0
    stick: tuple[float, float] = (0.0, 0.0)
    buttons: frozenset = frozenset()


@dataclass(frozen=True)
class VRSample:
    """One accepted pose message, stamped with the wall clock (time.monotonic) when it arrived."""

    head: Pose | None
    hands: dict[str, ControllerSample]
    received: float


def _number(v: Any, where: str, lo: float, hi: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise MessageError("malformed", f"{where}: expected a number")
    if not math.isfinite(v) or not lo <= v <= hi:
        raise MessageError("out_of_range", f"{where}: {v} is outside [{lo}, {hi}]")
    return float(v)


def _pose(d: Any, where: str, max_pos: float) -> Pose | None:
    if d is None:
        return None
    if not isinstance(d, dict) or not isinstance(d.get("pos"), list) or not isinstance(d.get("quat"), list) \
            or len(d["pos"]) != 3 or len(d["quat"]) != 4:
        raise MessageError("malformed", f"{where}: expected {{'pos': [x, y, z], 'quat': [x, y, z, w]}}")
    pos = [_number(v, f"{where}.pos", -max_pos, max_pos) for v in d["pos"]]
    quat = np.array([_number(v, f"{where}.quat", -2.0, 2.0) for v in d["quat"]])
    n = float(np.linalg.norm(quat))
    if not 0.5 <= n <= 1.5:
        raise MessageError("out_of_range", f"{where}.quat: norm {n:.3g} is not close to 1")
    return Pose(pos, quat / n)


def parse_message(raw: str | bytes, max_bytes: int, max_pos: float, received: float) -> dict[str, Any]:
    """Validate one message; returns {"type": "hello", "token": ...} or {"type": "pose", "sample": VRSample}.

    Raises MessageError (with the counter to increment) for anything else.
    """
    if len(raw) > max_bytes:
        raise MessageError("oversized", f"message of {len(raw)} bytes is over the {max_bytes}-byte limit")
    try:
        msg = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise MessageError("malformed", "not JSON") from None
    if not isinstance(msg, dict):
        raise MessageError("malformed", "expected a JSON object")
    if msg.get("version") != PROTOCOL_VERSION:
        raise MessageError("bad_version", f"version {msg.get('version')!r}; this server speaks {PROTOCOL_VERSION}")
    kind = msg.get("type", "pose")
    if kind == "hello":
        return {"type": "hello", "token": msg.get("token")}
    if kind != "pose":
        raise MessageError("malformed", f"unknown message type {kind!r}")
    hands = {}
    for arm in ARMS:
        h = msg.get(arm)
        if h is None:
            hands[arm] = ControllerSample(None)
            continue
        if not isinstance(h, dict):
            raise MessageError("malformed", f"{arm}: expected an object")
        stick = h.get("stick", [0.0, 0.0])
        if not isinstance(stick, list) or len(stick) != 2:
            raise MessageError("malformed", f"{arm}.stick: expected [x, y]")
        buttons = h.get("buttons", {})
        if not isinstance(buttons, dict) or any(not isinstance(v, bool) for v in buttons.values()):
            raise MessageError("malformed", f"{arm}.buttons: expected an object of true/false")
        unknown = set(buttons) - set(BUTTONS)
        if unknown:
            raise MessageError("malformed", f"{arm}.buttons: unknown button {sorted(unknown)[0]!r}")
        hands[arm] = ControllerSample(
            _pose(h, arm, max_pos) if "pos" in h or "quat" in h else None,
            _number(h.get("trigger", 0.0), f"{arm}.trigger", 0.0, 1.0),
            _number(h.get("grip", 0.0), f"{arm}.grip", 0.0, 1.0),
            tuple(_number(v, f"{arm}.stick", -1.0, 1.0) for v in stick),
            frozenset(b for b, v in buttons.items() if v))
    return {"type": "pose", "sample": VRSample(_pose(msg.get("head"), "head", max_pos), hands, received)}
