"""`robotschool replay FILE --demo K`: replay a demo's actions and check every state matches exactly."""
from __future__ import annotations

import argparse
from pathlib import Path

from robotschool.commands import EXIT_MISMATCH

NAME = "replay"
HELP = "replay a demo's actions and check the states match exactly"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Rebuild demo K's scene from the file, replay its actions, compare every simulator "
                          "state. Exit status 0 if every state is bit-identical and the success flag matches, "
                          "else 1.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--demo", required=True, help="demo index (0) or name (demo_0)")


def run(args: argparse.Namespace) -> int:
    from robotschool.replay import replay_demo

    r = replay_demo(args.file, args.demo)
    print(f"demo:             {r.demo}")
    print(f"steps:            {r.steps}")
    print(f"max state error:  {r.max_state_error:.3g}")
    print(f"states match:     {'yes (bit-identical)' if r.states_match else 'NO'}")
    print(f"success:          recorded {r.recorded_success}, replayed {r.replayed_success} "
          f"({'match' if r.success_match else 'MISMATCH'})")
    return 0 if r.states_match and r.success_match else EXIT_MISMATCH
