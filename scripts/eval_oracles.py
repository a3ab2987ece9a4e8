"""Success rate of each station's scripted operator over many seeds.

Usage:
    python scripts/eval_oracles.py [--scenes parts_sorting] [--robots humanoid] [--seeds 50] [--workers 2]
                                   [--set parts.count=6 ...] [--json out.json]

Runs episode i with seed [base_seed, i] exactly as `robotschool generate` does (same env, device and control
loop, no recording), and prints one row per scene and robot: success rate with a Wilson 95% interval, mean
episode length (control steps and simulated seconds), and mean wall time per episode. Failed seeds are listed
so they can be replayed and debugged.
"""
from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor

from robotschool.policy.metrics import wilson
from robotschool.registry import SCENES


def _run(job):
    scene, robot, overrides, seed, i = job
    from robotschool.devices.scripted import ScriptedDevice
    from robotschool.env import RobotEnv
    from robotschool.rollout import run_episode

    env = RobotEnv(scene, robot=robot, overrides=overrides)
    try:
        t0 = time.perf_counter()
        env.reset(seed=[seed, i])
        result = run_episode(env, ScriptedDevice(env.make_oracle()), record=False)
        return scene, robot, i, result.success, result.steps, env.control_dt, time.perf_counter() - t0
    finally:
        env.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", default=",".join(SCENES.names()))
    ap.add_argument("--robots", default="humanoid")
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0, help="base seed")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--json", help="also write the table as JSON")
    ap.add_argument("--progress", action="store_true",
                    help="print each episode as its result arrives (in job order), so a cut-off run leaves its partial results")
    args = ap.parse_args()
    jobs = [(s, r, args.overrides, args.seed, i) for s in args.scenes.split(",") for r in args.robots.split(",")
            for i in range(args.seeds)]
    rows: dict = {}
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        for scene, robot, i, ok, steps, dt, wall in pool.map(_run, jobs):
            rows.setdefault((scene, robot), []).append((i, ok, steps, dt, wall))
            if args.progress:
                done = rows[(scene, robot)]
                print(f"{scene} {robot} seed {i}: {'ok' if ok else 'FAIL'} {steps * dt:.1f} s sim, {wall:.1f} s wall "
                      f"| {sum(r[1] for r in done)}/{len(done)}", flush=True)
    print(f"{'scene':16s} {'robot':10s} {'success':>8s} {'95% CI':>13s} {'steps':>6s} {'sim s':>6s} {'wall s':>7s}  failed seeds")
    table = []
    for (scene, robot), res in rows.items():
        n = len(res)
        k = sum(r[1] for r in res)
        lo, hi = wilson(k, n)
        steps = sum(r[2] for r in res) / n
        sim = sum(r[2] * r[3] for r in res) / n
        wall = sum(r[4] for r in res) / n
        failed = [r[0] for r in res if not r[1]]
        print(f"{scene:16s} {robot:10s} {k:3d}/{n:<4d} [{lo:.2f}, {hi:.2f}] {steps:6.0f} {sim:6.1f} {wall:7.1f}  {failed}")
        table.append({"scene": scene, "robot": robot, "successes": k, "episodes": n, "ci95": [lo, hi],
                      "mean_steps": steps, "mean_sim_s": sim, "mean_wall_s": wall, "failed_seeds": failed,
                      "overrides": args.overrides})
    print(f"total wall time {time.perf_counter() - t0:.0f} s with {args.workers} workers")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(table, f, indent=2)


if __name__ == "__main__":
    main()
