"""`robotschool stats FILE`: (re)compute normalisation statistics into the file's /stats group."""
from __future__ import annotations

import argparse

NAME = "stats"
HELP = "(re)compute normalisation statistics and store them in the file"
NEEDS_PYBULLET = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file")


def run(args: argparse.Namespace) -> int:
    from robotschool.data.stats import write_stats

    stats = write_stats(args.file)
    print(f"wrote statistics of {len(stats)} keys into {args.file} (/stats)")
    return 0
