"""Render a scene to PNG from an observer camera (used for the README screenshots).

Usage:
    python scripts/render_scene.py [--scene parts_sorting] [--seed 0] [--steps 0] [--out scenes/parts_sorting.png]

Builds the scene exactly as an episode starts (seeded), optionally runs the scripted operator for --steps
control ticks so the robot is mid-task, and renders with PyBullet's TinyRenderer (CPU, no display).
"""
from __future__ import annotations

import argparse
import struct
import zlib

import numpy as np

from robotschool.devices.scripted import ScriptedDevice
from robotschool.env import RobotEnv
from robotschool.rollout import make_retargeter


def write_png(path: str, rgb: np.ndarray) -> None:
    """Minimal PNG encoder (8-bit RGB), so the core needs no imaging library."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scene", default="parts_sorting")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=0, help="control ticks of the scripted operator before rendering")
    ap.add_argument("--width", type=int, default=800)
    ap.add_argument("--height", type=int, default=520)
    ap.add_argument("--out", default=None)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--robot", default=None, help="robot name or YAML (default: the scene's)")
    ap.add_argument("--yaw", type=float, default=125.0, help="observer camera yaw (degrees)")
    ap.add_argument("--distance", type=float, default=1.75, help="observer camera distance (m)")
    ap.add_argument("--target", default="0.25,0,1.12", help="observer camera target x,y,z (m)")
    args = ap.parse_args()
    env = RobotEnv(args.scene, robot=args.robot, overrides=args.overrides)
    obs = env.reset(seed=[args.seed, 0])
    device = ScriptedDevice(env.make_oracle())
    retarget = make_retargeter(env)
    for _ in range(args.steps):
        obs, *_ = env.step(env.encode(retarget(device.poll(obs, env.time))))
    p = env.world.p
    view = p.computeViewMatrixFromYawPitchRoll([float(v) for v in args.target.split(",")], args.distance,
                                            args.yaw, -30, 0, 2)
    proj = p.computeProjectionMatrixFOV(45, args.width / args.height, 0.05, 10)
    _, _, rgba, _, _ = p.getCameraImage(args.width, args.height, view, proj, renderer=p.ER_TINY_RENDERER,
                                        shadow=1, lightDirection=[1.0, 1.5, 3.0])
    rgb = np.asarray(rgba, dtype=np.uint8).reshape(args.height, args.width, 4)[:, :, :3]
    out = args.out or f"scenes/{args.scene}.png"
    write_png(out, rgb)
    print(f"wrote {out}")
    env.close()


if __name__ == "__main__":
    main()
