"""generate --workers K / --verify: a process pool must write the very file one process writes.

Small runs only (parts.count=1, no cameras unless said, 1-3 episodes of ~1.5-3 s each): the reference
file of 3 episodes with workers=1 is made once per module and compared, dataset by dataset and byte by
byte, with workers=2 runs (fresh, and resumed after a partial run). Attrs are compared too, except the
per-write shard id.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import pytest

from generate_helpers import INTERRUPTED, restore_sigint, assert_same_file, cli_env, robotschool
from generate_helpers import datasets as _datasets
from generate_helpers import demos
from generate_helpers import keys as _keys
from robotschool.errors import ConfigError
from robotschool.generate import generate
from robotschool.recording import schema

ONE_PART = ["parts.count=1"]
HOPELESS = ["parts.count=1", "horizon_s=0.3"]       # 6 control steps: the operator cannot finish
N = 3


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "ref.hdf5"
    s = generate("parts_sorting", N, out, overrides=ONE_PART, progress=False, workers=1)
    assert s.successes == N and s.workers == 1
    return out


def test_two_workers_write_the_same_file_as_one(reference: Path, tmp_path: Path):
    out = tmp_path / "w2.hdf5"
    s = generate("parts_sorting", N, out, overrides=ONE_PART, progress=False, workers=2)
    assert (s.successes, s.workers, s.resumed) == (N, 2, 0)
    assert _keys(out) == _keys(reference)
    assert_same_file(reference, out)


def test_resume_with_two_workers_completes_to_the_same_file(reference: Path, tmp_path: Path):
    out = tmp_path / "r.hdf5"
    first = generate("parts_sorting", 1, out, overrides=ONE_PART, progress=False, workers=2)
    assert (first.successes, first.attempts) == (1, 1) and _keys(out) == ["attempt_000000"]
    second = generate("parts_sorting", N, out, overrides=ONE_PART, resume=True, progress=False, workers=2)
    assert (second.successes, second.resumed, second.attempts) == (N, 1, N - 1)
    assert_same_file(reference, out)
    again = generate("parts_sorting", N, out, overrides=ONE_PART, resume=True, progress=False, workers=2)
    assert (again.successes, again.attempts) == (N, 0)


def test_failures_are_written_in_attempt_order_with_workers(tmp_path: Path):
    out = tmp_path / "f.hdf5"
    s = generate("parts_sorting", 1, out, overrides=HOPELESS, keep_failed=True, max_attempts=4, progress=False,
                 workers=2)
    assert (s.successes, s.failures, s.attempts, s.discarded) == (0, 4, 4, 0)
    assert _keys(out) == [f"attempt_{i:06d}" for i in range(4)]
    with h5py.File(out, "r") as f:
        assert [n.decode() for n in f[schema.MASK][schema.MASK_FAILED][()]] == [f"demo_{i}" for i in range(4)]


def test_verify_stores_exact_replay_attrs(tmp_path: Path):
    res = robotschool("generate", "--episodes", "2", "--set", "parts.count=1", "--workers", "2", "--verify",
                      "--out", "v.hdf5", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "replay ok:    2 of 2 (100%)" in res.stdout and "workers:      2" in res.stdout, res.stdout
    assert "episodes/h:" in res.stdout
    assert "Traceback" not in res.stderr
    with h5py.File(tmp_path / "v.hdf5", "r") as f:
        data = f[schema.DATA]
        assert demos(data) == ["demo_0", "demo_1"]
        for name in demos(data):
            assert bool(data[name].attrs["replay_ok"]) is True
            assert float(data[name].attrs["replay_max_state_error"]) == 0.0


def test_verify_in_process_and_arrays_unchanged(reference: Path, tmp_path: Path):
    out = tmp_path / "v1.hdf5"
    s = generate("parts_sorting", 1, out, overrides=ONE_PART, progress=False, verify=True)
    assert (s.verified, s.replay_ok) == (1, 1)
    with h5py.File(out, "r") as f:
        attrs = f["data/demo_0"].attrs
        assert bool(attrs["replay_ok"]) and float(attrs["replay_max_state_error"]) == 0.0
        with h5py.File(reference, "r") as r:
            ref, got = _datasets(r["data/demo_0"]), _datasets(f["data/demo_0"])
            assert sorted(ref) == sorted(got)
            assert all(ref[k].tolist() == got[k].tolist() if ref[k].dtype.kind == "O"
                       else ref[k].tobytes() == got[k].tobytes() for k in ref)


def test_bad_workers_is_one_line_exit_2(tmp_path: Path):
    for value in ("0", "-1", "two"):
        res = robotschool("generate", "--episodes", "1", "--workers", value, "--out", "x.hdf5", cwd=tmp_path)
        assert res.returncode == 2, (value, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("robotschool: error: ") and "--workers" in lines[0]
    assert not (tmp_path / "x.hdf5").exists()
    with pytest.raises(ConfigError, match="workers"):
        generate("parts_sorting", 1, tmp_path / "y.hdf5", workers=0)


def test_ctrl_c_with_workers_exits_130_keeping_a_prefix(tmp_path: Path):
    env = cli_env()
    # far more episodes than run before the signal (one-part episodes take ~0.1 s each): the Ctrl-C must land
    # mid-run, never after the last episode (a CI run once finished all 50 of an earlier version first)
    cmd = [sys.executable, "-m", "robotschool.cli", "generate", "--episodes", "1000", "--set", "parts.count=1",
           "--workers", "2", "--out", "k.hdf5"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=restore_sigint)
    parts = tmp_path / "k.hdf5.parts"
    deadline = time.monotonic() + 90
    while not list(parts.glob("*.h5")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)               # wait until the first episode is durable
    assert proc.poll() is None, "generate ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode in INTERRUPTED, (out, err)
    assert "Traceback" not in err and "--resume" in err
    assert not parts.exists()
    done = _keys(tmp_path / "k.hdf5")
    assert done == [f"attempt_{i:06d}" for i in range(len(done))] and done   # written in order, no gaps
