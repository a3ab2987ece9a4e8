"""`robotschool eval --policy DIR --scene S --episodes N`: closed-loop rollouts of a trained policy.

Usage:
    robotschool eval --policy policies/sorting [--scene parts_sorting] [--episodes 20] [--seed 1000]
                     [--max-steps N] [--set key=value ...] [--execute H] [--ensemble-m 0.01] [--log-episodes]
                     [--video out.mp4] [--json report.json]

Runs the policy in the scene's gymnasium env (the scene and `--set` overrides it was trained with, plus any
given here); episode i is attempt i of base seed --seed. Prints the success rate with a Wilson 95% interval.
"""
from __future__ import annotations

import argparse

from robotschool.commands import int_at_least

NAME = "eval"
HELP = "evaluate a trained policy in closed loop: success rate with a Wilson interval, optional video"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", required=True, help="folder written by `robotschool train`")
    parser.add_argument("--scene", default=None, help="scene (default: the one the policy was trained on)")
    parser.add_argument("--episodes", type=int_at_least(1, "a number of episodes >= 1"), default=20)
    parser.add_argument("--seed", type=int, default=None,
                        help="base seed; episode i is attempt i of this seed (default 1000, unseen by training)")
    parser.add_argument("--max-steps", type=int_at_least(1, "a step budget >= 1"), default=None,
                        help="steps per episode (default: 2x the longest training demo, capped at the horizon)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="extra scene override on top of the policy's own")
    parser.add_argument("--execute", type=int_at_least(0, "a step count >= 0"), default=0,
                        help="receding horizon: play H actions per chunk (default 0: temporal ensembling)")
    parser.add_argument("--ensemble-m", type=float, default=0.01,
                        help="temporal ensembling weight exp(-m * age rank), oldest chunk first: m > 0 favours "
                             "older chunks (smoother), m < 0 the newest (more reactive) (default 0.01)")
    parser.add_argument("--video", default=None, help="write the first --video-episodes rollouts (.mp4/.gif/dir/)")
    parser.add_argument("--video-episodes", type=int_at_least(1, "a number of episodes >= 1"), default=1)
    parser.add_argument("--json", default=None, help="also write the report as JSON")
    parser.add_argument("--log-episodes", action="store_true",
                        help="print each episode's result to stderr as soon as it ends")


def run(args: argparse.Namespace) -> int:
    import json

    from robotschool.policy.evaluate import DEFAULT_EVAL_SEED, evaluate_policy
    from robotschool.policy.model import require_torch

    import sys

    require_torch()

    def log(e: dict) -> None:
        print(f"attempt {e['attempt']}: {'success' if e['success'] else 'failure'} after {e['steps']} steps",
              file=sys.stderr, flush=True)

    report = evaluate_policy(args.policy, args.episodes, scene=args.scene,
                             seed=DEFAULT_EVAL_SEED if args.seed is None else args.seed, overrides=args.overrides,
                             max_steps=args.max_steps, execute=args.execute, ensemble_m=args.ensemble_m,
                             video=args.video,
                             video_episodes=args.video_episodes, on_episode=log if args.log_episodes else None)
    print(report.summary())
    failed = [e["attempt"] for e in report.per_episode if not e["success"]]
    print(f"failed attempts: {failed if failed else 'none'}")
    if report.video:
        print(f"video: {report.video}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report.to_dict(), f, indent=2)
    return 0
