"""`robotschool retarget FILE --robot R --out FILE2`: re-record every demo of FILE with robot R.

    robotschool retarget data/sorting.hdf5 --robot wheeled_dual_arm --out data/sorting_wheeled.hdf5

For each demo: rebuild its scene from the file (env_args + the demo's scene_params) with robot R, play the
recorded operator stream (operator/, robot-independent: hand poses, grips, base twist, head, torso) through a
replay device, R's retargeter and IK, and record a new demo with its own success flag (failures are kept and
listed in mask/failed, so a robot that cannot do a demo shows up). Demo attrs: device "replay", the original
operator_id, source_file, source_demo and source_robot.
"""
from __future__ import annotations

import argparse
from pathlib import Path

NAME = "retarget"
HELP = "replay the recorded operator stream of every demo on another robot and record new demos"


def add_arguments(g: argparse.ArgumentParser) -> None:
    g.description = __doc__.splitlines()[0].strip("`")
    g.add_argument("file", type=Path, help="dataset whose demos have an operator/ stream")
    g.add_argument("--robot", required=True, help="robot to re-target to (name or robot YAML)")
    g.add_argument("--out", type=Path, required=True, help="output HDF5 file")
    g.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    g.add_argument("--demos", default=None, metavar="A,B", help="only these demos (indices or names)")


def run(args: argparse.Namespace) -> int:
    import json

    import numpy as np

    from robotschool.devices.replay import ReplayDevice
    from robotschool.env import RobotEnv
    from robotschool.errors import DatasetError, OutputPathError
    from robotschool.recording import schema
    from robotschool.recording.writer import DatasetWriter
    from robotschool.replay import demo_key, env_kwargs_of, open_dataset
    from robotschool.rollout import run_episode

    if args.out.exists() and not args.overwrite:
        raise OutputPathError(f"{args.out} exists; pass --overwrite to replace it")
    if args.out.resolve() == args.file.resolve():
        raise OutputPathError("--out must differ from the input file")
    with open_dataset(args.file) as f:
        data = f[schema.DATA]
        kwargs = env_kwargs_of(args.file, data)
        names = sorted((n for n in data if n.startswith(schema.DEMO_PREFIX)), key=schema.demo_index)
        if args.demos:
            wanted = [demo_key(d) for d in args.demos.split(",") if d.strip()]
            missing = [n for n in wanted if n not in data]
            if missing:
                raise DatasetError(f"{args.file} has no {missing[0]}")
            names = wanted
        demos = []
        for n in names:
            g = data[n]
            if schema.OPERATOR not in g or "scene_params" not in g.attrs:
                raise DatasetError(f"{args.file}: {n} has no operator/ stream or scene_params, so it cannot be "
                                   f"retargeted")
            stream = {k: ds[()] for k, ds in g[schema.OPERATOR].items()}
            demos.append((n, stream, dict(g.attrs)))
        source_robot = str(data.attrs.get("robot", kwargs.get("robot", "")))
    if not demos:
        raise DatasetError(f"{args.file} has no demos")

    env = RobotEnv(kwargs["scene"], robot=args.robot, overrides=kwargs.get("overrides", ()),
                   cameras=kwargs.get("cameras", []), camera_size=kwargs.get("camera_size"),
                   depth=kwargs.get("depth"))
    kept = successes = 0
    with env:
        with DatasetWriter(args.out, _attrs_after_reset(env, demos[0][2]), overwrite=args.overwrite) as writer:
            for name, stream, attrs in demos:
                params = json.loads(attrs["scene_params"])
                env.reset(seed=np.asarray(attrs.get("seed", 0)).tolist(), params=params)
                device = ReplayDevice(stream, _text(attrs.get("operator_id", "unknown")))
                meta = {"seed": np.asarray(attrs.get("seed", 0)), "scene_params": attrs["scene_params"],
                        "robot": env.robot_name, "source_file": str(args.file), "source_demo": name,
                        "source_robot": source_robot, "source_device": _text(attrs.get("device", ""))}
                if "instruction" in attrs:
                    meta["instruction"] = _text(attrs["instruction"])
                result = run_episode(env, device, attrs=meta)
                if result.episode is not None:
                    writer.add(result.episode, key=f"retarget_{name}")
                    kept += 1
                    successes += int(result.success)
                print(f"{name}: {result.steps} steps, success {result.success} "
                      f"(original {bool(attrs.get(schema.ATTR_SUCCESS, False))})", flush=True)
    print(f"retargeted:   {kept} demos to {args.robot} ({successes} successful) -> {args.out}")
    return 0


def _attrs_after_reset(env, attrs) -> dict:
    import json

    import numpy as np

    env.reset(seed=np.asarray(attrs.get("seed", 0)).tolist(), params=json.loads(attrs["scene_params"]))
    return env.data_attrs()


def _text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)
