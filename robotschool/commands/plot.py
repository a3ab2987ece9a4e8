"""`robotschool plot FILE --out plot.png`: one PNG overview of a dataset (needs `pip install robotschool[plot]`)."""
from __future__ import annotations

import argparse

from robotschool.commands import positive_int

NAME = "plot"
HELP = "PNG of episode lengths, action/observation distributions and success by scene parameter"
NEEDS_PYBULLET = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file")
    parser.add_argument("--out", default="plot.png", help="output PNG (default: plot.png)")
    parser.add_argument("--bins", type=positive_int, default=5, help="bins per scene parameter (default 5)")
    parser.add_argument("--max-params", type=positive_int, default=6,
                        help="scene parameters plotted against success (default 6)")


def run(args: argparse.Namespace) -> int:
    from robotschool.tools.plot import plot

    r = plot(args.file, args.out, bins=args.bins, max_params=args.max_params)
    params = f"success by {', '.join(r.params)}" if r.params else "no varying scene parameter"
    print(f"wrote {r.out}: {r.num_demos} demos, {r.num_samples} steps, {len(r.obs_keys)} obs keys, {params}")
    return 0
