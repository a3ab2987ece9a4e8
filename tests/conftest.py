"""Shared test helpers: small, fast episodes (one part, few steps, small cameras)."""
from __future__ import annotations

import pytest

from robotschool.env import RobotEnv


@pytest.fixture
def one_part_env():
    env = RobotEnv("parts_sorting", overrides=["parts.count=1"])
    yield env
    env.close()
