"""DemoDataset and stats on real files written by DatasetWriter from tiny synthetic episodes (no simulation)."""
from __future__ import annotations

import pickle
from pathlib import Path

import h5py
import numpy as np
import pytest

from robotschool.data import DemoDataset, compute_stats, read_stats, write_stats
from robotschool.data.stats import STAT_NAMES
from robotschool.errors import DatasetError
from robotschool.recording import schema
from robotschool.recording.episode import Episode
from robotschool.recording.writer import DatasetWriter

JOINT = schema.OBS_JOINT_POS
OBJECT = schema.OBS_OBJECT
IMAGE = schema.OBS_IMAGE.format(camera="head")
OBS_KEYS = [JOINT, OBJECT, IMAGE]
LENGTHS = (5, 7, 4)
A = 4
GRIP = f"{schema.ACTION_DICT}/{schema.ACT_GRIPPER}"


def make_episode(seed: int, t: int) -> Episode:
    rng = np.random.default_rng([11, seed])
    obs = {
        JOINT: rng.standard_normal((t, 3)),
        OBJECT: rng.standard_normal((t, 7)).astype(np.float32),
        IMAGE: rng.integers(0, 256, (t, 8, 8, 3), dtype=np.uint8),
    }
    final = {k: v[-1].copy() for k, v in obs.items()}
    actions = rng.uniform(-1, 1, (t, A)).astype(np.float32)
    dones = np.zeros(t, np.uint8)
    dones[-1] = 1
    return Episode(obs=obs, final_obs=final, actions=actions,
                   action_dict={schema.ACT_GRIPPER: rng.random((t, 2)).astype(np.float32)},
                   rewards=np.zeros(t, np.float32), dones=dones, states=rng.standard_normal((t, 5)),
                   operator={"timestamp": np.arange(t) / 20.0}, attrs={schema.ATTR_SUCCESS: seed % 2 == 0})


def write_file(path: Path, lengths=LENGTHS, seed0: int = 0) -> list[Episode]:
    episodes = [make_episode(seed0 + i, t) for i, t in enumerate(lengths)]
    with DatasetWriter(path, {schema.ATTR_SCENE: "unit"}, commit_every=100) as w:
        for i, ep in enumerate(episodes):
            w.add(ep, key=f"attempt_{seed0 + i}")
    return episodes


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory) -> tuple[Path, list[Episode]]:
    path = tmp_path_factory.mktemp("ds") / "demos.hdf5"
    return path, write_file(path)


def expected_window(ep: Episode, t: int, seq_len: int, frame_stack: int, key: str = schema.ACTIONS):
    T = ep.num_samples
    steps = np.arange(t, t + seq_len)
    frames = np.arange(t - frame_stack + 1, t + 1)
    src = ep.actions if key == schema.ACTIONS else ep.action_dict[key.split("/")[1]]
    return (src[np.minimum(steps, T - 1)], steps < T,
            {k: v[np.maximum(frames, 0)] for k, v in ep.obs.items()}, frames >= 0)


def check_all_items(ds: DemoDataset, episodes: list[Episode], seq_len: int, frame_stack: int, pad: bool = True):
    i = 0
    for ep in episodes:
        T = ep.num_samples
        for t in range(T if pad else max(T - seq_len + 1, 0)):
            item = ds[i]
            actions, mask, obs, obs_mask = expected_window(ep, t, seq_len, frame_stack, ds.action_key)
            np.testing.assert_array_equal(item["actions"], actions)
            np.testing.assert_array_equal(item["pad_mask"], mask)
            np.testing.assert_array_equal(item["obs_pad_mask"], obs_mask)
            assert item["pad_mask"].dtype == bool and item["obs_pad_mask"].dtype == bool
            for k in ds.obs_keys:
                np.testing.assert_array_equal(item["obs"][k], obs[k])
            i += 1
    assert i == len(ds)


def test_windows_with_padding_and_masks(demo_file):
    path, episodes = demo_file
    ds = DemoDataset(path, OBS_KEYS, seq_len=3)
    assert len(ds) == sum(LENGTHS) and ds.num_demos == 3
    item = ds[4]                           # demo_0 last step: two padded actions repeat the last one
    assert item["actions"].shape == (3, A) and item["obs"][IMAGE].shape == (1, 8, 8, 3)
    assert item["obs"][IMAGE].dtype == np.uint8
    assert item["pad_mask"].tolist() == [True, False, False]
    np.testing.assert_array_equal(item["actions"], np.repeat(episodes[0].actions[-1:], 3, axis=0))
    check_all_items(ds, episodes, 3, 1)


