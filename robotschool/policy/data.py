"""Training arrays for the baseline policy: (observation, chunk of future actions) pairs from a dataset file.

Built on `DemoDataset` (windows of `chunk` actions from every step, padded past a demo's end and masked), read
once into memory as flat arrays: a few hundred low-dim demos are a few MB, and an in-memory batch sampler is
what lets a CPU with 2 cores train in minutes.

Normalisation uses the file's ``/stats`` (written by ``robotschool stats FILE``): mean and std per obs key and
for the actions. The actions' std is floored at 1e-6 as `DemoDataset(normalize=True)` does; the observations'
at `obs_std_floor` (default 0.01: a centimetre, or 0.01 of a quaternion or one-hot component), because a
dimension that barely moves in the demos (a hand's quaternion x held level: std 0.0007) would otherwise be
blown up ~1000x, and the first small tilt in a closed-loop rollout becomes an input many sigmas outside
anything seen in training. A file without stats gets them
computed in memory (the file is never edited), with a note. The train/valid split comes from ``mask/train``
and ``mask/valid`` (written by `robotschool generate` and `robotschool split`); a file without them is split
deterministically (10% valid, `tools.split.choose_valid` with seed 0), also with a note.

Recovery demos (`robotschool generate --perturb`, robotschool/perturb.py) store the offset that pushed the
hands off the operator's path at every step (``operator/perturb_offset``). Those actions are the push, not
the operator's intent, so by default their places in every action chunk are masked out of the loss (as the
padding past a demo's end is): the states the push led to stay in the data, labelled with the operator's
corrections that follow (DART trains on the correction, not on the noise).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from robotschool.data import DemoDataset
from robotschool.data.dataset import STD_FLOOR
from robotschool.data.stats import compute_stats, demo_names, is_low_dim_key, open_dataset_file, read_stats
from robotschool.errors import DatasetError
from robotschool.recording import schema

# what the baseline looks at by default: both hands (position, orientation, fingers) and the objects
DEFAULT_OBS_KEYS: tuple[str, ...] = tuple(
    schema.OBS_EEF_POS.format(arm=a) for a in ("left", "right")) + tuple(
    schema.OBS_EEF_QUAT.format(arm=a) for a in ("left", "right")) + tuple(
    schema.OBS_GRIPPER_QPOS.format(arm=a) for a in ("left", "right")) + (schema.OBS_OBJECT,)


ARMS = ("left", "right")


def default_obs_keys(data: str | Path) -> list[str]:
    """DEFAULT_OBS_KEYS, plus the base velocity when the demos walk (its stored std is not zero).

    Why: at the end of a walk the state alone (hands, objects in the base frame) barely tells a policy whether the
    base is still moving; the scripted operator's next move (reach, place) starts when it has stopped. Without it
    shelf_restock's policy stood at the shelf with the item and never began to place (session 6: 21/30 on the
    same scenes where it then got 24/30 with it, README Training). Stations where the base never moves keep the
    old inputs exactly (a zero-std key would only add constant inputs)."""
    keys = list(DEFAULT_OBS_KEYS)
    try:
        std = read_stats(data, check_fresh=False).get(f"{schema.OBS}/{schema.OBS_BASE_VEL}", {}).get("std")
    except DatasetError:
        std = None
    if std is not None and float(np.max(std)) > 0:
        keys.append(schema.OBS_BASE_VEL)
    return keys


def relative_keys(n_objects: int) -> list[str]:
    """Names of the derived hand-to-object offsets (see `relative_features`)."""
    return [f"rel/{arm}_eef_to_object{i}" for arm in ARMS for i in range(n_objects)]


def relative_features(obs: Mapping[str, np.ndarray], n_objects: int) -> dict[str, np.ndarray]:
    """The offset from each hand (TCP) to each of the first `n_objects` objects' positions (3 values each).

    Why: where to put a hand is the object's position plus a grasp offset, and a small MLP trained on a
    few hundred demos reproduces that sum only to a few centimetres from absolute positions (measured: grasps
    closed 3-4 cm beside the part); the difference, handed to it directly, is what it has to drive to zero.
    Every station's `object` vector starts with 7 values (position, quaternion) per object, in the robot base
    frame like the hands, so object i's position is ``object[7i:7i+3]``. Works on batched arrays too."""
    obj = np.asarray(obs[schema.OBS_OBJECT], np.float32)
    if obj.shape[-1] < 7 * n_objects:
        raise DatasetError(f"relative features for {n_objects} objects need {7 * n_objects} object values, "
                           f"the observation has {obj.shape[-1]}")
    out = {}
    for arm in ARMS:
        eef = np.asarray(obs[schema.OBS_EEF_POS.format(arm=arm)], np.float32)
        for i in range(n_objects):
            out[f"rel/{arm}_eef_to_object{i}"] = obj[..., 7 * i:7 * i + 3] - eef
    return out


