"""The VR pose-stream device with a real WebSocket server and real websockets clients.

A streamed motion moves the robot's hand (real PyBullet, through retarget + IK); malformed, oversized and
out-of-range messages are rejected and counted while the server keeps serving; a stall holds the robot still
and resuming or reconnecting does not jump; a non-loopback bind needs a token, and clients without the right
token are refused.
"""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from robotschool.devices.vr import PoseServer, VRDevice, VRSettings
from robotschool.errors import ConfigError
from robotschool.recording import schema
from robotschool.rollout import ControlLoop
from robotschool.types import ARMS

pytestmark = pytest.mark.timeout(120)
FACING_X = [0.0, 0.0, 0.0, 1.0]        # identity: x forward


def msg(right_pos=(0.3, -0.2, 1.0), grip=1.0, trigger=0.0, buttons=None, head=True, **extra) -> str:
    m = {"version": 1, "type": "pose",
         "right": {"pos": list(right_pos), "quat": FACING_X, "grip": grip, "trigger": trigger,
                   "buttons": buttons or {}},
         "left": {"pos": [0.3, 0.2, 1.0], "quat": FACING_X, "grip": 0.0}}
    if head:
        m["head"] = {"pos": [0.0, 0.0, 1.6], "quat": FACING_X}
    m.update(extra)
    return json.dumps(m)


def fake_obs(pos=(0.3, -0.25, 1.1)) -> dict:
    obs = {}
    for arm in ARMS:
        obs[schema.OBS_EEF_POS.format(arm=arm)] = np.array(pos)
        obs[schema.OBS_EEF_QUAT.format(arm=arm)] = np.array([0.0, 0.0, 0.0, 1.0])
    return obs


def wait_accepted(server: PoseServer, n: int, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while server.snapshot()["accepted"] < n:
        assert time.monotonic() < end, f"server accepted {server.snapshot()} (wanted {n})"
        time.sleep(0.005)


@pytest.fixture
def server():
    s = PoseServer("127.0.0.1", 0, settings=VRSettings(smoothing=1.0)).start()
    yield s
    s.stop()


def test_streamed_motion_moves_the_robot_hand(one_part_env, server):
    env = one_part_env
    env.reset(seed=[0, 0])
    device = VRDevice(server)
    loop = ControlLoop(env, device)
    start = {arm: loop.obs[schema.OBS_EEF_POS.format(arm=arm)].copy() for arm in ARMS}
    with connect(f"ws://127.0.0.1:{server.port}") as ws:
        ws.send(msg(buttons={"calibrate": True}))
        for i in range(40):                        # right controller 12 cm forward and 6 cm up, streamed
            f = min(i / 25, 1.0)
            ws.send(msg(right_pos=(0.3 + 0.12 * f, -0.2, 1.0 + 0.06 * f)))
            wait_accepted(server, i + 2)
            loop.tick()
    end = {arm: loop.obs[schema.OBS_EEF_POS.format(arm=arm)] for arm in ARMS}
    moved = end["right"] - start["right"]
    assert moved[0] == pytest.approx(0.12, abs=0.02) and moved[2] == pytest.approx(0.06, abs=0.02), moved
    assert abs(moved[1]) < 0.02
    assert np.linalg.norm(end["left"] - start["left"]) < 0.01      # left grip < clutch threshold: holds


def test_bad_messages_are_rejected_and_counted(server):
    with connect(f"ws://127.0.0.1:{server.port}", max_size=None) as ws:
        ws.send("this is not json")
        ws.send(json.dumps([1, 2, 3]))
        ws.send(json.dumps({"version": 99, "type": "pose"}))
        ws.send(msg(right_pos=(1e6, 0, 0)))                                    # out of range
        ws.send(msg(trigger=7.0))                                              # out of range
        ws.send(json.dumps({"version": 1, "type": "pose", "right": {"pos": [0, 0], "quat": [0, 0, 0, 1]}}))
        ws.send(msg(padding="x" * 70_000))                                     # over the 64 KiB limit
        ws.send(msg())                                                         # still served
        wait_accepted(server, 1)
    c = server.snapshot()
    assert (c["malformed"], c["bad_version"], c["out_of_range"], c["oversized"]) == (3, 1, 2, 1), c
    assert c["accepted"] == 1 and c["received"] == 8


def test_stall_holds_still_and_resume_and_reconnect_do_not_jump(server):
    device = VRDevice(server, VRSettings(smoothing=1.0, stall_s=0.1))
    obs = fake_obs()
    with connect(f"ws://127.0.0.1:{server.port}") as ws:
        ws.send(msg(buttons={"calibrate": True}))
        wait_accepted(server, 1)
        device.poll(obs, 0.0)
        ws.send(msg(right_pos=(0.4, -0.2, 1.0)))
        wait_accepted(server, 2)
        before = device.poll(obs, 0.0).right.pose.pos.copy()
        assert before[0] == pytest.approx(0.3 + 0.1)          # TCP x 0.3 + 10 cm of controller motion
        time.sleep(0.25)                                       # the stream stalls
        held = device.poll(obs, 0.0)
        assert device.stalled and held.right.pose is None and not held.right.clutch
        assert held.base_twist == (0.0, 0.0, 0.0)
        ws.send(msg(right_pos=(0.7, -0.2, 1.0)))               # the controller moved 30 cm during the stall
        wait_accepted(server, 3)
        resumed = device.poll(obs, 0.0).right.pose.pos
        np.testing.assert_allclose(resumed, before, atol=1e-9)   # re-anchored: no jump
        ws.send(msg(right_pos=(0.75, -0.2, 1.0)))
        wait_accepted(server, 4)
        np.testing.assert_allclose(device.poll(obs, 0.0).right.pose.pos, before + [0.05, 0, 0], atol=1e-9)
        last = device.poll(obs, 0.0).right.pose.pos.copy()
    time.sleep(0.2)                                            # disconnected: a stall too
    assert device.poll(obs, 0.0).right.pose is None
    with connect(f"ws://127.0.0.1:{server.port}") as ws:       # reconnect, controller somewhere else
        ws.send(msg(right_pos=(0.1, 0.0, 1.3)))
        wait_accepted(server, 5)
        np.testing.assert_allclose(device.poll(obs, 0.0).right.pose.pos, last, atol=1e-9)
    assert server.snapshot()["connections"] == 2


def test_non_loopback_bind_needs_a_token_and_clients_must_present_it():
    with pytest.raises(ConfigError, match="needs a token"):
        PoseServer("0.0.0.0", 0)
    server = PoseServer("0.0.0.0", 0, token="s3cret", settings=VRSettings(auth_timeout_s=1.0)).start()
    try:
        url = f"ws://127.0.0.1:{server.port}"
        with connect(url) as ws:                               # no token: the first pose is refused
            ws.send(msg())
            with pytest.raises(ConnectionClosed) as e:
                ws.recv(timeout=5)
            assert e.value.rcvd.code == 1008
        with connect(url) as ws:                               # wrong token
            ws.send(json.dumps({"version": 1, "type": "hello", "token": "guess"}))
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
        with connect(url) as ws:                               # silent client: refused after auth_timeout_s
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
        assert server.snapshot()["auth_failed"] == 3 and server.snapshot()["accepted"] == 0
        with connect(url, additional_headers={"Authorization": "Bearer s3cret"}) as ws:
            ws.send(msg())
            wait_accepted(server, 1)
        with connect(url) as ws:
            ws.send(json.dumps({"version": 1, "type": "hello", "token": "s3cret"}))
            ws.send(msg())
            wait_accepted(server, 2)
    finally:
        server.stop()
