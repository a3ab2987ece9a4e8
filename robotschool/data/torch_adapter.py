"""`TorchDemoDataset`: `DemoDataset` items as torch tensors (optional extra: ``pip install robotschool[torch]``).

Why a separate class: `DemoDataset` stays numpy-only (images uint8, as stored, so a cache or a worker queue
carries 4x fewer bytes); the conversion to what a network eats happens here, last, once per item or batch.

Conversions:
- image keys (``*_image``, uint8 (..., H, W, 3)) -> float32 (..., 3, H, W) in [0, 1] (channels first);
- depth keys (``*_depth``, (..., H, W)) -> float32 (..., 1, H, W), metres as stored;
- other floating arrays -> float32 tensors; integer arrays keep their dtype;
- ``pad_mask`` / ``obs_pad_mask`` -> bool tensors.

Two ways to batch, both fine with ``num_workers > 0`` (each worker process opens its own HDF5 handles on
first access, see `DemoDataset`):

- per item: ``DataLoader(ds, batch_size=64, shuffle=True, num_workers=2)``; the default collate stacks items;
- per batch (faster): ``ds.loader(batch_size=64, shuffle=True, num_workers=2)``. It hands lists of indices to
  ``ds[indices]`` (torch's documented ``BatchSampler`` with ``batch_size=None`` pattern), which gathers the
  whole batch with `DemoDataset.get_batch` and converts it once.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

try:
    import torch
    from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler
except ImportError as e:  # pragma: no cover - depends on the optional extra
    raise ImportError("robotschool.data.TorchDemoDataset needs PyTorch: pip install robotschool[torch]") from e

from robotschool.data.dataset import DemoDataset
from robotschool.recording import schema


def _to_tensor(key: str, x: np.ndarray) -> torch.Tensor:
    if schema.is_image_key(key):
        # (..., H, W, C) uint8 -> (..., C, H, W) float in [0, 1]
        t = torch.from_numpy(np.ascontiguousarray(x))
        return t.movedim(-1, -3).contiguous().to(torch.float32).div_(255.0)
    if schema.is_depth_key(key):
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).unsqueeze(-3)
    return _array(x)


def _array(x: np.ndarray) -> torch.Tensor:
    x = np.ascontiguousarray(x)
    if x.dtype.kind == "f":
        x = x.astype(np.float32, copy=False)
    return torch.from_numpy(x)


def _convert(item: dict[str, Any]) -> dict[str, Any]:
    out = {
        "obs": {k: _to_tensor(k, v) for k, v in item["obs"].items()},
        "actions": _array(item["actions"]),
        "pad_mask": torch.from_numpy(np.ascontiguousarray(item["pad_mask"])),
        "obs_pad_mask": torch.from_numpy(np.ascontiguousarray(item["obs_pad_mask"])),
    }
    for key in ("instruction", "subtask"):         # language=True: strings stay strings (lists in a batch)
        if key in item:
            v = item[key]
            out[key] = v.tolist() if isinstance(v, np.ndarray) else v
    return out


class TorchDemoDataset(DemoDataset, Dataset):
    """A `DemoDataset` (same arguments) whose items are torch tensors; a `torch.utils.data.Dataset`.

    ``ds[i]`` is one item; ``ds[[i, j, ...]]`` (a sequence or array of indices) is a batch with a leading
    batch axis, gathered in one call.
    """

    def __getitem__(self, i: int | Sequence[int] | np.ndarray) -> dict[str, Any]:  # type: ignore[override]
        if isinstance(i, (int, np.integer)):
            return _convert(DemoDataset.__getitem__(self, int(i)))
        return _convert(self.get_batch(i))

    def loader(self, batch_size: int, *, shuffle: bool = True, drop_last: bool = False,
               generator: torch.Generator | None = None, **dataloader_kwargs: Any) -> DataLoader:
        """A DataLoader yielding whole batches gathered by `get_batch` (extra kwargs go to DataLoader,
        e.g. ``num_workers=2, persistent_workers=True, pin_memory=True``)."""
        sampler = RandomSampler(self, generator=generator) if shuffle else SequentialSampler(self)
        return DataLoader(self, batch_size=None, sampler=BatchSampler(sampler, batch_size, drop_last),
                          **dataloader_kwargs)
