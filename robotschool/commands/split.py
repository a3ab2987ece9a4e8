"""`robotschool split FILE --valid 0.1`: write mask/train and mask/valid."""
from __future__ import annotations

import argparse

from robotschool.errors import RobotschoolError

NAME = "split"
HELP = "write mask/train and mask/valid"
NEEDS_PYBULLET = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file")
    parser.add_argument("--valid", type=float, default=0.1, help="fraction of demos for validation (default 0.1)")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    from robotschool.tools import split

    if not 0.0 <= args.valid <= 1.0:
        raise RobotschoolError(f"--valid {args.valid}: use a fraction between 0 and 1")
    r = split(args.file, valid=args.valid, seed=args.seed)
    print(f"{r.path}: {len(r.train)} train, {len(r.valid)} valid")
    return 0
