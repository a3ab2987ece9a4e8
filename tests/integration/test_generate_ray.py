"""generate --backend ray: the same file as the process backend, on a local Ray or on a cluster address.

Ray starts in seconds, so this module starts one local Ray (2 CPUs, as CI has) and shares it: in-process
`generate(..., backend="ray")` uses it as it finds it initialised, and a CLI subprocess joins it through
`--ray-address`. One CLI run starts its own local Ray, as a user without a cluster does, and is stopped with Ctrl-C. The
files are compared with the process backend's, every dataset of every demo byte for byte.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import ray

from generate_helpers import INTERRUPTED, assert_same_file, cli_cmd, cli_env, keys, restore_sigint, robotschool
from robotschool.generate import generate

ONE_PART = ["parts.count=1"]
N = 2


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray with 2 CPUs for the whole module; its address is what `ray start --head` would print."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def process_one(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("p1") / "p1.hdf5"
    s = generate("parts_sorting", N, out, overrides=ONE_PART, progress=False, workers=1)
    assert (s.successes, s.workers) == (N, 1)
    return out


def test_process_1_process_2_and_ray_2_write_identical_files(local_ray: str, process_one: Path, tmp_path: Path):
    p2, r2 = tmp_path / "p2.hdf5", tmp_path / "r2.hdf5"
    s = generate("parts_sorting", N, p2, overrides=ONE_PART, progress=False, workers=2)
    assert s.successes == N
    s = generate("parts_sorting", N, r2, overrides=ONE_PART, progress=False, workers=2, backend="ray", verify=True)
    assert (s.successes, s.workers, s.verified, s.replay_ok) == (N, 2, N, N)
    assert ray.is_initialized()                        # a Ray the call did not start is left running
    assert keys(r2) == keys(process_one) == [f"attempt_{i:06d}" for i in range(N)]
    assert_same_file(process_one, p2)
    assert_same_file(process_one, r2, ignore_attrs={"replay_ok", "replay_max_state_error"})


def test_cli_joins_a_cluster_by_address_and_resumes(local_ray: str, process_one: Path, tmp_path: Path):
    first = generate("parts_sorting", 1, tmp_path / "c.hdf5", overrides=ONE_PART, progress=False)
    assert first.successes == 1
    res = robotschool("generate", "--episodes", str(N), "--set", "parts.count=1", "--workers", "2", "--backend",
                      "ray", "--ray-address", local_ray, "--resume", "--out", "c.hdf5", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"successes:    {N} of {N} requested (1 from an earlier run)" in res.stdout, res.stdout
    assert "workers:      2 (ray)" in res.stdout and res.stderr.strip() == "", res.stderr
    assert_same_file(process_one, tmp_path / "c.hdf5")


def test_cli_with_its_own_local_ray_then_ctrl_c_keeps_identical_episodes(process_one: Path, tmp_path: Path):
    """No address: the command starts a local Ray. SIGINT to the whole process group, as a terminal's
    Ctrl-C sends it, once N episodes are durable: exit 130, Ray shut down, the committed episodes in order
    and bit-identical to the process backend's."""
    proc = subprocess.Popen(cli_cmd("generate", "--episodes", "50", "--set", "parts.count=1", "--workers", "2",
                                    "--backend", "ray", "--out", "k.hdf5"),
                            cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=restore_sigint)
    parts = tmp_path / "k.hdf5.parts"
    deadline = time.monotonic() + 120
    while len(list(parts.glob("*.h5"))) < N and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode in INTERRUPTED, (out, err)
    assert "Traceback" not in err and "--resume" in err, err
    done = keys(tmp_path / "k.hdf5")
    assert len(done) >= N and done == [f"attempt_{i:06d}" for i in range(len(done))]   # in order, no gaps
    assert_same_file(process_one, tmp_path / "k.hdf5", first=N)


def test_missing_ray_is_a_one_line_error_naming_the_extra(tmp_path: Path):
    code = ("import sys; sys.modules['ray'] = None; from robotschool.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    res = subprocess.run([sys.executable, "-c", code, "generate", "--episodes", "1", "--backend", "ray",
                          "--out", "m.hdf5"], cwd=tmp_path, env=cli_env(), capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("robotschool: error: ") and "pip install robotschool[ray]" in lines[0]
    assert not (tmp_path / "m.hdf5").exists()


def test_bad_ray_address_is_a_one_line_error(tmp_path: Path):
    res = robotschool("generate", "--episodes", "1", "--set", "parts.count=1", "--backend", "ray", "--ray-address",
                      "127.0.0.1:1", "--out", "a.hdf5", cwd=tmp_path, timeout=120)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "ray start --head" in lines[0], res.stderr
    res = robotschool("generate", "--episodes", "1", "--ray-address", "127.0.0.1:1", "--out", "b.hdf5", cwd=tmp_path)
    assert res.returncode == 2 and "--ray-address needs --backend ray" in res.stderr, res.stderr
