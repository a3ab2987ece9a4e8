"""Task: one station's scene, randomisation, success check and scripted operator (the "oracle").

A task builds its scene into a World from a dict of drawn parameters (so any episode can be rebuilt from the
`scene_params` stored in the dataset), reports object observations, evaluates success, and owns an oracle
that emits OperatorCommands through the same retargeting path a human device uses.

Each task module has a structured docstring: Description / Randomisation / Success.

A station implements `sample_scene` (its own draws: layout, masses, friction, sizes) and `build_scene`; the
generic `sample_params` and `build` wrap them with what every scene shares, the appearance randomisation of
the scene YAML's `appearance:` section (object colours, light, camera jitter: sim/appearance.py). Its values
are drawn from a separate stream after the station's own, so they never shift a station's draws.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

import numpy as np

from robotschool.config import check
from robotschool.sim import appearance
from robotschool.sim.appearance import AppearanceConfig
from robotschool.sim.world import PhysicsSettings, World
from robotschool.types import OperatorCommand, Pose


def uniform(rng: np.random.Generator, lo_hi) -> float:
    """One draw from a YAML range [lo, hi] (what every station's randomisation and oracle noise is made of)."""
    return float(rng.uniform(lo_hi[0], lo_hi[1]))


@dataclass(frozen=True)
class CameraSettings:
    names: list[str] = field(default_factory=list)    # which robot cameras to record (e.g. head, left_wrist)
    width: int = field(default=128, metadata=check(lo=8, hi=1024))
    height: int = field(default=128, metadata=check(lo=8, hi=1024))
    depth: bool = False
    near: float = field(default=0.02, metadata=check(lo=1e-3))
    far: float = field(default=5.0, metadata=check(lo=0.1))


@dataclass(frozen=True)
class SceneConfig:
    """Fields every scene YAML has; a task's config class adds its own sections."""

    robot: str = "humanoid"
    control_hz: int = field(default=20, metadata=check(lo=1, hi=240))
    physics: PhysicsSettings = field(default_factory=PhysicsSettings)
    horizon_s: float = field(default=120.0, metadata=check(lo=0.1))
    settle_s: float = field(default=0.5, metadata=check(lo=0.0))          # physics settling after a reset
    success_hold_s: float = field(default=0.5, metadata=check(lo=0.0))    # success must hold this long to end
    cameras: CameraSettings = field(default_factory=CameraSettings)
    appearance: AppearanceConfig = field(default_factory=AppearanceConfig)   # off unless the YAML sets it
    instruction: str = ""


class Oracle(ABC):
    """A scripted operator. Sees only observations (like a person looking at the scene) and emits commands.

    `look(camera, width, height) -> sim.camera.View` renders one of the robot's cameras on demand (depth and
    the camera's pose from the robot's kinematics), for operators that must find things in images; the env
    sets it in `RobotEnv.make_oracle` (None when an oracle is made without an env)."""

    look: Callable[[str, int, int], Any] | None = None

    @abstractmethod
    def act(self, obs: dict[str, np.ndarray], t: float) -> OperatorCommand: ...

    @property
    @abstractmethod
    def done(self) -> bool:
        """True once the script has nothing left to do (the episode may end when success also holds)."""


Reach = Callable[[str, Pose], bool]
"""Can arm `arm` reach this hand pose (robot base frame) from where it is? (RobotEnv.reach_check: kinematics only)"""


class StationOracle(Oracle):
    """A station's scripted operator: what every one of them keeps at hand, in one place.

    `task` (its geometry helpers), `cfg` (the scene config) and `oc` (its `oracle:` section), the episode's
    `params` and `rng` (every per-episode style draw comes from it, so an episode is a function of its seed), and
    `reach` (None without an env: then every pose counts as reachable)."""

    def __init__(self, task: "Task", params: dict[str, Any], rng: np.random.Generator, reach: Reach | None):
        self.task = task
        self.cfg = task.config
        self.oc = task.config.oracle
        self.params = params
        self.rng = rng
        self.reach = reach

    noise_z: float = 0.5      # height noise relative to the horizontal (a hand aims more surely in height)

    def _noise(self, scale: float = 1.0) -> np.ndarray:
        """Where a hand aims, off by up to `scale` x the YAML's `oracle.position_noise` per axis (`noise_z` times
        that in height), from the episode's rng: human-like variety in the demos."""
        n = self.oc.position_noise * scale
        return self.rng.uniform(-n, n, size=3) * np.array([1.0, 1.0, self.noise_z])


class Task(ABC):
    config_cls: ClassVar[type[SceneConfig]] = SceneConfig

    def __init__(self, config: SceneConfig):
        self.config = config
        self.object_bodies: list[int] = []

    def sample_params(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draw this episode's randomised values (JSON-able: they are stored as the demo's scene_params):
        the station's own (`sample_scene`, from `rng`), then the generic appearance, from a child stream."""
        params = self.sample_scene(rng)
        drawn = appearance.sample(self.config.appearance, appearance.appearance_rng(rng), self.object_count(params))
        if drawn:
            params[appearance.PARAMS_KEY] = drawn
        return params

    def build(self, world: World, params: dict[str, Any]) -> None:
        """Build the station's scene (`build_scene`), then apply the drawn appearance (visuals only)."""
        self.build_scene(world, params)
        appearance.apply_colors(world.p, self.object_bodies, params.get(appearance.PARAMS_KEY))

    def sample_scene(self, rng: np.random.Generator) -> dict[str, Any]:
        """The station's own randomised values (layout, masses, friction, sizes), JSON-able."""
        raise NotImplementedError(f"{type(self).__name__} must implement sample_scene(rng)")

    def build_scene(self, world: World, params: dict[str, Any]) -> None:
        """Create the scene's bodies in `world` (already reset, with a ground) and fill `object_bodies`."""
        raise NotImplementedError(f"{type(self).__name__} must implement build_scene(world, params)")

    def object_count(self, params: dict[str, Any]) -> int:
        """How many entries of `object_bodies` `build_scene` will create for `params`: the number of object
        colours to draw. The default, 1, gives all objects one shared colour factor; a station that knows
        its count (e.g. len(params["parts"])) overrides this for a colour per object."""
        return 1

    def robot_base_pose(self, params: dict[str, Any]) -> Pose:
        """Where the robot's base frame stands in the world."""
        return Pose.identity()

    def object_obs(self, world: World, base: Pose) -> np.ndarray:
        """Flat float64: each object's position and quaternion in the robot base frame."""
        inv = base.inverse()
        out = []
        for body in self.object_bodies:
            pos, orn = world.p.getBasePositionAndOrientation(body)
            rel = inv.compose(Pose(pos, orn))
            out.append(rel.pos)
            out.append(rel.quat)
        return np.concatenate(out) if out else np.zeros(0)

    @abstractmethod
    def evaluate(self, world: World) -> dict[str, Any]:
        """At least {'success': bool, 'progress': float in [0, 1]}."""

    @abstractmethod
    def make_oracle(self, params: dict[str, Any], rng: np.random.Generator,
                    reach: Callable[[str, Pose], bool] | None = None) -> Oracle:
        """The scripted operator for this episode (its noise drawn from the episode's rng).

        `reach(arm, pose)` answers whether the robot's arm can reach a hand pose (robot base frame): the
        kinematic knowledge a skilled operator has of the robot, used to choose feasible grasps.
        """

    def instruction(self, params: dict[str, Any]) -> str:
        return self.config.instruction

    def after_control_tick(self, world: World, dt: float) -> None:
        """Advance task-owned simulation state after each control tick's physics (default: none). A task that
        has such state (e.g. kitchen_stirfry's cooking) keeps it in a World StateExtension, so it is part of
        get_state()/set_state() and a replay reproduces it exactly."""
