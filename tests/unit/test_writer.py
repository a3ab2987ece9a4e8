"""DatasetWriter: layout round trip, crash safety under real `kill -9`, refusals, resume and split stability."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest

from robotschool.errors import OutputPathError
from robotschool.recording import schema
from robotschool.recording.episode import Episode
from robotschool.recording.writer import DatasetWriter

REPO_ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

IMAGE = schema.OBS_IMAGE.format(camera="agentview")
DEPTH = schema.OBS_DEPTH.format(camera="agentview")
EEF = schema.OBS_EEF_POS.format(arm="left")
PHASE = "phase"
CHECKSUM = "checksum"
DATA_ATTRS = {
    schema.ATTR_SCENE: "unit_scene",
    schema.ATTR_ENV_ARGS: {"env_name": "unit_scene", "type": 99, "env_kwargs": {"control_hz": 20}},
    schema.ATTR_CONFIG: "seed: 0\n",
}


def make_episode(index: int, t: int = 5, image: int = 8, success: bool = True) -> Episode:
    """A small deterministic episode; attrs[CHECKSUM] lets a reader prove the demo is intact."""
    rng = np.random.default_rng([7, index])
    obs = {
        schema.OBS_JOINT_POS: rng.standard_normal((t, 7)),
        EEF: rng.standard_normal((t, 3)).astype(np.float32),
        IMAGE: rng.integers(0, 256, (t, image, image, 3), dtype=np.uint8),
        DEPTH: rng.random((t, image, image), dtype=np.float32),
    }
    final_obs = {k: rng.standard_normal(v.shape[1:]).astype(v.dtype) if v.dtype != np.uint8
                 else rng.integers(0, 256, v.shape[1:], dtype=np.uint8) for k, v in obs.items()}
    actions = rng.uniform(-1, 1, (t, 4)).astype(np.float32)
    dones = np.zeros(t, np.uint8)
    dones[-1] = 1
    phases = np.array(["reach", "grasp", "lift", "plaçe"])[np.arange(t) % 4]
    episode = Episode(
        obs=obs, final_obs=final_obs, actions=actions,
        action_dict={schema.ACT_EE_DELTA: actions[:, :3].copy(), schema.ACT_GRIPPER: actions[:, 3:].copy()},
        rewards=rng.random(t, dtype=np.float32), dones=dones, states=rng.standard_normal((t, 11)),
        operator={"timestamp": np.arange(t) / 20.0, PHASE: phases},
        attrs={"seed": index, schema.ATTR_SUCCESS: success, "device": "scripted",
               "scene_params": {"table_height": 0.7, "colors": [1, 2]}},
    )
    episode.attrs[CHECKSUM] = checksum(obs, final_obs, actions)
    return episode


def checksum(obs: dict, final_obs: dict, actions: np.ndarray) -> int:
    crc = zlib.crc32(np.ascontiguousarray(actions).tobytes())
    for k in sorted(obs):
        crc = zlib.crc32(np.ascontiguousarray(obs[k]).tobytes(), crc)
        crc = zlib.crc32(np.ascontiguousarray(final_obs[k]).tobytes(), crc)
    return crc


def stored_checksum(demo: h5py.Group) -> int:
    obs = {k: demo[schema.OBS][k][()] for k in demo[schema.OBS]}
    final = {k: demo[schema.FINAL_OBS][k][0] for k in demo[schema.FINAL_OBS]}
    return checksum(obs, final, demo[schema.ACTIONS][()])


def demo_names(f: h5py.File) -> list[str]:
    return sorted(f[schema.DATA], key=schema.demo_index)


def mask(f: h5py.File, name: str) -> list[str]:
    return [n.decode() for n in f[schema.MASK][name][()]]


def assert_consistent(f: h5py.File) -> list[str]:
    """Every demo intact, numbering contiguous, keys unique, total and masks agree; returns the keys."""
    names = demo_names(f)
    assert names == [schema.demo_name(i) for i in range(len(names))]
    keys = []
    for name in names:
        demo = f[schema.DATA][name]
        assert stored_checksum(demo) == demo.attrs[CHECKSUM]
        t = int(demo.attrs[schema.ATTR_NUM_SAMPLES])
        for key in demo[schema.OBS]:
            np.testing.assert_array_equal(demo[schema.NEXT_OBS][key][: t - 1], demo[schema.OBS][key][1:])
            np.testing.assert_array_equal(demo[schema.NEXT_OBS][key][t - 1], demo[schema.FINAL_OBS][key][0])
        keys.append(demo.attrs[schema.ATTR_KEY])
    assert len(set(keys)) == len(keys), "duplicate episode keys"
    assert f[schema.DATA].attrs[schema.ATTR_TOTAL] == sum(
        f[schema.DATA][n].attrs[schema.ATTR_NUM_SAMPLES] for n in names)
    train, valid = mask(f, schema.MASK_TRAIN), mask(f, schema.MASK_VALID)
    assert sorted(train + valid, key=schema.demo_index) == names and not set(train) & set(valid)
    return keys


# ---------------------------------------------------------------------------------------------- round trip

def test_round_trip_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "demos.hdf5"
    episodes = [make_episode(0, t=4), make_episode(1, t=5, success=False), make_episode(2, t=1)]
    with DatasetWriter(path, DATA_ATTRS, commit_every=2) as writer:
        for i, ep in enumerate(episodes):
            writer.add(ep, key=f"attempt_{i:05d}")
        assert writer.num_demos == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demos.hdf5"]      # no shards, temps or lock dir

    # move it elsewhere and read from another cwd: the same-file ('.') VDS sources must still resolve
    moved = tmp_path / "elsewhere" / "renamed.hdf5"
    moved.parent.mkdir()
    shutil.move(path, moved)
    monkeypatch.chdir(moved.parent)
    with h5py.File(moved, "r") as f:
        data = f[schema.DATA]
        assert demo_names(f) == ["demo_0", "demo_1", "demo_2"]
        assert data.attrs[schema.ATTR_TOTAL] == 10
        assert data.attrs[schema.ATTR_SCHEMA_VERSION] == schema.SCHEMA_VERSION
        assert data.attrs[schema.ATTR_SCENE] == "unit_scene"
        assert json.loads(data.attrs[schema.ATTR_ENV_ARGS]) == DATA_ATTRS[schema.ATTR_ENV_ARGS]
        assert data.attrs[schema.ATTR_CONFIG] == "seed: 0\n"
        for i, ep in enumerate(episodes):
            demo = data[schema.demo_name(i)]
            t = ep.num_samples
            assert demo.attrs[schema.ATTR_NUM_SAMPLES] == t
            assert demo.attrs[schema.ATTR_KEY] == f"attempt_{i:05d}"
            assert demo.attrs["seed"] == i and demo.attrs["device"] == "scripted"
            assert bool(demo.attrs[schema.ATTR_SUCCESS]) is ep.attrs[schema.ATTR_SUCCESS]
            assert json.loads(demo.attrs["scene_params"]) == ep.attrs["scene_params"]
            for key, value in ep.obs.items():
                stored = demo[schema.OBS][key]
                assert stored.dtype == value.dtype
                np.testing.assert_array_equal(stored[()], value)
                np.testing.assert_array_equal(demo[schema.FINAL_OBS][key][0], ep.final_obs[key])
                nxt = demo[schema.NEXT_OBS][key]
                assert nxt.is_virtual and nxt.shape == value.shape
                expected_next = np.concatenate([value[1:], ep.final_obs[key][None]])
                np.testing.assert_array_equal(nxt[()], expected_next)
                for step in range(t - 1):
                    np.testing.assert_array_equal(nxt[step], stored[step + 1])
                np.testing.assert_array_equal(nxt[-1], ep.final_obs[key])
            for key in (IMAGE, DEPTH):
                assert demo[schema.OBS][key].chunks == (1,) + ep.obs[key].shape[1:]
                assert demo[schema.OBS][key].compression == "gzip"
            np.testing.assert_array_equal(demo[schema.ACTIONS][()], ep.actions)
            assert demo[schema.ACTIONS].dtype == np.float32
            for key, value in ep.action_dict.items():
                np.testing.assert_array_equal(demo[schema.ACTION_DICT][key][()], value)
            np.testing.assert_array_equal(demo[schema.REWARDS][()], ep.rewards)
            np.testing.assert_array_equal(demo[schema.DONES][()], ep.dones)
            np.testing.assert_array_equal(demo[schema.STATES][()], ep.states)
            np.testing.assert_array_equal(demo[schema.OPERATOR]["timestamp"][()], ep.operator["timestamp"])
            phase = demo[schema.OPERATOR][PHASE]
            assert h5py.check_string_dtype(phase.dtype).encoding == "utf-8"
            assert phase.asstr()[()].tolist() == ep.operator[PHASE].tolist()
        names = demo_names(f)
        train, valid = mask(f, schema.MASK_TRAIN), mask(f, schema.MASK_VALID)
        assert set(train) | set(valid) == set(names) and not set(train) & set(valid)
        assert len(valid) >= 1
        assert mask(f, schema.MASK_SUCCESS) == ["demo_0", "demo_2"]
        assert mask(f, schema.MASK_FAILED) == ["demo_1"]
        assert f[schema.MASK][schema.MASK_TRAIN].dtype.kind == "S"


def test_auto_commit_and_pending_keys(tmp_path: Path) -> None:
    path = tmp_path / "d.hdf5"
    writer = DatasetWriter(path, DATA_ATTRS, commit_every=2)
    writer.add(make_episode(0), key="a")
    assert not path.exists() and writer.done_keys() == {"a"}        # staged, durable, not yet committed
    writer.add(make_episode(1), key="b")
    with h5py.File(path, "r") as f:                                   # commit_every reached
        assert demo_names(f) == ["demo_0", "demo_1"]
    writer.add(make_episode(2))                                       # keys are optional
    with pytest.raises(ValueError, match="already"):
        writer.add(make_episode(3), key="b")
    assert writer.num_demos == 3 and writer.done_keys() == {"a", "b"}
    writer.close()
    writer.close()                                                    # idempotent
    with pytest.raises(RuntimeError):
        writer.add(make_episode(4))
    with h5py.File(path, "r") as f:
        assert len(assert_consistent_unkeyed(f)) == 3


def assert_consistent_unkeyed(f: h5py.File) -> list[str]:
    names = demo_names(f)
    for name in names:
        assert stored_checksum(f[schema.DATA][name]) == f[schema.DATA][name].attrs[CHECKSUM]
    return names


def test_exception_in_with_block_keeps_added_episodes(tmp_path: Path) -> None:
    path = tmp_path / "d.hdf5"
    with pytest.raises(KeyError):
        with DatasetWriter(path, DATA_ATTRS, commit_every=100) as writer:
            writer.add(make_episode(0), key="a")
            raise KeyError("operator quit")
    with h5py.File(path, "r") as f:
        assert assert_consistent(f) == ["a"]


def test_empty_close_writes_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "d.hdf5"
    DatasetWriter(path, DATA_ATTRS).close()
    with h5py.File(path, "r") as f:
        assert f[schema.DATA].attrs[schema.ATTR_TOTAL] == 0
        assert mask(f, schema.MASK_TRAIN) == [] and mask(f, schema.MASK_VALID) == []


def test_malformed_episode_rejected_before_staging(tmp_path: Path) -> None:
    path = tmp_path / "d.hdf5"
    with DatasetWriter(path, DATA_ATTRS) as writer:
        bad = make_episode(0)
        bad.final_obs[EEF] = np.zeros(4, np.float32)
        with pytest.raises(ValueError, match="final_obs"):
            writer.add(bad)
        bad = make_episode(1)
        bad.rewards = bad.rewards[:-1]
        with pytest.raises(ValueError, match=schema.REWARDS):
            writer.add(bad)
        assert writer.num_demos == 0
        writer.add(make_episode(2), key="ok")
    with h5py.File(path, "r") as f:
        assert assert_consistent(f) == ["ok"]


# ---------------------------------------------------------------------------------------------- kill -9

CHILD = r"""
import json, os, shutil, sys, time
cfg = json.loads(sys.argv[1])
sys.path[:0] = [cfg["root"], cfg["here"]]
import test_writer as tw
from robotschool.recording.writer import DatasetWriter

