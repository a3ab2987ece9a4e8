"""The interactive teleoperation session: PyBullet window, a live device, episodes recorded on demand.

    robotschool teleop --scene parts_sorting --device keyboard --out data/teleop.hdf5

The physics runs here in a DIRECT client (as in batch generation); the window is a viewer process
(robotschool/viewer.py) that mirrors the scene, draws the HUD and reads the keys. One loop, paced by the wall
clock at the scene's control rate. Each tick polls the device, acts on its episode events, and runs
`rollout.ControlLoop.tick` (the same poll -> retarget -> encode -> step -> record code as scripted generation),
then sends the new state and HUD lines to the viewer. Episode state machine:

    idle --start--> recording --save--> (episode committed to the file) --> scene reset --> idle
                              --discard / reset--> scene reset --> idle
    any --quit, window closed, Ctrl-C--> writer closed (every saved episode is already in the file)

A saved episode is exactly what `generate` writes (same schema, demo attrs seed / scene_params / instruction /
robot, plus device and operator_id), committed at once with `DatasetWriter.flush`, so nothing that was saved
can be lost by whatever happens afterwards. Scene resets draw from `default_rng([seed, i])`, i counting resets.

Timing. Ticks run on deadlines (start + k / control_hz; lateness never accumulates); a tick whose deadline
passed while the previous one ran is skipped and counted (TeleopSummary: missed while driving, paused while a
scene was rebuilt), and the summary keeps each tick's wall and CPU time so a busy machine can be told apart
from our own overrun. The window never holds the loop back: a frame is built and sent only when the viewer has
drawn the last one. The live IK budget (teleop.yaml `ik_budget`, control/ik.py IKBudget) caps the IK's work per
tick (an out-of-reach target otherwise costs tens of ms); the env stores it in env_args, so replays match.

Latency: the loop gives env.step a wall clock, so every recorded step has `operator/timestamp` (when the device
sample was taken) and `operator/applied_time` (env.step's `applied_at`: when the joint targets reached the motors).
"""
from __future__ import annotations

import dataclasses
import gc
import json
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from robotschool import config
from robotschool.control import ik_numba
from robotschool.control.ik import IKBudget
from robotschool.devices.base import Device
from robotschool.env import RobotEnv
from robotschool.paths import configs_dir
from robotschool.recording.recorder import Recorder
from robotschool.recording.writer import DatasetWriter
from robotschool.rollout import ControlLoop
from robotschool.types import ARMS, EVENT_DISCARD, EVENT_QUIT, EVENT_RESET, EVENT_SAVE, EVENT_START

IDLE, RECORDING, FULL = "idle", "recording", "full (horizon reached: save or discard)"


@dataclass(frozen=True)
class TeleopSettings:
    camera_distance: float = field(default=1.6, metadata=config.check(lo=0.1, hi=20.0))
    camera_yaw: float = 0.0
    camera_pitch: float = field(default=-35.0, metadata=config.check(lo=-89.0, hi=89.0))
    camera_target_height: float = 0.9
    hud_text_size: float = field(default=1.2, metadata=config.check(lo=0.1, hi=10.0))
    hud_height: float = 2.0
    hud_line_spacing: float = field(default=0.07, metadata=config.check(lo=0.0, hi=1.0))
    hud_side: float = 0.55
    window_timeout_s: float = field(default=10.0, metadata=config.check(lo=1.0, hi=600.0))
    window_nice: int = field(default=5, metadata=config.check(lo=0, hi=19))
    window_fps: float = field(default=15.0, metadata=config.check(lo=1.0, hi=120.0))
    ik_budget: IKBudget = field(default_factory=IKBudget)     # live IK caps (control/ik.py); batch keeps full IK
    reach_warning_ticks: int = field(default=3, metadata=config.check(lo=1, hi=1000))
    gc_generation: int = field(default=2, metadata=config.check(lo=0, hi=2))   # collected after every tick


def load_settings(overrides: Sequence[str] = ()) -> TeleopSettings:
    """configs/devices/teleop.yaml with overrides. Its IK kernel `numba` needs the `fast` extra: without numba
    installed the live IK runs on numpy (a warning says so), and the files record the kernel that ran."""
    settings = config.load(TeleopSettings, configs_dir() / "devices" / "teleop.yaml", overrides)
    if settings.ik_budget.kernel == "numba" and not ik_numba.available():
        logging.getLogger(__name__).warning(
            "teleop: numba is not installed, so the live IK runs on numpy (about 1 ms more per tick); "
            "pip install 'robotschool[fast]' for the compiled kernel")
        settings = dataclasses.replace(settings, ik_budget=dataclasses.replace(settings.ik_budget, kernel="numpy"))
    return settings


