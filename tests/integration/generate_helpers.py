"""Helpers shared by the generate test modules: run the real CLI, and compare two HDF5 files exactly.

(Not a test module: pytest puts tests/integration on sys.path, so `from generate_helpers import ...` works.)
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np

from robotschool.recording import schema

REPO_ROOT = Path(__file__).resolve().parents[2]
RANDOM_ID_ATTRS = {schema.ATTR_SHARD}               # unique per write, by design
# Exit status of an interrupted generate: 130. CPython 3.11 turns it into "killed by SIGINT" (-2 for
# subprocess, 130 for a shell) when the KeyboardInterrupt, later handled, was raised inside code run by
# exec() of a string (e.g. a dataclass being defined by an import in progress): a sticky interpreter flag.
INTERRUPTED = (130, -signal.SIGINT)


def restore_sigint() -> None:
    """Popen `preexec_fn` for a child the test will Ctrl-C: SIGINT back to its default action before exec.
    A shell starts background jobs (`cmd &`, so a CI run launched that way) with SIGINT ignored, children
    inherit that, and Python then never raises KeyboardInterrupt: the signal the test sends would be lost."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cli_env() -> dict[str, str]:
    """The environment for a `python -m robotschool.cli` subprocess that imports this checkout."""
    return dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def cli_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "robotschool.cli", *args]


def robotschool(*args: str, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(cli_cmd(*args), cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=timeout)


def datasets(group: h5py.Group) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    group.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def demos(data: h5py.Group) -> list[str]:
    return sorted((n for n in data if n.startswith(schema.DEMO_PREFIX)), key=schema.demo_index)


def keys(path: Path) -> list[str]:
    """The writer keys (attempt_<i>) of the demos in `path`, in demo order."""
    with h5py.File(path, "r") as f:
        data = f[schema.DATA]
        return [str(data[n].attrs[schema.ATTR_KEY]) for n in demos(data)]


def assert_same_file(a_path: Path, b_path: Path, ignore_attrs: set[str] = frozenset(),
                     first: int | None = None) -> None:
    """Same demos in the same order, every dataset byte-identical, every demo attr equal (shard id aside),
    and the same masks. With `first`, only the first `first` demos of each file are compared (no masks)."""
    skip = RANDOM_ID_ATTRS | set(ignore_attrs)
    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
        da, db = a[schema.DATA], b[schema.DATA]
        names = demos(da)[:first]
        assert names == demos(db)[:first]
        assert names and (first is None or len(names) == first), f"{a_path} holds too few demos"
        for name in names:
            sets_a, sets_b = datasets(da[name]), datasets(db[name])
            assert sorted(sets_a) == sorted(sets_b), name
            assert len(sets_a) > 20
            for key, x in sets_a.items():
                y = sets_b[key]
                assert x.dtype == y.dtype and x.shape == y.shape, (name, key)
                if x.dtype.kind == "O":
                    assert x.tolist() == y.tolist(), (name, key)
                else:
                    assert x.tobytes() == y.tobytes(), f"{name}/{key} differs"
            attrs_a = {k: v for k, v in da[name].attrs.items() if k not in skip}
            attrs_b = {k: v for k, v in db[name].attrs.items() if k not in skip}
            assert sorted(attrs_a) == sorted(attrs_b), name
            for k in attrs_a:
                assert np.array_equal(attrs_a[k], attrs_b[k]), (name, k)
        for mask in (schema.MASK_SUCCESS, schema.MASK_FAILED) if first is None else ():
            assert a[schema.MASK][mask][()].tolist() == b[schema.MASK][mask][()].tolist(), mask
