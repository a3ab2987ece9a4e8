"""`robotschool rerender FILE --out F --cameras head,left_wrist [--size 128]`."""
from __future__ import annotations

import argparse

from robotschool.commands import camera_list, positive_int

NAME = "rerender"
HELP = "rebuild image observations from the stored states"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file")
    parser.add_argument("--out", required=True)
    parser.add_argument("--cameras", type=camera_list, required=True)
    parser.add_argument("--size", type=positive_int, default=128)
    parser.add_argument("--depth", action="store_true")
    parser.add_argument("--workers", type=positive_int, default=1)
    parser.add_argument("--overwrite", action="store_true")


def run(args: argparse.Namespace) -> int:
    from robotschool.tools import rerender

    r = rerender(args.file, args.out, args.cameras, args.size, workers=args.workers, depth=args.depth,
                 overwrite=args.overwrite)
    print(f"wrote {r.num_demos} demos with {','.join(r.cameras)} at {r.size} px to {r.out}")
    return 0
