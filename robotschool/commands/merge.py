"""`robotschool merge A B ... --out C`: merge dataset files of the same scene into a new file."""
from __future__ import annotations

import argparse

NAME = "merge"
HELP = "merge dataset files of the same scene into a new file"
NEEDS_PYBULLET = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+")
    parser.add_argument("--out", required=True)
    parser.add_argument("--overwrite", action="store_true")


def run(args: argparse.Namespace) -> int:
    from robotschool.tools import merge

    r = merge(args.inputs, args.out, overwrite=args.overwrite)
    print(f"wrote {r.num_demos} demos to {r.out}")
    for note in r.notes:
        print(f"note: {note}")
    return 0
