"""robotschool: humanoid teleoperation data in PyBullet.

Public API: `make(scene, ...)` -> RobotEnv, `list_scenes()`, `DemoDataset` (training loader), `__version__`.
"""
from __future__ import annotations

__version__ = "0.1.0"


def make(scene: str, **kwargs):
    """Create the environment of a registered scene (see `list_scenes()`); kwargs go to RobotEnv."""
    from robotschool.env import RobotEnv

    return RobotEnv(scene, **kwargs)


def list_scenes() -> list[str]:
    from robotschool.registry import SCENES

    return SCENES.names()


def __getattr__(name: str):
    # loaded on first use, so `import robotschool` stays light (no h5py/pybullet import)
    if name == "DemoDataset":
        from robotschool.data import DemoDataset

        return DemoDataset
    raise AttributeError(f"module 'robotschool' has no attribute {name!r}")


__all__ = ["make", "list_scenes", "DemoDataset", "__version__"]
