"""Simulation speed on parts_sorting: bare physics, full control ticks, and scripted generation.

Usage:
    python scripts/bench_sim.py [--episodes 2] [--set parts.count=6] [--camera-size 128]

For each configuration (no camera; head + both wrist cameras) it runs whole scripted episodes through the
real pipeline (oracle -> retarget -> IK -> physics -> observation -> recorder) and measures, in the same run:
- physics: the wall time spent inside stepSimulation (the bare cost of the physics the pipeline drives),
- full: the wall time of whole control ticks (everything, recording included),
- the ratio pipeline / physics, where the pipeline is the whole tick minus the scripted operator's own
  thinking (device.poll): retargeting, IK, motors, physics, observation, evaluation and recording
  (goal <= 1.15 without cameras); and the all-in ratio with the operator included,
- physics steps/s, control ticks/s, and the real-time factor (simulated seconds per wall second).
It also times bare stepping of the static scene (robot holding still) for reference. Episodes alternate
between configurations so machine noise hits both alike.
"""
from __future__ import annotations

import argparse
import time

from robotschool.devices.scripted import ScriptedDevice
from robotschool.env import RobotEnv
from robotschool.rollout import run_episode


class _Timed:
    """Wraps a bound method to accumulate the wall time spent in it."""

    def __init__(self, owner, name: str):
        self.owner, self.name = owner, name
        self.inner = getattr(owner, name)
        self.seconds = 0.0
        setattr(owner, name, self)

    def __call__(self, *args, **kwargs):
        t = time.perf_counter()
        try:
            return self.inner(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t

    def remove(self) -> None:
        setattr(self.owner, self.name, self.inner)


def run(env: RobotEnv, seed) -> dict:
    env.reset(seed=seed)
    device = ScriptedDevice(env.make_oracle())
    physics = _Timed(env.world, "step")
    operator = _Timed(device, "poll")
    t0 = time.perf_counter()
    result = run_episode(env, device, record=True)
    wall = time.perf_counter() - t0
    physics.remove()
    ticks = result.steps
    return {"wall": wall, "physics": physics.seconds, "device": operator.seconds, "ticks": ticks,
            "sim": ticks * env.control_dt, "physics_steps": ticks * env.substeps, "success": result.success}


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
    print(f"{'configuration':22s} {'physics st/s':>12s} {'ticks/s':>8s} {'pipeline/phys':>13s} {'all-in/phys':>11s} "
          f"{'RTF':>6s} {'success':>8s}")
    for name, rows in results.items():
        phys = sum(r["physics"] for r in rows)
        wall = sum(r["wall"] for r in rows)
        steps = sum(r["physics_steps"] for r in rows)
        ticks = sum(r["ticks"] for r in rows)
        sim = sum(r["sim"] for r in rows)
        pipeline = sum(r["wall"] - r["device"] for r in rows) / phys
        print(f"{name:22s} {steps / phys:12,.0f} {ticks / wall:8.1f} {pipeline:13.3f} {wall / phys:11.3f} "
              f"{sim / wall:6.2f} {sum(r['success'] for r in rows):4d}/{len(rows)}")
    for env in configs.values():
        env.close()


if __name__ == "__main__":
    main()
