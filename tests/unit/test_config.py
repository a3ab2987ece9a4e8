"""Strict YAML -> dataclass loading: every mistake is one line naming the file and the key."""
from __future__ import annotations

import pytest

from robotschool.env import load_scene_config
from robotschool.errors import ConfigError, UnknownNameError
from robotschool.registry import SCENES


def test_scene_yaml_loads_with_overrides():
    _, cfg, _ = load_scene_config("parts_sorting", ["parts.count=2", "bench.height=1.0"])
    assert cfg.parts.count == 2 and cfg.bench.height == 1.0


@pytest.mark.parametrize("override, fragment", [
    ("parts.count=abc", "key 'parts.count': expected an integer"),
    ("parts.count=0", "below the minimum"),
    ("parts.nosuchkey=1", "key 'parts.nosuchkey': unknown key; valid keys here:"),
    ("bench.height=true", "expected a number"),
    ("parts.types=[bolt, spring]", "expected one of"),
    ("control_hz=7", "must divide physics.hz"),
    ("novalue", "expected key=value"),
])
def test_bad_override_is_one_clear_line(override, fragment):
    with pytest.raises(ConfigError) as err:
        load_scene_config("parts_sorting", [override])
    msg = str(err.value)
    assert fragment in msg and "\n" not in msg


def test_bad_yaml_file_names_file_and_key(tmp_path):
    from robotschool import config
    from robotschool.tasks.parts_sorting import PartsSortingConfig

    bad = tmp_path / "scene.yaml"
    bad.write_text("parts:\n  count: many\n")
    with pytest.raises(ConfigError) as err:
        config.load(PartsSortingConfig, bad)
    assert str(bad) in str(err.value) and "parts.count" in str(err.value)
    broken = tmp_path / "broken.yaml"
    broken.write_text("parts: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        config.load(PartsSortingConfig, broken)


def test_unknown_scene_lists_valid_names():
    with pytest.raises(UnknownNameError, match="parts_sorting"):
        SCENES.get("kitchen_nope")


def test_robot_yaml_with_unknown_joint_names_the_file(tmp_path):
    import shutil

    from robotschool.paths import configs_dir
    from robotschool.robots.base import Robot
    from robotschool.robots.spec import load_spec

    src = configs_dir() / "robots"
    shutil.copy(src / "humanoid.urdf", tmp_path / "humanoid.urdf")
    text = (src / "humanoid.yaml").read_text().replace("left_elbow,", "left_elbw,")
    bad = tmp_path / "bad_robot.yaml"
    bad.write_text(text)
    with pytest.raises(ConfigError) as err:
        Robot(load_spec(bad))
    assert "bad_robot.yaml" in str(err.value) and "left_elbw" in str(err.value)


def test_robot_yaml_requires_both_arms(tmp_path):
    from robotschool.robots.spec import load_spec

    bad = tmp_path / "one_arm.yaml"
    bad.write_text("name: x\nurdf: pybullet_data:kuka_iiwa/model.urdf\nbase_link: lbr_iiwa_link_0\narms: {}\n")
    with pytest.raises(ConfigError, match="exactly the arms 'left' and 'right'"):
        load_spec(bad)
