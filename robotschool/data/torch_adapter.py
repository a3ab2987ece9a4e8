"""`TorchDemoDataset`: `DemoDataset` items as torch tensors (optional extra: ``pip install robotschool[torch]``).

Conversions per item:
- image keys (``*_image``, uint8 (F, H, W, 3)) -> float32 (F, 3, H, W) in [0, 1];
- depth keys (``*_depth``, (F, H, W)) -> float32 (F, 1, H, W), metres as stored;
- other floating arrays -> float32 tensors; integer arrays keep their dtype;
- ``pad_mask`` / ``obs_pad_mask`` -> bool tensors.

The default DataLoader collate stacks these into batches (leading batch axis). File handles are opened per
worker process on first access (see `DemoDataset`), so ``num_workers > 0`` works.
"""
from __future__ import annotations

from typing import Any

import numpy as np

try:
    import torch
    from torch.utils.data import Dataset
except ImportError as e:  # pragma: no cover - depends on the optional extra
    raise ImportError("robotschool.data.TorchDemoDataset needs PyTorch: pip install robotschool[torch]") from e

from robotschool.data.dataset import DemoDataset
from robotschool.recording import schema


def _to_tensor(key: str, x: np.ndarray) -> torch.Tensor:
    if schema.is_image_key(key):
        # (F, H, W, C) uint8 -> (F, C, H, W) float in [0, 1]
        t = torch.from_numpy(np.ascontiguousarray(x))
        return t.permute(0, 3, 1, 2).contiguous().to(torch.float32).div_(255.0)
    if schema.is_depth_key(key):
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).unsqueeze(1)
    return _array(x)


def _array(x: np.ndarray) -> torch.Tensor:
    x = np.ascontiguousarray(x)
    if x.dtype.kind == "f":
        x = x.astype(np.float32, copy=False)
    return torch.from_numpy(x)


class TorchDemoDataset(DemoDataset, Dataset):
    """A `DemoDataset` (same arguments) whose items are torch tensors; a `torch.utils.data.Dataset`."""

    def __getitem__(self, i: int) -> dict[str, Any]:  # type: ignore[override]
        item = DemoDataset.__getitem__(self, i)
        return {
            "obs": {k: _to_tensor(k, v) for k, v in item["obs"].items()},
            "actions": _array(item["actions"]),
            "pad_mask": torch.from_numpy(np.ascontiguousarray(item["pad_mask"])),
            "obs_pad_mask": torch.from_numpy(np.ascontiguousarray(item["obs_pad_mask"])),
        }
