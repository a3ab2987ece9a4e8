"""Loading recorded demos for training: windows of observations and actions, normalisation stats.

`DemoDataset` and the stats functions need only numpy and h5py. `TorchDemoDataset` (torch tensors, images as
float CHW in [0, 1]) is imported on first use and needs the optional extra: ``pip install robotschool[torch]``.
"""
from __future__ import annotations

from typing import Any

from robotschool.data.dataset import DemoDataset, available_memory_bytes
from robotschool.data.stats import compute_stats, read_stats, write_stats

__all__ = ["DemoDataset", "TorchDemoDataset", "available_memory_bytes", "compute_stats", "read_stats",
           "write_stats"]


def __getattr__(name: str) -> Any:
    if name == "TorchDemoDataset":
        from robotschool.data.torch_adapter import TorchDemoDataset

        return TorchDemoDataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
