"""robotschool: humanoid teleoperation data in PyBullet.

Public API: `make(scene, ...)` -> a gymnasium env (RobotschoolGymEnv; the RobotEnv is `env.unwrapped.sim`),
`list_scenes()`, `DemoDataset` (training loader), `__version__`. Importing the package registers a gymnasium id
per scene (``robotschool/PartsSorting-v0``; see robotschool/gym_env.py) without importing PyBullet.
"""
from __future__ import annotations

__version__ = "0.1.0"


def make(scene: str, **kwargs):
    """The gymnasium env of a registered scene (see `list_scenes()`); kwargs go to `RobotschoolGymEnv`
    (robot, overrides, cameras, camera_size, depth, render_mode, ...). `env.unwrapped.sim` is the RobotEnv."""
    from robotschool.gym_env import RobotschoolGymEnv

    return RobotschoolGymEnv(scene, **kwargs)


def list_scenes() -> list[str]:
    from robotschool.registry import SCENES

    return SCENES.names()


def __getattr__(name: str):
    # loaded on first use, so `import robotschool` stays light (no h5py/pybullet import)
    if name == "DemoDataset":
        from robotschool.data import DemoDataset

        return DemoDataset
    raise AttributeError(f"module 'robotschool' has no attribute {name!r}")


def _register_gym_envs() -> None:
    from robotschool.gym_env import register_envs

    register_envs()


_register_gym_envs()

__all__ = ["make", "list_scenes", "DemoDataset", "__version__"]
