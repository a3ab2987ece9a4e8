"""`robotschool list`: the registered scenes, robots and devices."""
from __future__ import annotations

import argparse

NAME = "list"
HELP = "list the registered scenes, robots and devices"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    from robotschool.registry import DEVICES, ROBOTS, SCENES

    for title, registry in (("scenes", SCENES), ("robots", ROBOTS), ("devices", DEVICES)):
        print(f"{title}:")
        for name in registry.names():
            print(f"  {name}")
    return 0
