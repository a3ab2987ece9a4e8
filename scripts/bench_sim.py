"""Simulation speed on parts_sorting: bare physics, full control ticks, and scripted generation.

Usage:
    python scripts/bench_sim.py [--episodes 2] [--set parts.count=6] [--camera-size 128]

For each configuration (no camera; head + both wrist cameras) it runs whole scripted episodes through the
real pipeline (oracle -> retarget -> IK -> physics -> observation -> recorder) and measures, in the same run:
- physics: the wall time spent inside stepSimulation (the bare cost of the physics the pipeline drives),
- full: the wall time of whole control ticks (everything, recording included),
- the ratio full / physics (goal <= 1.15 without cameras),
- physics steps/s, control ticks/s, and the real-time factor (simulated seconds per wall second).
It also times bare stepping of the static scene (robot holding still) for reference. Episodes alternate
between configurations so machine noise hits both alike.
"""
from __future__ import annotations

import argparse
import statistics
import time

from robotschool.devices.scripted import ScriptedDevice
from robotschool.env import RobotEnv
from robotschool.rollout import run_episode


class _TimedStep:
    """Wraps World.step to accumulate the time spent in physics."""

    def __init__(self, world):
        self.inner = world.step
        self.seconds = 0.0
        world.step = self

    def __call__(self, n: int = 1) -> None:
        t = time.perf_counter()
        self.inner(n)
        self.seconds += time.perf_counter() - t


def run(env: RobotEnv, seed) -> dict:
    env.reset(seed=seed)
    timer = _TimedStep(env.world)
    t0 = time.perf_counter()
    result = run_episode(env, ScriptedDevice(env.make_oracle()), record=True)
    wall = time.perf_counter() - t0
    env.world.step = timer.inner
    ticks = result.steps
    return {"wall": wall, "physics": timer.seconds, "ticks": ticks, "sim": ticks * env.control_dt,
            "physics_steps": ticks * env.substeps, "success": result.success}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=2)
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--camera-size", type=int, default=128)
    args = ap.parse_args()
    configs = {
        "no camera": RobotEnv("parts_sorting", overrides=args.overrides, cameras=[]),
        f"head+wrists {args.camera_size}px": RobotEnv("parts_sorting", overrides=args.overrides,
                                                      cameras=["head", "left_wrist", "right_wrist"],
                                                      camera_size=args.camera_size),
    }
    results: dict[str, list[dict]] = {k: [] for k in configs}
    for i in range(args.episodes):
        for name, env in configs.items():
            results[name].append(run(env, [0, i]))
    env = configs["no camera"]
    env.reset(seed=[0, 0])
    n = 2400
    t = time.perf_counter()
    env.world.step(n)
    static = n / (time.perf_counter() - t)
    print(f"parts_sorting {' '.join(args.overrides)}; {args.episodes} episodes per configuration, "
          f"{env.substeps} physics steps per control tick")
    print(f"static scene, bare stepSimulation: {static:,.0f} physics steps/s")
    print(f"{'configuration':22s} {'physics st/s':>12s} {'ticks/s':>8s} {'full/physics':>12s} {'RTF':>6s} {'success':>8s}")
    for name, rows in results.items():
        phys = sum(r["physics"] for r in rows)
        wall = sum(r["wall"] for r in rows)
        steps = sum(r["physics_steps"] for r in rows)
        ticks = sum(r["ticks"] for r in rows)
        sim = sum(r["sim"] for r in rows)
        ratios = [r["wall"] / r["physics"] for r in rows]
        print(f"{name:22s} {steps / phys:12,.0f} {ticks / wall:8.1f} {statistics.median(ratios):12.3f} "
              f"{sim / wall:6.2f} {sum(r['success'] for r in rows):4d}/{len(rows)}")
    for env in configs.values():
        env.close()


if __name__ == "__main__":
    main()
