"""Teleop control-loop benchmark: device event -> joint targets, and missed control ticks at 20 Hz.

    python scripts/bench_teleop.py [--seconds 10]

1. headless: the real TeleopSession loop (DIRECT physics, wall-clock paced at the scene's control rate) driven by
   the keyboard device reading a synthetic key source (hand forward 1 s, back 1 s, ...); per tick: compute time (device poll ->
   joint targets applied to the motors) and missed ticks.
2. gui: `robotschool teleop` as a subprocess in a PyBullet window under Xvfb (started here if DISPLAY is unset),
   driven by xdotool (t, w/s held in turn, y, q): ticks and missed ticks from its summary, and the input-to-command
   latency (key read in the window -> joint targets applied) of the saved demo, from `robotschool info`.
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


def headless(seconds: float) -> None:
    from robotschool.devices.keyboard import KeyboardDevice
    from robotschool.env import RobotEnv
    from robotschool.recording.writer import DatasetWriter
    from robotschool.teleop import TeleopSession

    env = RobotEnv("parts_sorting", overrides=["parts.count=1"], cameras=[])
    env.reset(seed=[0, 0])
    keys = {"n": 0}

    def read_keys():        # press "t" (start recording) once; then the hand goes forward 1 s, back 1 s, ...
        keys["n"] += 1
        move = ord("w") if (keys["n"] // env.config.control_hz) % 2 == 0 else ord("s")
        return {ord("t"): 3, move: 1} if keys["n"] == 1 else {move: 1}

    solve_times: list[float] = []
    inner_solve = env.robot.solve

    def timed_solve(command):          # measurement only: how much of the compute is IK (control/ik.py)
        t0 = time.perf_counter()
        out = inner_solve(command)
        solve_times.append(time.perf_counter() - t0)
        return out

    env.robot.solve = timed_solve

    device = KeyboardDevice(read_keys, env.config.control_hz)
    with tempfile.TemporaryDirectory() as d, DatasetWriter(Path(d) / "b.hdf5", env.data_attrs()) as writer:
        session = TeleopSession(env, device, writer, max_seconds=seconds, log=lambda s: None)
        s = session.run()
    env.close()
    c = np.array(s.compute) * 1e3
    ik = np.array(solve_times[-len(c):]) * 1e3
    rest = c - ik
    print(f"headless: {s.ticks} ticks at {env.config.control_hz} Hz, {s.missed_ticks} missed; compute (poll -> "
          f"targets applied) median {np.median(c):.2f} ms, p99 {np.percentile(c, 99):.2f} ms, max {c.max():.2f} ms")
    print(f"headless:   of which IK (robot.solve) median {np.median(ik):.2f} ms, p99 {np.percentile(ik, 99):.2f} ms; "
          f"everything else (poll, retarget, encode, decode, apply) median {np.median(rest):.2f} ms, "
          f"p99 {np.percentile(rest, 99):.2f} ms")


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
        m = re.search(r"ticks:\s+(\d+) \((\d+) missed\)", text)
        info = subprocess.run([sys.executable, "-m", "robotschool.cli", "info", str(out)], cwd=REPO,
                              capture_output=True, text=True).stdout
        lat = [line for line in info.splitlines() if line.startswith("latency:")]
        print(f"gui: {m.group(1) if m else '?'} ticks, {m.group(2) if m else '?'} missed; "
              f"{lat[0] if lat else 'no latency recorded'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--skip-gui", action="store_true")
    a = ap.parse_args()
    print(f"machine load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    headless(a.seconds)
    if not a.skip_gui:
        gui(a.seconds)


if __name__ == "__main__":
    main()
