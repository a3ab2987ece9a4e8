"""Behaviour cloning of the chunked MLP on a dataset file (CPU, a few minutes per station).

    result = train_policy("demos.hdf5", "policies/sorting", steps=3000)

Batches are sampled from in-memory arrays (see `data.py`) with a seeded numpy generator and the network is
initialised from `torch.manual_seed(seed)`, so a run is repeatable on the same machine and torch build.
The loss is the L1 distance between predicted and recorded normalised action chunks, averaged over the steps
inside the demo (padding past its end is masked out). Adam with cosine learning-rate decay. The valid loss
(demos in mask/valid) is measured every `eval_every` steps; the final weights are saved.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from robotschool.errors import DatasetError, OutputPathError
from robotschool.policy.data import default_obs_keys, load_training_arrays
from robotschool.policy.model import CONFIG_FILE, PolicyConfig, build_model, require_torch, save_policy

LOSS_PNG = "loss.png"


@dataclass
class TrainResult:
    out: Path
    steps: int
    train_loss: float
    valid_loss: float | None
    seconds: float
    train_demos: int
    valid_demos: int
    samples: int
    notes: list[str]
    plot: Path | None


def _masked_l1(torch, pred, target, mask):
    err = (pred - target).abs().mean(dim=-1) * mask
    return err.sum() / mask.sum().clamp(min=1.0)


def default_threads() -> int:
    """One torch thread. The MLP is small, and on a busy 2-core machine (measured with load ~8: 109 ms per
    step with 1 thread, 930 ms with 2) extra threads spin against the other processes; pass threads=2 on
    an idle machine."""
    return 1


def train_policy(data: str | Path, out: str | Path, obs_keys: Sequence[str] | None = None, chunk: int = 10,
                 hidden: Sequence[int] = (512, 512, 512), steps: int = 6000, batch_size: int = 256,
                 lr: float = 1e-3, weight_decay: float = 1e-4, obs_noise: float = 0.1, seed: int = 0,
                 threads: int | None = None, eval_every: int = 250, overwrite: bool = False,
                 progress: bool | None = None, history: int = 1, rel_objects: int = 0,
                 keep_perturbed: bool = False, obs_std_floor: float = 0.01, drop_idle: bool = False) -> TrainResult:
    """Train on `data` and save the policy folder `out` (policy.json, policy.pt, loss.png).
    `drop_idle` leaves out the items whose whole action chunk holds still (`data.idle_items`)."""
    torch = require_torch()
    out = Path(out)
    if (out / CONFIG_FILE).exists() and not overwrite:
        raise OutputPathError(f"{out} already holds a policy; add --overwrite or choose another --out")
    if out.exists() and not out.is_dir():
        raise OutputPathError(f"{out} exists and is not a folder; choose another --out")
    if chunk < 1 or steps < 1 or batch_size < 1 or history < 1:
        raise ValueError("chunk, steps, batch_size and history must be >= 1")
    from tqdm import tqdm

    t0 = time.perf_counter()
    torch.set_num_threads(threads or default_threads())
    if obs_keys is None:
        obs_keys = default_obs_keys(data)
    arrays = load_training_arrays(data, obs_keys, chunk, history=history, rel_objects=rel_objects,
                                  keep_perturbed=keep_perturbed, obs_std_floor=obs_std_floor)
    for note in arrays.notes:
        print(f"note: {note}", file=sys.stderr)
    use = ~arrays.valid & ~arrays.idle if drop_idle else ~arrays.valid
    train_idx = np.flatnonzero(use)
    if not len(train_idx):
        raise DatasetError(f"{data}: no training items left (every one is a valid demo's or, with drop_idle, "
                           f"holds still); generate more demos or train without --drop-idle")
    valid_idx = np.flatnonzero(arrays.valid)
    obs_t = torch.from_numpy(arrays.obs)
    act_t = torch.from_numpy(arrays.actions)
    mask_t = torch.from_numpy(arrays.mask.astype(np.float32))
    n_in, action_dim = arrays.obs.shape[1], arrays.actions.shape[2]
    n_obs = n_in // history

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_model(n_in, action_dim, chunk, list(hidden))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))

    def valid_loss() -> float | None:
        if not len(valid_idx):
            return None
        model.eval()
        with torch.no_grad():
            total, weight = 0.0, 0.0
            for lo in range(0, len(valid_idx), 4096):
                idx = torch.from_numpy(valid_idx[lo:lo + 4096])
                pred = model(obs_t[idx]).view(-1, chunk, action_dim)
                m = mask_t[idx]
                total += float(_masked_l1(torch, pred, act_t[idx], m)) * float(m.sum())
                weight += float(m.sum())
        model.train()
        return total / max(weight, 1.0)

    curve: dict[str, list] = {"step": [], "train": [], "valid_step": [], "valid": []}
    ema = None
    bar = tqdm(range(1, steps + 1), desc="train", unit="step", disable=None if progress is None else not progress,
               leave=False)
    for step in bar:
        idx = torch.from_numpy(rng.choice(train_idx, size=min(batch_size, len(train_idx)), replace=False))
        x = obs_t[idx]
        if obs_noise > 0:
            x = x + obs_noise * torch.randn_like(x)
        pred = model(x).view(-1, chunk, action_dim)
        loss = _masked_l1(torch, pred, act_t[idx], mask_t[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        value = loss.item()
        ema = value if ema is None else 0.98 * ema + 0.02 * value
        if step % 25 == 0 or step == steps:
            curve["step"].append(step)
            curve["train"].append(ema)
            bar.set_postfix(loss=f"{ema:.4f}")
        if step % eval_every == 0 or step == steps:
            v = valid_loss()
            if v is not None:
                curve["valid_step"].append(step)
                curve["valid"].append(v)
    bar.close()
    final_valid = curve["valid"][-1] if curve["valid"] else None
    seconds = time.perf_counter() - t0

    env_kwargs = arrays.env_args.get("env_kwargs", {})
    config = PolicyConfig(
        scene=env_kwargs.get("scene", arrays.env_args.get("env_name", "")),
        robot=env_kwargs.get("robot") or "",
        overrides=list(env_kwargs.get("overrides") or []),
        obs_keys=list(obs_keys), obs_dim=int(n_obs), action_dim=int(action_dim), chunk=int(chunk),
        hidden=[int(h) for h in hidden], normalizer=arrays.normalizer.to_json(),
        max_demo_len=int(arrays.max_demo_len), history=int(history),
        training={"data": str(Path(data).resolve()), "steps": steps, "batch_size": batch_size, "lr": lr,
                  "weight_decay": weight_decay, "obs_noise": obs_noise, "seed": seed, "loss": "masked L1",
                  "perturbed_actions": arrays.perturbed_actions, "keep_perturbed": keep_perturbed,
                  "obs_std_floor": obs_std_floor, "drop_idle": drop_idle,
                  "idle_items_dropped": int((arrays.idle & ~arrays.valid).sum()) if drop_idle else 0,
                  "train_demos": len(arrays.train_demos), "valid_demos": len(arrays.valid_demos),
                  "samples": int(len(train_idx)), "final_train_loss": ema, "final_valid_loss": final_valid,
                  "seconds": round(seconds, 1), "torch_threads": torch.get_num_threads(), "curve": curve,
                  "notes": arrays.notes})
    save_policy(out, config, model)
    plot = plot_losses(curve, out / LOSS_PNG)
    return TrainResult(out, steps, float(ema), final_valid, seconds, len(arrays.train_demos),
                       len(arrays.valid_demos), int(len(train_idx)), arrays.notes, plot)


def plot_losses(curve: dict[str, list], path: Path) -> Path | None:
    """Loss curve PNG with matplotlib (the optional `plot` extra); without it, one warning line and None."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"warning: matplotlib is not installed, so {path.name} was not written "
              f"(pip install robotschool[plot])", file=sys.stderr)
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(curve["step"], curve["train"], label="train (EMA)")
    if curve["valid"]:
        ax.plot(curve["valid_step"], curve["valid"], "o-", label="valid")
    ax.set_xlabel("step")
    ax.set_ylabel("masked L1 (normalised actions)")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
