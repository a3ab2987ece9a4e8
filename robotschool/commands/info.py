"""`robotschool info FILE`: demos, steps, success rate, the first demo's datasets and the masks."""
from __future__ import annotations

import argparse
from pathlib import Path

from robotschool.commands import attr_text, human_size

NAME = "info"
HELP = "summarise a dataset file"
NEEDS_PYBULLET = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path)


def run(args: argparse.Namespace) -> int:
    import h5py

    from robotschool.recording import schema
    from robotschool.replay import open_dataset

    with open_dataset(args.file) as f:
        data = f[schema.DATA]
        demos = sorted((n for n in data if n.startswith(schema.DEMO_PREFIX)), key=schema.demo_index)
        steps = sum(int(data[n].attrs.get(schema.ATTR_NUM_SAMPLES, 0)) for n in demos)
        successes = sum(bool(data[n].attrs.get(schema.ATTR_SUCCESS, False)) for n in demos)
        rate = f"{successes / len(demos):.0%}" if demos else "n/a"
        print(f"file:         {args.file} ({human_size(Path(args.file).stat().st_size)})")
        print(f"demos:        {len(demos)}")
        print(f"total steps:  {steps}")
        print(f"success rate: {rate} ({successes} of {len(demos)})")
        for name in (schema.ATTR_SCENE, "robot", "control_hz"):
            print(f"{name + ':':<14}{attr_text(data.attrs.get(name))}")
        if demos:
            first = data[demos[0]]
            print(f"{demos[0]} datasets:")
            rows: list[tuple[str, str, str]] = []

            def visit(name: str, obj) -> None:
                if isinstance(obj, h5py.Dataset):
                    rows.append((name, str(tuple(obj.shape)), str(obj.dtype)))

            first.visititems(visit)
            width = max(len(r[0]) for r in rows) if rows else 0
            for key, shape, dtype in rows:
                print(f"  {key:<{width}}  {shape:<18} {dtype}")
        _latency_lines(data, demos)
        mask = f.get(schema.MASK)
        if isinstance(mask, h5py.Group) and len(mask):
            print("masks:")
            for name, ds in mask.items():
                print(f"  {name}: {ds.shape[0] if ds.ndim else 1}")
    return 0


def _latency_lines(data, demos: list[str]) -> None:
    """Input-to-command latency of live (teleop) demos: operator/applied_time - operator/timestamp."""
    import numpy as np

    from robotschool.recording import schema

    lat = []
    for n in demos:
        op = data[n].get(schema.OPERATOR)
        if op is not None and schema.OP_APPLIED_TIME in op and schema.OP_TIMESTAMP in op:
            lat.append(op[schema.OP_APPLIED_TIME][()] - op[schema.OP_TIMESTAMP][()])
    if lat:
        ms = np.concatenate(lat) * 1e3
        print(f"latency:      input to joint command median {np.median(ms):.2f} ms, p99 "
              f"{np.percentile(ms, 99):.2f} ms ({ms.size} steps of {len(lat)} live demos)")
