"""RobotEnv: World + Robot + Task composed (no inheritance between them), stepping at the control rate.

    env = RobotEnv("parts_sorting", overrides=["parts.count=1"])
    obs = env.reset(seed=[0, 3])           # episode 3 of a run with base seed 0
    obs, reward, done, info = env.step(action)

`step` takes the default action (26 float32 in [-1, 1], see control/actions.py) and is a pure function of
(simulation state, action): decoding, IK from the measured joints, motor targets, physics substeps. That is
what makes `reset_to(state) + the same actions` reproduce a recorded episode exactly.

Reset rebuilds the world from scratch (never restoreState): draw parameters, build, let objects settle,
take the state, rebuild, and set that state, so the first recorded state is exactly re-creatable later.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from robotschool import __version__, config
from robotschool.control.actions import ActionCodec
from robotschool.control.ik import IKBudget
from robotschool.errors import ConfigError
from robotschool.paths import scene_file
from robotschool.recording import schema
from robotschool.registry import SCENES
from robotschool.robots.base import load_robot
from robotschool.sim import assets, camera
from robotschool.sim.world import World
from robotschool.tasks.base import SceneConfig, Task
from robotschool.types import ARMS, JointTargets, Pose, RobotCommand


def load_scene_config(scene: str, overrides: Sequence[str] = ()) -> tuple[type[Task], SceneConfig, Path]:
    task_cls = SCENES.get(scene)
    path = scene_file(scene)
    cfg = config.load(task_cls.config_cls, path, overrides)
    if cfg.physics.hz % cfg.control_hz:
        raise ConfigError(f"{path}: key 'control_hz': {cfg.control_hz} must divide physics.hz ({cfg.physics.hz})")
    return task_cls, cfg, path


class RobotEnv:
    def __init__(self, scene: str, robot: str | None = None, overrides: Sequence[str] = (),
                 cameras: Sequence[str] | None = None, camera_size: int | None = None, depth: bool | None = None,
                 gui: bool = False, ik_budget: IKBudget | Mapping[str, Any] | None = None):
        """`ik_budget` (live teleop) caps the arm IK's work per step (control/ik.py IKBudget); it is part of the
        step function, so it is kept in env_kwargs (a replay rebuilds the env with it). None: the full solve."""
        self.scene = scene
        self.ik_budget = IKBudget(**ik_budget) if isinstance(ik_budget, Mapping) else ik_budget
        self.overrides = list(overrides)
        task_cls, cfg, self.scene_path = load_scene_config(scene, self.overrides)
        self.config = cfg
        self.task: Task = task_cls(cfg)
        self.robot_name = robot or cfg.robot
        self.robot = load_robot(self.robot_name)
        cams = cfg.cameras
        self.camera_names = list(cams.names if cameras is None else cameras)
        unknown = [c for c in self.camera_names if c not in self.robot.spec.cameras]
        if unknown:
            raise ConfigError(f"unknown camera {unknown[0]!r} for robot {self.robot_name}; "
                              f"valid cameras: {', '.join(sorted(self.robot.spec.cameras))}")
        if camera_size is not None and not 8 <= camera_size <= 1024:
            raise ConfigError(f"camera size {camera_size} is out of range; use 8 to 1024 pixels")
        self.camera_width = camera_size or cams.width
        self.camera_height = camera_size or cams.height
        self.depth = cams.depth if depth is None else depth
        self.world = World(cfg.physics, gui=gui)
        self.substeps = cfg.physics.hz // cfg.control_hz
        self.control_dt = 1.0 / cfg.control_hz
        workspace = {a: (np.array(self.robot.spec.arms[a].workspace_low), np.array(self.robot.spec.arms[a].workspace_high))
                     for a in ARMS}
        self.workspace = workspace
        self.codec = ActionCodec(workspace, self.robot.spec.max_base_speed, self.robot.torso_range,
                                 self.robot.head_range)
        self.params: dict[str, Any] | None = None
        self.rng: np.random.Generator | None = None
        self.seed: Any = None
        self.steps = 0
        self._last_action: np.ndarray | None = None     # the last step's action, for prepare()
        self._prepared_q: tuple[int, np.ndarray] | None = None   # (world step count, joints) read by prepare()

    # -- episode lifecycle ---------------------------------------------------------------------------------
    def _build(self, params: dict[str, Any]) -> None:
        self.world.reset()
        ground = assets.ground(self.world.p)
        self.task.build(self.world, params)
        self.robot.build(self.world, self.task.robot_base_pose(params))
        if self.robot.mobile:
            self.robot.ignore_collisions_with(ground)
        self.world.invalidate_layout()

    def reset(self, seed: int | Sequence[int] | None = None, params: dict[str, Any] | None = None) -> dict[str, np.ndarray]:
        """Start an episode: draw parameters from `seed` (unless given), build, settle, return the first obs."""
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.params = self.task.sample_params(self.rng) if params is None else params
        self._build(self.params)
        self.world.step(int(round(self.config.settle_s * self.config.physics.hz)))
        state = self.world.get_state()
        self._build(self.params)
        self.world.set_state(state)
        self.world.step_count = 0
        self.steps = 0
        self._last_action = None
        self._prepared_q = None
        if self.ik_budget is not None:
            self.robot.compile_ik(self.ik_budget)     # a compiled kernel compiles now, not in the first step
        return self.observe()

    def reset_to(self, state: np.ndarray, params: dict[str, Any]) -> dict[str, np.ndarray]:
        """Rebuild the scene from `params` and put the simulation exactly in `state`."""
        self.params = params
        self._build(params)
        self.world.set_state(state)
        self.steps = 0
        self._last_action = None
        self._prepared_q = None
        return self.observe()

    def close(self) -> None:
        self.world.close()

    def __enter__(self) -> "RobotEnv":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- stepping ------------------------------------------------------------------------------------------
    @property
    def max_steps(self) -> int:
        return int(round(self.config.horizon_s * self.config.control_hz))

    @property
    def time(self) -> float:
        return self.steps * self.control_dt

    def encode(self, command: RobotCommand) -> np.ndarray:
        return self.codec.encode(command)

    def prepare(self) -> None:
        """Before a live loop samples its device: warm the next step's input-to-command path, then do its
        sample-independent work (Robot.prepare: the IK's kinematics at the measured joints).

        Warming: the last step's action is decoded and solved again and the answer thrown away. Both are pure
        functions of the action and the measured joints (nothing is applied, nothing is stored but the
        kinematics' one-entry memo, which Robot.prepare then sets to the measured joints), so the next step is
        bit for bit what it would be without it. Why: between two ticks the physics substeps, the sleep and
        other processes push the solver's code and data out of the CPU caches, and the step after the device
        sample ran slower than the same work repeated. Measured (scripts/bench_teleop.py --warm-up both, live
        IK budget, warm-up on / off): on a busy machine (load 2-3) compute CPU time median 2.0-2.2 -> 1.3 ms in
        reach and 0.51 out of reach; on a quiet one (load 0.5) only 0.95 in reach and 0.88 out of reach. It
        costs about one solve per tick (~1 ms of 50).

        The measured joint positions are read here once and kept for the step that follows (stamped with the
        world's step count: a step after anything else stepped the physics reads them again). Reading them is
        sample-independent and took ~0.2 ms of the sample -> targets path, a third of it with the compiled IK.
        """
        q_all = self.robot.joint_states()[0]
        if self._last_action is not None:
            self.robot.solve(self.codec.decode(self._last_action), self.ik_budget, q_all)
        self._prepared_q = (self.world.step_count, self.robot.prepare(q_all, self.ik_budget))

    def step(self, action: np.ndarray, clock: Callable[[], float] | None = None
             ) -> tuple[dict[str, np.ndarray], float, bool, dict[str, Any]]:
        """One control tick. With a `clock` (live loops), info["applied_at"] is clock() right after the joint
        targets went to the motors (before the physics substeps), where input-to-command latency ends; batch
        generation passes none, so no wall-clock value can reach its files."""
        action = np.asarray(action, dtype=np.float32)
        self._last_action = action
        command = self.codec.decode(action)
        prepared, self._prepared_q = self._prepared_q, None
        q_all = prepared[1] if prepared is not None and prepared[0] == self.world.step_count else None
        targets: JointTargets = self.robot.solve(command, self.ik_budget, q_all)
        self.robot.apply(targets)
        applied_at = clock() if clock is not None else None
        if self.robot.mobile:
            for _ in range(self.substeps):
                self.robot.substep(self.world.dt)
                self.world.step(1)
        else:
            self.world.step(self.substeps)
        self.robot.after_control_tick(targets)
        self.task.after_control_tick(self.world, self.control_dt)
        self.steps += 1
        obs = self.observe()
        ev = self.task.evaluate(self.world)
        reward = 1.0 if ev["success"] else 0.0
        done = self.steps >= self.max_steps
        info = {"success": bool(ev["success"]), "progress": float(ev.get("progress", 0.0)), "targets": targets,
                "command": command}
        if applied_at is not None:
            info["applied_at"] = applied_at
        return obs, reward, done, info

    def reach_check(self, arm: str, pose: Pose) -> bool:
        """Can `arm` reach `pose` (robot base frame) from where it is, with the live IK? Kinematics only."""
        q = self.robot.chain_q(arm)
        return self.robot.ik[arm].solve(pose, q, apply_step_cap=False).reachable

    def make_oracle(self):
        """The task's scripted operator for the current episode (noise from the episode's rng), given `look`
        so it can render the robot's cameras when it wants to look (Oracle.look)."""
        oracle = self.task.make_oracle(self.params, self.rng, self.reach_check)
        oracle.look = self.look
        return oracle

    def look(self, name: str, width: int, height: int) -> camera.View:
        """Render robot camera `name` now with depth (rendering leaves the physics untouched, so a scripted
        operator may look at any tick without changing the episode), with the camera's pose in the robot base
        frame as the kinematics knows it (the nominal mount, without the episode's drawn calibration error)."""
        mount = self.robot.spec.cameras[name]
        nominal = self.robot.link_world_pose(mount.link).compose(Pose(mount.pos, [0, 0, 0, 1]))
        rgb, depth = self.render_camera(name, width, height, depth=True)
        return camera.View(rgb, depth, self.robot.base_pose().inverse().compose(nominal), tuple(mount.forward),
                           tuple(mount.up), float(mount.fov))

    def evaluate(self) -> dict[str, Any]:
        return self.task.evaluate(self.world)

    # -- observation ---------------------------------------------------------------------------------------
    def observe(self) -> dict[str, np.ndarray]:
        obs = self.robot.observe()
        obs[schema.OBS_OBJECT] = self.task.object_obs(self.world, self.robot.base_pose())
        for name in self.camera_names:
            rgb, depth = self.render_camera(name, self.camera_width, self.camera_height, self.depth)
            obs[schema.OBS_IMAGE.format(camera=name)] = rgb
            if depth is not None:
                obs[schema.OBS_DEPTH.format(camera=name)] = depth
        return obs

    def render_camera(self, name: str, width: int, height: int, depth: bool = False):
        mount = self.robot.spec.cameras[name]
        eye = self.robot.link_world_pose(mount.link).compose(Pose(mount.pos, [0, 0, 0, 1]))
        eye, light = camera.episode_view(self.params, eye)     # the episode's drawn camera jitter and light
        c = self.config.cameras
        return camera.render(self.world.p, eye, mount.forward, mount.up, mount.fov, width, height, c.near, c.far, depth,
                             light)

    # -- metadata ------------------------------------------------------------------------------------------
    def env_kwargs(self) -> dict[str, Any]:
        kwargs = {"scene": self.scene, "robot": self.robot_name, "overrides": self.overrides,
                  "cameras": self.camera_names, "camera_size": self.camera_width, "depth": self.depth}
        if self.ik_budget is not None:          # only live (teleop) envs: generated files' env_args are unchanged
            kwargs["ik_budget"] = dataclasses.asdict(self.ik_budget)
        return kwargs

    def config_yaml(self) -> str:
        """The resolved scene config as stored in a dataset (data attrs `config`)."""
        import yaml

        return yaml.safe_dump(config.to_dict(self.config), sort_keys=False)

    def data_attrs(self) -> dict[str, Any]:
        """Dataset-level attributes: enough to rebuild this env (robomimic's env_args) and read the actions."""
        return {
            schema.ATTR_ENV_ARGS: json.dumps({"env_name": self.scene, "type": 4, "env_kwargs": self.env_kwargs()}),
            schema.ATTR_SCENE: self.scene,
            "robot": self.robot_name,
            "robotschool_version": __version__,
            "control_hz": self.config.control_hz,
            "physics_hz": self.config.physics.hz,
            schema.ATTR_CONFIG: self.config_yaml(),
            "action_space": json.dumps(self.codec.describe()),
            "joint_names": json.dumps(self.robot.movable_names),
            "state_size": self.world.state_size if self.params is not None else -1,
        }
