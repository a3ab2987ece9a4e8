"""Teleop control-loop benchmark: device event -> joint targets, and missed control ticks at 20 Hz.

    python scripts/bench_teleop.py [--seconds 10] [--ik-budget batch|live|both] [--ik-kernel numpy|numba|both]
                                   [--warm-up on|off|both]
                                   [--skip-gui] [--skip-headless]

1. headless: the real TeleopSession loop (DIRECT physics, wall-clock paced at the scene's control rate) driven by
   the keyboard device reading a synthetic key source, for two motions: `reach` (hand forward 1 s, back 1 s, ...)
   and `out_of_reach` (hand pushed forward and up for good: the worst case of a live operator), each with the
   full batch IK and with the live IK budget (configs/devices/teleop.yaml `ik_budget`) side by side; the live
   runs go twice, with and without RobotEnv.prepare's warm-up solve (the last action solved again before the
   device poll, what teleop does), and print the ratio (--warm-up), once per IK kernel (--ik-kernel: numpy, and
   numba, the compiled one of the `fast` extra that teleop.yaml selects), with their ratio. Per tick:
   compute (device poll -> joint targets applied) in wall and CPU time, how much of it is IK, the whole tick's
   wall/CPU time against the deadline, lateness, and missed ticks.
2. gui: `robotschool teleop` as a subprocess in a PyBullet window under Xvfb (started here if DISPLAY is unset),
   driven by xdotool (t, w/s held in turn, y, q): the session's own timing summary (ticks, missed, compute,
   tick wall/CPU, lateness) and the input-to-command latency (key read in the window -> joint targets applied)
   of the saved demo, from `robotschool info`.
CPU time is this process's control thread only: a tick whose wall time is far above its CPU time was waiting for
a CPU (other processes on a loaded machine), not overrunning. The load average is printed before and after.
Goals (issue 5): compute p99 <= 2 ms, no missed ticks.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


MOTIONS = {
    # in reach: the right hand forward 1 s, back 1 s, ... (keys w / s)
    "reach": lambda tick, hz: ord("w") if (tick // hz) % 2 == 0 else ord("s"),
    # out of reach: forward and up for good (keys w + r held): after ~2 s the target leaves the workspace the arm
    # can reach and every IK solve runs out of iterations (the worst case of a live operator)
    "out_of_reach": lambda tick, hz: (ord("w"), ord("r")),
}


def headless(seconds: float, budget: str, motion: str, warm: bool = True, kernel: str | None = None
             ) -> dict[str, float]:
    """The real TeleopSession loop (DIRECT physics, no window) with the keyboard device on a synthetic key source.
    `warm=False` drops RobotEnv.prepare's warm-up solve (keeps Robot.prepare): the loop as it was before it.
    `kernel` (live budget only): the IK kernel, numpy or numba (default: teleop.yaml's)."""
    import dataclasses

    from robotschool.devices.keyboard import KeyboardDevice
    from robotschool.env import RobotEnv
    from robotschool.recording.writer import DatasetWriter
    from robotschool.teleop import TeleopSession, load_settings

    settings = load_settings()
    live = settings.ik_budget if kernel is None else dataclasses.replace(settings.ik_budget, kernel=kernel)
    env = RobotEnv("parts_sorting", overrides=["parts.count=1"], cameras=[],
                   ik_budget=live if budget == "live" else None)
    env.reset(seed=[0, 0])
    if not warm:
        env.prepare = env.robot.prepare
    keys = {"n": 0}
    hz = env.config.control_hz
    pattern = MOTIONS[motion]

    def read_keys():        # press "t" (start recording) once, then the motion's keys, held
        keys["n"] += 1
        held = pattern(keys["n"], hz)
        out = {k: 1 for k in (held if isinstance(held, tuple) else (held,))}
        return {ord("t"): 3, **out} if keys["n"] == 1 else out

    solve_times: list[float] = []
    unreached: list[bool] = []
    inner_solve = env.robot.solve

    def timed_solve(command, *a, **k):          # measurement only: how much of the compute is IK (control/ik.py)
        t0 = time.perf_counter()
        out = inner_solve(command, *a, **k)
        solve_times.append(time.perf_counter() - t0)
        unreached.append(not out.ik["right"].reachable)
        return out

    env.robot.solve = timed_solve
    device = KeyboardDevice(read_keys, hz)
    with tempfile.TemporaryDirectory() as d, DatasetWriter(Path(d) / "b.hdf5", env.data_attrs()) as writer:
        session = TeleopSession(env, device, writer, max_seconds=seconds, log=lambda s: None, settings=settings)
        s = session.run()
    env.close()
    period = 1.0 / hz
    n = len(s.compute)
    c, cc = np.array(s.compute) * 1e3, np.array(s.compute_cpu) * 1e3
    ik = np.array(solve_times[-n:]) * 1e3
    late = np.array(s.lateness) * 1e3
    name = budget if budget == "batch" else f"live/{live.kernel}"
    tag = f"headless {motion:12s} ik={name:11s}{'' if warm else ' no warm-up'}"
    print(f"{tag}: {s.ticks} ticks at {hz} Hz, {s.missed_ticks} missed; right target unreached in "
          f"{sum(unreached[-n:])} ticks")
    print(f"{tag}:   compute (poll -> targets applied) wall median {np.median(c):.2f} p99 {np.percentile(c, 99):.2f} "
          f"max {c.max():.2f} ms | cpu median {np.median(cc):.2f} p99 {np.percentile(cc, 99):.2f} ms")
    print(f"{tag}:   of which IK (robot.solve, wall) median {np.median(ik):.2f} p99 {np.percentile(ik, 99):.2f} "
          f"max {ik.max():.2f} ms; rest (poll, retarget, encode, decode, apply) median {np.median(c - ik):.2f} "
          f"p99 {np.percentile(c - ik, 99):.2f} ms")
    w, wc = np.array(s.work) * 1e3, np.array(s.work_cpu) * 1e3
    print(f"{tag}:   whole tick wall median {np.median(w):.2f} p99 {np.percentile(w, 99):.2f} ms, cpu median "
          f"{np.median(wc):.2f} p99 {np.percentile(wc, 99):.2f} ms (deadline {period * 1e3:g} ms); lateness "
          f"median {np.median(late):.2f} p99 {np.percentile(late, 99):.2f} max {late.max():.2f} ms")
    return {"median": float(np.median(c)), "p99": float(np.percentile(c, 99)),
            "median_cpu": float(np.median(cc)), "p99_cpu": float(np.percentile(cc, 99))}


def gui(seconds: float) -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    xvfb = None
    if not env.get("DISPLAY"):
        if shutil.which("Xvfb") is None:
            print("gui: skipped (no DISPLAY and no Xvfb)")
            return
        read, write = os.pipe()          # -displayfd: Xvfb picks a free display number and writes it here
        xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24"],
                                pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as f:
            env["DISPLAY"] = ":" + f.readline().strip()
    with tempfile.TemporaryDirectory() as d:
        out, log = Path(d) / "gui.hdf5", Path(d) / "gui.log"
        proc = subprocess.Popen([sys.executable, "-m", "robotschool.cli", "teleop", "--scene", "parts_sorting",
                                 "--set", "parts.count=1", "--out", str(out)], cwd=REPO, env=env,
                                stdout=log.open("w"), stderr=subprocess.STDOUT)

        def xdo(*a):
            return subprocess.run(["xdotool", *a], env=env, capture_output=True, text=True).stdout

        try:
            end = time.monotonic() + 180
            while "window ready" not in log.read_text() and time.monotonic() < end and proc.poll() is None:
                time.sleep(0.2)
            win = xdo("search", "--name", "Bullet").split()[-1]
            xdo("windowfocus", "--sync", win)
            xdo("key", "t")
            for i in range(int(seconds)):          # hand forward 1 s, back 1 s, ... (stays within reach)
                key = "w" if i % 2 == 0 else "s"
                xdo("keydown", key)
                time.sleep(1.0)
                xdo("keyup", key)
            xdo("key", "y")
            while "saved episode" not in log.read_text() and proc.poll() is None:
                time.sleep(0.2)
            xdo("key", "q")
            proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
            if xvfb is not None:
                xvfb.terminate()
        text = log.read_text()
        m = re.search(r"ticks:\s+(\d+) \((\d+) missed", text)
        info = subprocess.run([sys.executable, "-m", "robotschool.cli", "info", str(out)], cwd=REPO,
                              capture_output=True, text=True).stdout
        lat = [line for line in info.splitlines() if line.startswith("latency:")]
        print(f"gui: {m.group(1) if m else '?'} ticks, {m.group(2) if m else '?'} missed; "
              f"{lat[0] if lat else 'no latency recorded'}")
        for line in text.splitlines():          # the session's own timing summary (robotschool/teleop.py)
            if line.startswith(("ticks:", "compute", "tick ", "lateness:")):
                print(f"gui:   {line}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--skip-gui", action="store_true")
    ap.add_argument("--skip-headless", action="store_true")
    ap.add_argument("--ik-budget", choices=["batch", "live", "both"], default="both",
                    help="headless runs: batch = the full IK of generation, live = configs/devices/teleop.yaml "
                         "ik_budget (what teleop uses), both = side by side (default)")
    ap.add_argument("--ik-kernel", choices=["numpy", "numba", "both"], default="both",
                    help="live-budget runs: the IK kernel (control/ik.py IKBudget.kernel); both = side by side with "
                         "their ratio (default; numba needs the fast extra)")
    ap.add_argument("--warm-up", choices=["on", "off", "both"], default="both",
                    help="live-budget runs with RobotEnv.prepare's warm-up solve before the device poll (on, what "
                         "teleop does), without it (off), or both one after the other with their ratio (default)")
    a = ap.parse_args()
    print(f"machine load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min) on "
          f"{os.cpu_count()} CPUs")
    if not a.skip_headless:
        budgets = ["batch", "live"] if a.ik_budget == "both" else [a.ik_budget]
        warms = {"on": [True], "off": [False], "both": [True, False]}[a.warm_up]
        kernels = ["numpy", "numba"] if a.ik_kernel == "both" else [a.ik_kernel]
        for motion in MOTIONS:
            for budget in budgets:
                if budget == "batch":
                    headless(a.seconds, budget, motion)
                    continue
                by_kernel = {}
                for kernel in kernels:
                    runs = {w: headless(a.seconds, budget, motion, w, kernel) for w in warms}
                    by_kernel[kernel] = runs[True] if True in runs else runs[False]
                    if len(runs) == 2:
                        r = {k: runs[True][k] / runs[False][k] for k in runs[True]}
                        print(f"headless {motion:12s} ik=live/{kernel}: warm-up on / off: compute wall median "
                              f"{r['median']:.2f} p99 {r['p99']:.2f}, cpu median {r['median_cpu']:.2f} "
                              f"p99 {r['p99_cpu']:.2f}")
                if len(by_kernel) == 2:
                    r = {k: by_kernel["numba"][k] / by_kernel["numpy"][k] for k in by_kernel["numpy"]}
                    print(f"headless {motion:12s} ik=live: numba / numpy kernel: compute wall median "
                          f"{r['median']:.2f} p99 {r['p99']:.2f}, cpu median {r['median_cpu']:.2f} "
                          f"p99 {r['p99_cpu']:.2f}")
        print(f"machine load average after headless: {os.getloadavg()[0]:.2f}")
    if not a.skip_gui:
        gui(a.seconds)
        print(f"machine load average after gui: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
