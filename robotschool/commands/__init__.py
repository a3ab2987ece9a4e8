"""The CLI's subcommands, one module each.

A command module defines `NAME`, `HELP`, `add_arguments(parser)` and `run(args) -> int`, and optionally
`NEEDS_PYBULLET = False` for commands that only read files. `robotschool.cli` finds the modules with pkgutil,
so adding a command is one new file here and nothing else. Command modules import only argparse-level things
at module level; their heavy imports live inside `run`, so `robotschool --help` stays fast.
"""
from __future__ import annotations

import argparse
from pathlib import Path

PROG = "robotschool"
EXIT_OK, EXIT_MISMATCH, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_OUT_DIR = Path("data")


def int_at_least(minimum: int, expected: str):
    """An argparse type: an integer >= `minimum`, with a one-line error saying what was expected."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value
    return parse


positive_int = int_at_least(1, "a positive integer")
nonnegative_int = int_at_least(0, "an integer >= 0")


def camera_list(text: str) -> list[str]:
    """`head,left_wrist` -> ["head", "left_wrist"]."""
    return [c.strip() for c in text.split(",") if c.strip()]


def human_size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def attr_text(value) -> str:
    if value is None:
        return "(not set)"
    return value.decode() if isinstance(value, bytes) else str(value)