@dataclass
class Normalizer:
    """Per-key (x - mean) / std for observations (concatenated in `obs_keys` order, then the derived
    hand-to-object offsets of the first `rel_objects` objects) and actions."""

    obs_keys: list[str]
    obs_mean: dict[str, np.ndarray]
    obs_std: dict[str, np.ndarray]
    act_mean: np.ndarray
    act_std: np.ndarray
    rel_objects: int = 0

    @property
    def input_keys(self) -> list[str]:
        return self.obs_keys + relative_keys(self.rel_objects)

    def obs_vector(self, obs: Mapping[str, np.ndarray]) -> np.ndarray:
        """One observation (dict of arrays, as the env or the file gives them) -> normalised flat float32."""
        if self.rel_objects:
            obs = {**obs, **relative_features(obs, self.rel_objects)}
        parts = []
        for k in self.input_keys:
            if k not in obs:
                raise DatasetError(f"observation has no key {k!r} (has: {', '.join(sorted(obs))})")
            parts.append(((np.asarray(obs[k], np.float32) - self.obs_mean[k]) / self.obs_std[k]).reshape(-1))
        return np.concatenate(parts).astype(np.float32)

    def actions(self, normalised: np.ndarray) -> np.ndarray:
        return (np.asarray(normalised, np.float32) * self.act_std + self.act_mean).astype(np.float32)

    def to_json(self) -> dict:
        return {"obs_keys": self.obs_keys,
                "obs_mean": {k: v.tolist() for k, v in self.obs_mean.items()},
                "obs_std": {k: v.tolist() for k, v in self.obs_std.items()},
                "act_mean": self.act_mean.tolist(), "act_std": self.act_std.tolist(), "rel_objects": self.rel_objects}

    @classmethod
    def from_json(cls, d: dict) -> "Normalizer":
        f = lambda x: np.asarray(x, dtype=np.float32)  # noqa: E731
        return cls(list(d["obs_keys"]), {k: f(v) for k, v in d["obs_mean"].items()},
                   {k: f(v) for k, v in d["obs_std"].items()}, f(d["act_mean"]), f(d["act_std"]),
                   int(d.get("rel_objects", 0)))


@dataclass
class TrainingArrays:
    obs: np.ndarray            # (N, history * input dim) float32, normalised frames, oldest first
    actions: np.ndarray        # (N, chunk, A) float32, normalised
    mask: np.ndarray           # (N, chunk) bool: False past the demo's end and on perturbed actions (dropped)
    valid: np.ndarray          # (N,) bool: the item belongs to a validation demo
    normalizer: Normalizer
    train_demos: list[str]
    valid_demos: list[str]
    max_demo_len: int
    notes: list[str] = field(default_factory=list)   # what was assumed (no stats, no masks), shown to the user
    env_args: dict = field(default_factory=dict)
    perturbed_actions: int = 0  # recorded actions that were perturbed (recovery demos), masked unless kept
    idle: np.ndarray | None = None  # (N,) bool: the item's whole action chunk repeats its first action (waiting)


