"""The baseline policy: an MLP that maps one normalised low-dim observation to a chunk of k future actions.

Why action chunking: predicting k steps at once and blending overlapping chunks (temporal ensembling, as in
ACT) smooths the single-step compounding errors that make plain behaviour cloning drift, at no cost on a CPU.

A saved policy is a folder with two files: ``policy.json`` (everything needed to rebuild the env and the
network: scene, robot, overrides, obs keys, normalisation, chunk size, layer sizes, training summary) and
``policy.pt`` (the torch state dict). `load_policy(folder)` reads both.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from robotschool.errors import RobotschoolError
from robotschool.policy.data import Normalizer

CONFIG_FILE = "policy.json"
WEIGHTS_FILE = "policy.pt"
FORMAT = "robotschool-bc-mlp-chunk/1"


def require_torch():
    """torch, or the one-line error that says how to install it."""
    try:
        import torch
    except ImportError:
        raise RobotschoolError("training and running policies needs torch: pip install robotschool[torch]") from None
    return torch


@dataclass
class PolicyConfig:
    scene: str
    robot: str
    overrides: list[str]
    obs_keys: list[str]
    obs_dim: int                    # values per observation frame the network sees (obs keys + derived offsets)
    action_dim: int
    chunk: int
    hidden: list[int]
    normalizer: dict[str, Any]
    action_key: str = "actions"
    control_hz: int = 20
    max_demo_len: int = 0           # longest training demo (steps): the default eval budget is 2x this
    history: int = 1                # observation frames the network sees (the current one and those before)
    training: dict[str, Any] = field(default_factory=dict)
    format: str = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def build_model(obs_dim: int, action_dim: int, chunk: int, hidden: list[int]):
    """MLP: obs_dim -> hidden... (LayerNorm + GELU) -> chunk * action_dim (normalised actions)."""
    torch = require_torch()
    nn = torch.nn
    layers: list = []
    width = obs_dim
    for h in hidden:
        layers += [nn.Linear(width, h), nn.LayerNorm(h), nn.GELU()]
        width = h
    layers.append(nn.Linear(width, chunk * action_dim))
    return nn.Sequential(*layers)


@dataclass
class LoadedPolicy:
    config: PolicyConfig
    normalizer: Normalizer
    model: Any

    def features(self, frames: Sequence[dict[str, np.ndarray]]) -> np.ndarray:
        """The network input from the last `history` observations, oldest first (fewer at an episode's start:
        the oldest is repeated, as the training windows pad a demo's start)."""
        h = self.config.history
        frames = list(frames)[-h:]
        frames = [frames[0]] * (h - len(frames)) + frames
        return np.concatenate([self.normalizer.obs_vector(f) for f in frames])

    def predict_chunk(self, obs: dict[str, np.ndarray] | Sequence[dict[str, np.ndarray]]) -> np.ndarray:
        """(chunk, action_dim) float32 actions in the env's action space (unnormalised, clipped to [-1, 1])
        from one observation, or from the last observations (oldest first) for a policy with history > 1."""
        torch = require_torch()
        x = torch.from_numpy(self.features([obs] if isinstance(obs, dict) else obs)[None])
        with torch.no_grad():
            y = self.model(x).numpy().reshape(self.config.chunk, self.config.action_dim)
        return np.clip(self.normalizer.actions(y), -1.0, 1.0)


def save_policy(folder: str | Path, config: PolicyConfig, model) -> None:
    torch = require_torch()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (WEIGHTS_FILE + ".tmp")
    torch.save(model.state_dict(), tmp)
    tmp.replace(folder / WEIGHTS_FILE)
    tmp = folder / (CONFIG_FILE + ".tmp")
    tmp.write_text(config.to_json())
    tmp.replace(folder / CONFIG_FILE)


def load_policy(folder: str | Path) -> LoadedPolicy:
    torch = require_torch()
    folder = Path(folder)
    cfg_path, w_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    if not cfg_path.is_file() or not w_path.is_file():
        raise RobotschoolError(f"{folder}: not a policy folder (needs {CONFIG_FILE} and {WEIGHTS_FILE}; "
                               f"create one with `robotschool train --data FILE --out {folder}`)")
    try:
        raw = json.loads(cfg_path.read_text())
        if raw.get("format") != FORMAT:
            raise ValueError(f"format {raw.get('format')!r}, expected {FORMAT!r}")
        config = PolicyConfig(**raw)
    except (ValueError, TypeError) as e:
        raise RobotschoolError(f"{cfg_path}: unreadable policy config ({e})") from None
    model = build_model(config.obs_dim * config.history, config.action_dim, config.chunk, config.hidden)
    model.load_state_dict(torch.load(w_path, map_location="cpu", weights_only=True))
    model.eval()
    return LoadedPolicy(config, Normalizer.from_json(config.normalizer), model)
