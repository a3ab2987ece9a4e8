"""`robotschool generate / info / replay` end to end: real PyBullet, real files, real subprocesses.

One small recording (parts.count=1, one 32 px head camera) is generated once per module and reused; a
second run with the same seed must produce bit-identical arrays. Bad inputs must be refused with exit
status 2, one line on stderr and no traceback, before anything is simulated.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from robotschool.control.actions import DIM
from robotschool.recording import schema

REPO_ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--scene", "parts_sorting", "--episodes", "1", "--set", "parts.count=1", "--cameras", "head",
         "--camera-size", "32"]
RANDOM_ID_ATTRS = {schema.ATTR_SHARD}      # unique per write, by design


def robotschool(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "robotschool.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    (d / "tmp").mkdir()
    return d


@pytest.fixture(scope="module")
def recorded(workdir: Path) -> Path:
    res = robotschool("generate", *SMALL, "--out", "tmp/x.hdf5", cwd=workdir)
    assert res.returncode == 0, res.stderr
    assert "successes:    1 of 1" in res.stdout and "tmp/x.hdf5" in res.stdout, res.stdout
    assert "Traceback" not in res.stderr
    path = workdir / "tmp" / "x.hdf5"
    assert path.is_file() and not Path(f"{path}.parts").exists()
    return path


def test_generate_writes_a_complete_dataset(recorded: Path):
    with h5py.File(recorded, "r") as f:
        data = f[schema.DATA]
        assert list(data) == ["demo_0"]
        demo = data["demo_0"]
        t = int(demo.attrs[schema.ATTR_NUM_SAMPLES])
        assert t > 0 and data.attrs[schema.ATTR_TOTAL] == t
        assert demo.attrs[schema.ATTR_SUCCESS]
        assert demo[schema.ACTIONS].shape == (t, DIM)
        assert demo[schema.OBS]["head_image"].shape == (t, 32, 32, 3)
        assert demo[schema.STATES].shape == (t, int(data.attrs["state_size"]))
        assert list(demo.attrs["seed"]) == [0, 0] and demo.attrs["attempt"] == 0
        assert demo.attrs[schema.ATTR_KEY] == "attempt_000000"
        for name in ("scene_params", "instruction", "robot"):
            assert name in demo.attrs
        assert data.attrs["seed"] == 0 and data.attrs[schema.ATTR_SCENE] == "parts_sorting"
        assert [n.decode() for n in f[schema.MASK][schema.MASK_SUCCESS][()]] == ["demo_0"]


def test_info_lists_the_datasets(recorded: Path):
    res = robotschool("info", str(recorded), cwd=recorded.parent)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    for needle in ("demos:        1", "success rate: 100%", "scene:        parts_sorting", "robot:        humanoid",
                   "control_hz:   20", "actions", "states", "obs/head_image", "next_obs/object",
                   "action_dict/ee_abs", "operator/timestamp", "success: 1", "failed: 0"):
        assert needle in out, f"{needle!r} missing from:\n{out}"


def test_replay_reproduces_the_states_exactly(recorded: Path):
    res = robotschool("replay", str(recorded), "--demo", "0", cwd=recorded.parent)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "bit-identical" in res.stdout and "max state error:  0\n" in res.stdout
    assert robotschool("replay", str(recorded), "--demo", "demo_0", cwd=recorded.parent).returncode == 0


def _datasets(group: h5py.Group) -> dict[str, h5py.Dataset]:
    out: dict[str, h5py.Dataset] = {}
    group.visititems(lambda name, obj: out.__setitem__(name, obj) if isinstance(obj, h5py.Dataset) else None)
    return out


def test_same_seed_gives_bit_identical_files(recorded: Path, workdir: Path):
    res = robotschool("generate", *SMALL, "--out", "tmp/y.hdf5", cwd=workdir)
    assert res.returncode == 0, res.stderr
    with h5py.File(recorded, "r") as a, h5py.File(workdir / "tmp" / "y.hdf5", "r") as b:
        da, db = a["data/demo_0"], b["data/demo_0"]
        sets_a, sets_b = _datasets(da), _datasets(db)
        assert sorted(sets_a) == sorted(sets_b)
        assert len(sets_a) > 30
        for name in sets_a:
            x, y = sets_a[name][()], sets_b[name][()]
            assert x.dtype == y.dtype and x.shape == y.shape, name
            if x.dtype.kind == "O":
                assert x.tolist() == y.tolist(), name
            else:
                assert x.tobytes() == y.tobytes(), f"{name} differs"
        attrs_a = {k: v for k, v in da.attrs.items() if k not in RANDOM_ID_ATTRS}
        attrs_b = {k: v for k, v in db.attrs.items() if k not in RANDOM_ID_ATTRS}
        assert sorted(attrs_a) == sorted(attrs_b)
        for k in attrs_a:
            assert np.array_equal(attrs_a[k], attrs_b[k]), k


BAD_INPUTS = {
    "unknown scene": (["--scene", "no_such_scene"], "parts_sorting"),
    "unknown robot": (["--robot", "no_such_robot"], "humanoid"),
    "not an integer": (["--set", "parts.count=abc"], "parts.count"),
    "unknown key": (["--set", "parts.nosuchkey=1"], "parts.nosuchkey"),
    "out of range": (["--set", "parts.count=0"], "minimum"),
    "unknown camera": (["--cameras", "no_such_camera"], "head"),
    "output exists": (["--out", "tmp/exists.hdf5"], "--overwrite"),
    "missing directory": (["--out", "no_such_dir/x.hdf5"], "does not exist"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_line_exit_2_before_simulating(case: str, tmp_path: Path):
    args, mention = BAD_INPUTS[case]
    (tmp_path / "tmp").mkdir()
    existing = tmp_path / "tmp" / "exists.hdf5"
    existing.write_bytes(b"precious")
    args = ["--episodes", "1", "--set", "parts.count=1", *args]
    if "--out" not in args:
        args += ["--out", "tmp/new.hdf5"]
    start = time.monotonic()
    res = robotschool("generate", *args, cwd=tmp_path)
    elapsed = time.monotonic() - start
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("robotschool: error: "), res.stderr
    assert mention in lines[0]
    assert "Traceback" not in res.stderr + res.stdout
    assert elapsed < 15, f"refusal took {elapsed:.1f} s: something was simulated first"
    assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == ["exists.hdf5"]
    assert existing.read_bytes() == b"precious"
    assert not (tmp_path / "data").exists()


def test_other_bad_inputs_exit_2(tmp_path: Path, recorded: Path):
    for args in (["generate", "--episodes", "0"], ["generate", "--overwrite", "--resume"], ["nosuchcommand"],
                 ["info", "missing.hdf5"], ["replay", str(recorded), "--demo", "7"],
                 ["replay", str(recorded), "--demo", "x"]):
        res = robotschool(*args, cwd=tmp_path)
        assert res.returncode == 2, (args, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("robotschool: error: "), (args, res.stderr)


def test_list_names_the_registered_parts(tmp_path: Path):
    res = robotschool("list", cwd=tmp_path)
    assert res.returncode == 0 and res.stderr == ""
    assert "parts_sorting" in res.stdout and "humanoid" in res.stdout and "scripted" in res.stdout


def test_default_output_goes_to_data_folder(tmp_path: Path):
    res = robotschool("generate", "--episodes", "1", "--set", "parts.count=1", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "data" / "parts_sorting.hdf5").is_file()
    again = robotschool("generate", "--episodes", "1", "--set", "parts.count=1", cwd=tmp_path)
    assert again.returncode == 2 and "--overwrite" in again.stderr
