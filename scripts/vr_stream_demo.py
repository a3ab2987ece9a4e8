"""Stream a synthetic two-hand motion to a running VR teleop server (protocol version 1).

    robotschool teleop --scene parts_sorting --device vr --out data/vr.hdf5     # in one terminal
    python scripts/vr_stream_demo.py --seconds 20                               # in another

Presses `calibrate` first (operator frame := robot frame, head facing +x), then squeezes both grips (clutch
engaged) and moves the hands on slow circles in front of the chest at 90 Hz while pulsing the triggers (the
grippers open and close) and turning the head from side to side; `--record` presses start at the beginning
and save at the end, so the motion lands in the teleop file.
"""
from __future__ import annotations

import argparse
import json
import math
import time

from websockets.sync.client import connect


def quat_yaw(yaw: float) -> list[float]:
    return [0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)]


def message(t: float, buttons: dict[str, bool]) -> str:
    w = 2 * math.pi * 0.25
    hands = {}
    for arm, side in (("left", 1.0), ("right", -1.0)):
        hands[arm] = {
            "pos": [0.35 + 0.08 * math.sin(w * t), side * (0.2 + 0.05 * math.cos(w * t)), 1.1 + 0.06 * math.sin(2 * w * t)],
            "quat": [0.0, 0.0, 0.0, 1.0],
            "grip": 1.0,                                            # squeezed: the hand follows the controller
            "trigger": 0.5 + 0.5 * math.sin(w * t / 2),            # gripper closes and opens
            "stick": [0.0, 0.0],
            "buttons": buttons if arm == "right" else {},
        }
    return json.dumps({"version": 1, "type": "pose",
                       "head": {"pos": [0.0, 0.0, 1.6], "quat": quat_yaw(0.4 * math.sin(w * t / 2))}, **hands})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="ws://127.0.0.1:8765")
    ap.add_argument("--token", default=None, help="the server's --token, if it has one")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--hz", type=float, default=90.0)
    ap.add_argument("--record", action="store_true", help="press start at the beginning and save at the end")
    a = ap.parse_args()
    headers = {"Authorization": f"Bearer {a.token}"} if a.token else None
    with connect(a.url, additional_headers=headers) as ws:
        ws.send(message(0.0, {"calibrate": True}))
        time.sleep(0.1)
        ws.send(message(0.0, {"start": a.record}))
        t0 = time.monotonic()
        n = 0
        while (t := time.monotonic() - t0) < a.seconds:
            ws.send(message(t, {}))
            n += 1
            time.sleep(max(0.0, t0 + n / a.hz - time.monotonic()))
        if a.record:
            ws.send(message(t, {"save": True}))
            time.sleep(0.3)
    print(f"sent {n} pose messages in {a.seconds:g} s ({n / a.seconds:.0f} Hz)")


if __name__ == "__main__":
    main()
