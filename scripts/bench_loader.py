"""Loader speed: windows per second (seq_len 10, batch 64) from real generated files, side by side.

Usage:
    python scripts/bench_loader.py [--episodes 8] [--image-episodes 4] [--camera-size 64] [--batches 40]

It generates two files in a temporary folder with `robotschool.generate.generate` (parts_sorting, one part):
a low-dim one (no cameras) and an image one (head camera, `--camera-size` pixels). For each it loads the same
random batches of windows (all low-dim obs keys, plus ``head_image`` for the image file; frame_stack 1)
with:

- numpy: the same windows gathered by one fancy index from arrays already in memory (the upper bound);
- h5py loop: a plain loop over the windows reading each key's rows from the open file;
- DemoDataset get_batch, for each cache mode ("low_dim", "all", None);
- DemoDataset items: ``[ds[i] for i in batch]`` with cache "low_dim" (what a per-item DataLoader does);
- TorchDemoDataset batch: ``ds[indices]``, what each `TorchDemoDataset.loader` worker runs per batch (tensors,
  images float CHW; torch limited to one thread, as in DataLoader workers), when torch is installed.

Speed is the best of 5 rounds; in each round every method makes one timed pass (as many loops over the same
batches as make it last >= 0.25 s), methods alternating so that noise on this shared machine hits them alike
(a method whose pass takes over 2 s runs in the first round only), after a warm-up, without tracing. Then, separately, peak memory: tracemalloc's
peak of the numpy/Python allocations while building the loader and reading 5 batches (h5py's own C buffers are not
traced), plus the process's ru_maxrss at the end. Every method's first batch is checked equal to numpy's. The
goal line compares low-dim DemoDataset get_batch with cache "low_dim" against numpy (goal >= 50 %).
"""
from __future__ import annotations

import argparse
import importlib.util
import math
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np

from robotschool.data import DemoDataset
from robotschool.data.stats import demo_names, is_low_dim_key
from robotschool.generate import generate
from robotschool.recording import schema

SEQ_LEN = 10
BATCH = 64
REPEATS = 5
MIN_PASS_S = 0.25     # a timed pass this long at least, so timer and scheduler noise stay small
SLOW_PASS_S = 2.0
Batch = dict[str, np.ndarray]


def obs_keys_of(path: Path, images: bool) -> list[str]:
    with h5py.File(path, "r") as f:
        keys = sorted(f[schema.DATA][demo_names(f)[0]][schema.OBS])
    return [k for k in keys if is_low_dim_key(k) or (images and schema.is_image_key(k))]


class NumpyWindows:
    """The same windows as DemoDataset(pad=True, frame_stack=1), gathered from in-memory numpy arrays."""

    def __init__(self, path: Path, obs_keys: list[str]) -> None:
        with h5py.File(path, "r") as f:
            demos = [f[schema.DATA][n] for n in demo_names(f)]
            self.flat = {k: np.concatenate([d[k][()] for d in demos])
                         for k in [f"{schema.OBS}/{k}" for k in obs_keys] + [schema.ACTIONS]}
            lengths = np.array([d[schema.ACTIONS].shape[0] for d in demos])
        ends = np.cumsum(lengths)
        self.last = np.repeat(ends - 1, lengths)       # per flat row: its demo's last row
        self.obs_keys = obs_keys

    def __len__(self) -> int:
        return int(self.last.shape[0])

    def batch(self, idx: np.ndarray) -> Batch:
        # windows are indexed in flat-row order (pad=True: every step starts one), so window i starts at row i
        steps = np.minimum(idx[:, None] + np.arange(SEQ_LEN), self.last[idx][:, None])
        out = {k: self.flat[f"{schema.OBS}/{k}"][idx[:, None]] for k in self.obs_keys}
        out["actions"] = self.flat[schema.ACTIONS][steps]
        return out


def h5py_loop(path: Path, obs_keys: list[str]) -> Callable[[np.ndarray], Batch]:
    """A plain h5py loop: per window, read each key's rows from the open file (no cache)."""
    f = h5py.File(path, "r")
    names = demo_names(f)
    lengths = [f[schema.DATA][n][schema.ACTIONS].shape[0] for n in names]
    index = [(n, t, T) for n, T in zip(names, lengths) for t in range(T)]

    def load(idx: np.ndarray) -> Batch:
        obs: dict[str, list[np.ndarray]] = {k: [] for k in obs_keys}
        actions = []
        for i in idx:
            name, t, T = index[i]
            demo = f[schema.DATA][name]
            for k in obs_keys:
                obs[k].append(demo[schema.OBS][k][t:t + 1])
            a = demo[schema.ACTIONS][t:t + SEQ_LEN]
            if a.shape[0] < SEQ_LEN:
                a = np.concatenate([a, np.repeat(a[-1:], SEQ_LEN - a.shape[0], axis=0)])
            actions.append(a)
        out = {k: np.stack(v) for k, v in obs.items()}
        out["actions"] = np.stack(actions)
        return out

    return load


def dataset_batch(ds: DemoDataset) -> Callable[[np.ndarray], Batch]:
    def load(idx: np.ndarray) -> Batch:
        b = ds.get_batch(idx)
        return {**b["obs"], "actions": b["actions"]}
    return load


def dataset_items(ds: DemoDataset) -> Callable[[np.ndarray], Batch]:
    def load(idx: np.ndarray) -> Batch:
        items = [ds[int(i)] for i in idx]
        out = {k: np.stack([it["obs"][k] for it in items]) for k in ds.obs_keys}
        out["actions"] = np.stack([it["actions"] for it in items])
        return out
    return load


