"""Edit a finished dataset file crash-safely: edit a copy, fsync it, `os.replace` it over the original.

Why: HDF5 is not crash-safe; a process killed while a file is open for writing can lose every demo in it.
Used by `robotschool stats` and the dataset tools. It takes the writer's own lock (`<path>.parts`) so a running
`DatasetWriter` and a tool never replace each other's version.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import h5py

from robotschool.errors import DatasetError, OutputPathError
from robotschool.recording.writer import _PARTS_SUFFIX, _fsync, _lock_dir


@contextmanager
def edited_copy(path: str | Path, suffix: str) -> Iterator[h5py.File]:
    """Yield `<path><suffix>` (a copy of `path`) open for writing; on a clean exit it replaces `path`."""
    path = Path(path)
    parts = Path(f"{path}{_PARTS_SUFFIX}")
    tmp = Path(f"{path}{suffix}")
    try:
        parts.mkdir()
    except FileExistsError:
        raise DatasetError(f"{path} is being written (or has uncommitted episodes in {parts}); wait for "
                           f"the writer to finish or run generate --resume first") from None
    lock_fd = None
    try:
        try:
            lock_fd = _lock_dir(parts, path)
        except OutputPathError as e:
            raise DatasetError(str(e)) from None
        shutil.copyfile(path, tmp)
        with h5py.File(tmp, "a") as f:
            yield f
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(path.parent)
    finally:
        tmp.unlink(missing_ok=True)
        try:
            parts.rmdir()
        except OSError:
            pass
        if lock_fd is not None:
            os.close(lock_fd)
