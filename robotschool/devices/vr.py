"""VR pose-stream device: a WebSocket server that a headset app (or any program) streams poses to.

Protocol (schema version 1, JSON text messages, documented in README "Teleoperation"):

    {"version": 1, "type": "pose",
     "head":  {"pos": [x, y, z], "quat": [x, y, z, w]},
     "left":  {"pos": [...], "quat": [...], "trigger": 0..1, "grip": 0..1, "stick": [x, y],
               "buttons": {"calibrate": false, "start": false, "save": false, "discard": false,
                           "reset": false, "quit": false}},
     "right": {...}}

Poses are in the operator's tracking frame: metres, right-handed, z up, x forward (each pose's x axis points
where the head looks / the controller points). A client on a token-protected server presents the token as an
HTTP header `Authorization: Bearer <token>` or in a first message `{"version": 1, "type": "hello", "token": ...}`.

What the device does with the stream (all in `poll`, at the control rate):
- calibration: the `calibrate` button sets the operator frame's origin under the head and turns its heading
  (the head's yaw) to the robot's x axis, so "forward" for the operator is forward for the robot;
- clutch: a hand follows its controller only while the controller's grip value >= `clutch_threshold`;
- anchoring: when a hand engages (clutch, calibration, or the stream resuming after a stall) the device notes
  the controller pose and the hand's last target (its measured TCP the first time) and from then on emits
  target = last target + scale x (controller motion since the anchor), rotations likewise: absolute poses in
  the robot base frame, so nothing jumps and a recorded stream can be retargeted to another robot;
- smoothing: exponential, factor `smoothing` per tick, on the calibrated controller and head poses;
- dropout: no sample for more than `stall_s` (100 ms) -> the hands hold their targets and the base twist is
  zero; the next sample re-anchors (no jump).
Malformed, oversized or out-of-range messages are rejected and counted in `counters`, never crash the server.
The server binds 127.0.0.1 by default; any other address needs a token (refused without one).
"""
from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from robotschool import config, geometry
from robotschool.devices.base import Device
from robotschool.errors import ConfigError, RobotschoolError
from robotschool.paths import configs_dir
from robotschool.recording import schema
from robotschool.registry import DEVICES
from robotschool.types import (ARMS, EVENT_DISCARD, EVENT_QUIT, EVENT_RESET, EVENT_SAVE, EVENT_START, HandCommand,
                               OperatorCommand, Pose)

PROTOCOL_VERSION = 1
BUTTON_EVENTS = {"start": EVENT_START, "save": EVENT_SAVE, "discard": EVENT_DISCARD, "reset": EVENT_RESET,
                 "quit": EVENT_QUIT}
BUTTONS = ("calibrate", *BUTTON_EVENTS)
COUNTERS = ("connections", "received", "accepted", "malformed", "oversized", "out_of_range", "bad_version",
            "auth_failed")
_HARD_MAX_BYTES = 1 << 20       # the WebSocket library drops a connection above this (still counted)
_AUTH_CLOSE = 1008              # policy violation


@dataclass(frozen=True)
class VRSettings:
    port: int = field(default=8765, metadata=config.check(lo=0, hi=65535))
    scale: float = field(default=1.0, metadata=config.check(lo=0.01, hi=10.0))
    smoothing: float = field(default=0.5, metadata=config.check(lo=0.01, hi=1.0))
    stall_s: float = field(default=0.1, metadata=config.check(lo=0.001, hi=10.0))
    max_message_bytes: int = field(default=65536, metadata=config.check(lo=256, hi=_HARD_MAX_BYTES))
    max_position_m: float = field(default=10.0, metadata=config.check(lo=0.1, hi=1000.0))
    clutch_threshold: float = field(default=0.5, metadata=config.check(lo=0.0, hi=1.0))
    walk_deadzone: float = field(default=0.15, metadata=config.check(lo=0.0, hi=0.9))
    base_speed: tuple[float, float, float] = (0.3, 0.2, 0.6)
    auth_timeout_s: float = field(default=2.0, metadata=config.check(lo=0.1, hi=60.0))


def load_settings(path: str | Path | None = None, overrides: Sequence[str] = ()) -> VRSettings:
    return config.load(VRSettings, Path(path) if path else configs_dir() / "devices" / "vr.yaml", overrides)


def import_websockets():
    try:
        import websockets.asyncio.server  # noqa: F401
        import websockets
    except ImportError:
        raise RobotschoolError("the VR device needs the websockets package; install it with "
                               "`pip install robotschool[vr]`") from None
    return websockets


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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_bind(host: str, token: str | None) -> None:
    if not _is_loopback(host) and not token:
        raise ConfigError(f"binding the VR server to {host} (not loopback) needs a token: pass --token SECRET "
                          f"and give the same token to the headset app, or bind 127.0.0.1")


