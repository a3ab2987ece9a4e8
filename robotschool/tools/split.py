"""Re-draw the train/valid split of a finished file (`mask/train`, `mask/valid`), deterministic by seed.

The file is edited through a copy that atomically replaces it (see `recording/atomic.py`). A `DatasetWriter` that
later resumes the file keeps this split for the demos already there (it reads `mask/valid` back).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robotschool.data.stats import demo_names, open_dataset_file
from robotschool.errors import DatasetError
from robotschool.recording import schema
from robotschool.recording.atomic import edited_copy

_TMP_SUFFIX = ".split.tmp"


@dataclass(frozen=True)
class SplitResult:
    path: Path
    train: list[str]
    valid: list[str]


def choose_valid(names: list[str], valid: float, seed: int) -> set[str]:
    """round(valid * n) demos drawn by `numpy.random.default_rng(seed)`; at least one when valid > 0 and
    n >= 2, and never all of them unless valid == 1."""
    n = len(names)
    k = int(round(valid * n))
    if valid > 0 and n >= 2:
        k = max(k, 1)
    if valid < 1:
        k = min(k, max(n - 1, 0))
    order = np.random.default_rng(seed).permutation(n)
    return {names[i] for i in order[:k]}


def split(path: str | Path, valid: float = 0.1, seed: int = 0) -> SplitResult:
    """Rewrite mask/train and mask/valid of `path` with a fraction `valid` of its demos in valid."""
    if not 0.0 <= valid <= 1.0:
        raise DatasetError(f"valid fraction must be in [0, 1], got {valid}")
    path = Path(path)
    with open_dataset_file(path) as f:
        names = demo_names(f)
    chosen = choose_valid(names, valid, seed)
    train = [n for n in names if n not in chosen]
    valid_names = [n for n in names if n in chosen]
    with edited_copy(path, _TMP_SUFFIX) as f:
        masks = f.require_group(schema.MASK)
        for mask, members in ((schema.MASK_TRAIN, train), (schema.MASK_VALID, valid_names)):
            if mask in masks:
                del masks[mask]
            masks.create_dataset(mask, data=np.array([n.encode() for n in members], dtype="S"))
    return SplitResult(path, train, valid_names)
