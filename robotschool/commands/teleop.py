"""`robotschool teleop`: drive a scene's robot by hand in the PyBullet window and record episodes.

    robotschool teleop --scene parts_sorting --device keyboard --out data/teleop.hdf5
    robotschool teleop --scene parts_sorting --device vr --out data/vr.hdf5            # ws://127.0.0.1:8765
    robotschool teleop --scene parts_sorting --device vr --host 0.0.0.0 --token SECRET --out data/vr.hdf5

Keys (keyboard device; configs/devices/keyboard.yaml): t start, y save, x discard, z reset, q quit, h help.
Saved episodes are committed to --out at once; quitting or closing the window never loses them.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from robotschool.commands import PROG, camera_list, nonnegative_int

NAME = "teleop"
HELP = "teleoperate a scene in the PyBullet window and record episodes"


def add_arguments(g: argparse.ArgumentParser) -> None:
    g.description = ("Open the scene in the PyBullet window and drive the robot with a live device; start, save "
                     "and discard episodes from the device (keyboard: t / y / x, h for help).")
    g.add_argument("--scene", required=True, help="scene name (see `robotschool list`)")
    g.add_argument("--robot", default=None, help="robot name or robot YAML (default: the scene's robot)")
    g.add_argument("--device", default="keyboard", help="live device: keyboard or vr (default keyboard)")
    g.add_argument("--out", type=Path, required=True, help="HDF5 file the saved episodes go to")
    mode = g.add_mutually_exclusive_group()
    mode.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    mode.add_argument("--append", action="store_true", help="add episodes to an existing output file")
    g.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scene YAML value, e.g. --set parts.count=1 (repeatable)")
    g.add_argument("--device-set", dest="device_overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a value of configs/devices/<device>.yaml, e.g. --device-set linear_speed=0.1")
    g.add_argument("--seed", type=nonnegative_int, default=0,
                   help="base seed: the i-th scene reset draws from default_rng([seed, i]) (default 0)")
    g.add_argument("--operator", default="human", help="operator id stored with each demo (default human)")
    g.add_argument("--cameras", type=camera_list, default=[], metavar="A,B",
                   help="robot cameras to record (default none: keeps the GUI responsive)")
    g.add_argument("--camera-size", type=int, default=None, metavar="PX", help="square camera image size")
    g.add_argument("--host", default="127.0.0.1", help="vr: address to listen on (default 127.0.0.1)")
    g.add_argument("--port", type=nonnegative_int, default=8765, help="vr: port to listen on (default 8765)")
    g.add_argument("--token", default=None, help="vr: token clients must present (required off loopback)")
    g.add_argument("--max-seconds", type=float, default=None, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    from robotschool.env import RobotEnv
    from robotschool.errors import OutputPathError, UnknownNameError
    from robotschool.recording.writer import DatasetWriter
    from robotschool.registry import DEVICES
    from robotschool.errors import RobotschoolError
    from robotschool.teleop import LiveContext, TeleopSession, load_settings
    from robotschool.viewer import Viewer, ViewerClosed

    cls = DEVICES.get(args.device)
    live = [n for n in DEVICES.names() if getattr(DEVICES.get(n), "live", False)]
    if not getattr(cls, "live", False):
        raise UnknownNameError(f"device {args.device!r} cannot be driven live; choose one of: {', '.join(live)}")
    options = {"host": args.host, "port": args.port, "token": args.token}
    check = getattr(cls, "check_options", None)
    if check is not None:
        check(options)
    out = Path(args.out)
    if out.exists() and not (args.overwrite or args.append):
        raise OutputPathError(f"{out} exists; pass --append to add episodes to it or --overwrite to replace it")
    settings = load_settings()
    env = RobotEnv(args.scene, robot=args.robot, overrides=args.overrides, cameras=args.cameras,
                   camera_size=args.camera_size, ik_budget=settings.ik_budget)
    device = viewer = None
    s = None
    try:
        env.reset(seed=[args.seed, 0])          # data attrs (state size) need one reset; the session reuses it
        viewer = Viewer(env.env_kwargs(), settings)
        ctx = LiveContext(viewer.read_keys, env.config.control_hz, args.operator,
                          tuple(args.device_overrides), options)
        device = cls.open(ctx)
        with DatasetWriter(out, env.data_attrs(), overwrite=args.overwrite, resume=args.append) as writer:
            session = TeleopSession(env, device, writer, viewer=viewer, seed=args.seed, settings=settings,
                                    max_seconds=args.max_seconds)
            print(f"{PROG}: teleop {args.scene} with {device.name}; saving to {out} "
                  f"(keyboard: t start, y save, x discard, z reset, q quit, h help)", flush=True)
            s = session.run()
        print(f"saved:        {s.saved} episodes to {out}")
        print(f"discarded:    {s.discarded}")
        print(f"ticks:        {s.ticks} ({s.missed_ticks} missed, {s.paused_ticks} skipped during scene resets)")
        for line in s.timing_lines(1.0 / env.config.control_hz):
            print(line)
        print(f"ended by:     {s.ended_by}", flush=True)
    except ViewerClosed as e:
        raise RobotschoolError(f"the teleop window closed before the session started ({e}); is DISPLAY set?") \
            from None
    finally:
        if device is not None:
            device.close()
        if viewer is not None:
            viewer.close()
        env.close()
    return 130 if s is not None and s.ended_by == "interrupted" else 0