def pause():
    print("HOOK", flush=True)
    time.sleep(60)

if cfg["hook"]:
    kind, nth = cfg["hook"].split(":")
    calls = {"n": 0}
    def hit(name):
        if kind != name:
            return False
        calls["n"] += 1
        return calls["n"] == int(nth)
    real_copyfile, real_replace = shutil.copyfile, os.replace
    def copyfile(src, dst, *args, **kwargs):
        result = real_copyfile(src, dst, *args, **kwargs)
        if hit("copyfile"):
            pause()
        return result
    def replace(src, dst):
        main = os.fspath(dst) == cfg["path"]
        if hit("replace_main" if main else "replace_shard"):
            pause()
        real_replace(src, dst)
        if main and hit("replace_main_after"):
            pause()
    shutil.copyfile, os.replace = copyfile, replace

writer = DatasetWriter(cfg["path"], tw.DATA_ATTRS, resume=True, commit_every=cfg["commit_every"])
for i in range(cfg["n"]):
    writer.add(tw.make_episode(i, t=cfg["t"], image=cfg["image"]), key=f"attempt_{i:05d}")
    print(f"ack {i}", flush=True)
writer.close()
print("closed", flush=True)
time.sleep(60)
"""


def run_and_kill(path: Path, *, commit_every: int, kill_after: int = 0, hook: str = "", delay: float = 0.0,
                 t: int = 4, image: int = 8, n: int = 30) -> list[str]:
    """Run CHILD, SIGKILL it after `kill_after` acknowledged adds (or when a hook pauses); return acked keys."""
    cfg = dict(root=str(REPO_ROOT), here=str(HERE), path=str(path), commit_every=commit_every, hook=hook,
               t=t, image=image, n=n)
    proc = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(cfg)], stdout=subprocess.PIPE, text=True)
    watchdog = threading.Timer(25.0, proc.kill)
    watchdog.start()
    acked: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("ack"):
                acked.append(f"attempt_{int(line.split()[1]):05d}")
            if (hook and line.startswith("HOOK")) or (not hook and len(acked) >= kill_after):
                break
        else:
            pytest.fail(f"child exited (rc={proc.wait()}) before the kill point")
        if delay:
            threading.Event().wait(delay)
        proc.send_signal(signal.SIGKILL)
    finally:
        watchdog.cancel()
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return acked


KILL_CASES = {
    "after_1_ack": dict(commit_every=3, kill_after=1),
    "after_2_acks": dict(commit_every=3, kill_after=2),
    "after_3_acks_at_commit": dict(commit_every=3, kill_after=3),
    "after_5_acks": dict(commit_every=2, kill_after=5),
    "after_7_acks": dict(commit_every=4, kill_after=7),
    "mid_commit_large": dict(commit_every=1, kill_after=3, delay=0.01, t=24, image=32),
    "after_copy_before_append": dict(commit_every=2, hook="copyfile:2"),
    "before_replace_main": dict(commit_every=2, hook="replace_main:2"),
    "after_replace_before_shard_delete": dict(commit_every=2, hook="replace_main_after:2"),
    "before_replace_shard": dict(commit_every=2, hook="replace_shard:4"),
}


@pytest.mark.parametrize("case", list(KILL_CASES), ids=list(KILL_CASES))
def test_kill_9_never_loses_acknowledged_episodes(tmp_path: Path, case: str) -> None:
    path = tmp_path / "demos.hdf5"
    acked = run_and_kill(path, **KILL_CASES[case])
    if path.exists():                                      # whatever the moment, the main file is valid
        with h5py.File(path, "r") as f:
            assert_consistent(f)
    with pytest.raises(OutputPathError, match="--resume") as err:  # leftovers are never silently overwritten
        DatasetWriter(path, DATA_ATTRS)
    if not path.exists():                                  # only staged episodes: the message says where
        assert ".parts" in str(err.value) and "did not finish" in str(err.value)
    with DatasetWriter(path, DATA_ATTRS, resume=True) as writer:
        assert set(acked) <= writer.done_keys()
    with h5py.File(path, "r") as f:
        keys = assert_consistent(f)
    assert set(acked) <= set(keys)
    assert keys == sorted(keys)                            # committed in the order they were added
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demos.hdf5"]


def test_resume_after_kill_continues_the_run(tmp_path: Path) -> None:
    path = tmp_path / "demos.hdf5"
    acked = run_and_kill(path, commit_every=3, kill_after=4)
    with DatasetWriter(path, DATA_ATTRS, resume=True, commit_every=3) as writer:
        done = writer.done_keys()
        assert set(acked) <= done
        for i in range(8):
            if f"attempt_{i:05d}" not in done:
                writer.add(make_episode(i, t=4), key=f"attempt_{i:05d}")
    with h5py.File(path, "r") as f:
        assert assert_consistent(f) == [f"attempt_{i:05d}" for i in range(8)]


# ---------------------------------------------------------------------------------------------- refusals

def write_demos(path: Path, keys: list[str], **kwargs) -> None:
    with DatasetWriter(path, DATA_ATTRS, **kwargs) as writer:
        for key in keys:
            writer.add(make_episode(int(key[1:]), t=2, image=4), key=key)


def test_existing_file_refused_without_overwrite_or_resume(tmp_path: Path) -> None:
    path = tmp_path / "d.hdf5"
    write_demos(path, ["k0"])
    before = path.read_bytes()
    with pytest.raises(OutputPathError) as err:
        DatasetWriter(path, DATA_ATTRS)
    message = str(err.value)
    assert "\n" not in message and str(path) in message and "--overwrite" in message and "--resume" in message
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.hdf5"]


def test_missing_or_bad_parent_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "d.hdf5"
    with pytest.raises(OutputPathError, match="does not exist") as err:
        DatasetWriter(missing, DATA_ATTRS)
    assert "\n" not in str(err.value) and str(missing) in str(err.value)
    assert not missing.parent.exists()
    with pytest.raises(OutputPathError, match="is a directory"):
        DatasetWriter(tmp_path, DATA_ATTRS)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to any directory")
def test_unwritable_parent_refused(tmp_path: Path) -> None:
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(OutputPathError, match="not writable"):
            DatasetWriter(locked / "d.hdf5", DATA_ATTRS)
    finally:
        locked.chmod(0o700)


def test_overwrite_replaces(tmp_path: Path) -> None:
    path = tmp_path / "d.hdf5"
    write_demos(path, ["k0", "k1", "k2"])
    write_demos(path, ["k5"], overwrite=True)
    with h5py.File(path, "r") as f:
        assert assert_consistent(f) == ["k5"]


def test_flag_conflicts_second_writer_and_scene_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "d.hdf5"
    with pytest.raises(OutputPathError, match="not both"):
        DatasetWriter(path, DATA_ATTRS, overwrite=True, resume=True)
    with DatasetWriter(path, DATA_ATTRS) as writer:
        writer.add(make_episode(0, t=2, image=4), key="k0")
        with pytest.raises(OutputPathError, match="another writer"):
            DatasetWriter(path, DATA_ATTRS, resume=True)
    other_scene = {**DATA_ATTRS, schema.ATTR_SCENE: "other_scene"}
    with pytest.raises(OutputPathError, match="other_scene") as err:
        DatasetWriter(path, other_scene, resume=True)
    assert "\n" not in str(err.value)


def test_stale_temps_deleted_on_open(tmp_path: Path) -> None:
    path = tmp_path / "d.hdf5"
    write_demos(path, ["k0"])
    Path(f"{path}.tmp").write_bytes(b"half a commit")
    parts = Path(f"{path}.parts")
    parts.mkdir()
    (parts / "00000003.h5.tmp").write_bytes(b"half an add")
    write_demos(path, ["k1"], resume=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.hdf5"]
    with h5py.File(path, "r") as f:
        assert assert_consistent(f) == ["k0", "k1"]


# ---------------------------------------------------------------------------------------------- resume, split

def test_resume_appends_with_stable_split(tmp_path: Path) -> None:
    path = tmp_path / "d.hdf5"
    first = [f"k{i}" for i in range(12)]
    write_demos(path, first, commit_every=5, valid_fraction=0.25, split_seed=3)
    with h5py.File(path, "r") as f:
        valid_before = mask(f, schema.MASK_VALID)
        train_before = mask(f, schema.MASK_TRAIN)
    assert valid_before

    changed = {**DATA_ATTRS, schema.ATTR_CONFIG: "seed: 1\n", "robotschool_version": "9.9"}
    with DatasetWriter(path, changed, resume=True, commit_every=5, valid_fraction=0.25, split_seed=3) as writer:
        assert writer.num_demos == 12 and writer.done_keys() == set(first)
        for i in range(12, 30):
            writer.add(make_episode(i, t=2, image=4), key=f"k{i}")
    with h5py.File(path, "r") as f:
        keys = assert_consistent(f)
        assert keys == [f"k{i}" for i in range(30)]
        valid, train = mask(f, schema.MASK_VALID), mask(f, schema.MASK_TRAIN)
        old = {schema.demo_name(i) for i in range(12)}
        assert set(valid) & old == set(valid_before) and set(train) & old == set(train_before)
        data = f[schema.DATA]
        assert data.attrs[schema.ATTR_CONFIG] == "seed: 0\n"           # existing attrs are kept
        assert data.attrs["robotschool_version"] == "9.9"               # missing ones are added
        assert data.attrs[schema.ATTR_TOTAL] == 60

    # the split is a function of (seed, key) only: the same keys in another file, committed in other groups
    other = tmp_path / "other.hdf5"
    write_demos(other, [f"k{i}" for i in range(30)], commit_every=7, valid_fraction=0.25, split_seed=3)
    with h5py.File(other, "r") as f:
        assert mask(f, schema.MASK_VALID) == valid


@pytest.mark.parametrize("commit_every", [1, 8])
def test_at_least_one_valid_demo_and_it_stays(tmp_path: Path, commit_every: int) -> None:
    path = tmp_path / "d.hdf5"
    write_demos(path, ["k0"], valid_fraction=1e-9, commit_every=commit_every)
    with h5py.File(path, "r") as f:
        assert mask(f, schema.MASK_VALID) == []                        # one demo: nothing to hold out
    write_demos(path, ["k1", "k2"], resume=True, valid_fraction=1e-9, commit_every=commit_every)
    write_demos(path, ["k3"], resume=True, valid_fraction=1e-9, commit_every=commit_every)
    with h5py.File(path, "r") as f:
        assert mask(f, schema.MASK_VALID) == ["demo_1"]
        assert mask(f, schema.MASK_TRAIN) == ["demo_0", "demo_2", "demo_3"]
