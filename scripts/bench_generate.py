"""Benchmark `generate`: episodes per hour, real-time factor per worker, 1 -> 2 worker scaling, Ray overhead.

    python scripts/bench_generate.py                       # parts.count=1, 4 episodes per configuration
    python scripts/bench_generate.py --episodes 8 --parts 2 --no-ray

Every configuration generates the same job (same scene, seed and episode count: the files are identical,
see tests/integration/test_generate_*.py), side by side in this one run, so the ratios compare like with like
on whatever load the machine has at the moment (print `uptime` with the figures; they are only as good as the
quietest moment). Two observation settings: no cameras, and head + both wrist cameras at 128 px.

Columns: wall seconds of the whole `generate` call (env builds, worker start, Ray start where the call starts
it, commits), successful episodes per hour, real-time factor per worker (simulated seconds of every attempt
/ wall seconds / workers: > 1 is faster than real time), and speed-up over 1 worker. Ray runs twice: on a
Ray the benchmark started beforehand (a running cluster: the per-job cost) and with the call starting its
own local Ray (what `--backend ray` without `--ray-address` costs end to end).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from robotschool.env import load_scene_config  # noqa: E402
from robotschool.generate import GenerateSummary, generate  # noqa: E402

CAMERAS = ["head", "left_wrist", "right_wrist"]
SCENE = "parts_sorting"


def run(label: str, out_dir: Path, args: argparse.Namespace, cameras: list[str], **kw) -> tuple[str, GenerateSummary]:
    out = out_dir / f"{label.replace(' ', '_').replace('(', '').replace(')', '')}_{len(cameras)}.hdf5"
    s = generate(SCENE, args.episodes, out, seed=args.seed, overrides=[f"parts.count={args.parts}"],
                 cameras=cameras, camera_size=args.camera_size, overwrite=True, progress=False, **kw)
    out.unlink()
    return label, s


def report(rows: list[tuple[str, GenerateSummary]], control_hz: int) -> None:
    base = rows[0][1].seconds
    print(f"  {'configuration':<28} {'wall s':>7} {'eps/h':>7} {'RTF/worker':>10} {'vs 1 worker':>11}")
    for label, s in rows:
        rtf = s.steps / control_hz / s.seconds / s.workers
        print(f"  {label:<28} {s.seconds:7.1f} {s.episodes_per_hour:7.0f} {rtf:10.2f} {base / s.seconds:10.2f}x")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=4, help="successful episodes per configuration (default 4)")
    ap.add_argument("--parts", type=int, default=1, help="parts.count (default 1: short episodes)")
    ap.add_argument("--camera-size", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-ray", action="store_true", help="skip the Ray backend")
    ap.add_argument("--no-cameras-only", action="store_true", help="skip the camera setting")
    args = ap.parse_args()
    control_hz = load_scene_config(SCENE, [f"parts.count={args.parts}"])[1].control_hz
    print(f"bench_generate: {SCENE}, parts.count={args.parts}, {args.episodes} episodes per configuration, "
          f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    settings = [("no cameras", [])] + ([] if args.no_cameras_only else
                                       [(f"{'+'.join(CAMERAS)} {args.camera_size} px", CAMERAS)])
    with tempfile.TemporaryDirectory(prefix="bench_generate_") as tmp:
        out_dir = Path(tmp)
        run("warm-up", out_dir, argparse.Namespace(**{**vars(args), "episodes": 1}), [])   # imports, caches
        for name, cameras in settings:
            rows = [run("process, 1 worker", out_dir, args, cameras, workers=1),
                    run("process, 2 workers", out_dir, args, cameras, workers=2)]
            if not args.no_ray:
                import ray

                ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
                rows.append(run("ray, 2 (running Ray)", out_dir, args, cameras, workers=2, backend="ray"))
                ray.shutdown()
                rows.append(run("ray, 2 (own local Ray)", out_dir, args, cameras, workers=2, backend="ray"))
            print(f"\n{name}:")
            report(rows, control_hz)
            if not args.no_ray:
                p2 = rows[1][1].seconds
                print(f"  ray overhead vs process, 2 workers: running Ray {rows[2][1].seconds / p2 - 1:+.0%}, "
                      f"own local Ray {rows[3][1].seconds / p2 - 1:+.0%} (includes starting and stopping it)")
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
