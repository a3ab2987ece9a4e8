"""`robotschool retarget`: a recorded operator stream replayed through a robot's retargeter and IK.

humanoid -> humanoid must reproduce the original demo (same robot, same commands: same actions and success).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from robotschool.generate import generate

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(240)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "robotschool.cli", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=200)


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rt") / "src.hdf5"
    generate("parts_sorting", 1, path, overrides=["parts.count=1"], progress=False)
    return path


def test_same_robot_reproduces_the_demo(source, tmp_path):
    out = tmp_path / "again.hdf5"
    r = _cli("retarget", str(source), "--robot", "humanoid", "--out", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    with h5py.File(source, "r") as a, h5py.File(out, "r") as b:
        src, new = a["data/demo_0"], b["data/demo_0"]
        assert bool(new.attrs["success"]) and bool(src.attrs["success"])
        assert new.attrs["device"] == "replay" and new.attrs["operator_id"] == "oracle"
        assert new.attrs["source_demo"] == "demo_0" and new.attrs["robot"] == "humanoid"
        np.testing.assert_array_equal(new["actions"][()], src["actions"][()])
        np.testing.assert_array_equal(new["states"][()], src["states"][()])


def test_humanoid_to_wheeled_dual_arm(source, tmp_path):
    out = tmp_path / "wheeled.hdf5"
    r = _cli("retarget", str(source), "--robot", "wheeled_dual_arm", "--out", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    with h5py.File(out, "r") as f:
        demo = f["data/demo_0"]
        assert f["data"].attrs["robot"] == "wheeled_dual_arm" and demo.attrs["source_robot"] == "humanoid"
        assert demo.attrs["num_samples"] > 10 and "success" in demo.attrs


def test_bad_inputs_are_one_line_errors(source, tmp_path):
    r = _cli("retarget", str(source), "--robot", "no_such_robot", "--out", str(tmp_path / "x.hdf5"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no_such_robot" in r.stderr
    r = _cli("retarget", str(tmp_path / "missing.hdf5"), "--robot", "humanoid", "--out", str(tmp_path / "y.hdf5"))
    assert r.returncode == 2 and "no such file" in r.stderr
