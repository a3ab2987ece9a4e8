"""World: one PyBullet client, its physics settings, and the full simulation state as a flat vector.

Every pybullet call in robotschool goes through `world.p` (a BulletClient bound to this World's own
connection), never the module-global client, so two Worlds in one process never see each other.

Determinism: a World is rebuilt from scratch (`reset()` = resetSimulation + fixed engine parameters) rather
than rewound with restoreState, because Bullet's contact caches and compound shapes make restoreState
inexact. `get_state()` / `set_state()` cover every body's base pose and velocity, every joint's position and
velocity, and the extra state of registered `StateExtension`s (e.g. grasp constraints).

`get_state()` right after `set_state(s)` (before any step) returns `s` itself. PyBullet's pose round trip is
not exact (a base pose is stored through its inertial frame, so getBasePositionAndOrientation after
resetBasePositionAndOrientation can differ in the last bit of a quaternion), and the recorded first state of
an episode must be the very vector `reset_to` will set again, or an exact replay is impossible.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pybullet
from pybullet_utils import bullet_client

from robotschool.sim.quiet import quiet_fd

_BODY_BASE = 13  # pos 3 + quat 4 + linear velocity 3 + angular velocity 3


@dataclass(frozen=True)
class PhysicsSettings:
    """Engine numbers; loaded from the scene YAML's `physics:` section."""

    hz: int = 240
    solver_iterations: int = 50
    gravity: float = -9.81
    deterministic_overlapping_pairs: bool = True


class StateExtension(Protocol):
    """Extra simulation state that is not a body or joint (e.g. constraints created at run time)."""

    state_size: int

    def get_state(self) -> np.ndarray: ...

    def set_state(self, state: np.ndarray) -> None: ...


class World:
    """One physics simulation. DIRECT (headless) by default; `gui=True` opens the PyBullet window."""

    def __init__(self, physics: PhysicsSettings | None = None, gui: bool = False):
        self.physics = physics or PhysicsSettings()
        self.gui = gui
        if gui:
            self.p = bullet_client.BulletClient(connection_mode=pybullet.GUI)
        else:
            with quiet_fd(1):  # PyBullet prints "argv[0]=" from C for every new DIRECT client
                self.p = bullet_client.BulletClient(connection_mode=pybullet.DIRECT)
        self.client_id: int = self.p._client
        self._bound: dict[str, functools.partial] = {}
        self.dt = 1.0 / self.physics.hz
        self.extensions: list[StateExtension] = []
        self.step_count = 0
        self._layout: list[tuple[int, list[int]]] | None = None
        self._set_vector: np.ndarray | None = None   # the state last set, valid until the next step/reset
        self.reset()

    def fn(self, name: str):
        """`world.p.<name>` bound once: the BulletClient builds a new bound function on every attribute access
        (a few microseconds each), which adds up in the live control tick's motor commands."""
        bound = self._bound.get(name)
        if bound is None:
            bound = self._bound[name] = functools.partial(getattr(pybullet, name), physicsClientId=self.client_id)
        return bound

    # -- lifecycle -----------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Empty the world and apply the fixed engine settings (call before (re)building a scene)."""
        p = self.p
        p.resetSimulation()
        p.setPhysicsEngineParameter(
            fixedTimeStep=self.dt,
            numSolverIterations=self.physics.solver_iterations,
            numSubSteps=0,
            deterministicOverlappingPairs=int(self.physics.deterministic_overlapping_pairs),
            enableFileCaching=0,
        )
        p.setGravity(0, 0, self.physics.gravity)
        self.extensions = []
        self.step_count = 0
        self._layout = None
        self._set_vector = None
        if self.gui:
            p.configureDebugVisualizer(p.COV_ENABLE_KEYBOARD_SHORTCUTS, 0)
            p.configureDebugVisualizer(p.COV_ENABLE_GUI, 0)

    def close(self) -> None:
        try:
            if self.p._client >= 0:
                self.p.disconnect()
        except pybullet.error:
            pass
        self.p._client = -1

    def __enter__(self) -> "World":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def time(self) -> float:
        """Simulated seconds since the last reset (counted in physics steps, never wall-clock)."""
        return self.step_count * self.dt

    def step(self, n: int = 1) -> None:
        self._set_vector = None
        for _ in range(n):
            self.p.stepSimulation()
        self.step_count += n

    def add_extension(self, ext: StateExtension) -> None:
        self.extensions.append(ext)

    # -- state ---------------------------------------------------------------------------------------------
    def _state_layout(self) -> list[tuple[int, list[int]]]:
        """(body id, movable joint indices) for every body, in id order; cached until the next reset."""
        if self._layout is None:
            p = self.p
            layout = []
            for i in range(p.getNumBodies()):
                body = p.getBodyUniqueId(i)
                joints = [j for j in range(p.getNumJoints(body))
                          if p.getJointInfo(body, j)[2] in (p.JOINT_REVOLUTE, p.JOINT_PRISMATIC)]
                layout.append((body, joints))
            self._layout = layout
        return self._layout

    def invalidate_layout(self) -> None:
        """Call after adding or removing bodies outside a rebuild."""
        self._layout = None
        self._set_vector = None

    @property
    def state_size(self) -> int:
        return (sum(_BODY_BASE + 2 * len(j) for _, j in self._state_layout())
                + sum(e.state_size for e in self.extensions))

    def get_state(self) -> np.ndarray:
        """The whole simulation state as float64: per body base pose+velocity and joint pos+vel, then extensions.

        Before any step after `set_state(s)`, this is `s` (a copy): see the module docstring."""
        if self._set_vector is not None:
            return self._set_vector.copy()
        p = self.p
        parts: list = []
        for body, joints in self._state_layout():
            pos, orn = p.getBasePositionAndOrientation(body)
            lin, ang = p.getBaseVelocity(body)
            parts.extend((pos, orn, lin, ang))
            if joints:
                js = p.getJointStates(body, joints)
                parts.append([s[0] for s in js])
                parts.append([s[1] for s in js])
        flat = np.fromiter((v for part in parts for v in part), dtype=np.float64)
        if self.extensions:
            flat = np.concatenate([flat] + [np.asarray(e.get_state(), dtype=np.float64) for e in self.extensions])
        return flat

    def set_state(self, state: np.ndarray) -> None:
        """Put every body and joint exactly where `state` says (the world must hold the same bodies)."""
        state = np.asarray(state, dtype=np.float64)
        if state.shape != (self.state_size,):
            raise ValueError(f"state has shape {state.shape}, this world needs ({self.state_size},): "
                             f"was it recorded with the same scene parameters?")
        p = self.p
        k = 0
        for body, joints in self._state_layout():
            pos, orn, lin, ang = state[k:k + 3], state[k + 3:k + 7], state[k + 7:k + 10], state[k + 10:k + 13]
            k += _BODY_BASE
            p.resetBasePositionAndOrientation(body, pos.tolist(), orn.tolist())
            p.resetBaseVelocity(body, lin.tolist(), ang.tolist())
            n = len(joints)
            if n:
                qs, qds = state[k:k + n], state[k + n:k + 2 * n]
                for j, q, qd in zip(joints, qs, qds):
                    p.resetJointState(body, j, float(q), float(qd))
                k += 2 * n
        for ext in self.extensions:
            ext.set_state(state[k:k + ext.state_size])
            k += ext.state_size
        self._set_vector = state.copy()


__all__ = ["World", "PhysicsSettings", "StateExtension"]
