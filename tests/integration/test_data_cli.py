"""The dataset commands end to end on a real generated file, as subprocesses."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h5py
import pytest


REPO_ROOT = Path(__file__).resolve().parents[2]


def _cli(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "robotschool.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    r = _cli("generate", "--episodes", "2", "--set", "parts.count=1", "--out", "demos.hdf5", cwd=d)
    assert r.returncode == 0, r.stderr
    return d


def test_stats_validate_split_filter_merge_video(dataset):
    d = dataset
    r = _cli("stats", "demos.hdf5", cwd=d)
    assert r.returncode == 0, r.stderr
    with h5py.File(d / "demos.hdf5", "r") as f:
        assert "stats/actions/mean" in f
    r = _cli("validate", "demos.hdf5", cwd=d)
    assert r.returncode == 0, r.stdout + r.stderr
    r = _cli("split", "demos.hdf5", "--valid", "0.5", cwd=d)
    assert r.returncode == 0 and "1 train, 1 valid" in r.stdout, r.stdout + r.stderr
    r = _cli("filter", "demos.hdf5", "--out", "ok.hdf5", "--success", "--set", "bench.height>0", cwd=d)
    assert r.returncode == 0 and "kept 2" in r.stdout, r.stdout + r.stderr
    r = _cli("merge", "demos.hdf5", "ok.hdf5", "--out", "all.hdf5", cwd=d)
    assert r.returncode == 0 and "wrote 4 demos" in r.stdout, r.stdout + r.stderr
    r = _cli("replay", "all.hdf5", "--demo", "3", cwd=d)
    assert r.returncode == 0, r.stdout + r.stderr      # merged demos still replay exactly
    r = _cli("video", "demos.hdf5", "--demo", "0", "--out", "frames/", cwd=d)
    assert r.returncode == 0 and (d / "frames").is_dir(), r.stdout + r.stderr


def test_validate_flags_a_broken_file_and_bad_inputs_are_one_line(dataset, tmp_path):
    d = dataset
    broken = tmp_path / "broken.hdf5"
    broken.write_bytes((d / "demos.hdf5").read_bytes()[:4000])
    r = _cli("validate", str(broken), cwd=d)
    assert r.returncode == 1 and "Traceback" not in r.stdout + r.stderr
    for args in (("split", "demos.hdf5", "--valid", "3"), ("filter", "demos.hdf5", "--out", "x.hdf5", "--set", "bench.height>>1"),
                 ("stats", "missing.hdf5")):
        r = _cli(*args, cwd=d)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)
