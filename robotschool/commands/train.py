"""`robotschool train --data FILE --out DIR`: behaviour-clone the baseline policy (needs the torch extra).

Usage:
    robotschool train --data data/sorting.hdf5 --out policies/sorting [--steps 6000] [--chunk 10] [--history 1]
                      [--obs-keys robot0_left_eef_pos,...,object] [--batch-size 256] [--lr 1e-3] [--seed 0]
                      [--threads 2] [--overwrite]

Trains an MLP that predicts the next `--chunk` actions from one low-dim observation (see
robotschool/policy/), normalised with the file's /stats, on its mask/train demos (mask/valid for the valid
loss). Writes DIR/policy.json, DIR/policy.pt and DIR/loss.png (with the `plot` extra).
"""
from __future__ import annotations

import argparse

from robotschool.commands import int_at_least

NAME = "train"
HELP = "train a baseline behaviour-cloning policy on a dataset file (torch extra)"
NEEDS_PYBULLET = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="dataset file (robotschool generate)")
    parser.add_argument("--out", required=True, help="folder for policy.json, policy.pt, loss.png")
    parser.add_argument("--steps", type=int_at_least(1, "a number of gradient steps >= 1"), default=6000)
    parser.add_argument("--chunk", type=int_at_least(1, "a chunk size >= 1"), default=10,
                        help="future actions predicted per observation (default 10)")
    parser.add_argument("--history", type=int_at_least(1, "a number of observation frames >= 1"), default=1,
                        help="observation frames the network sees: the current one and those before (default 1)")
    parser.add_argument("--rel-objects", type=int_at_least(0, "a number of objects >= 0"), default=0,
                        help="also feed the offsets from each hand to the first N objects' positions (default 0)")
    parser.add_argument("--obs-keys", default=None,
                        help="comma-separated low-dim obs keys (default: both hands' eef pos/quat, gripper, object, "
                             "and robot0_base_vel when the demos walk)")
    parser.add_argument("--hidden", default="512,512,512", help="hidden layer sizes (default 512,512,512)")
    parser.add_argument("--batch-size", type=int_at_least(1, "a batch size >= 1"), default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--obs-noise", type=float, default=0.1,
                        help="std of Gaussian noise added to normalised observations while training")
    parser.add_argument("--keep-perturbed", action="store_true",
                        help="recovery demos (generate --perturb): also fit the perturbed actions (default: "
                             "mask them out and learn only the corrections)")
    parser.add_argument("--drop-idle", action="store_true",
                        help="leave out the steps whose next --chunk actions all hold still (an operator waiting on "
                             "a timer: a cloned policy that learns to wait there can stall for good)")
    parser.add_argument("--obs-std-floor", type=float, default=0.01,
                        help="smallest std an observation dimension is normalised with (default 0.01; 0: 1e-6)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int_at_least(1, "a thread count >= 1"), default=None,
                        help="torch CPU threads (default 1: more only contend on a shared 2-core machine)")
    parser.add_argument("--overwrite", action="store_true", help="replace a policy already in --out")


def run(args: argparse.Namespace) -> int:
    from robotschool.errors import RobotschoolError
    from robotschool.policy.model import require_torch

    require_torch()
    from robotschool.policy.train import train_policy

    keys = [k.strip() for k in args.obs_keys.split(",") if k.strip()] if args.obs_keys else None   # None: the defaults
    try:
        hidden = [int(h) for h in args.hidden.split(",") if h.strip()]
    except ValueError:
        hidden = []
    if not hidden or min(hidden) < 1:
        raise RobotschoolError(f"--hidden {args.hidden!r}: give positive layer sizes, e.g. 512,512,512")
    r = train_policy(args.data, args.out, obs_keys=keys, chunk=args.chunk, hidden=hidden, steps=args.steps,
                     batch_size=args.batch_size, lr=args.lr, obs_noise=args.obs_noise, seed=args.seed,
                     threads=args.threads, overwrite=args.overwrite, history=args.history,
                     rel_objects=args.rel_objects, keep_perturbed=args.keep_perturbed,
                     obs_std_floor=args.obs_std_floor, drop_idle=args.drop_idle)
    valid = f"{r.valid_loss:.4f}" if r.valid_loss is not None else "n/a"
    print(f"trained {r.steps} steps on {r.train_demos} demos ({r.samples} samples), valid demos {r.valid_demos}")
    print(f"loss:    train {r.train_loss:.4f}, valid {valid} (masked L1 of normalised actions)")
    print(f"seconds: {r.seconds:.1f}")
    print(f"policy:  {r.out}/policy.json, {r.out}/policy.pt" + (f", {r.plot}" if r.plot else ""))
    return 0