def _split(path: Path) -> tuple[list[str], set[str], list[str]]:
    from robotschool.tools.split import choose_valid

    notes = []
    with open_dataset_file(path) as f:
        names = demo_names(f)
        masks = f[schema.MASK] if schema.MASK in f else {}
        if schema.MASK_TRAIN in masks and schema.MASK_VALID in masks:
            valid = {n.decode() if isinstance(n, bytes) else str(n) for n in masks[schema.MASK_VALID][()]}
        else:
            valid = choose_valid(names, 0.1, 0)
            notes.append(f"{path}: no mask/train and mask/valid; split {len(valid)} of {len(names)} demos into "
                         f"valid deterministically (run `robotschool split {path}` to choose)")
    return names, valid, notes


def _stats(path: Path) -> tuple[dict, list[str]]:
    try:
        return read_stats(path), []
    except DatasetError as e:
        note = f"{e}; computed them in memory instead"
        return compute_stats(path), [note]


def _perturbed_steps(path: Path, demos: Sequence[tuple[int, str, int]]) -> np.ndarray:
    """(total steps,) bool in DemoDataset's flat order: the action of that step was perturbed."""
    flags = []
    with open_dataset_file(path) as f:
        for _, name, t in demos:
            key = f"{schema.DATA}/{name}/{schema.OPERATOR}/{schema.OP_PERTURB_OFFSET}"
            flags.append(np.any(f[key][()] != 0, axis=1)[:t] if key in f else np.zeros(t, bool))
    return np.concatenate(flags) if flags else np.zeros(0, bool)


