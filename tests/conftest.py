"""Shared fixtures and suite-wide settings.

- `one_part_env`: a parts_sorting env with one part and no cameras (fast), closed after the module.
- A default per-test timeout when pytest-timeout is installed (see pyproject.toml).
"""
from __future__ import annotations

import pytest

DEFAULT_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def one_part_env():
    from robotschool.env import RobotEnv

    env = RobotEnv("parts_sorting", overrides=["parts.count=1"], cameras=[])
    yield env
    env.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give every test without its own `timeout` marker a default one, unless --timeout/ini set one.

    Done here rather than with `timeout = ...` in pyproject.toml so that the suite still runs, without an
    "unknown config option" warning, where pytest-timeout is not installed.
    """
    if not config.pluginmanager.hasplugin("timeout"):
        return
    if config.getoption("timeout", None) or config.getini("timeout"):
        return
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEFAULT_TIMEOUT_S))
