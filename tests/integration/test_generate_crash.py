"""kill -9 of a real `robotschool generate` at many moments, then --resume: the same file as no crash at all.

One output file goes through a chain of runs, each killed with SIGKILL (its whole process group) at a
different moment of the writer's life, each next run resuming what the last one left:

    startup        before the env is built (0.4 s after launch)
    episode        inside the first episode (the shard folder exists, no shard yet)
    staged         right after an episode's shard became durable (not yet committed to the main file)
    commit         while `<file>.tmp` exists: the commit of leftover shards that --resume does on open
    workers        a 2-worker run, right after its first new shard (attempts in flight in both workers)
    final-commit   during the final commit of the last run (stats and all)

After every kill the main file, if it exists yet, must open and read completely, and hold a prefix (by
attempt order) of the reference run's demos; every shard left must read too. A last --resume completes
the job, and the file must equal an uninterrupted run: every dataset of every demo byte for byte, every
demo attr (shard id aside) equal. Episodes are short (parts.count=1, no cameras).
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

import h5py
import pytest

from generate_helpers import assert_same_file, cli_cmd, cli_env, datasets, keys
from robotschool.generate import generate

N = 4
ONE_PART = ["parts.count=1"]
POLL_S = 0.002


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "ref.hdf5"
    assert generate("parts_sorting", N, out, overrides=ONE_PART, progress=False).successes == N
    return out


def _launch(out: Path, resume: bool, workers: int = 1) -> subprocess.Popen:
    args = ["generate", "--episodes", str(N), "--set", "parts.count=1", "--out", out.name, "--workers", str(workers)]
    return subprocess.Popen(cli_cmd(*args, *(["--resume"] if resume else [])), cwd=out.parent, env=cli_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _kill_when(proc: subprocess.Popen, ready: Callable[[], bool], timeout: float = 60) -> None:
    """SIGKILL the run's whole process group as soon as `ready()` holds (polled every 2 ms)."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"the run ended (rc {proc.returncode}) before the kill moment: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("the kill moment never came")
        time.sleep(POLL_S)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL


def _seconds_after(event: Callable[[], bool], delay: float) -> Callable[[], bool]:
    """A kill condition: `delay` seconds after `event()` was first seen to hold."""
    first: list[float] = []

    def ready() -> bool:
        if not first and event():
            first.append(time.monotonic())
        return bool(first) and time.monotonic() - first[0] > delay
    return ready


def _shards(out: Path) -> list[Path]:
    parts = Path(f"{out}.parts")
    return sorted(parts.glob("*.h5")) if parts.is_dir() else []


def _assert_readable_prefix(out: Path, reference: Path) -> int:
    """The main file (if any) and every leftover shard read completely; the file holds a prefix of the
    reference's demos. Returns how many demos it holds."""
    for shard in _shards(out):
        with h5py.File(shard, "r") as f:
            assert datasets(f), shard
    if not out.exists():
        return 0
    with h5py.File(out, "r") as f:
        for demo in f["data"].values():
            assert len(datasets(demo)) > 20
    done = keys(out)
    assert done == keys(reference)[:len(done)]
    return len(done)


def test_kill_9_at_six_moments_then_resume_equals_an_uninterrupted_run(reference: Path, tmp_path: Path):
    out = tmp_path / "crash.hdf5"
    tmp, parts = Path(f"{out}.tmp"), Path(f"{out}.parts")
    held: dict[str, int] = {}                                    # moment -> demos in the main file after the kill

    proc = _launch(out, resume=False)
    t0 = time.monotonic()
    _kill_when(proc, lambda: time.monotonic() - t0 > 0.4)
    assert not parts.exists(), "the writer was already open at the startup kill"
    held["startup"] = _assert_readable_prefix(out, reference)

    proc = _launch(out, resume=True)                             # the shard folder appears as the writer opens
    _kill_when(proc, _seconds_after(parts.is_dir, 0.3))
    assert not _shards(out), "the first episode was over before the kill"
    held["episode"] = _assert_readable_prefix(out, reference)

    proc = _launch(out, resume=True)
    _kill_when(proc, lambda: len(_shards(out)) >= 1)
    assert _shards(out) and not out.exists()                     # durable, not yet committed
    held["staged"] = _assert_readable_prefix(out, reference)

    proc = _launch(out, resume=True)                             # opening commits the leftover shard
    _kill_when(proc, tmp.exists)
    held["commit"] = _assert_readable_prefix(out, reference)

    old = set(_shards(out))
    proc = _launch(out, resume=True, workers=2)
    _kill_when(proc, lambda: bool(set(_shards(out)) - old))    # a new episode staged, another one in flight
    held["workers"] = _assert_readable_prefix(out, reference)

    old = set(_shards(out))
    missing = N - held["workers"] - len(old)                     # episodes the next run records before closing
    assert missing > 0
    proc = _launch(out, resume=True)
    _kill_when(proc, lambda: len(set(_shards(out)) - old) >= missing and tmp.exists())
    held["final-commit"] = _assert_readable_prefix(out, reference)

    proc = _launch(out, resume=True)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert not parts.exists() and not tmp.exists()
    assert_same_file(reference, out)
    assert held["startup"] == held["episode"] == held["staged"] == 0 and held["workers"] >= 1, held