def load_training_arrays(path: str | Path, obs_keys: Sequence[str], chunk: int,
                         action_key: str = schema.ACTIONS, history: int = 1, rel_objects: int = 0,
                         keep_perturbed: bool = False, obs_std_floor: float = 0.01) -> TrainingArrays:
    """Read every demo of `path` into (obs, action chunk, pad mask) arrays, normalised, with a valid flag.

    With `history` > 1 each item's observation is the last `history` frames concatenated, oldest first; frames
    before a demo's start repeat its first frame (DemoDataset's padding), as `ChunkExecutor` does at reset.
    With `rel_objects` > 0 each frame also holds the hand-to-object offsets (`relative_features`).
    Perturbed actions of recovery demos are masked out of every chunk unless `keep_perturbed` (module doc)."""
    path = Path(path)
    obs_keys = list(obs_keys)
    bad = [k for k in obs_keys if not is_low_dim_key(k)]
    if bad:
        raise DatasetError(f"the baseline policy uses low-dim observations only; drop {', '.join(bad)}")
    names, valid_names, notes = _split(path)
    if not names:
        raise DatasetError(f"{path}: no demos to train on")
    stats, more = _stats(path)
    notes += more
    for key in [f"{schema.OBS}/{k}" for k in obs_keys] + [action_key]:
        if key not in stats:
            raise DatasetError(f"{path}: no statistics for {key}; is it a low-dim key of this file?")
    norm = Normalizer(
        obs_keys,
        {k: np.asarray(stats[f"{schema.OBS}/{k}"]["mean"], np.float32) for k in obs_keys},
        {k: np.maximum(np.asarray(stats[f"{schema.OBS}/{k}"]["std"], np.float32), max(obs_std_floor, STD_FLOOR))
         for k in obs_keys},
        np.asarray(stats[action_key]["mean"], np.float32),
        np.maximum(np.asarray(stats[action_key]["std"], np.float32), STD_FLOOR), rel_objects)

    if history < 1 or rel_objects < 0:
        raise ValueError(f"history must be >= 1 and rel_objects >= 0, got {history} and {rel_objects}")
    load_keys = list(obs_keys)
    if rel_objects:   # the derived offsets need the object and both hands, whether or not the net sees them
        load_keys += [k for k in [schema.OBS_OBJECT] + [schema.OBS_EEF_POS.format(arm=a) for a in ARMS]
                      if k not in load_keys]
    ds = DemoDataset(path, obs_keys=load_keys, action_key=action_key, seq_len=chunk, frame_stack=history, pad=True,
                     cache="low_dim", normalize=False)
    n = len(ds)
    first = ds[0]
    act_dim = int(first["actions"].shape[-1])
    raw: dict[str, np.ndarray] = {}       # (N, history, dim) float32 per input key, not yet normalised
    actions = np.empty((n, chunk, act_dim), np.float32)
    mask = np.empty((n, chunk), bool)
    for lo in range(0, n, 4096):
        batch = ds.get_batch(np.arange(lo, min(lo + 4096, n)))
        b = len(batch["actions"])
        values = {k: np.asarray(batch["obs"][k], np.float32).reshape(b, history, -1) for k in load_keys}
        if rel_objects:
            values.update(relative_features(values, rel_objects))
        for k in norm.input_keys:
            raw.setdefault(k, np.empty((n, history, values[k].shape[-1]), np.float32))[lo:lo + b] = values[k]
        actions[lo:lo + b] = batch["actions"]
        mask[lo:lo + b] = batch["pad_mask"]
    for k in relative_keys(rel_objects):   # no /stats for derived values: their mean and std over the file
        norm.obs_mean[k] = raw[k][:, -1].mean(axis=0)
        norm.obs_std[k] = np.maximum(raw[k][:, -1].std(axis=0), max(obs_std_floor, STD_FLOOR))
    frames = [(raw[k] - norm.obs_mean[k]) / norm.obs_std[k] for k in norm.input_keys]
    obs = np.concatenate(frames, axis=2).reshape(n, -1).astype(np.float32)   # per frame: keys in order
    del raw, frames
    idle = idle_items(actions, mask)
    actions = (actions - norm.act_mean) / norm.act_std
    perturbed = _perturbed_steps(path, ds.demos)
    assert len(perturbed) == n, "DemoDataset(pad=True) has one item per recorded step"
    if perturbed.any() and not keep_perturbed:
        # item n covers steps n .. n + chunk - 1 of its demo (items are the demos' steps in order); a window
        # running past the demo's end is already masked there, so reading the next demo's flags is harmless
        padded = np.concatenate([perturbed, np.zeros(chunk, bool)])
        mask &= ~np.lib.stride_tricks.sliding_window_view(padded, chunk)[:n]
    # with pad=True the items are the demos' steps in demo order (DemoDataset's documented index)
    per_demo_valid = [name in valid_names for _, name, _ in ds.demos]
    valid = np.repeat(np.array(per_demo_valid, bool), [t for _, _, t in ds.demos])
    if valid.all():
        notes.append(f"{path}: every demo is in mask/valid; training on all of them, no valid loss")
        valid[:] = False
        valid_names = set()
    elif not valid.any():
        notes.append(f"{path}: no demo in mask/valid; no valid loss")
    train_demos = [name for _, name, _ in ds.demos if name not in valid_names]
    valid_demos = [name for _, name, _ in ds.demos if name in valid_names]
    with open_dataset_file(path) as f:
        raw = f[schema.DATA].attrs.get(schema.ATTR_ENV_ARGS)
        env_args = json.loads(raw) if raw is not None else {}
    ds.close()
    return TrainingArrays(obs, actions.astype(np.float32), mask, valid, norm, train_demos, valid_demos,
                          max(t for _, _, t in ds.demos), notes, env_args, int(perturbed.sum()), idle)


IDLE_TOLERANCE = 1e-3


def idle_items(actions: np.ndarray, mask: np.ndarray, tol: float = IDLE_TOLERANCE) -> np.ndarray:
    """(N,) bool: items whose action chunk (the steps inside the demo) stays within `tol` of its first action
    in every dimension (raw action space, [-1, 1]): the operator is holding still, waiting for something the
    observation may not show (a look's timer, a waypoint timeout, a settling base).

    Why it matters: a scripted operator waits a fixed time in a state that barely changes, so the data says
    "hold still here" for a state a policy cannot tell from the moment the wait ends; a cloned policy that
    lands there holds still for good (seen in shelf_restock rollouts: stopped above the item for 800 steps).
    `train --drop-idle` leaves these items out of training (robot-learning pipelines commonly filter such
    no-op steps); a wait whose end the observation does show (fingers closing) is then learnt from its ends."""
    first = actions[:, :1]
    still = (np.abs(actions - first) <= tol).all(axis=2) | ~mask
    return still.all(axis=1)
