"""Gymnasium interface to every registered scene: `RobotschoolGymEnv` wraps `robotschool.env.RobotEnv`.

    import gymnasium, robotschool
    env = gymnasium.make("robotschool/PartsSorting-v0", overrides=["parts.count=1"])   # or robotschool.make(...)
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    env.unwrapped.sim                      # the RobotEnv underneath (world, robot, task, codec)

Ids are derived from the scene name (`parts_sorting` -> ``robotschool/PartsSorting-v0``) and registered by
`register_envs()` when `robotschool` is imported; registration only lists the scene YAMLs and never imports
PyBullet.

**Observation space** (`gymnasium.spaces.Dict`): exactly the keys, shapes and dtypes the recorder writes under
``obs/`` in a dataset, so a policy trained on a file runs on the env unchanged: ``robot0_{left,right}_eef_pos``
(3,), ``robot0_{left,right}_eef_quat`` (4, xyzw), ``robot0_{left,right}_gripper_qpos`` (2,),
``robot0_joint_pos`` / ``robot0_joint_vel`` (J,), ``robot0_base_pose`` (7,), ``object`` (7N,) as float32
(unbounded Box), plus ``<camera>_image`` (H, W, 3) uint8 and ``<camera>_depth`` (H, W) float32 when cameras are
on. Float64 values are cast to float32 as the recorder does. The shapes are read from a first reset at
construction, so they follow the robot (J), the scene overrides (N) and the camera options.

**Action space**: ``Box(-1, 1, (codec.dim,), float32)``, the default action representation recorded as
``actions`` (absolute hand targets, normalised; see control/actions.py). Its size always comes from the env's
own `ActionCodec`, never from a constant.

**Seeding** (the mapping to `robotschool generate`): ``reset(seed=s)`` starts attempt 0 of base seed *s*, i.e.
`RobotEnv.reset(seed=[s, 0])`, which draws everything from ``numpy.random.default_rng([s, 0])``; each later
``reset()`` without a seed starts the next attempt ([s, 1], [s, 2], ...). ``options={"attempt": i}`` jumps to
attempt *i*. So ``reset(seed=s, options={"attempt": i})`` builds the very scene of attempt *i* of
``robotschool generate --seed s`` (demo attr ``seed`` = [s, i]). Without any seed the base seed is drawn once
from gymnasium's ``np_random`` (OS entropy). ``options={"scene_params": {...}}`` rebuilds a recorded scene
(the demo attr ``scene_params``) instead of drawing one.

**Episode end**: ``terminated`` = the task's success check holds after the step (reward 1.0 then, else 0.0);
``truncated`` = the scene's horizon (``horizon_s`` x ``control_hz`` steps; override with
``overrides=["horizon_s=20"]``). ``info`` holds ``success`` (and its alias ``is_success``), ``progress`` and
``steps``.

**Rendering**: ``render_mode="rgb_array"`` returns (render_size[1], render_size[0], 3) uint8 from an external
observer camera (``render_camera="external"``, the README screenshot's view) or from a robot camera such as
``"head"``; ``render_mode="human"`` opens the PyBullet GUI window (needs a display) and `render()` does nothing
more since the window is live.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import gymnasium
import numpy as np
from gymnasium import spaces

from robotschool.errors import ConfigError
from robotschool.recording import schema

NAMESPACE = "robotschool"
VERSION = 0
EXTERNAL_CAMERA = "external"
# observer view of the README screenshot (scripts/render_scene.py): target in the robot base frame (m),
# distance (m), yaw, pitch (degrees)
_EXTERNAL_VIEW = ((0.25, 0.0, 1.12), 1.75, 125.0, -30.0)


def gym_id(scene: str) -> str:
    """The registered gymnasium id of a scene: ``parts_sorting`` -> ``robotschool/PartsSorting-v0``."""
    camel = "".join(part[:1].upper() + part[1:] for part in scene.split("_") if part)
    return f"{NAMESPACE}/{camel}-v{VERSION}"


def register_envs() -> list[str]:
    """Register a gymnasium id for every scene (one per scenes/<name>.yaml, as `RobotEnv` loads them).

    Only the YAML file names are listed, so this costs no PyBullet import; each id's entry point builds the
    env on `gymnasium.make`. Already registered ids are left alone. Returns the ids.
    """
    from robotschool.paths import scenes_dir

    ids = []
    for path in sorted(scenes_dir().glob("*.yaml")):
        env_id = gym_id(path.stem)
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point="robotschool.gym_env:RobotschoolGymEnv",
                               kwargs={"scene": path.stem}, disable_env_checker=True)
        ids.append(env_id)
    return ids


def _as_recorded(value: np.ndarray) -> np.ndarray:
    """The dtype the recorder stores: float64 becomes float32, everything else is kept (images uint8)."""
    arr = np.asarray(value)
    return arr.astype(np.float32) if arr.dtype == np.float64 else arr.copy()


def observation_space_for(obs: dict[str, np.ndarray]) -> spaces.Dict:
    """The Dict space of one observation (after `_as_recorded`): uint8 images in [0, 255], floats unbounded."""
    items = {}
    for key, value in obs.items():
        if value.dtype == np.uint8:
            items[key] = spaces.Box(0, 255, value.shape, np.uint8)
        elif schema.is_depth_key(key):
            items[key] = spaces.Box(0.0, np.inf, value.shape, value.dtype)
        else:
            items[key] = spaces.Box(-np.inf, np.inf, value.shape, value.dtype)
    return spaces.Dict(items)


class RobotschoolGymEnv(gymnasium.Env):
    """A scene as a `gymnasium.Env` (see the module doc for spaces, seeding and episode end).

    Args:
        scene: registered scene name (`robotschool list`).
        robot, overrides, cameras, camera_size, depth: as for `RobotEnv` (and `robotschool generate`);
            cameras default to the scene's own list (none for parts_sorting).
        render_mode: None, "rgb_array" or "human".
        render_camera: "external" (observer view) or a robot camera name, for "rgb_array".
        render_size: (width, height) of "rgb_array" frames.
    """

    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": 20}

    def __init__(self, scene: str, robot: str | None = None, overrides: Sequence[str] = (),
                 cameras: Sequence[str] | None = None, camera_size: int | None = None, depth: bool | None = None,
                 render_mode: str | None = None, render_camera: str = EXTERNAL_CAMERA,
                 render_size: tuple[int, int] = (320, 240)):
        from robotschool.env import RobotEnv   # imports PyBullet: only when an env is built

        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(f"unknown render_mode {render_mode!r}; use one of "
                              f"{', '.join(self.metadata['render_modes'])} or None")
        self.render_mode = render_mode
        self.sim = RobotEnv(scene, robot=robot, overrides=overrides, cameras=cameras, camera_size=camera_size,
                            depth=depth, gui=render_mode == "human")
        if render_camera != EXTERNAL_CAMERA and render_camera not in self.sim.robot.spec.cameras:
            self.sim.close()
            raise ConfigError(f"unknown render_camera {render_camera!r}; use {EXTERNAL_CAMERA!r} or one of "
                              f"{', '.join(sorted(self.sim.robot.spec.cameras))}")
        self.render_camera = render_camera
        self.render_size = (int(render_size[0]), int(render_size[1]))
        self.metadata = dict(self.metadata, render_fps=self.sim.config.control_hz)
        self.action_space = spaces.Box(-1.0, 1.0, (self.sim.codec.dim,), np.float32)
        self._base_seed: int | None = None
        self._attempt = -1
        # the spaces are read from a real first observation, so they match observe() (and the files) exactly
        try:
            first = self._observation(self._sim_reset([0, 0], None))
        except BaseException:
            self.sim.close()
            raise
        self.observation_space = observation_space_for(first)

    # ------------------------------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = dict(options or {})
        if seed is not None:
            self._base_seed, self._attempt = int(seed), -1
        elif self._base_seed is None:
            self._base_seed, self._attempt = int(self.np_random.integers(2**31 - 1)), -1
        self._attempt = int(options.pop("attempt", self._attempt + 1))
        params = options.pop("scene_params", None)
        if options:
            raise ConfigError(f"unknown reset option(s) {', '.join(sorted(options))}; "
                              f"valid options: attempt, scene_params")
        obs = self._observation(self._sim_reset([self._base_seed, self._attempt], params))
        self._check_shapes(obs)
        return obs, {"seed": [self._base_seed, self._attempt], "success": False}

    def step(self, action: np.ndarray):
        obs, reward, horizon, sim_info = self.sim.step(np.asarray(action, dtype=np.float32))
        success = bool(sim_info["success"])
        info = {"success": success, "is_success": success, "progress": float(sim_info["progress"]),
                "steps": self.sim.steps}
        return self._observation(obs), float(reward), success, bool(horizon), info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        width, height = self.render_size
        if self.render_camera != EXTERNAL_CAMERA:
            rgb, _ = self.sim.render_camera(self.render_camera, width, height)
            return rgb
        return self._render_external(width, height)

    def close(self) -> None:
        self.sim.close()

    # ------------------------------------------------------------------------------------------ helpers
    @property
    def seed_pair(self) -> list[int]:
        """[base seed, attempt] of the current episode: the demo attr `seed` of the same generated episode."""
        return [int(self._base_seed or 0), self._attempt]

    def _sim_reset(self, seed: list[int], params: dict[str, Any] | None) -> dict[str, np.ndarray]:
        """RobotEnv.reset; in the GUI with drawing paused while the scene is rebuilt (PyBullet otherwise
        redraws the window after every body it loads, which takes minutes on a software renderer)."""
        if self.render_mode != "human":
            return self.sim.reset(seed=seed, params=params)
        p = self.sim.world.p
        p.configureDebugVisualizer(p.COV_ENABLE_RENDERING, 0)
        try:
            return self.sim.reset(seed=seed, params=params)
        finally:
            p.configureDebugVisualizer(p.COV_ENABLE_RENDERING, 1)

    def _check_shapes(self, obs: dict[str, np.ndarray]) -> None:
        """A fixed-size Dict space needs fixed-size observations; a scene whose object count varies per
        episode must pad its object vector (datasets need that too: stats stack demos). Fail loudly here
        rather than hand a policy a vector of another length."""
        space = self.observation_space.spaces
        for key, value in obs.items():
            if key not in space or space[key].shape != value.shape:
                expected = space[key].shape if key in space else "absent"
                raise RuntimeError(f"scene {self.sim.scene!r}: observation {key!r} has shape {value.shape} in "
                                   f"episode {self.seed_pair} but {expected} in the first episode; a scene's "
                                   f"observations must keep one size (pad variable object counts)")

    def _observation(self, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {k: _as_recorded(v) for k, v in obs.items()}

    def _render_external(self, width: int, height: int) -> np.ndarray:
        p = self.sim.world.p
        (tx, ty, tz), dist, yaw, pitch = _EXTERNAL_VIEW
        base = self.sim.robot.base_pose()
        target = base.pos + base.rot @ np.array([tx, ty, tz])
        base_yaw = math.degrees(math.atan2(base.rot[1, 0], base.rot[0, 0]))
        view = p.computeViewMatrixFromYawPitchRoll(target.tolist(), dist, yaw + base_yaw, pitch, 0, 2)
        proj = p.computeProjectionMatrixFOV(45, width / height, 0.05, 10)
        _, _, rgba, _, _ = p.getCameraImage(width, height, view, proj, renderer=p.ER_TINY_RENDERER,
                                            flags=p.ER_NO_SEGMENTATION_MASK, shadow=0)
        return np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[:, :, :3].copy()
