"""The teleop window: a PyBullet GUI in its own process, showing a simulation that runs elsewhere.

Why a separate process: in PyBullet's GUI mode every API call waits on the window's render thread (measured
here: 20-30 ms per call with a software renderer on a busy machine, so one control tick took ~0.5 s). The
control loop therefore runs the physics in an ordinary DIRECT client, exactly as batch generation does (same
numbers, same determinism), and this viewer process rebuilds the same scene in a GUI client and copies the
body poses into it as fast as it can draw ("GUI rendering decoupled from control", DESIGN.md). It also owns the
window's keyboard: PyBullet's getKeyboardEvents, with PyBullet's own shortcuts and panels switched off (World
does that for GUI clients), sent back to the control process with the time they were read.

Messages, control -> viewer: ("reset", state, params), ("frame", state, hud_lines, help_lines), ("quit",).
Viewer -> control: ("ready",), ("keys", {code: flags}, monotonic time), ("closed", reason).
"""
from __future__ import annotations

import multiprocessing as mp
import os
import time
from typing import Any, Sequence

import numpy as np

_KEY_IS_DOWN = 1


class ViewerClosed(Exception):
    """The window was closed (or the viewer process died)."""


def _viewer_main(conn, env_kwargs: dict[str, Any], settings) -> None:
    os.environ.setdefault("LP_NUM_THREADS", "1")     # one software-rendering thread, not one per core
    import pybullet

    from robotschool.env import RobotEnv
    from robotschool.teleop import Hud, follow_camera

    try:
        env = RobotEnv(env_kwargs["scene"], robot=env_kwargs.get("robot"), overrides=env_kwargs.get("overrides", ()),
                       cameras=[], gui=True)
    except Exception as e:           # reported to the control process, which prints one line
        conn.send(("closed", f"cannot open the window: {e}"))
        return
    p = env.world.p
    p.configureDebugVisualizer(p.COV_ENABLE_SHADOWS, 0)     # shadows double the software renderer's frame time
    hud = Hud(p, -1, settings)
    layout: list[tuple[int, list[int]]] = []
    view: list = [None]
    niced = False
    conn.send(("ready",))
    try:
        while True:
            frame = None
            while conn.poll():
                msg = conn.recv()
                if msg[0] == "quit":
                    return
                if msg[0] == "reset":
                    _, state, params = msg
                    p.configureDebugVisualizer(p.COV_ENABLE_RENDERING, 0)
                    env.reset_to(state, params)
                    layout = env.world._state_layout()
                    if not niced:          # drawing must never starve the control loop (after the first build)
                        os.nice(settings.window_nice)
                        niced = True
                    hud.forget(env.robot.body)
                    view[0] = None
                    frame = None
                    conn.send(("drawn",))
                elif msg[0] == "frame":
                    frame = msg
            keys = p.getKeyboardEvents()
            if keys:
                conn.send(("keys", dict(keys), time.monotonic()))
            if frame is not None and layout:
                _, state, lines, side = frame
                _show_state(p, layout, state)            # rendering is off here, so these calls are fast
                view[0] = follow_camera(p, env.robot.base_pose(), settings, view[0])
                hud.show(lines, side)
                p.configureDebugVisualizer(p.COV_ENABLE_RENDERING, 1)
                time.sleep(1.0 / settings.window_fps)    # draw for one frame period, then stop drawing
                p.configureDebugVisualizer(p.COV_ENABLE_RENDERING, 0)
                conn.send(("drawn",))
            elif not keys:
                time.sleep(0.005)
    except pybullet.error:
        conn.send(("closed", "window closed"))
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        pass
    finally:
        env.close()


def _show_state(p, layout, state: np.ndarray) -> None:
    """Copy poses (not velocities: nothing is simulated here) from a World.get_state vector."""
    k = 0
    for body, joints in layout:
        p.resetBasePositionAndOrientation(body, state[k:k + 3].tolist(), state[k + 3:k + 7].tolist())
        k += 13
        n = len(joints)
        if n:
            p.resetJointStatesMultiDof(body, joints, [[float(q)] for q in state[k:k + n]])
            k += 2 * n