class PoseServer:
    """The WebSocket server, in a background thread with its own asyncio loop.

    Holds the latest accepted sample, the button presses (rising edges) not yet collected, and the counters;
    everything the control thread reads goes through one lock.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
                 settings: VRSettings | None = None, clock: Callable[[], float] = time.monotonic):
        _check_bind(host, token)
        self.host, self.port, self.token = host, port, token
        self.s = settings or VRSettings()
        self.clock = clock
        self.counters = {k: 0 for k in COUNTERS}
        self.clients = 0
        self._lock = threading.Lock()
        self._latest: VRSample | None = None
        self._pressed: list[str] = []
        self._held: dict[str, frozenset] = {arm: frozenset() for arm in ARMS}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._ready = threading.Event()

    # -- control-thread API ------------------------------------------------------------------------------
    def start(self) -> "PoseServer":
        import_websockets()
        self._thread = threading.Thread(target=self._run, name="vr-pose-server", daemon=True)
        self._thread.start()
        self._ready.wait(10.0)
        if self._error is not None:
            raise RobotschoolError(f"cannot start the VR server on {self.host}:{self.port} ({self._error}); "
                                   f"choose another --port") from None
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(5.0)
        self._thread = None

    def latest(self) -> tuple[VRSample | None, list[str]]:
        """The newest sample and the button presses since the last call."""
        with self._lock:
            pressed, self._pressed = self._pressed, []
            return self._latest, pressed

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counters)

    # -- server thread -----------------------------------------------------------------------------------
    def _count(self, name: str) -> None:
        with self._lock:
            self.counters[name] += 1

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as e:          # reported to start(); the thread must not die silently
            self._error = e
            self._ready.set()

    async def _main(self) -> None:
        from websockets.asyncio.server import serve

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._handler, self.host, self.port, max_size=_HARD_MAX_BYTES,
                         ping_interval=None) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    def _token_ok(self, presented: Any) -> bool:
        return isinstance(presented, str) and hmac.compare_digest(presented.encode(), self.token.encode())

    async def _handler(self, ws) -> None:
        from websockets.exceptions import ConnectionClosed

        self._count("connections")
        authed = self.token is None
        if not authed:
            header = ws.request.headers.get("Authorization", "") if ws.request is not None else ""
            authed = header.startswith("Bearer ") and self._token_ok(header[len("Bearer "):])
        deadline = self.clock() + self.s.auth_timeout_s
        with self._lock:
            self.clients += 1
        try:
            while True:
                try:
                    timeout = None if authed else max(0.0, deadline - self.clock())
                    raw = await asyncio.wait_for(ws.recv(), timeout)
                except (asyncio.TimeoutError, TimeoutError):
                    self._count("auth_failed")
                    await ws.close(_AUTH_CLOSE, "token required")
                    return
                self._count("received")
                try:
                    msg = parse_message(raw, self.s.max_message_bytes, self.s.max_position_m, self.clock())
                except MessageError as e:
                    self._count(e.counter)
                    if not authed:
                        self._count("auth_failed")
                        await ws.close(_AUTH_CLOSE, "token required")
                        return
                    continue
                if msg["type"] == "hello":
                    if self.token is not None and not self._token_ok(msg["token"]):
                        self._count("auth_failed")
                        await ws.close(_AUTH_CLOSE, "wrong token")
                        return
                    authed = True
                    continue
                if not authed:
                    self._count("auth_failed")
                    await ws.close(_AUTH_CLOSE, "token required")
                    return
                self._accept(msg["sample"])
        except ConnectionClosed as e:
            if e.rcvd is None and e.sent is not None and e.sent.code == 1009:
                self._count("oversized")
        finally:
            with self._lock:
                self.clients -= 1

    def _accept(self, sample: VRSample) -> None:
        with self._lock:
            self.counters["accepted"] += 1
            for arm in ARMS:
                now = sample.hands[arm].buttons
                self._pressed += [b for b in BUTTONS if b in now and b not in self._held[arm]]
                self._held[arm] = now
            self._latest = sample


def _blend(old: Pose, new: Pose, a: float) -> Pose:
    """Exponential smoothing step: position lerp, quaternion nlerp along the short way."""
    q0, q1 = old.quat, new.quat
    if float(np.dot(q0, q1)) < 0:
        q1 = -q1
    q = (1 - a) * q0 + a * q1
    return Pose((1 - a) * old.pos + a * new.pos, q / np.linalg.norm(q))


@DEVICES.register("vr")
class VRDevice(Device):
    """Head and both hands from a VR pose stream (module docstring: calibration, clutch, anchoring, dropout)."""

    name = "vr"
    live = True

    def __init__(self, server: PoseServer, settings: VRSettings | None = None, operator_id: str = "human",
                 clock: Callable[[], float] = time.monotonic):
        self.server = server
        self.s = settings or server.s
        self.operator_id = operator_id
        self.clock = clock
        self.calibration = Pose.identity()       # tracking frame -> calibrated operator frame
        self.stalled = True
        self._smooth: dict[str, Pose | None] = {arm: None for arm in ARMS}
        self._head: Pose | None = None
        self._anchor: dict[str, tuple[Pose, Pose] | None] = {arm: None for arm in ARMS}   # (controller, target)
        self._last_target: dict[str, Pose | None] = {arm: None for arm in ARMS}

    @staticmethod
    def check_options(options: Mapping[str, Any]) -> None:
        """Refuse a bad bind before anything is built (the CLI calls this first)."""
        import_websockets()
        _check_bind(options.get("host", "127.0.0.1"), options.get("token"))

    @classmethod
    def open(cls, ctx) -> "VRDevice":
        settings = load_settings(overrides=ctx.overrides)
        port = ctx.options.get("port", settings.port)
        server = PoseServer(ctx.options.get("host", "127.0.0.1"), port, ctx.options.get("token"), settings).start()
        print(f"robotschool: VR server listening on ws://{server.host}:{server.port}", flush=True)
        return cls(server, settings, ctx.operator_id)

    def close(self) -> None:
        self.server.stop()

    def reset_hands(self) -> None:
        """After a scene reset the robot is back home: anchor again from the measured hands."""
        self._anchor = {arm: None for arm in ARMS}
        self._last_target = {arm: None for arm in ARMS}

    def _calibrate(self, sample: VRSample) -> None:
        ref = sample.head
        if ref is None:
            poses = [sample.hands[a].pose for a in ARMS if sample.hands[a].pose is not None]
            if not poses:
                return
            ref = Pose(np.mean([p.pos for p in poses], axis=0), poses[0].quat)
        f = ref.rot[:, 0]
        yaw = math.atan2(f[1], f[0])
        turn = Pose([0, 0, 0], geometry.yaw_quat(-yaw))
        origin = np.array([ref.pos[0], ref.pos[1], 0.0])
        self.calibration = turn.compose(Pose(-origin, [0, 0, 0, 1]))
        self._anchor = {arm: None for arm in ARMS}
        self._smooth = {arm: None for arm in ARMS}
        self._head = None

    def poll(self, obs: Mapping[str, np.ndarray], t: float) -> OperatorCommand:
        sample, pressed = self.server.latest()
        now = self.clock()
        events = tuple(BUTTON_EVENTS[b] for b in pressed if b in BUTTON_EVENTS)
        stalled = sample is None or now - sample.received > self.s.stall_s
        if stalled:
            self.stalled = True
            self._anchor = {arm: None for arm in ARMS}
            hold = HandCommand(pose=None, clutch=False, grip=math.nan)
            return OperatorCommand(left=hold, right=hold, events=events, timestamp=now)
        if self.stalled:                          # resume: smoothing and anchors start over from this sample
            self.stalled = False
            self._smooth = {arm: None for arm in ARMS}
            self._head = None
        if "calibrate" in pressed:
            self._calibrate(sample)
        a = self.s.smoothing
        hands = {}
        for arm in ARMS:
            c = sample.hands[arm]
            engaged = c.pose is not None and c.grip >= self.s.clutch_threshold
            if not engaged:
                self._anchor[arm] = None
                hands[arm] = HandCommand(pose=None, clutch=False, grip=c.trigger)
                continue
            raw = self.calibration.compose(c.pose)
            prev = self._smooth[arm]
            cur = raw if prev is None else _blend(prev, raw, a)
            self._smooth[arm] = cur
            if self._anchor[arm] is None:
                target = self._last_target[arm]
                if target is None:
                    target = Pose(obs[schema.OBS_EEF_POS.format(arm=arm)], obs[schema.OBS_EEF_QUAT.format(arm=arm)])
                self._anchor[arm] = (cur, target)
            ctrl0, target0 = self._anchor[arm]
            pos = target0.pos + self.s.scale * (cur.pos - ctrl0.pos)
            rot = cur.rot @ ctrl0.rot.T @ target0.rot
            pose = Pose.from_matrix(pos, rot)
            self._last_target[arm] = pose
            hands[arm] = HandCommand(pose=pose, clutch=True, grip=c.trigger)
        head = None
        if sample.head is not None:
            raw = self.calibration.compose(sample.head)
            self._head = raw if self._head is None else _blend(self._head, raw, a)
            head = self._head
        twist = self._twist(sample)
        return OperatorCommand(left=hands["left"], right=hands["right"], base_twist=twist, head=head,
                               events=events, timestamp=sample.received)

    def _twist(self, sample: VRSample) -> tuple[float, float, float]:
        def dz(v: float) -> float:
            return 0.0 if abs(v) < self.s.walk_deadzone else v

        lx, ly = sample.hands["left"].stick
        rx, _ = sample.hands["right"].stick
        vx, vy, wz = self.s.base_speed
        return (vx * dz(ly), -vy * dz(lx), -wz * dz(rx))

    def status_lines(self) -> list[str]:
        c = self.server.snapshot()
        state = "STALLED (holding)" if self.stalled else "streaming"
        rejected = c["malformed"] + c["oversized"] + c["out_of_range"] + c["bad_version"]
        return [f"vr {self.server.host}:{self.server.port} | clients {self.server.clients} | {state}",
                f"accepted {c['accepted']} | rejected {rejected} | auth failed {c['auth_failed']}"]
