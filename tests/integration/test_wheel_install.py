"""A non-editable install from the wheel finds its scenes/ and configs/ (shipped as package data)."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("robotschool", "scenes", "configs", "pyproject.toml", "setup.py", "README.md")


def _run(cmd: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, f"{' '.join(cmd)} failed:\n{res.stdout}\n{res.stderr}"
    return res


def test_wheel_ships_scenes_and_configs(tmp_path: Path):
    src = tmp_path / "src"       # build a copy: pip builds in tree, and must not litter the checkout
    src.mkdir()
    for name in SOURCES:
        p = REPO_ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif p.is_file():
            shutil.copy2(p, src / name)
    wheels = tmp_path / "wheels"
    # Without build isolation when the build tools are here (offline, faster); else pip fetches them.
    have_tools = all(importlib.util.find_spec(m) for m in ("setuptools", "wheel"))
    isolation = ["--no-build-isolation"] if have_tools else []
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", *isolation, "-w", str(wheels), str(src)], cwd=src)
    (wheel,) = wheels.glob("robotschool-*.whl")

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], cwd=tmp_path)
    py = venv / "bin" / "python"
    # the system pip (visible through --system-site-packages) installs into the venv it runs in
    _run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], cwd=tmp_path)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    res = _run([str(py), "-c", "import robotschool, robotschool.paths; print(robotschool.__file__); "
                "print(robotschool.paths.scenes_dir()); print(robotschool.paths.configs_dir())"], elsewhere, env)
    module, scenes, configs = (Path(line) for line in res.stdout.split())
    site = venv.resolve()
    for p in (module, scenes, configs):
        assert p.resolve().is_relative_to(site), f"{p} is not inside the venv {site}"
    assert (scenes / "parts_sorting.yaml").is_file()
    assert (configs / "robots" / "humanoid.urdf").is_file() and (configs / "robots" / "humanoid.yaml").is_file()

    res = _run([str(venv / "bin" / "robotschool"), "list"], elsewhere, env)
    assert "parts_sorting" in res.stdout and "humanoid" in res.stdout
