"""Batch generation: run a scene's scripted operator over seeded attempts and keep the successful episodes.

    summary = generate("parts_sorting", episodes=100, out="data/sorting.hdf5", seed=0)

Attempt `i` of a run with base seed `s` resets the env with `seed=[s, i]`, so it draws every random value
from `np.random.default_rng([s, i])`: the same (scene config, seed, i) gives the same episode bit for bit,
whatever else ran before it in the process. An attempt is the pure function `run_attempt(spec, seed, i)`,
which a process pool can call as it is (each process keeps one env per EnvSpec).

Episodes are stored with key `attempt_<i>`; `resume=True` skips the attempt indices already in the file
(they survive a crash or Ctrl-C, see recording/writer.py) and continues until `episodes` successes.
Everything the user can get wrong (scene, robot, cameras, `--set` overrides, output path) is checked
before the first attempt is simulated, and raises a one-line `RobotschoolError`.

**Workers.** `workers=K > 1` runs the attempts in a process pool ("forkserver" context where available,
else "spawn": never plain fork, the parent holds a PyBullet client). Attempt indices are submitted in
order, at most K + 1 in flight and 4K not yet written; results come back out of order and are
buffered, and the writer gets them strictly in attempt-index order. The file therefore holds exactly
what `workers=1` writes (the first N successes by attempt index, same demo numbering, bit-identical
arrays). With the pool, `generate` must be called under `if __name__ == "__main__":`. No new index
is submitted once the successes already known reach N; attempts that finish after the N-th success
in order are discarded (counted in `GenerateSummary.discarded`, never written). Each worker builds its
own env from the picklable `EnvSpec`; only episodes travel back. Workers ignore SIGINT: on Ctrl-C the
parent cancels what is pending, stops the workers, closes the writer (everything added stays) and
re-raises KeyboardInterrupt.

The pools themselves (process backend, Ctrl-C handling around worker starts) live in generate_pools.py.

**Ray.** `backend="ray"` runs the same scheduling over `workers` Ray actors (generate_ray.py), on a local
Ray the call starts and stops or on a cluster at `ray_address`: same lookahead, same ordered commits, same
file bit for bit.

**Verify.** `verify=True` replays every kept episode right after its attempt, in the process that ran it:
`reset_to(states[0], scene_params)` on a camera-less env of the same scene, step the recorded actions,
compare the state before every step with `states[t]` exactly (as `replay.replay_demo` does from the
file) and the final success flag. The result is stored with the episode as demo attrs `replay_ok` and
`replay_max_state_error`; the file is never rewritten.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import h5py
import numpy as np
import yaml

from robotschool.errors import ConfigError, OutputPathError, RobotschoolError
from robotschool.generate_pools import BACKENDS, make_pool, sigint_deferred
from robotschool.perturb import ATTR_PERTURB, OP_PERTURB_OFFSET, Perturbation, PerturbedDevice
from robotschool.recording import schema
from robotschool.recording.episode import Episode
from robotschool.recording.writer import DatasetWriter

_log = logging.getLogger(__name__)

ATTEMPT_KEY = "attempt_{:06d}"       # writer key of attempt i (stored as the demo attr robotschool_key)
ATTR_SEED = "seed"                   # data attr: base seed; demo attr: [base seed, attempt index]
ATTR_ATTEMPT = "attempt"             # demo attr: attempt index
ATTR_SCENE_PARAMS = "scene_params"   # demo attr: JSON of the drawn scene parameters (reset_to needs them)
ATTR_INSTRUCTION = schema.ATTR_INSTRUCTION   # demo attr: the task's language instruction
ATTR_ROBOT = "robot"                 # demo and data attr
ATTR_REPLAY_OK = "replay_ok"                     # demo attr (verify): replayed states bit-identical, success matches
ATTR_REPLAY_ERROR = "replay_max_state_error"     # demo attr (verify): max |replayed - recorded state|


@dataclass(frozen=True)
class EnvSpec:
    """Everything needed to build a RobotEnv (hashable and picklable, so a pool worker can build its own)."""

    scene: str
    robot: str | None = None
    overrides: tuple[str, ...] = ()
    cameras: tuple[str, ...] | None = None     # None: the scene's own camera list
    camera_size: int | None = None
    depth: bool | None = None

    def make(self):
        from robotschool.env import RobotEnv

        return RobotEnv(self.scene, robot=self.robot, overrides=list(self.overrides),
                        cameras=None if self.cameras is None else list(self.cameras),
                        camera_size=self.camera_size, depth=self.depth)


@dataclass
class GenerateSummary:
    successes: int          # successful episodes in the file for this job (resumed ones included)
    failures: int           # failed attempts run by this call
    attempts: int           # attempts run by this call (resumed ones not included)
    steps: int              # control steps simulated by this call (every attempt)
    seconds: float          # wall-clock time of this call
    file_size: int          # bytes of the output file at the end
    path: Path
    requested: int = 0      # the `episodes` asked for
    resumed: int = 0        # successes already in the file when this call started (resume)
    recorded_steps: int = 0  # control steps written to the file by this call
    workers: int = 1        # processes that ran attempts (1: in this process)
    discarded: int = 0      # attempts a worker finished beyond the last one needed (not written, not counted)
    verified: int = 0       # episodes written by this call that were replayed (verify=True)
    replay_ok: int = 0      # ... of which replayed bit-identically with the same success flag

    @property
    def complete(self) -> bool:
        return self.successes >= self.requested

    @property
    def episodes_per_hour(self) -> float:
        """Successful episodes recorded by this call per hour of wall-clock time (NaN if no time passed)."""
        new = self.successes - self.resumed
        return new * 3600.0 / self.seconds if self.seconds > 0 else math.nan

    @property
    def success_rate(self) -> float:
        """Successes per attempt among the attempts run by this call (NaN if none ran)."""
        new = self.successes - self.resumed
        return new / self.attempts if self.attempts else math.nan


# ------------------------------------------------------------------------------ one attempt

_ENVS: dict[EnvSpec, Any] = {}


def _env(spec: EnvSpec):
    env = _ENVS.get(spec)
    if env is None:
        env = _ENVS[spec] = spec.make()
    return env


def close_envs() -> None:
    """Close the envs `run_attempt` keeps (one per EnvSpec in this process)."""
    while _ENVS:
        _, env = _ENVS.popitem()
        env.close()


def run_attempt(spec: EnvSpec, seed: int, i: int, verify: bool = False, keep_failed: bool = False,
                perturb: Perturbation | None = None) -> tuple[int, Episode | None, bool, int]:
    """Run attempt `i` of base seed `seed`: reset with [seed, i], drive the scripted operator, record.

    Returns (i, episode or None if nothing was recorded, success, control steps). The result depends only
    on (spec, scene files, seed, i): the env is rebuilt from scratch by reset, so reusing it is safe.
    With `verify`, an episode that will be kept (successful, or any with `keep_failed`) is replayed at
    once and gets the attrs `replay_ok` and `replay_max_state_error` (see `replay_episode`).
    With `perturb`, the operator's hand positions are pushed off its path now and then (DART recovery demos,
    robotschool/perturb.py) and the offsets are stored as the operator stream `perturb_offset`.
    """
    from robotschool.devices.scripted import ScriptedDevice
    from robotschool.rollout import run_episode

    env = _env(spec)
    env.reset(seed=[seed, i])
    attrs = {
        ATTR_SEED: np.array([seed, i], dtype=np.int64),
        ATTR_ATTEMPT: i,
        ATTR_SCENE_PARAMS: json.dumps(env.params),
        ATTR_INSTRUCTION: env.task.instruction(env.params),
        ATTR_ROBOT: env.robot_name,
    }
    device = ScriptedDevice(env.make_oracle())
    if perturb is not None:
        device = PerturbedDevice(device, perturb, perturb.rng(seed, i))
    result = run_episode(env, device, attrs=attrs)
    episode, success = result.episode, bool(result.success)
    if perturb is not None and episode is not None:
        episode.operator[OP_PERTURB_OFFSET] = device.offset_stream()[:episode.num_samples]
    if verify and episode is not None and (success or keep_failed):
        ok, err = replay_episode(spec, episode)
        episode.attrs[ATTR_REPLAY_OK] = ok
        episode.attrs[ATTR_REPLAY_ERROR] = err
    return i, episode, success, int(result.steps)


def replay_episode(spec: EnvSpec, episode: Episode) -> tuple[bool, float]:
    """Replay an in-memory episode the way `replay.replay_demo` replays a stored one; return (ok, max error).

    A camera-less env of the same scene (rendering does not touch physics) is reset to `states[0]` with the
    episode's `scene_params` (through JSON, as read back from the file), stepped with the recorded actions,
    and the state before every step compared with `states[t]`. ok: every state bit-identical and the
    final success flag equal to the recorded one.
    """
    env = _env(dataclasses.replace(spec, cameras=(), camera_size=None, depth=None))
    states = np.asarray(episode.states)
    actions = np.asarray(episode.actions)
    env.reset_to(states[0], json.loads(episode.attrs[ATTR_SCENE_PARAMS]))
    equal, err = True, 0.0
    for t in range(actions.shape[0]):
        state = env.world.get_state()
        if state.shape != states[t].shape:
            return False, math.inf
        equal = equal and bool(np.array_equal(state, states[t]))
        err = max(err, float(np.max(np.abs(state - states[t]), initial=0.0)))
        env.step(actions[t])
    success_match = bool(env.evaluate()["success"]) == bool(episode.attrs.get(schema.ATTR_SUCCESS, False))
    return bool(equal and success_match), err


# ------------------------------------------------------------------------------ the batch

def generate(scene: str, episodes: int, out: str | Path, seed: int = 0, robot: str | None = None,
             overrides: Sequence[str] = (), cameras: Sequence[str] | None = (), camera_size: int | None = None,
             depth: bool | None = False, overwrite: bool = False, resume: bool = False, keep_failed: bool = False,
             max_attempts: int | None = None, progress: bool = True,
             create_parent: bool = False, workers: int = 1, verify: bool = False, backend: str = "process",
             ray_address: str | None = None, perturb: Perturbation | None = None) -> GenerateSummary:
    """Generate `episodes` successful scripted demos of `scene` into the HDF5 file `out`.

    `cameras=None` records the scene's own camera list; `()` records none. `camera_size=None` and
    `depth=None` likewise keep the scene's values. `create_parent` makes the output's folder (after every
    other check passed) instead of refusing a missing one. `max_attempts` (default
    5 * episodes + 10) bounds the attempt indices tried, over this call and the ones it resumes; when it
    is reached the run stops with a warning and the summary says fewer episodes than requested.
    `workers` > 1 runs attempts in that many processes; the file is the same as with 1 (module doc).
    `verify` replays every kept episode and stores `replay_ok` / `replay_max_state_error` (module doc).
    `backend="ray"` runs the attempts on `workers` Ray actors instead of processes, on a local Ray this
    call starts and stops, or on the running cluster at `ray_address` (generate_ray.py); same file.
    `perturb` records DART recovery demos (robotschool/perturb.py; its settings become the data attr
    `perturb`); None records the operator's own path, bit for bit as before the option existed.
    """
    start = time.monotonic()
    _check_int("episodes", episodes, 1)
    _check_int("seed", seed, 0)
    _check_int("workers", workers, 1)
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    if ray_address is not None and backend != "ray":
        raise ConfigError("--ray-address needs --backend ray")
    if backend == "ray":
        from robotschool.generate_ray import check_reachable, import_ray

        import_ray()                           # missing extra: one line, before anything is built
        if ray_address is not None:
            check_reachable(ray_address)       # no answer: one line now, not minutes of Ray retries
    if max_attempts is None:
        max_attempts = 5 * episodes + 10
    _check_int("max_attempts", max_attempts, 1)
    if camera_size is not None:
        _check_camera_size(camera_size)
    path = Path(out)
    _precheck_output(path, overwrite, resume, create_parent)
    spec = EnvSpec(scene, robot, tuple(overrides), None if cameras is None else tuple(cameras), camera_size, depth)
    summary = GenerateSummary(0, 0, 0, 0, 0.0, 0, path, requested=episodes, workers=workers)
    try:
        env = _env(spec)                       # validates scene, robot, overrides and cameras
        if resume:
            _check_resume_matches(path, env, seed, perturb)
        env.reset(seed=[seed, 0])              # state_size is known after a reset (no episode is run)
        data_attrs = dict(env.data_attrs())
        data_attrs[ATTR_SEED] = seed
        if perturb is not None:
            data_attrs[ATTR_PERTURB] = perturb.to_json()
        if create_parent:
            path.parent.mkdir(parents=True, exist_ok=True)
        with DatasetWriter(path, data_attrs, overwrite=overwrite, resume=resume) as writer:
            done = writer.done_keys()
            if done:
                writer.flush()
                summary.resumed = summary.successes = _count_successes(path, done)
            todo = (i for i in range(max_attempts) if ATTEMPT_KEY.format(i) not in done)
            with _progress_bar(episodes, summary.successes, progress) as bar:
                if summary.successes < episodes:
                    if workers == 1 and backend == "process":
                        results = (run_attempt(spec, seed, i, verify, keep_failed, perturb) for i in todo)
                        _consume(results, writer, summary, episodes, keep_failed, bar)
                    else:
                        close_envs()           # the workers build their own; free this one's memory
                        pool = make_pool(backend, workers, ray_address)
                        _run_pool(pool, spec, seed, todo, workers, verify, writer, summary, episodes,
                                  keep_failed, bar, perturb)
        if summary.successes < episodes:
            _log.warning("robotschool: warning: stopped after attempt index %d (max_attempts) with %d of %d "
                         "successful episodes; raise --max-attempts or check the scene",
                         max_attempts - 1, summary.successes, episodes)
    finally:
        close_envs()
        summary.seconds = time.monotonic() - start
        summary.file_size = path.stat().st_size if path.exists() else 0
    return summary


def _consume(results: Iterator[tuple[int, Episode | None, bool, int]], writer: DatasetWriter,
             summary: GenerateSummary, episodes: int, keep_failed: bool, bar: Any) -> None:
    """Hand attempt results, already in attempt-index order, to the writer until `episodes` successes."""
    for i, episode, success, steps in results:
        _take(i, episode, success, steps, writer, summary, keep_failed, bar)
        if summary.successes >= episodes:
            return


def _take(i: int, episode: Episode | None, success: bool, steps: int, writer: DatasetWriter,
          summary: GenerateSummary, keep_failed: bool, bar: Any) -> None:
    """Account for one attempt result and write its episode if it is kept (the caller keeps index order)."""
    summary.attempts += 1
    summary.steps += steps
    if episode is not None and (success or keep_failed):
        writer.add(episode, key=ATTEMPT_KEY.format(i))
        summary.recorded_steps += episode.num_samples
        if ATTR_REPLAY_OK in episode.attrs:
            summary.verified += 1
            summary.replay_ok += int(bool(episode.attrs[ATTR_REPLAY_OK]))
    if success:
        summary.successes += 1
    else:
        summary.failures += 1
    bar.set_postfix({"successes": summary.successes, "failures": summary.failures,
                     "rate": f"{summary.success_rate:.0%}"}, refresh=False)
    bar.update(int(success))
    bar.refresh()


# ------------------------------------------------------------------------------ the worker pools

def _run_pool(pool: Any, spec: EnvSpec, seed: int, todo: Iterator[int], workers: int, verify: bool,
              writer: DatasetWriter, summary: GenerateSummary, episodes: int, keep_failed: bool, bar: Any,
              perturb: Perturbation | None = None) -> None:
    """Run the attempts of `todo` (increasing indices) on `pool`'s `workers`; write results in index order.

    At most workers + 1 attempts are in flight (running or queued: one of lookahead keeps every worker
    busy), and at most 4 * workers outstanding (in flight, or finished but waiting for an earlier index,
    which bounds the memory of buffered episodes). A new index is submitted only while the successes
    known so far (written, plus finished-but-buffered) are fewer than `episodes`: a later index could
    not be among the first `episodes` successes. Results are handed over in index order; the loop stops
    at the `episodes`-th success, and whatever else finished is discarded. The pool (process or Ray) is
    shut down here, whatever happens.
    """
    in_flight, window = workers + 1, 4 * workers
    pending: dict[int, cf.Future] = {}          # submitted, not yet handed to the writer, by index
    order: list[int] = []                       # submitted indices, increasing; order[head] is next to write
    head = 0
    exhausted = False
    clean = False
    try:
        while True:
            known = summary.successes + sum(1 for f in pending.values()
                                            if f.done() and not f.cancelled() and f.exception() is None
                                            and f.result()[2])
            while (not exhausted and known < episodes and len(pending) < window
                   and sum(1 for f in pending.values() if not f.done()) < in_flight):
                i = next(todo, None)
                if i is None:
                    exhausted = True
                    break
                with sigint_deferred():       # a worker start cut in half by Ctrl-C is never stopped
                    pending[i] = pool.submit(run_attempt, spec, seed, i, verify, keep_failed, perturb)
                order.append(i)
            if head == len(order):
                break                           # nothing outstanding and nothing left to submit
            fut = pending[order[head]]
            if not fut.done():
                cf.wait([f for f in pending.values() if not f.done()], return_when=cf.FIRST_COMPLETED)
                continue                        # top up the window, then look at the head again
            while head < len(order) and pending[order[head]].done():
                i = order[head]
                try:
                    result = pending.pop(i).result()
                except cf.BrokenExecutor as exc:
                    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "out of memory?"
                    raise RobotschoolError(f"a generate worker died ({detail}); the episodes written so far "
                                           f"are kept, continue with --resume") from None
                head += 1
                _take(*result, writer, summary, keep_failed, bar)
                if summary.successes >= episodes:
                    break
            if summary.successes >= episodes:
                break
        clean = True
    finally:
        for f in pending.values():
            f.cancel()
        summary.discarded = sum(1 for f in pending.values() if f.done() and not f.cancelled())
        running = any(not f.done() for f in pending.values())
        if running or not clean:
            pool.terminate()                    # unneeded attempts, Ctrl-C or an error: do not wait for them
        pool.shutdown(wait=clean and not running, cancel_futures=True)


# ------------------------------------------------------------------------------ validation helpers

def _check_int(name: str, value: Any, lo: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ConfigError(f"{name} must be an integer >= {lo}, got {value!r}")


def _check_camera_size(size: Any) -> None:
    from robotschool.tasks.base import CameraSettings

    meta = {f.name: f.metadata for f in dataclasses.fields(CameraSettings)}["width"]
    lo, hi = meta["lo"], meta["hi"]
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not lo <= size <= hi:
        raise ConfigError(f"camera size must be an integer from {lo} to {hi} pixels, got {size!r}")


def _precheck_output(path: Path, overwrite: bool, resume: bool, create_parent: bool = False) -> None:
    """The cheap output-path checks, before the env is built (the writer repeats them authoritatively)."""
    if overwrite and resume:
        raise OutputPathError(f"{path}: pass either --overwrite or --resume, not both")
    if path.is_dir():
        raise OutputPathError(f"{path} is a directory; give a file name inside it, e.g. {path / 'demos.hdf5'}")
    if create_parent and not path.parent.exists():
        return
    if not path.parent.is_dir():
        raise OutputPathError(f"cannot write {path}: directory {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot write {path}: directory {path.parent} is not writable")
    if path.exists() and not (overwrite or resume):
        raise OutputPathError(f"{path} exists; pass --overwrite to replace it or --resume to continue it")


def _check_resume_matches(path: Path, env, seed: int, perturb: Perturbation | None = None) -> None:
    """Refuse to resume a file made with another seed or env (its attempt keys would mean other episodes)."""
    if not path.exists():
        return
    try:
        with h5py.File(path, "r") as f:
            data = f.get(schema.DATA)
            attrs = dict(data.attrs) if isinstance(data, h5py.Group) else {}
    except OSError:
        return       # the writer reports an unreadable file
    if ATTR_SEED in attrs and int(attrs[ATTR_SEED]) != seed:
        raise OutputPathError(f"{path} was generated with --seed {int(attrs[ATTR_SEED])}; resume it with that "
                              f"seed, or write to another file")
    old_p, new_p = attrs.get(ATTR_PERTURB), perturb.to_json() if perturb is not None else None
    if ATTR_SEED in attrs and (str(old_p) if old_p is not None else None) != new_p:
        raise OutputPathError(f"{path} was generated with perturbation {old_p or 'none'}, this run has "
                              f"{new_p or 'none'}; resume with the same --perturb options, or write to another file")
    if schema.ATTR_ENV_ARGS in attrs:
        old = json.loads(attrs[schema.ATTR_ENV_ARGS]).get("env_kwargs", {})
        new = env.env_kwargs()
        diff = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        if diff:
            k = diff[0]
            raise OutputPathError(f"{path} was generated with {k}={old.get(k)!r}, this run has {k}={new.get(k)!r}; "
                                  f"resume with the same options, or write to another file")
    if schema.ATTR_CONFIG in attrs:          # the scene YAML (or a default in the code) changed since the file began
        old_cfg = yaml.safe_load(attrs[schema.ATTR_CONFIG])
        new_cfg = yaml.safe_load(env.config_yaml())
        where = _first_difference(old_cfg, new_cfg)
        if where is not None:
            key, a, b = where
            raise OutputPathError(f"{path} was generated with scene config {key}={a!r}, this run has {key}={b!r}; "
                                  f"its episodes would not match the new ones: resume with the config it was made "
                                  f"with, or write to another file (robotschool merge joins files)")


_MISSING = "<not set>"


def _first_difference(a: Any, b: Any, key: str = "") -> tuple[str, Any, Any] | None:
    """The first dotted key whose values differ between two parsed configs, with both values; None if equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            sub = f"{key}.{k}" if key else str(k)
            if k not in a or k not in b:
                return sub, a.get(k, _MISSING), b.get(k, _MISSING)
            found = _first_difference(a[k], b[k], sub)
            if found is not None:
                return found
        return None
    return None if a == b else (key, a, b)


def _count_successes(path: Path, keys: set[str]) -> int:
    """How many of the demos with these writer keys are successful (read from the committed file)."""
    n = 0
    with h5py.File(path, "r") as f:
        for demo in f[schema.DATA].values():
            key = demo.attrs.get(schema.ATTR_KEY)
            if key is not None and str(key) in keys and bool(demo.attrs.get(schema.ATTR_SUCCESS, False)):
                n += 1
    return n


@contextlib.contextmanager
def _progress_bar(total: int, initial: int, enabled: bool) -> Iterator[Any]:
    from tqdm import tqdm

    bar = tqdm(total=total, initial=initial, unit="ep", desc="generate", dynamic_ncols=True,
               disable=not (enabled and sys.stderr.isatty()))
    try:
        yield bar
    finally:
        bar.close()


__all__ = ["EnvSpec", "GenerateSummary", "generate", "run_attempt", "replay_episode", "close_envs"]