@dataclass(frozen=True)
class LiveContext:
    """What a live device may use to open itself (a device never touches the env itself)."""

    read_keys: Callable[[], Any]          # the GUI client's getKeyboardEvents
    control_hz: float
    operator_id: str = "human"
    overrides: tuple[str, ...] = ()       # key=value overrides of the device's YAML
    options: dict[str, Any] = field(default_factory=dict)   # device-specific CLI options (host, port, token)


@dataclass
class TeleopSummary:
    """What a session did, and its timing, so a missed tick can be told apart from a busy machine.

    Ticks are scheduled on deadlines (start + k * period, never "sleep one period after the work"), so lateness
    does not accumulate. A tick whose deadline passed before the previous one was done is skipped: `missed_ticks`
    counts those while the operator was driving, `paused_ticks` those skipped while the session rebuilt the
    scene (start, save, discard, reset: nothing is being controlled then). `work` is each tick's wall time and
    `work_cpu` the CPU time this thread spent on it: a tick whose wall time is far above its CPU time was waiting
    for a CPU (other processes), not overrunning. `lateness` is how late each tick started after its deadline.
    """

    saved: int = 0
    discarded: int = 0
    ticks: int = 0
    missed_ticks: int = 0          # control ticks skipped (their deadline passed during the previous tick)
    paused_ticks: int = 0          # ticks skipped while the scene was rebuilt (episode events)
    latencies: list[float] = field(default_factory=list)   # applied_time - timestamp per tick, seconds
    compute: list[float] = field(default_factory=list)     # device poll -> targets applied (wall), seconds
    compute_cpu: list[float] = field(default_factory=list)  # the same span in this thread's CPU time, seconds
    work: list[float] = field(default_factory=list)        # whole tick incl. physics and viewer (wall), seconds
    work_cpu: list[float] = field(default_factory=list)    # whole tick, this thread's CPU time, seconds
    lateness: list[float] = field(default_factory=list)    # tick start - its deadline, seconds
    ended_by: str = ""

    def timing_lines(self, period: float) -> list[str]:
        """Percentiles (ms) of the timing lists, one line each, for the CLI and the benchmark."""
        def pct(values: list[float]) -> str:
            if not values:
                return "n/a"
            v = np.asarray(values) * 1e3
            return f"median {np.median(v):.2f}, p99 {np.percentile(v, 99):.2f}, max {v.max():.2f} ms"
        over = sum(w > period for w in self.work)
        over_cpu = sum(w > period for w in self.work_cpu)
        return [f"compute:      {pct(self.compute)} (device poll -> joint targets applied, wall)",
                f"compute cpu:  {pct(self.compute_cpu)} (same span, CPU time of the control thread)",
                f"tick work:    {pct(self.work)} wall; {over} ticks over the {period * 1e3:g} ms period",
                f"tick cpu:     {pct(self.work_cpu)}; {over_cpu} ticks over the period",
                f"lateness:     {pct(self.lateness)} (tick start after its deadline)"]


def follow_camera(p, base, s: TeleopSettings, last: tuple | None) -> tuple:
    """Keep the GUI camera behind the robot as it walks; only calls PyBullet when the view changed."""
    yaw = math.degrees(math.atan2(base.rot[1, 0], base.rot[0, 0]))
    view = (round(float(base.pos[0]), 2), round(float(base.pos[1]), 2), round(yaw, 1))
    if view != last:
        p.resetDebugVisualizerCamera(s.camera_distance, yaw - 90.0 + s.camera_yaw, s.camera_pitch,
                                     [float(base.pos[0]), float(base.pos[1]), s.camera_target_height])
    return view


class Hud:
    """On-screen text lines via addUserDebugText, each line one item updated in place
    (replaceItemUniqueId) and only when its text changed; extra lines are removed, so nothing leaks."""

    def __init__(self, p, body: int, settings: TeleopSettings):
        self.p, self.body, self.s = p, body, settings
        self.items: list[tuple[int, tuple]] = []      # (debug item id, (text, position))

    def forget(self, body: int) -> None:
        """After resetSimulation every debug item is gone: start over (the robot body may be new too)."""
        self.items, self.body = [], body

    def show(self, lines: Sequence[str], side: Sequence[str] = ()) -> None:
        """`lines` in a column to the robot's left, `side` (the key map) in a column to its right."""
        p, s = self.p, self.s
        placed = [(t, [0.0, s.hud_side, s.hud_height - i * s.hud_line_spacing]) for i, t in enumerate(lines)]
        placed += [(t, [0.0, -s.hud_side, s.hud_height - i * s.hud_line_spacing]) for i, t in enumerate(side)]
        for i, (text, pos) in enumerate(placed):
            color = [0.8, 0.1, 0.1] if text.startswith("!") else [0.05, 0.05, 0.05]
            key = (text, tuple(pos))
            if i < len(self.items):
                uid, old = self.items[i]
                if old == key:
                    continue
                uid = p.addUserDebugText(text, pos, color, s.hud_text_size, parentObjectUniqueId=self.body,
                                         replaceItemUniqueId=uid)
                self.items[i] = (uid, key)
            else:
                uid = p.addUserDebugText(text, pos, color, s.hud_text_size, parentObjectUniqueId=self.body)
                self.items.append((uid, key))
        while len(self.items) > len(placed):
            uid, _ = self.items.pop()
            p.removeUserDebugItem(uid)


