"""robotschool: generate, inspect and replay humanoid demonstration datasets.

Every subcommand lives in its own module under `robotschool.commands` (found with pkgutil); run
`robotschool <command> --help` for its options.

Exit status: 0 success, 1 check failed (replay mismatch, validate problems), 2 bad input (one line on stderr:
`robotschool: error: ...`), 130 interrupted (episodes already recorded stay in the file; continue with --resume).

Examples:
    robotschool generate                                     # 2 demos -> data/parts_sorting.hdf5
    robotschool generate --episodes 100 --set parts.count=2 --cameras head --out data/sort2.hdf5
    robotschool info data/parts_sorting.hdf5
    robotschool replay data/parts_sorting.hdf5 --demo 0
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from types import ModuleType
from typing import Sequence

from robotschool import commands
from robotschool.commands import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, PROG
from robotschool.errors import RobotschoolError


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors use the same one-line format as every other user error."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{PROG}: error: {message}\n")


def command_modules() -> dict[str, ModuleType]:
    """Every module of robotschool.commands that defines a command, by command name, in a stable order."""
    found: dict[str, ModuleType] = {}
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "run"):
            found[module.NAME] = module
    return found


def build_parser(modules: dict[str, ModuleType] | None = None) -> argparse.ArgumentParser:
    from robotschool import __version__

    modules = command_modules() if modules is None else modules
    parser = _Parser(prog=PROG, description="Generate, inspect and replay humanoid demonstration datasets.",
                     epilog="Run `robotschool <command> --help` for a command's options.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="command", parser_class=_Parser)
    sub.required = True
    for name, module in modules.items():
        module.add_arguments(sub.add_parser(name, help=module.HELP))
    return parser


def _import_pybullet_quietly() -> None:
    """PyBullet prints its build time on stderr when imported; keep stderr for our own messages."""
    from robotschool.sim.quiet import quiet_fd

    with quiet_fd(2):
        try:
            import pybullet  # noqa: F401
        except ImportError:
            pass      # reported properly by the code that needs it


def main(argv: Sequence[str] | None = None) -> int:
    modules = command_modules()
    args = build_parser(modules).parse_args(argv)
    module = modules[args.command]
    try:
        if getattr(module, "NEEDS_PYBULLET", True):
            _import_pybullet_quietly()
        return module.run(args)
    except RobotschoolError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
