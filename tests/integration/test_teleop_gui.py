"""`robotschool teleop` in a real PyBullet window under Xvfb, driven by real key presses (xdotool).

Start recording, hold `w` (right hand forward: +x in the robot base frame), close the grip, save, quit; the
saved demo must be in the file with the hand further forward and the gripper closed. A second session is
ended by killing its window and must keep the episode it saved before.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def display():
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed (apt-get install xvfb xdotool; .ci/run does it)")
    read, write = os.pipe()              # -displayfd: Xvfb picks a free display number and writes it here
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        num = f.readline().strip()
    assert num.isdigit() and proc.poll() is None, "Xvfb did not start"
    yield f":{num}"
    proc.terminate()
    proc.wait(10)


class Session:
    def __init__(self, display: str, out: Path, *extra: str):
        self.env = dict(os.environ, DISPLAY=display, PYTHONUNBUFFERED="1")
        self.log = out.with_suffix(".log")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "robotschool.cli", "teleop", "--scene", "parts_sorting", "--set", "parts.count=1",
             "--out", str(out), "--max-seconds", "150", *extra],
            cwd=REPO, env=self.env, stdout=self.log.open("w"), stderr=subprocess.STDOUT)
        self.wait_for("teleop: window ready", 150)
        wins = self.xdo("search", "--pid", str(self.viewer_pid()), "--name", "").split()
        assert wins, "no window found for the viewer process"
        self.win = wins[-1]
        self.xdo("windowfocus", "--sync", self.win)

    def viewer_pid(self) -> int:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
        assert out, "the viewer process is not running"
        return int(out[-1])

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, line: str, timeout: float, count: int = 1) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.text().count(line) >= count:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"{line!r} not seen; log:\n{self.text()[-3000:]}")

    def xdo(self, *args: str) -> str:
        return subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=30).stdout

    def key(self, name: str) -> None:
        self.xdo("key", "--delay", "50", name)

    def hold(self, name: str, seconds: float) -> None:
        self.xdo("keydown", name)
        time.sleep(seconds)
        self.xdo("keyup", name)

    def finish(self, timeout: float = 60) -> str:
        self.proc.wait(timeout)
        return self.text()


def _demo(path: Path, name: str = "demo_0") -> dict:
    with h5py.File(path, "r") as f:
        d = f["data"][name]
        return {"pos": d["obs/robot0_right_eef_pos"][()], "grip": d["action_dict/gripper"][()],
                "attrs": dict(d.attrs), "n": len(f["data"]), "op": {k: d["operator"][k][()] for k in d["operator"]}}


def test_keyboard_moves_hand_grips_and_saves(display, tmp_path):
    out = tmp_path / "teleop.hdf5"
    s = Session(display, out)
    s.key("t")
    s.wait_for("teleop: recording", 30)
    s.hold("w", 1.5)                       # right hand (the default) forward, +x in the robot base frame
    s.hold("g", 0.3)                       # close the right gripper
    time.sleep(1.5)
    s.key("y")
    s.wait_for("teleop: saved episode 1", 60)
    s.key("q")
    log = s.finish()
    assert s.proc.returncode == 0, log[-2000:]
    assert "ended by:     quit" in log
    d = _demo(out)
    assert d["n"] == 1
    assert d["attrs"]["device"] == "keyboard" and d["attrs"]["operator_id"] == "human"
    moved = d["pos"][-1] - d["pos"][0]
    assert moved[0] > 0.05, f"hand moved {moved} (expected > 5 cm forward)"
    assert abs(moved[1]) < 0.03 and abs(moved[2]) < 0.03, moved
    assert d["grip"][0, 1] == 0.0 and d["grip"][-1, 1] == 1.0      # right gripper: open -> closed
    assert np.all(d["grip"][:, 0] == 0.0)                           # left untouched
    lat = d["op"]["applied_time"] - d["op"]["timestamp"]
    assert np.all(lat >= 0) and np.median(lat) < 1.0
    info = subprocess.run([sys.executable, "-m", "robotschool.cli", "info", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=60).stdout
    assert f"p99 {np.percentile(lat * 1e3, 99):.2f} ms" in info
    replay = subprocess.run([sys.executable, "-m", "robotschool.cli", "replay", str(out), "--demo", "0"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert replay.returncode == 0, replay.stdout + replay.stderr     # bit-identical, like a generated demo


def test_closing_the_window_keeps_saved_episodes(display, tmp_path):
    out = tmp_path / "closed.hdf5"
    s = Session(display, out)
    s.key("t")
    s.wait_for("teleop: recording", 30)
    time.sleep(0.5)
    s.key("y")
    s.wait_for("teleop: saved episode 1", 60)
    s.key("t")
    s.wait_for("teleop: recording", 30, count=2)
    s.xdo("windowkill", s.win)             # the window goes away mid-episode
    log = s.finish()
    assert s.proc.returncode == 0, log[-2000:]
    assert "ended by:     window closed" in log
    assert _demo(out)["n"] == 1
