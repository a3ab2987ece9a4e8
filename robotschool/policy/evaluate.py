"""Closed-loop evaluation of a saved policy in the gymnasium env: success rate with a Wilson 95% interval.

    report = evaluate_policy("policies/sorting", episodes=50, seed=1000)

Episode i is ``reset(seed=seed, options={"attempt": i})``, i.e. the scene of attempt i of
``robotschool generate --seed <seed>``. The default seed (1000) differs from generate's default (0), so a
policy trained on a default run is evaluated on scenes it has not seen. An episode succeeds when the task's
success check holds after some step (gym ``terminated``) within the step budget: ``max_steps``, by default
twice the longest training demo (capped at the scene's horizon), so that failures end in seconds, not after
the scene's full horizon.

Chunks become one action per step by temporal ensembling (ACT): a chunk is predicted at every step and the
action for step t averages every chunk that covers t, weighted ``exp(-m * age rank)`` with the oldest first;
or, with ``execute=h``, by a receding horizon: predict a chunk, play its first h actions, predict again.
"""
from __future__ import annotations

import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from robotschool.errors import RobotschoolError
from robotschool.policy.metrics import wilson
from robotschool.policy.model import LoadedPolicy, load_policy

DEFAULT_EVAL_SEED = 1000


class ChunkExecutor:
    """One action per step from chunk predictions (temporal ensembling, or receding horizon with execute > 0)."""

    def __init__(self, policy: LoadedPolicy, execute: int = 0, ensemble_m: float = 0.01):
        self.policy = policy
        self.chunk = policy.config.chunk
        if not 0 <= execute <= self.chunk:
            raise RobotschoolError(f"execute must be between 0 (temporal ensembling) and the chunk size "
                                   f"{self.chunk}, got {execute}")
        self.execute = execute
        self.m = ensemble_m
        self.reset()

    def reset(self) -> None:
        self._chunks: deque[tuple[int, np.ndarray]] = deque()   # (step predicted at, chunk)
        self._plan: list[np.ndarray] = []
        self._frames: deque[dict[str, np.ndarray]] = deque(maxlen=self.policy.config.history)
        self._t = 0

    def __call__(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        t = self._t
        self._t += 1
        self._frames.append(obs)
        if self.execute:
            if not self._plan:
                self._plan = list(self.policy.predict_chunk(self._frames)[: self.execute])
            return self._plan.pop(0)
        self._chunks.append((t, self.policy.predict_chunk(self._frames)))
        while self._chunks and self._chunks[0][0] <= t - self.chunk:
            self._chunks.popleft()
        actions = np.stack([c[t - t0] for t0, c in self._chunks])        # oldest first
        w = np.exp(-self.m * np.arange(len(actions)))
        return (w[:, None] * actions).sum(axis=0).astype(np.float32) / np.float32(w.sum())


@dataclass
class EvalReport:
    policy: str
    scene: str
    overrides: list[str]
    episodes: int
    successes: int
    success_rate: float
    ci95: tuple[float, float]
    mean_steps: float
    max_steps: int
    seed: int
    seconds: float
    per_episode: list[dict] = field(default_factory=list)
    video: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        lo, hi = self.ci95
        return (f"{self.scene}: success {self.successes}/{self.episodes} = {self.success_rate:.2f}, "
                f"95% CI (Wilson) [{lo:.2f}, {hi:.2f}], mean steps {self.mean_steps:.0f} "
                f"(budget {self.max_steps}), seed {self.seed}, {self.seconds:.0f} s")


def evaluate_policy(policy_dir: str | Path, episodes: int, scene: str | None = None, seed: int = DEFAULT_EVAL_SEED,
                    overrides: Sequence[str] = (), max_steps: int | None = None, execute: int = 0,
                    ensemble_m: float = 0.01, video: str | Path | None = None, video_episodes: int = 1,
                    progress: bool | None = None, on_episode: Callable[[dict], None] | None = None) -> EvalReport:
    """Roll the policy out for `episodes` episodes and report the success rate (see the module doc).
    `on_episode` gets each episode's entry of `per_episode` as soon as it ends (long runs: see results early)."""
    from tqdm import tqdm

    from robotschool.gym_env import RobotschoolGymEnv

    if episodes < 1:
        raise RobotschoolError(f"episodes must be >= 1, got {episodes}")
    policy = load_policy(policy_dir)
    cfg = policy.config
    scene = scene or cfg.scene
    if scene != cfg.scene:
        print(f"note: the policy was trained on {cfg.scene!r}; evaluating it on {scene!r}", file=sys.stderr)
    all_overrides = list(cfg.overrides) + list(overrides)
    frames: list[np.ndarray] = []
    writer = _video_writer(video) if video else None
    env = RobotschoolGymEnv(scene, robot=cfg.robot or None, overrides=all_overrides, cameras=[],
                            render_mode="rgb_array" if video else None)
    try:
        dim = env.action_space.shape[0]
        if dim != cfg.action_dim:
            raise RobotschoolError(f"the policy outputs {cfg.action_dim} actions but {scene} takes {dim}; "
                                   f"retrain it on data recorded with this version")
        budget = max_steps or env.sim.max_steps
        if max_steps is None and cfg.max_demo_len:
            budget = min(env.sim.max_steps, 2 * cfg.max_demo_len)
        executor = ChunkExecutor(policy, execute, ensemble_m)
        t0 = time.perf_counter()
        per_episode = []
        bar = tqdm(range(episodes), desc="eval", unit="episode", leave=False,
                   disable=None if progress is None else not progress)
        for i in bar:
            obs, info = env.reset(seed=seed, options={"attempt": i})
            n_obs = policy.normalizer.obs_vector(obs).shape[0]
            if n_obs != cfg.obs_dim:
                raise RobotschoolError(f"the policy expects {cfg.obs_dim} observation values from "
                                       f"{', '.join(cfg.obs_keys)} but {scene} gives {n_obs}; evaluate on the "
                                       f"scene and overrides it was trained on")
            executor.reset()
            record = writer is not None and i < video_episodes
            if record:
                frames.append(env.render())
            success, steps = False, 0
            for steps in range(1, budget + 1):
                obs, _, terminated, truncated, info = env.step(executor(obs))
                if record:
                    frames.append(env.render())
                if terminated or truncated:
                    break
            success = bool(info["success"])
            per_episode.append({"attempt": i, "seed": [seed, i], "success": success, "steps": steps})
            if on_episode is not None:
                on_episode(per_episode[-1])
            bar.set_postfix(success=f"{sum(e['success'] for e in per_episode)}/{len(per_episode)}")
        bar.close()
        fps = env.metadata["render_fps"]
    finally:
        env.close()
    if writer is not None:
        writer(Path(video), np.stack(frames), fps)
    k = sum(e["success"] for e in per_episode)
    return EvalReport(str(policy_dir), scene, all_overrides, episodes, k, k / episodes, wilson(k, episodes),
                      float(np.mean([e["steps"] for e in per_episode])), int(budget), seed,
                      time.perf_counter() - t0, per_episode, str(video) if video else None)


def _video_writer(out: str | Path):
    """A function writing frames to `out` with the dataset video tools (.mp4/.gif, or PNGs for 'dir/');
    checked before any rollout so a missing imageio fails fast."""
    from robotschool.tools.png import write_png
    from robotschool.tools.video import _imageio, _write_video

    if str(out).endswith("/"):
        def write_frames(path: Path, frames: np.ndarray, fps: int) -> None:
            path.mkdir(parents=True, exist_ok=True)
            for t, frame in enumerate(frames):
                write_png(path / f"frame_{t:05d}.png", frame)
        return write_frames
    if Path(out).suffix.lower() not in (".mp4", ".gif"):
        raise RobotschoolError(f"{out}: --video must end in .mp4 or .gif, or '/' for a folder of PNG frames")
    if not Path(out).resolve().parent.is_dir():
        raise RobotschoolError(f"{out}: its folder does not exist")
    imageio = _imageio()
    return lambda path, frames, fps: _write_video(imageio, path, frames, fps)
