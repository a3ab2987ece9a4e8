"""`robotschool video FILE --demo K --out demo.gif|demo.mp4|frames/`."""
from __future__ import annotations

import argparse

from robotschool.commands import positive_int

NAME = "video"
HELP = "write a demo as .gif/.mp4 (or PNG frames into a folder ending in /)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file")
    parser.add_argument("--demo", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--camera", default=None, help="camera to show (default: the first stored, else head)")
    parser.add_argument("--fps", type=positive_int, default=20)


def run(args: argparse.Namespace) -> int:
    from robotschool.tools import video

    r = video(args.file, args.demo, args.out, camera=args.camera, fps=args.fps)
    how = "re-rendered from states" if r.rendered else "from stored images"
    print(f"wrote {r.frames} frames of {r.camera} ({how}) to {r.out}")
    return 0