def torch_loader(path: Path, obs_keys: list[str]) -> Callable[[np.ndarray], Batch]:
    import torch

    from robotschool.data import TorchDemoDataset

    torch.set_num_threads(1)     # as in DataLoader workers; intra-op threads only fight over shared cores
    ds = TorchDemoDataset(path, obs_keys, seq_len=SEQ_LEN)

    def load(idx: np.ndarray) -> Batch:
        b = ds[idx]        # images come back float CHW in [0, 1]: undo that for the equality check
        obs = {k: (v.mul(255).round().to(torch.uint8).movedim(-3, -1) if schema.is_image_key(k) else v).numpy()
               for k, v in b["obs"].items()}
        return {**obs, "actions": b["actions"].numpy()}
    return load


def methods(path: Path, obs_keys: list[str]) -> dict[str, Callable[[], Callable]]:
    """name -> builder of a batch loader (building is part of the memory measurement, not of the speed)."""
    out: dict[str, Callable[[], Callable]] = {
        "numpy in memory": lambda: NumpyWindows(path, obs_keys).batch,
        "h5py loop": lambda: h5py_loop(path, obs_keys),
    }
    for cache in ("low_dim", "all", None):
        out[f"DemoDataset get_batch cache={cache}"] = \
            lambda cache=cache: dataset_batch(DemoDataset(path, obs_keys, seq_len=SEQ_LEN, cache=cache))
    out["DemoDataset items cache=low_dim"] = \
        lambda: dataset_items(DemoDataset(path, obs_keys, seq_len=SEQ_LEN, cache="low_dim"))
    if importlib.util.find_spec("torch") is not None:
        out["TorchDemoDataset batch (tensors)"] = lambda: torch_loader(path, obs_keys)
    return out


def bench(label: str, path: Path, obs_keys: list[str], num_batches: int, seed: int) -> dict[str, float]:
    n = len(NumpyWindows(path, obs_keys))
    rng = np.random.default_rng(seed)
    batches = [rng.integers(0, n, BATCH) for _ in range(num_batches)]
    print(f"\n{label}: {path.stat().st_size / 2**20:.1f} MiB, {n} windows, keys {len(obs_keys)} obs + actions"
          f"{' (incl. head_image)' if any(schema.is_image_key(k) for k in obs_keys) else ''}")
    print(f"  {'method':38s} {'windows/s':>11s} {'vs numpy':>9s} {'peak traced':>12s}")
    builders = methods(path, obs_keys)
    loaders = {name: build() for name, build in builders.items()}
    reference = loaders["numpy in memory"](batches[0])
    for name, load in loaders.items():          # also the warm-up batch
        got = load(batches[0])
        for k, v in reference.items():
            assert np.array_equal(np.asarray(got[k]), v), f"{name}: {k} differs from the numpy windows"
    loops = {}
    for name, load in loaders.items():       # loops over the batches per timed pass: at least MIN_PASS_S
        t0 = time.perf_counter()
        for idx in batches:
            load(idx)
        loops[name] = max(1, math.ceil(MIN_PASS_S / (time.perf_counter() - t0)))
    best = dict.fromkeys(loaders, float("inf"))
    for round_ in range(REPEATS):   # methods alternate within each round, so machine noise hits all alike
        for name, load in loaders.items():
            if round_ and best[name] > SLOW_PASS_S:      # slow methods: one pass is already long enough
                continue
            t0 = time.perf_counter()
            for _ in range(loops[name]):
                for idx in batches:
                    load(idx)
            best[name] = min(best[name], time.perf_counter() - t0)
    del loaders
    speeds = {name: loops[name] * num_batches * BATCH / seconds for name, seconds in best.items()}
    for name, build in builders.items():
        tracemalloc.start()
        load = build()
        for idx in batches[:5]:
            load(idx)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        del load
        print(f"  {name:38s} {speeds[name]:11,.0f} {speeds[name] / speeds['numpy in memory']:8.0%} "
              f"{peak / 2**20:10.1f} MiB")
    return speeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--episodes", type=int, default=8, help="episodes of the low-dim file")
    parser.add_argument("--image-episodes", type=int, default=4, help="episodes of the image file")
    parser.add_argument("--camera-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=40, help="batches of 64 windows timed per method")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_loader_") as tmp:
        low = Path(tmp) / "lowdim.hdf5"
        img = Path(tmp) / "image.hdf5"
        t0 = time.perf_counter()
        generate("parts_sorting", args.episodes, low, seed=args.seed, overrides=["parts.count=1"], progress=False)
        generate("parts_sorting", args.image_episodes, img, seed=args.seed, overrides=["parts.count=1"],
                 cameras=["head"], camera_size=args.camera_size, progress=False)
        print(f"generated both files in {time.perf_counter() - t0:.0f} s "
              f"(seq_len {SEQ_LEN}, batch {BATCH}, {args.batches} batches per method)")
        low_speeds = bench("low-dim", low, obs_keys_of(low, images=False), args.batches, args.seed)
        bench(f"image {args.camera_size}x{args.camera_size}", img, obs_keys_of(img, images=True), args.batches,
              args.seed)
    ratio = low_speeds["DemoDataset get_batch cache=low_dim"] / low_speeds["numpy in memory"]
    print(f"\ngoal: low-dim DemoDataset (cache low_dim, get_batch) at {ratio:.0%} of numpy in memory "
          f"(goal >= 50%): {'met' if ratio >= 0.5 else 'MISSED'}")
    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
