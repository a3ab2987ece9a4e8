"""`robotschool validate FILE`: schema, NaN/inf, lengths, action range, masks; exit 1 on problems."""
from __future__ import annotations

import argparse

NAME = "validate"
HELP = "check a dataset: schema, NaN/inf, lengths, action range, masks"
NEEDS_PYBULLET = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file")


def run(args: argparse.Namespace) -> int:
    from robotschool.tools import validate

    report = validate(args.file)
    print(report)
    return 0 if report.ok else 1