class TeleopSession:
    """Runs the interactive loop until quit, window close or `max_seconds` (see module docstring).

    `env` is a DIRECT env (the physics); `viewer` shows it (robotschool/viewer.py). Without a viewer the loop
    runs headless (the VR server tests and benchmarks use that).
    """

    def __init__(self, env: RobotEnv, device: Device, writer: DatasetWriter, viewer=None, seed: int = 0,
                 settings: TeleopSettings | None = None, clock: Callable[[], float] = time.monotonic,
                 max_seconds: float | None = None, log: Callable[[str], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.env, self.device, self.writer, self.viewer, self.seed = env, device, writer, viewer, seed
        self.s = settings or TeleopSettings()
        self.clock, self.sleep, self.max_seconds = clock, sleep, max_seconds
        self.log = log or (lambda text: print(text, flush=True))
        self.state = IDLE
        self.resets = 0
        self.summary = TeleopSummary()
        self.loop: ControlLoop | None = None
        self.recorder: Recorder | None = None     # the episode being recorded (also while FULL)
        self.last_tick = None
        self._cpu_at_apply = 0.0
        self._unreached = {arm: 0 for arm in ARMS}    # consecutive ticks each hand's target was not reached

    # -- episode lifecycle ---------------------------------------------------------------------------------
    def _reset_scene(self) -> None:
        env = self.env
        if not (self.resets == 0 and env.params is not None):
            env.reset(seed=[self.seed, self.resets])
        self.resets += 1
        if self.viewer is not None:
            self.viewer.reset(env.world.get_state(), env.params)
        if self.loop is None:
            self.loop = ControlLoop(env, self.device, None, clock=self._apply_clock)
        else:
            self.loop.reset()
        self.loop.recorder = self.recorder = None
        reset_hands = getattr(self.device, "reset_hands", None)
        if reset_hands is not None:
            reset_hands()
        self.state = IDLE

    def _restart_here(self) -> None:
        """Rebuild the world in its current state before recording, exactly as replay will (`reset_to`).

        Why: a world that has been stepped carries solver caches and motor targets that are not part of the
        state vector, so its next steps differ slightly from a rebuilt one's; a demo recorded from a rebuilt
        world replays bit for bit from its first state, like a generated one. The retargeter keeps its targets.
        """
        env = self.env
        env.reset_to(env.world.get_state(), env.params)
        self.loop.resync()

    def _save(self) -> None:
        loop, env = self.loop, self.env
        rec = self.recorder
        if rec is None or not len(rec):
            self.log("teleop: nothing recorded yet; press start first")
            return
        success = bool(env.evaluate()["success"])
        attrs = {"success": success, "device": self.device.name, "operator_id": self.device.operator_id,
                 "seed": np.array([self.seed, self.resets - 1], dtype=np.int64),
                 "scene_params": json.dumps(env.params), "instruction": env.task.instruction(env.params),
                 "robot": env.robot_name}
        episode = rec.finish(loop.obs, attrs)
        self.writer.add(episode)
        self.writer.flush()                  # committed now: nothing that happens later can lose it
        self.summary.saved += 1
        self.log(f"teleop: saved episode {self.summary.saved} ({len(rec)} steps, success={success})")
        self._reset_scene()

    def _on_events(self, events: Sequence[str]) -> bool:
        """Act on episode events; False means quit."""
        for ev in events:
            if ev == EVENT_QUIT:
                return False
            if ev == EVENT_START and self.state == IDLE:
                self._restart_here()
                self.loop.recorder = self.recorder = Recorder()
                self.state = RECORDING
                self.log("teleop: recording")
            elif ev == EVENT_SAVE and self.state != IDLE:
                self._save()
            elif ev in (EVENT_DISCARD, EVENT_RESET):
                if self.state != IDLE:
                    self.summary.discarded += 1
                    self.log("teleop: episode discarded")
                self._reset_scene()
        return True

    # -- the loop ------------------------------------------------------------------------------------------
    def _apply_clock(self) -> float:
        """The ControlLoop's clock (env.step calls it right after applying the targets); also notes this
        thread's CPU time then, so the summary can say how much of the sample -> targets span was our work."""
        self._cpu_at_apply = time.thread_time()
        return self.clock()

    def run(self) -> TeleopSummary:
        from robotschool.viewer import ViewerClosed

        period = 1.0 / self.env.config.control_hz
        window_ready = False
        summary = self.summary
        gc_was_enabled = gc.isenabled()
        try:
            self._reset_scene()
            # Python's garbage collector would otherwise run whenever allocations pile up, often between a
            # device sample and its joint targets (a third of the ticks, up to several ms). Objects from the set-up
            # are frozen (never traversed again) and the collector runs in each tick's slack instead.
            gc.freeze()
            gc.disable()
            start = next_tick = self.clock()
            paused = False               # the previous tick handled an episode event (scene rebuilt)
            while self.max_seconds is None or self.clock() - start < self.max_seconds:
                now = self.clock()
                if now < next_tick:
                    self.sleep(next_tick - now)
                    now = self.clock()
                if now - next_tick >= period:     # the following deadlines passed already: skip those ticks
                    skipped = int((now - next_tick) / period)
                    if paused:
                        summary.paused_ticks += skipped
                    else:
                        summary.missed_ticks += skipped
                    next_tick += skipped * period
                summary.lateness.append(now - next_tick)
                next_tick += period
                tick_cpu0 = time.thread_time()
                self.loop.prepare()              # sample-independent work first: off the input-to-command path
                t0, cpu0 = self.clock(), time.thread_time()
                cmd = self.device.poll(self.loop.obs, self.env.time)
                paused = bool(cmd.events)
                if cmd.events:
                    if not self._on_events(cmd.events):
                        summary.ended_by = "quit"
                        break
                    t0, cpu0 = self.clock(), time.thread_time()    # compute spans the control work, not the reset
                tick = self.loop.tick(cmd)
                self.last_tick = tick
                summary.ticks += 1
                for arm in ARMS:
                    ok = tick.info["targets"].ik[arm].reachable and not self.loop.retarget.clamped[arm]
                    self._unreached[arm] = 0 if ok else self._unreached[arm] + 1
                if tick.applied_at is not None:
                    summary.latencies.append(tick.applied_at - cmd.timestamp)
                    if not cmd.events:
                        summary.compute.append(tick.applied_at - t0)
                        summary.compute_cpu.append(self._cpu_at_apply - cpu0)
                if self.state == RECORDING and len(self.recorder) >= self.env.max_steps:
                    self.state = FULL
                    self.loop.recorder = None
                if self.viewer is not None:
                    if self.viewer.wants_frame():       # never queues: a busy window just skips frames
                        self.viewer.frame(self.env.world.get_state(), self.hud_lines(tick), self.help_lines())
                    if not window_ready and self.viewer.frames_drawn:
                        window_ready = True
                        self.log("teleop: window ready")
                gc.collect(self.s.gc_generation)    # after the targets went out: part of the tick's work
                if not cmd.events:
                    summary.work.append(self.clock() - now)
                    summary.work_cpu.append(time.thread_time() - tick_cpu0)
            else:
                summary.ended_by = "time limit"
        except ViewerClosed:
            summary.ended_by = "window closed"
        except KeyboardInterrupt:
            summary.ended_by = "interrupted"
        finally:
            gc.unfreeze()
            if gc_was_enabled:
                gc.enable()
        if self.state != IDLE:
            self.log("teleop: the episode in progress was not saved")
        if self.loop is not None:
            self.loop.close()
        return summary

    def hud_lines(self, tick) -> list[str]:
        n = self.summary.saved
        rec = {IDLE: "idle (start: t)", RECORDING: f"RECORDING {len(self.recorder) if self.recorder else 0} steps "
               f"(save: y, discard: x)", FULL: FULL}[self.state]
        lines = [f"saved {n} | episode {n + 1}: {rec}", f"success: {'YES' if tick.info['success'] else 'no'}"]
        status = getattr(self.device, "status_lines", None)
        lines += status() if status is not None else []
        for arm in ARMS:
            # a few ticks' grace: the live IK budget converges on a fast-moving target over a tick or two
            if self._unreached[arm] >= self.s.reach_warning_ticks:
                lines.append(f"! {arm} hand target out of reach")
        return lines

    def help_lines(self) -> list[str]:
        return self.device.help_lines() if getattr(self.device, "help_visible", False) else []
