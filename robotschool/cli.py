"""robotschool: generate, inspect and replay humanoid demonstration datasets.

Usage:
    robotschool list
        The registered scenes, robots and devices.
    robotschool generate [--scene parts_sorting] [--episodes 2] [--out data/<scene>.hdf5] [--seed 0]
                         [--robot NAME] [--cameras head,left_wrist] [--camera-size 128] [--depth]
                         [--set key=value ...] [--overwrite | --resume] [--keep-failed] [--max-attempts N]
                         [--workers K] [--verify]
        Run the scene's scripted operator until --episodes successful episodes are recorded, then print a
        summary. Attempt i uses seed [--seed, i]; --resume continues an interrupted file. --workers runs
        attempts in K processes (same file as 1 worker); --verify replays each kept demo and stores
        replay_ok / replay_max_state_error on it.
    robotschool info FILE
        Demos, steps, success rate, the first demo's datasets (shape, dtype) and the masks.
    robotschool replay FILE --demo K
        Rebuild demo K's scene from the file, replay its actions, compare every simulator state.
        Exit status 0 if every state is bit-identical and the success flag matches, else 1.
    robotschool stats FILE                      normalisation statistics into /stats (DemoDataset(normalize=True))
    robotschool validate FILE                   schema, NaN/inf, lengths, action range, masks; exit 1 on problems
    robotschool split FILE [--valid 0.1] [--seed 0]
    robotschool merge A B ... --out C [--overwrite]
    robotschool filter FILE --out F [--success | --failed] [--set 'bench.height>0.97' ...]
    robotschool video FILE --demo K --out demo.gif|demo.mp4|frames/ [--camera head] [--fps 20]
    robotschool rerender FILE --out F --cameras head,left_wrist [--size 128] [--depth] [--workers K]

Exit status: 0 success, 1 replay mismatch, 2 bad input (one line on stderr: `robotschool: error: ...`),
130 interrupted (episodes already recorded stay in the file; continue with --resume).

Examples:
    robotschool generate                                     # 2 demos -> data/parts_sorting.hdf5
    robotschool generate --episodes 100 --set parts.count=2 --cameras head --out data/sort2.hdf5
    robotschool info data/parts_sorting.hdf5
    robotschool replay data/parts_sorting.hdf5 --demo 0
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Sequence

from robotschool.errors import RobotschoolError

PROG = "robotschool"
DEFAULT_SCENE = "parts_sorting"
DEFAULT_EPISODES = 2
DEFAULT_SEED = 0
DEFAULT_OUT_DIR = Path("data")

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors use the same one-line format as every other user error."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{PROG}: error: {message}\n")


def _int_at_least(minimum: int, expected: str):
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


_positive_int = _int_at_least(1, "a positive integer")
_nonnegative_int = _int_at_least(0, "an integer >= 0")


def _camera_list(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Generate, inspect and replay humanoid demonstration datasets.",
                     epilog="Run `robotschool <command> --help` for a command's options.")
    from robotschool import __version__

    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="command", parser_class=_Parser)
    sub.required = True

    sub.add_parser("list", help="list the registered scenes, robots and devices")

    g = sub.add_parser("generate", help="record scripted demos of a scene into an HDF5 file",
                       description="Run the scene's scripted operator over seeded attempts and keep the "
                                   "successful episodes.")
    g.add_argument("--scene", default=DEFAULT_SCENE, help=f"scene name (default {DEFAULT_SCENE}; see `list`)")
    g.add_argument("--episodes", type=_positive_int, default=DEFAULT_EPISODES,
                   help=f"successful episodes to record (default {DEFAULT_EPISODES})")
    g.add_argument("--out", type=Path, default=None,
                   help="output HDF5 file (default data/<scene>.hdf5, creating data/ if needed)")
    g.add_argument("--seed", type=_nonnegative_int, default=DEFAULT_SEED,
                   help="base seed: attempt i draws from numpy default_rng([seed, i]) (default 0)")
    g.add_argument("--robot", default=None, help="robot name or robot YAML (default: the scene's robot)")
    g.add_argument("--cameras", type=_camera_list, default=None, metavar="A,B",
                   help="comma-separated robot cameras to record, e.g. head,left_wrist (default: the scene's)")
    g.add_argument("--camera-size", type=int, default=None, metavar="PX",
                   help="square camera image size in pixels (default: the scene's)")
    g.add_argument("--depth", action="store_true", default=None, help="also record depth images")
    g.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scene YAML value, e.g. --set parts.count=1 (repeatable)")
    mode = g.add_mutually_exclusive_group()
    mode.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    mode.add_argument("--resume", action="store_true",
                      help="continue an existing output file: skip the attempts already in it")
    g.add_argument("--keep-failed", action="store_true",
                   help="also store failed attempts (success=False, listed in mask/failed)")
    g.add_argument("--max-attempts", type=_positive_int, default=None, metavar="N",
                   help="try at most N attempt indices (default 5 * episodes + 10)")
    g.add_argument("--workers", type=_positive_int, default=1, metavar="K",
                   help="run attempts in K processes; the file is identical to 1 worker's (default 1)")
    g.add_argument("--verify", action="store_true",
                   help="replay every kept demo right after recording it and store the demo attrs replay_ok "
                        "and replay_max_state_error")

    i = sub.add_parser("info", help="summarise a dataset file")
    i.add_argument("file", type=Path)

    r = sub.add_parser("replay", help="replay a demo's actions and check the states match exactly")
    r.add_argument("file", type=Path)
    r.add_argument("--demo", required=True, help="demo index (0) or name (demo_0)")
    st = sub.add_parser("stats", help="(re)compute normalisation statistics and store them in the file")
    st.add_argument("file")
    v = sub.add_parser("validate", help="check a dataset: schema, NaN/inf, lengths, action range, masks")
    v.add_argument("file")
    sp = sub.add_parser("split", help="write mask/train and mask/valid")
    sp.add_argument("file")
    sp.add_argument("--valid", type=float, default=0.1, help="fraction of demos for validation (default 0.1)")
    sp.add_argument("--seed", type=int, default=0)
    m = sub.add_parser("merge", help="merge dataset files of the same scene into a new file")
    m.add_argument("inputs", nargs="+")
    m.add_argument("--out", required=True)
    m.add_argument("--overwrite", action="store_true")
    fl = sub.add_parser("filter", help="copy the demos that match conditions into a new file")
    fl.add_argument("file")
    fl.add_argument("--out", required=True)
    fl.add_argument("--success", action="store_true", help="keep successful demos only")
    fl.add_argument("--failed", action="store_true", help="keep failed demos only")
    fl.add_argument("--set", dest="conditions", action="append", default=[], metavar="PARAM<OP>VALUE",
                    help="scene_params condition, e.g. --set 'bench.height>0.97' (repeatable)")
    fl.add_argument("--overwrite", action="store_true")
    vd = sub.add_parser("video", help="write a demo as .gif/.mp4 (or PNG frames into a folder ending in /)")
    vd.add_argument("file")
    vd.add_argument("--demo", required=True)
    vd.add_argument("--out", required=True)
    vd.add_argument("--camera", default=None, help="camera to show (default: the first stored, else head)")
    vd.add_argument("--fps", type=_positive_int, default=20)
    rr = sub.add_parser("rerender", help="rebuild image observations from the stored states")
    rr.add_argument("file")
    rr.add_argument("--out", required=True)
    rr.add_argument("--cameras", type=_camera_list, required=True)
    rr.add_argument("--size", type=_positive_int, default=128)
    rr.add_argument("--depth", action="store_true")
    rr.add_argument("--workers", type=_positive_int, default=1)
    rr.add_argument("--overwrite", action="store_true")
    return parser


# ------------------------------------------------------------------------------ commands

def cmd_list(args: argparse.Namespace) -> int:
    from robotschool.registry import DEVICES, ROBOTS, SCENES

    for title, registry in (("scenes", SCENES), ("robots", ROBOTS), ("devices", DEVICES)):
        print(f"{title}:")
        for name in registry.names():
            print(f"  {name}")
    return EXIT_OK


def cmd_generate(args: argparse.Namespace) -> int:
    from robotschool.generate import generate

    out = args.out
    if out is None:                  # the default data/<scene>.hdf5: data/ is made once every check passed
        from robotschool.registry import SCENES

        SCENES.get(args.scene)       # a registered name, not a path, before it becomes a file name
        out = DEFAULT_OUT_DIR / f"{args.scene}.hdf5"
    try:
        s = generate(args.scene, args.episodes, out, seed=args.seed, robot=args.robot, overrides=args.overrides,
                     cameras=args.cameras, camera_size=args.camera_size, depth=args.depth,
                     overwrite=args.overwrite, resume=args.resume, keep_failed=args.keep_failed,
                     max_attempts=args.max_attempts, progress=True, create_parent=args.out is None,
                     workers=args.workers, verify=args.verify)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; the episodes recorded so far are in {out}; continue with --resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    rate = "n/a" if math.isnan(s.success_rate) else f"{s.success_rate:.0%}"
    resumed = f" ({s.resumed} from an earlier run)" if s.resumed else ""
    print(f"successes:    {s.successes} of {s.requested} requested{resumed}")
    print(f"attempts:     {s.attempts} ({s.failures} failed)")
    print(f"success rate: {rate}")
    print(f"steps:        {s.steps} simulated, {s.recorded_steps} recorded")
    if args.verify:
        ok_rate = f"{s.replay_ok / s.verified:.0%}" if s.verified else "n/a"
        print(f"replay ok:    {s.replay_ok} of {s.verified} ({ok_rate})")
    print(f"workers:      {s.workers}" + (f" ({s.discarded} extra attempts discarded)" if s.discarded else ""))
    eph = "n/a" if math.isnan(s.episodes_per_hour) else f"{s.episodes_per_hour:.0f}"
    print(f"episodes/h:   {eph}")
    print(f"file size:    {_size(s.file_size)}")
    print(f"seconds:      {s.seconds:.1f}")
    print(f"path:         {s.path}")
    return EXIT_OK


def cmd_info(args: argparse.Namespace) -> int:
    import h5py

    from robotschool.recording import schema
    from robotschool.replay import open_dataset

    with open_dataset(args.file) as f:
        data = f[schema.DATA]
        demos = sorted((n for n in data if n.startswith(schema.DEMO_PREFIX)), key=schema.demo_index)
        steps = sum(int(data[n].attrs.get(schema.ATTR_NUM_SAMPLES, 0)) for n in demos)
        successes = sum(bool(data[n].attrs.get(schema.ATTR_SUCCESS, False)) for n in demos)
        rate = f"{successes / len(demos):.0%}" if demos else "n/a"
        print(f"file:         {args.file} ({_size(Path(args.file).stat().st_size)})")
        print(f"demos:        {len(demos)}")
        print(f"total steps:  {steps}")
        print(f"success rate: {rate} ({successes} of {len(demos)})")
        for name in (schema.ATTR_SCENE, "robot", "control_hz"):
            print(f"{name + ':':<14}{_attr(data.attrs.get(name))}")
        if demos:
            first = data[demos[0]]
            print(f"{demos[0]} datasets:")
            rows: list[tuple[str, str, str]] = []

            def visit(name: str, obj) -> None:
                if isinstance(obj, h5py.Dataset):
                    rows.append((name, str(tuple(obj.shape)), str(obj.dtype)))

            first.visititems(visit)
            width = max(len(r[0]) for r in rows) if rows else 0
            for key, shape, dtype in rows:
                print(f"  {key:<{width}}  {shape:<18} {dtype}")
        mask = f.get(schema.MASK)
        if isinstance(mask, h5py.Group) and len(mask):
            print("masks:")
            for name, ds in mask.items():
                print(f"  {name}: {ds.shape[0] if ds.ndim else 1}")
    return EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    from robotschool.replay import replay_demo

    r = replay_demo(args.file, args.demo)
    print(f"demo:             {r.demo}")
    print(f"steps:            {r.steps}")
    print(f"max state error:  {r.max_state_error:.3g}")
    print(f"states match:     {'yes (bit-identical)' if r.states_match else 'NO'}")
    print(f"success:          recorded {r.recorded_success}, replayed {r.replayed_success} "
          f"({'match' if r.success_match else 'MISMATCH'})")
    return EXIT_OK if r.states_match and r.success_match else EXIT_MISMATCH


def cmd_stats(args: argparse.Namespace) -> int:
    from robotschool.data.stats import write_stats

    stats = write_stats(args.file)
    print(f"wrote statistics of {len(stats)} keys into {args.file} (/stats)")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from robotschool.tools import validate

    report = validate(args.file)
    print(report)
    return 0 if report.ok else 1


def cmd_split(args: argparse.Namespace) -> int:
    from robotschool.tools import split

    if not 0.0 <= args.valid <= 1.0:
        raise RobotschoolError(f"--valid {args.valid}: use a fraction between 0 and 1")
    r = split(args.file, valid=args.valid, seed=args.seed)
    print(f"{r.path}: {len(r.train)} train, {len(r.valid)} valid")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from robotschool.tools import merge

    r = merge(args.inputs, args.out, overwrite=args.overwrite)
    print(f"wrote {r.num_demos} demos to {r.out}")
    for note in r.notes:
        print(f"note: {note}")
    return 0


def cmd_filter(args: argparse.Namespace) -> int:
    from robotschool.tools import filter_demos

    if args.success and args.failed:
        raise RobotschoolError("pass --success or --failed, not both")
    success = True if args.success else (False if args.failed else None)
    r = filter_demos(args.file, args.out, success=success, param_conditions=args.conditions,
                     overwrite=args.overwrite)
    print(f"kept {len(r.kept)} demos, dropped {r.dropped}: {r.out}")
    return 0


def cmd_video(args: argparse.Namespace) -> int:
    from robotschool.tools import video

    r = video(args.file, args.demo, args.out, camera=args.camera, fps=args.fps)
    how = "re-rendered from states" if r.rendered else "from stored images"
    print(f"wrote {r.frames} frames of {r.camera} ({how}) to {r.out}")
    return 0


def cmd_rerender(args: argparse.Namespace) -> int:
    from robotschool.tools import rerender

    r = rerender(args.file, args.out, args.cameras, args.size, workers=args.workers, depth=args.depth,
                 overwrite=args.overwrite)
    print(f"wrote {r.num_demos} demos with {','.join(r.cameras)} at {r.size} px to {r.out}")
    return 0


COMMANDS = {"list": cmd_list, "generate": cmd_generate, "info": cmd_info, "replay": cmd_replay,
            "stats": cmd_stats, "validate": cmd_validate, "split": cmd_split, "merge": cmd_merge,
            "filter": cmd_filter, "video": cmd_video, "rerender": cmd_rerender}


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _attr(value) -> str:
    if value is None:
        return "(not set)"
    return value.decode() if isinstance(value, bytes) else str(value)


def _import_pybullet_quietly() -> None:
    """PyBullet prints its build time on stderr when imported; keep stderr for our own messages."""
    from robotschool.sim.quiet import quiet_fd

    with quiet_fd(2):
        try:
            import pybullet  # noqa: F401
        except ImportError:
            pass      # reported properly by the code that needs it


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command not in ("info", "validate", "split", "stats", "merge", "filter"):
            _import_pybullet_quietly()
        return COMMANDS[args.command](args)
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
