"""Where the shipped scenes/ and configs/ live, from a checkout or from an installed wheel.

In a checkout they are the top-level folders beside the package. A wheel carries them as package data
under robotschool/_data/ (see pyproject.toml), so the same names resolve after a non-editable install.
"""
from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _root(name: str) -> Path:
    checkout = _PKG.parent / name
    if checkout.is_dir():
        return checkout
    installed = _PKG / "_data" / name
    if installed.is_dir():
        return installed
    raise FileNotFoundError(f"robotschool cannot find its {name}/ folder (looked in {checkout} and {installed}); "
                            f"reinstall the package")


def scenes_dir() -> Path:
    return _root("scenes")


def configs_dir() -> Path:
    return _root("configs")


def scene_file(name: str) -> Path:
    return scenes_dir() / f"{name}.yaml"


def robot_file(name: str) -> Path:
    return configs_dir() / "robots" / f"{name}.yaml"
