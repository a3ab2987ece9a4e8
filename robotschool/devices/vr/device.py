"""The VR device: turns the pose server's newest sample into an OperatorCommand each control tick.

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
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Mapping

import numpy as np

from robotschool import geometry
from robotschool.devices.base import Device
from robotschool.devices.vr.protocol import BUTTON_EVENTS, VRSample
from robotschool.devices.vr.server import PoseServer, _check_bind, import_websockets
from robotschool.devices.vr.settings import VRSettings, load_settings
from robotschool.recording import schema
from robotschool.registry import DEVICES
from robotschool.types import ARMS, HandCommand, OperatorCommand, Pose


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