def test_frame_stack_pads_at_start(demo_file):
    path, episodes = demo_file
    ds = DemoDataset(path, OBS_KEYS, seq_len=2, frame_stack=2)
    first = ds[0]
    assert first["obs_pad_mask"].tolist() == [False, True]
    np.testing.assert_array_equal(first["obs"][JOINT], episodes[0].obs[JOINT][[0, 0]])
    np.testing.assert_array_equal(ds[1]["obs"][IMAGE], episodes[0].obs[IMAGE][[0, 1]])
    check_all_items(ds, episodes, 2, 2)


def test_pad_false_only_full_windows(demo_file):
    path, episodes = demo_file
    ds = DemoDataset(path, OBS_KEYS, seq_len=5, pad=False)
    assert len(ds) == sum(max(t - 5 + 1, 0) for t in LENGTHS) == 1 + 3 + 0
    check_all_items(ds, episodes, 5, 1, pad=False)
    assert all(ds[i]["pad_mask"].all() for i in range(len(ds)))


def test_action_dict_key(demo_file):
    path, episodes = demo_file
    ds = DemoDataset(path, [JOINT], action_key=GRIP, seq_len=3)
    check_all_items(ds, episodes, 3, 1)


def test_filter_key(demo_file):
    path, episodes = demo_file
    with h5py.File(path, "r") as f:
        success = [n.decode() for n in f[schema.MASK][schema.MASK_SUCCESS][()]]
    assert success == ["demo_0", "demo_2"]
    ds = DemoDataset(path, OBS_KEYS, seq_len=3, filter_key=schema.MASK_SUCCESS)
    assert [d[1] for d in ds.demos] == success
    check_all_items(ds, [episodes[0], episodes[2]], 3, 1)
    with pytest.raises(DatasetError, match="no filter key 'nope'.*available: failed, success, train, valid"):
        DemoDataset(path, OBS_KEYS, filter_key="nope")


def test_two_files(demo_file, tmp_path):
    path, episodes = demo_file
    other = tmp_path / "more.hdf5"
    more = write_file(other, lengths=(3, 6), seed0=10)
    ds = DemoDataset([path, other], OBS_KEYS, seq_len=3, frame_stack=2)
    assert [(fi, name) for fi, name, _ in ds.demos] == [(0, "demo_0"), (0, "demo_1"), (0, "demo_2"),
                                                       (1, "demo_0"), (1, "demo_1")]
    check_all_items(ds, episodes + more, 3, 2)


@pytest.mark.parametrize("cache", ["all", None])
def test_cache_modes_give_identical_items(demo_file, cache):
    path, _ = demo_file
    ref = DemoDataset(path, OBS_KEYS, seq_len=3, frame_stack=2, cache="low_dim")
    ds = DemoDataset(path, OBS_KEYS, seq_len=3, frame_stack=2, cache=cache)
    assert len(ds) == len(ref)
    for i in range(len(ds)):
        a, b = ref[i], ds[i]
        for k in OBS_KEYS:
            np.testing.assert_array_equal(a["obs"][k], b["obs"][k])
            assert a["obs"][k].dtype == b["obs"][k].dtype
        for k in ("actions", "pad_mask", "obs_pad_mask"):
            np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.parametrize("cache", ["low_dim", "all", None])
@pytest.mark.parametrize("normalize", [False, True])
def test_get_batch_equals_stacked_items(demo_file, cache, normalize):
    path, _ = demo_file
    ds = DemoDataset(path, OBS_KEYS, seq_len=3, frame_stack=2, cache=cache, normalize=normalize)
    idx = np.array([0, 4, 4, 11, -1, 7])
    batch = ds.get_batch(idx)
    items = [ds[int(i)] for i in idx]
    for k in OBS_KEYS:
        np.testing.assert_array_equal(batch["obs"][k], np.stack([it["obs"][k] for it in items]))
        assert batch["obs"][k].dtype == (np.float32 if normalize and k != IMAGE else items[0]["obs"][k].dtype)
    for k in ("actions", "pad_mask", "obs_pad_mask"):
        np.testing.assert_array_equal(batch[k], np.stack([it[k] for it in items]))
    assert batch["actions"].shape == (6, 3, A) and batch["obs"][IMAGE].shape == (6, 2, 8, 8, 3)
    empty = ds.get_batch([])
    assert empty["actions"].shape == (0, 3, A) and empty["obs"][IMAGE].shape == (0, 2, 8, 8, 3)
    with pytest.raises(IndexError):
        ds.get_batch([0, len(ds)])
    with pytest.raises(IndexError, match="out of range"):
        ds[len(ds)]


def test_cache_all_refused_over_limit(demo_file):
    path, _ = demo_file
    with pytest.raises(DatasetError, match="cache='all' needs .* use cache='low_dim'") as err:
        DemoDataset(path, OBS_KEYS, cache="all", cache_limit_bytes=100)
    assert "\n" not in str(err.value)
    DemoDataset(path, OBS_KEYS, cache="all", cache_limit_bytes=10**6)   # fits