class Viewer:
    """Control-process handle of the viewer process (see module docstring)."""

    def __init__(self, env_kwargs: dict[str, Any], settings, start_timeout: float = 120.0):
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_viewer_main, args=(child, env_kwargs, settings), name="robotschool-viewer",
                                daemon=True)
        self.proc.start()
        child.close()
        self._down: dict[int, int] = {}
        self._pending: dict[int, int] = {}
        self.last_key_time = time.monotonic()
        self.closed: str | None = None
        self.frames_drawn = 0
        self.timeout = settings.window_timeout_s
        self._sent_at = 0.0
        self._inflight = False           # a frame was sent and not drawn yet: skip frames, never queue them
        if not self.conn.poll(start_timeout):
            self.close()
            raise ViewerClosed("the viewer window did not open")
        msg = self.conn.recv()
        if msg[0] != "ready":
            self.close()
            raise ViewerClosed(msg[1])

    def _drain(self) -> None:
        try:
            while self.conn.poll():
                msg = self.conn.recv()
                if msg[0] == "keys":
                    _, keys, t = msg
                    for code, flags in keys.items():
                        self._pending[code] = self._pending.get(code, 0) | flags
                        if flags & _KEY_IS_DOWN:
                            self._down[code] = flags
                        else:
                            self._down.pop(code, None)
                    self.last_key_time = t
                elif msg[0] == "drawn":
                    self._inflight = False
                    self.frames_drawn += 1
                elif msg[0] == "closed":
                    self.closed = msg[1]
        except (EOFError, OSError):
            self.closed = self.closed or "viewer process ended"
        if self.closed is None and not self.proc.is_alive():
            self.closed = "viewer process ended"
        if self.closed is None and self._inflight and time.monotonic() - self._sent_at > self.timeout:
            # A window whose X connection died can leave the process alive but drawing nothing.
            self.closed = f"the window stopped responding for {self.timeout:g} s"
        if self.closed is not None:
            raise ViewerClosed(self.closed)

    def read_keys(self) -> dict[int, int]:
        """Keyboard events since the last call, merged: triggered/released flags OR'd, held keys kept down."""
        self._drain()
        out = dict(self._pending)
        for code, flags in self._down.items():
            out[code] = out.get(code, 0) | _KEY_IS_DOWN
        self._pending = {}
        return out

    def reset(self, state: np.ndarray, params: dict[str, Any]) -> None:
        self._inflight = True                    # rebuilding the scene: the first frame after it is the ack
        self._sent_at = time.monotonic() + 60.0                  # a rebuild takes much longer than a frame
        self._send(("reset", state, params))

    def wants_frame(self) -> bool:
        """True when the window has drawn the last frame sent (check it before building the next one: the
        control loop then spends nothing on frames a busy window would drop). Never blocks."""
        self._drain()
        return not self._inflight

    def frame(self, state: np.ndarray, lines: Sequence[str], side: Sequence[str] = ()) -> bool:
        """Send a frame unless the viewer is still drawing the last one (it shows the newest it gets).

        Never waits for the window: at most one frame is in flight, so the pipe never fills and `send` returns
        at once; a slow window shows fewer frames, the control loop keeps its rate."""
        if not self.wants_frame():
            return False
        self._inflight = True
        self._sent_at = time.monotonic()
        self._send(("frame", state, list(lines), list(side)))
        return True

    def _send(self, msg) -> None:
        try:
            self.conn.send(msg)
        except (BrokenPipeError, OSError):
            self.closed = self.closed or "viewer process ended"
            raise ViewerClosed(self.closed) from None

    def close(self) -> None:
        try:
            self.conn.send(("quit",))
        except (BrokenPipeError, OSError):
            pass
        self.proc.join(10.0)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(5.0)
