"""`robotschool filter FILE --out F [--success|--failed] [--set 'param>value']`."""
from __future__ import annotations

import argparse

from robotschool.errors import RobotschoolError

NAME = "filter"
HELP = "copy the demos that match conditions into a new file"
NEEDS_PYBULLET = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file")
    parser.add_argument("--out", required=True)
    parser.add_argument("--success", action="store_true", help="keep successful demos only")
    parser.add_argument("--failed", action="store_true", help="keep failed demos only")
    parser.add_argument("--set", dest="conditions", action="append", default=[], metavar="PARAM<OP>VALUE",
                        help="scene_params condition, e.g. --set 'bench.height>0.97' (repeatable)")
    parser.add_argument("--overwrite", action="store_true")


def run(args: argparse.Namespace) -> int:
    from robotschool.tools import filter_demos

    if args.success and args.failed:
        raise RobotschoolError("pass --success or --failed, not both")
    success = True if args.success else (False if args.failed else None)
    r = filter_demos(args.file, args.out, success=success, param_conditions=args.conditions,
                     overwrite=args.overwrite)
    print(f"kept {len(r.kept)} demos, dropped {r.dropped}: {r.out}")
    return 0