def test_errors_name_file_and_key(demo_file, tmp_path):
    path, _ = demo_file
    with pytest.raises(DatasetError, match="missing.hdf5: no such dataset file"):
        DemoDataset(tmp_path / "missing.hdf5", OBS_KEYS)
    text = tmp_path / "notes.hdf5"
    text.write_text("hello")
    with pytest.raises(DatasetError, match="notes.hdf5: not an HDF5 file"):
        DemoDataset(text, OBS_KEYS)
    with pytest.raises(DatasetError, match=r"demos.hdf5: demo_0 has no obs/wrist_image \(available: .*object"):
        DemoDataset(path, [JOINT, "wrist_image"])
    with pytest.raises(DatasetError, match="demo_0 has no action_dict/ee_abs"):
        DemoDataset(path, [JOINT], action_key=f"{schema.ACTION_DICT}/{schema.ACT_EE_ABS}")


def numpy_stats(x: np.ndarray) -> dict[str, np.ndarray]:
    x = x.astype(np.float64)
    return {"mean": x.mean(0), "std": x.std(0), "min": x.min(0), "max": x.max(0),
            "q01": np.quantile(x, 0.01, axis=0), "q99": np.quantile(x, 0.99, axis=0)}


def test_stats_match_numpy_and_round_trip(demo_file, tmp_path):
    src, episodes = demo_file
    path = tmp_path / "stats.hdf5"
    path.write_bytes(src.read_bytes())
    written = read_stats(path)             # DatasetWriter.close stored them: no manual step
    stats = compute_stats(path)
    assert set(stats) == set(written) == {f"obs/{JOINT}", f"obs/{OBJECT}", schema.ACTIONS, GRIP}  # no images
    for key, x in [(f"obs/{JOINT}", np.concatenate([e.obs[JOINT] for e in episodes])),
                   (f"obs/{OBJECT}", np.concatenate([e.obs[OBJECT] for e in episodes])),
                   (schema.ACTIONS, np.concatenate([e.actions for e in episodes])),
                   (GRIP, np.concatenate([e.action_dict[schema.ACT_GRIPPER] for e in episodes]))]:
        want = numpy_stats(x)
        assert stats[key]["quantiles"] == written[key]["quantiles"] == "exact"
        assert int(written[key]["count"]) == sum(LENGTHS)
        for name in STAT_NAMES:
            np.testing.assert_allclose(stats[key][name], want[name], rtol=1e-12, atol=1e-12)
            np.testing.assert_array_equal(written[key][name], stats[key][name])

    with h5py.File(path, "a") as f:        # a file from an older writer, or stats removed
        del f["stats"]
    with pytest.raises(DatasetError, match=r"run `robotschool stats .*stats.hdf5` first"):
        read_stats(path)
    with pytest.raises(DatasetError, match="robotschool stats"):
        DemoDataset(path, OBS_KEYS, normalize=True)
    write_stats(path)
    assert not Path(f"{path}.parts").exists() and not Path(f"{path}.stats.tmp").exists()
    stored = read_stats(path)
    for key in stats:
        for name in STAT_NAMES:
            np.testing.assert_array_equal(stored[key][name], stats[key][name])
    with h5py.File(path, "r") as f:       # the rest of the file is untouched
        np.testing.assert_array_equal(f["data/demo_1/obs"][IMAGE][()], episodes[1].obs[IMAGE])

    raw = DemoDataset(path, OBS_KEYS, seq_len=3, frame_stack=2)
    norm = DemoDataset(path, OBS_KEYS, seq_len=3, frame_stack=2, normalize=True)
    for i in (0, 5, len(raw) - 1):
        a, b = raw[i], norm[i]
        np.testing.assert_array_equal(a["obs"][IMAGE], b["obs"][IMAGE])            # images untouched
        for k, key in [(JOINT, f"obs/{JOINT}"), (OBJECT, f"obs/{OBJECT}")]:
            std = np.maximum(stats[key]["std"], 1e-6)
            np.testing.assert_allclose(b["obs"][k] * std + stats[key]["mean"], a["obs"][k], atol=1e-5)
        np.testing.assert_allclose(norm.unnormalize_actions(b["actions"]), a["actions"], atol=1e-5)
        assert b["actions"].dtype == np.float32
    all_actions = np.concatenate([norm[i]["actions"][:1] for i in range(len(norm))])
    np.testing.assert_allclose(all_actions.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(all_actions.std(0), 1, atol=1e-4)


def test_write_stats_refused_while_writer_open(demo_file, tmp_path):
    path = tmp_path / "busy.hdf5"
    with DatasetWriter(path, {schema.ATTR_SCENE: "unit"}) as w:
        w.add(make_episode(0, 3))
        w.flush()
        with pytest.raises(DatasetError, match="being written"):
            write_stats(path)
    write_stats(path)                      # closed: fine


def test_stale_stats_detected_and_refreshed_on_close(tmp_path):
    path = tmp_path / "grow.hdf5"
    write_file(path, lengths=(3,))
    with DatasetWriter(path, {schema.ATTR_SCENE: "unit"}, resume=True) as w:
        w.add(make_episode(5, 4))
        w.flush()                          # an intermediate commit keeps the old stats: stale, and detected
        with pytest.raises(DatasetError, match="stats cover 3 samples but the file now has 7"):
            DemoDataset(path, [JOINT], normalize=True)
    ds = DemoDataset(path, [JOINT], normalize=True)     # the final commit recomputed them
    assert int(read_stats(path)[schema.ACTIONS]["count"]) == 7 and len(ds) == 7


def test_resume_without_new_demos_adds_missing_stats(tmp_path):
    path = tmp_path / "old.hdf5"
    write_file(path, lengths=(3, 4))
    with h5py.File(path, "a") as f:
        del f["stats"]
    DatasetWriter(path, {schema.ATTR_SCENE: "unit"}, resume=True).close()
    assert int(read_stats(path)[f"obs/{JOINT}"]["count"]) == 7


def test_stats_failure_keeps_demos(tmp_path, caplog):
    """Demos whose obs shapes disagree cannot be pooled: the file is still written, without stats."""
    path = tmp_path / "odd.hdf5"
    a, b = make_episode(0, 3), make_episode(1, 4)
    b.obs[JOINT] = np.zeros((4, 5))
    b.final_obs[JOINT] = np.zeros(5)
    with DatasetWriter(path, {schema.ATTR_SCENE: "unit"}) as w:
        w.add(a)
        w.add(b)
    assert "normalisation stats not computed" in caplog.text and "robotschool stats" in caplog.text
    with h5py.File(path, "r") as f:
        assert "stats" not in f and f["data"].attrs["total"] == 7
        np.testing.assert_array_equal(f["data/demo_1/actions"][()], b.actions)
    with pytest.raises(DatasetError, match="demo_1/obs/robot0_joint_pos has shape"):
        write_stats(path)
    DemoDataset(path, [OBJECT])            # loads fine without normalisation


def test_reservoir_quantiles_on_large_keys(tmp_path):
    """Over `sample_rows` samples q01/q99 come from a seeded reservoir: close to exact, deterministic."""
    path = tmp_path / "big.hdf5"
    episodes = write_file(path, lengths=(700, 900, 400))
    small = compute_stats(path, sample_rows=500)
    again = compute_stats(path, sample_rows=500)
    for key, x in [(f"obs/{JOINT}", np.concatenate([e.obs[JOINT] for e in episodes])),
                   (schema.ACTIONS, np.concatenate([e.actions for e in episodes]))]:
        want = numpy_stats(x)
        assert small[key]["quantiles"] == "reservoir" and int(small[key]["count"]) == 2000
        for name in ("mean", "std", "min", "max"):        # streamed, still exact
            np.testing.assert_allclose(small[key][name], want[name], rtol=1e-10, atol=1e-12)
        for name, p in (("q01", 0.01), ("q99", 0.99)):
            np.testing.assert_array_equal(small[key][name], again[key][name])
            # the reservoir's quantile lies within a few percentile points of the exact one
            lo = np.quantile(x.astype(np.float64), max(p - 0.015, 0), axis=0)
            hi = np.quantile(x.astype(np.float64), min(p + 0.015, 1), axis=0)
            assert np.all((small[key][name] >= lo) & (small[key][name] <= hi)), name
            assert not np.array_equal(small[key][name], want[name])


def test_pickled_dataset_reads_images(demo_file):
    path, episodes = demo_file
    ds = DemoDataset(path, OBS_KEYS, seq_len=2, frame_stack=2)
    before = ds[7]["obs"][IMAGE]           # opens a handle in this process
    clone = pickle.loads(pickle.dumps(ds))  # what a spawn DataLoader worker gets
    assert clone._handles == {}
    np.testing.assert_array_equal(clone[7]["obs"][IMAGE], before)
    np.testing.assert_array_equal(before, episodes[1].obs[IMAGE][[1, 2]])
    ds.close()
    clone.close()


def _read_in_child(ds: DemoDataset, index: int, queue) -> None:
    queue.put(ds[index]["obs"][IMAGE])


def test_forked_worker_reopens_files(demo_file):
    import multiprocessing as mp

    path, episodes = demo_file
    ds = DemoDataset(path, OBS_KEYS, cache=None)
    ds[0]                                   # the parent holds an open handle when the worker forks
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_read_in_child, args=(ds, 9, queue))
    proc.start()
    got = queue.get(timeout=20)
    proc.join(timeout=20)
    assert proc.exitcode == 0
    np.testing.assert_array_equal(got, episodes[1].obs[IMAGE][[4]])
    ds.close()
