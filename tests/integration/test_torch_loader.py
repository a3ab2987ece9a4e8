"""DemoDataset and the torch adapter on a real generated file: stats written when the file is finalised,
and torch DataLoaders with two worker processes (per item, and whole batches through `loader`)."""
from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from robotschool.data import DemoDataset, TorchDemoDataset, read_stats
from robotschool.data.stats import is_low_dim_key
from robotschool.generate import generate
from robotschool.recording import schema

IMAGE = schema.OBS_IMAGE.format(camera="head")
KEYS = [schema.OBS_JOINT_POS, IMAGE]


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    path = tmp_path_factory.mktemp("torch") / "demos.hdf5"
    generate("parts_sorting", 2, path, overrides=["parts.count=1"], cameras=["head"], camera_size=32,
             progress=False)
    return path


def test_fresh_file_has_stats_and_normalizes(demos):
    with h5py.File(demos, "r") as f:
        demo = f["data/demo_0"]
        low_dim = sorted(k for k in demo["obs"] if is_low_dim_key(k))
        expected = {f"obs/{k}" for k in low_dim} | {"actions"} | {f"action_dict/{k}" for k in demo["action_dict"]}
        raw = np.concatenate([f[f"data/{n}/actions"][()] for n in ("demo_0", "demo_1")]).astype(np.float64)
    assert IMAGE not in low_dim and schema.OBS_JOINT_POS in low_dim
    assert set(read_stats(demos)) == expected          # no `robotschool stats` step was run
    ds = DemoDataset(demos, low_dim, normalize=True)    # seq_len 1: every sample once, as its own window
    actions = ds.get_batch(np.arange(len(ds)))["actions"][:, 0]
    assert actions.dtype == np.float32 and actions.shape == raw.shape
    np.testing.assert_allclose(actions.mean(0), 0, atol=1e-4)
    varying = raw.std(0) > 1e-3
    assert varying.sum() >= 6
    np.testing.assert_allclose(actions.std(0)[varying], 1, atol=1e-3)
    np.testing.assert_allclose(ds.unnormalize_actions(actions), raw, atol=1e-4)


def _as_uint8_hwc(images: torch.Tensor) -> np.ndarray:
    """Undo the adapter's conversion (float (.., 3, H, W) in [0, 1]) to compare with the stored uint8."""
    return images.mul(255).round().to(torch.uint8).movedim(-3, -1).numpy()


def test_dataloader_two_workers_per_item(demos):
    ref = DemoDataset(demos, KEYS, seq_len=10, frame_stack=2)
    want = ref.get_batch(np.arange(len(ref)))
    ds = TorchDemoDataset(demos, KEYS, seq_len=10, frame_stack=2)
    batches = list(DataLoader(ds, batch_size=16, num_workers=2, shuffle=False))
    assert ds._handles == {}       # images were read only in the workers, each through its own handle
    images = torch.cat([b["obs"][IMAGE] for b in batches])
    assert images.dtype == torch.float32 and images.shape == (len(ref), 2, 3, 32, 32)
    assert 0.0 <= float(images.min()) and float(images.max()) <= 1.0 and float(images.std()) > 0
    np.testing.assert_array_equal(_as_uint8_hwc(images), want["obs"][IMAGE])
    joints = torch.cat([b["obs"][schema.OBS_JOINT_POS] for b in batches])
    np.testing.assert_array_equal(joints.numpy(), want["obs"][schema.OBS_JOINT_POS])
    actions = torch.cat([b["actions"] for b in batches])
    assert actions.dtype == torch.float32 and actions.shape[:2] == (len(ref), 10)
    np.testing.assert_array_equal(actions.numpy(), want["actions"])
    for mask in ("pad_mask", "obs_pad_mask"):
        got = torch.cat([b[mask] for b in batches])
        assert got.dtype == torch.bool
        np.testing.assert_array_equal(got.numpy(), want[mask])


@pytest.mark.parametrize("context, workers", [("fork", 2), ("spawn", 1)])   # spawn: pickled, own handles
def test_batched_loader_workers(demos, context, workers):
    ref = DemoDataset(demos, KEYS, seq_len=10, normalize=True)
    want = ref.get_batch(np.arange(len(ref)))
    ds = TorchDemoDataset(demos, KEYS, seq_len=10, normalize=True)
    loader = ds.loader(32, shuffle=True, generator=torch.Generator().manual_seed(3), num_workers=workers,
                       multiprocessing_context=context)
    batches = list(loader)
    assert [b["actions"].shape[0] for b in batches] == [32] * (len(ref) // 32) + [len(ref) % 32]
    assert batches[0]["obs"][IMAGE].shape[1:] == (1, 3, 32, 32)

    def rows(images, joints, actions):      # one row per window, to compare as sets (order is shuffled)
        x = np.concatenate([images.reshape(len(images), -1).astype(np.float64),
                            joints.reshape(len(joints), -1), actions.reshape(len(actions), -1)], axis=1)
        return x[np.lexsort(x.T[::-1])]
    got = rows(np.concatenate([_as_uint8_hwc(b["obs"][IMAGE]) for b in batches]),
               torch.cat([b["obs"][schema.OBS_JOINT_POS] for b in batches]).numpy(),
               torch.cat([b["actions"] for b in batches]).numpy())
    np.testing.assert_array_equal(got, rows(want["obs"][IMAGE], want["obs"][schema.OBS_JOINT_POS],
                                            want["actions"]))
