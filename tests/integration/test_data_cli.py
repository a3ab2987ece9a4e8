"""The dataset commands end to end on a real generated file, as subprocesses."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from robotschool.tools.plot import flatten_params


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
    with h5py.File(d / "demos.hdf5", "r") as f:          # generate finalised the file with its stats
        before = f["stats/actions/q99"][()]
        assert f["stats"].attrs["total"] == f["data"].attrs["total"]
    r = _cli("stats", "demos.hdf5", cwd=d)
    assert r.returncode == 0, r.stderr
    with h5py.File(d / "demos.hdf5", "r") as f:          # recomputed: the same numbers
        assert (f["stats/actions/q99"][()] == before).all()
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
    for args in (("split", "demos.hdf5", "--valid", "3"),
                 ("filter", "demos.hdf5", "--out", "x.hdf5", "--set", "bench.height>>1"),
                 ("stats", "missing.hdf5"), ("plot", "missing.hdf5", "--out", "p.png"),
                 ("plot", "demos.hdf5", "--out", "p.jpg")):
        r = _cli(*args, cwd=d)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)


def test_plot_png_and_missing_matplotlib(dataset):
    d = dataset
    r = _cli("plot", "demos.hdf5", "--out", "overview.png", cwd=d)
    assert r.returncode == 0 and "wrote overview.png: 2 demos" in r.stdout, r.stdout + r.stderr
    with h5py.File(d / "demos.hdf5", "r") as f:           # scene_params JSON: numeric params that vary
        params = [flatten_params(json.loads(f[f"data/demo_{i}"].attrs["scene_params"])) for i in (0, 1)]
    shown = r.stdout.strip().split("success by ")[1].split(", ")
    assert len(shown) == 6 and all(p in params[0] and params[0][p] != params[1][p] for p in shown), shown
    data = (d / "overview.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert 1000 <= width <= 3000 and 1000 <= height <= 5000 and len(data) > 50_000, (width, height, len(data))
    # matplotlib absent (a None entry in sys.modules makes `import matplotlib` raise ImportError)
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    code = ("import sys; sys.modules['matplotlib'] = None; from robotschool.cli import main; "
            "sys.exit(main(['plot', 'demos.hdf5', '--out', 'x.png']))")
    r = subprocess.run([sys.executable, "-c", code], cwd=d, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and not (d / "x.png").exists(), r.stderr
    assert r.stderr.strip().splitlines() == ["robotschool: error: robotschool plot needs matplotlib: "
                                             "pip install robotschool[plot]"], r.stderr


def test_language_items_carry_instruction_and_subtask(dataset):
    """language=True: each item has its demo's instruction and the scripted operator's subtask label at the
    window's first step, read from the real generated file (not synthesised)."""
    from robotschool.data import DemoDataset
    from robotschool.recording import schema

    path = dataset / "demos.hdf5"
    with h5py.File(path, "r") as f:
        demo = f["data/demo_0"]
        instruction = demo.attrs[schema.ATTR_INSTRUCTION]
        phases = [p.decode() if isinstance(p, bytes) else p for p in demo[f"operator/{schema.OP_PHASE}"][()]]
    assert instruction and len(set(phases)) > 3                  # a real instruction, several subtasks
    with DemoDataset(path, [schema.OBS_JOINT_POS], seq_len=4, language=True) as ds:
        for t in (0, len(phases) // 2, len(phases) - 1):
            item = ds[t]
            assert item["instruction"] == instruction and item["subtask"] == phases[t]
        batch = ds.get_batch([0, len(phases) - 1])
        assert list(batch["subtask"]) == [phases[0], phases[-1]]
    with DemoDataset(path, [schema.OBS_JOINT_POS]) as ds:
        assert "subtask" not in ds[0]                             # off by default: batches stay numeric
