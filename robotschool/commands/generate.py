"""`robotschool generate`: record scripted demos of a scene into an HDF5 file.

    robotschool generate --scene parts_sorting --episodes 500 --workers 2 --out data/sorting.hdf5
    robotschool generate --episodes 500 --out data/sorting.hdf5 --resume          # after a crash or Ctrl-C
    robotschool generate --episodes 10000 --workers 64 --backend ray --ray-address HEAD_IP:6379 --out big.hdf5

The engine is robotschool/generate.py (the Ray backend robotschool/generate_ray.py).
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from robotschool.commands import (DEFAULT_OUT_DIR, EXIT_INTERRUPTED, PROG, camera_list, human_size,
                                  nonnegative_int, positive_int)

NAME = "generate"
HELP = "record scripted demos of a scene into an HDF5 file"
DEFAULT_SCENE = "parts_sorting"
DEFAULT_EPISODES = 2


def add_arguments(g: argparse.ArgumentParser) -> None:
    g.description = "Run the scene's scripted operator over seeded attempts and keep the successful episodes."
    g.add_argument("--scene", default=DEFAULT_SCENE, help=f"scene name (default {DEFAULT_SCENE}; see `list`)")
    g.add_argument("--episodes", type=positive_int, default=DEFAULT_EPISODES,
                   help=f"successful episodes to record (default {DEFAULT_EPISODES})")
    g.add_argument("--out", type=Path, default=None,
                   help="output HDF5 file (default data/<scene>.hdf5, creating data/ if needed)")
    g.add_argument("--seed", type=nonnegative_int, default=0,
                   help="base seed: attempt i draws from numpy default_rng([seed, i]) (default 0)")
    g.add_argument("--robot", default=None, help="robot name or robot YAML (default: the scene's robot)")
    g.add_argument("--cameras", type=camera_list, default=None, metavar="A,B",
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
    g.add_argument("--max-attempts", type=positive_int, default=None, metavar="N",
                   help="try at most N attempt indices (default 5 * episodes + 10)")
    g.add_argument("--workers", type=positive_int, default=1, metavar="K",
                   help="run attempts in K processes; the file is identical to 1 worker's (default 1)")
    g.add_argument("--backend", choices=("process", "ray"), default="process",
                   help="run the workers as local processes, or as Ray actors (needs `pip install "
                        "robotschool[ray]`); the file is the same (default process)")
    g.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="with --backend ray: address of a running Ray cluster, e.g. 10.0.0.5:6379 (default: "
                        "start a local Ray with --workers CPUs and stop it at the end)")
    g.add_argument("--perturb", type=float, default=None, metavar="METRES",
                   help="record recovery demos (DART): push the operator's hands off their path by offsets of "
                        "this std now and then and let it correct; offsets stored as operator/perturb_offset "
                        "(e.g. 0.03; default: none)")
    g.add_argument("--perturb-rate", type=float, default=0.05, metavar="P",
                   help="with --perturb: chance per control step that a perturbation starts (default 0.05)")
    g.add_argument("--perturb-steps", type=positive_int, default=10, metavar="N",
                   help="with --perturb: control steps over which an offset grows before it is dropped (default 10)")
    g.add_argument("--verify", action="store_true",
                   help="replay every kept demo right after recording it and store the demo attrs replay_ok "
                        "and replay_max_state_error")


def run(args: argparse.Namespace) -> int:
    from robotschool.generate import generate
    from robotschool.perturb import Perturbation

    perturb = None
    if args.perturb is not None:
        perturb = Perturbation(args.perturb, rate=args.perturb_rate, steps=args.perturb_steps)

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
                     workers=args.workers, verify=args.verify, backend=args.backend,
                     ray_address=args.ray_address, perturb=perturb)
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
    print(f"workers:      {s.workers} ({args.backend})" + (f" ({s.discarded} extra attempts discarded)" if s.discarded else ""))
    eph = "n/a" if math.isnan(s.episodes_per_hour) else f"{s.episodes_per_hour:.0f}"
    print(f"episodes/h:   {eph}")
    print(f"file size:    {human_size(s.file_size)}")
    print(f"seconds:      {s.seconds:.1f}")
    print(f"path:         {s.path}")
    return 0
