"""Walking and wheeled bases: the base goes where the twist says, the arms stay on target, replay is exact;
and a bring-your-own robot (two pybullet_data Franka Pandas on a pedestal) runs a station unchanged."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from robotschool.devices.scripted import ScriptedDevice
from robotschool.env import RobotEnv
from robotschool.errors import ConfigError
from robotschool.recording import schema
from robotschool.robots.spec import load_spec
from robotschool.rollout import make_retargeter, run_episode
from robotschool.types import ARMS, OperatorCommand

REPO = Path(__file__).resolve().parents[2]
DUAL_PANDA = REPO / "configs/robots/examples/dual_panda.yaml"


def _yaw(quat) -> float:
    return 2.0 * math.atan2(quat[2], quat[3])


def _travel(v: float, a: float, t: float) -> float:
    """Distance covered in t seconds from rest when ramping to speed v at acceleration a."""
    ramp = abs(v) / a
    d = 0.5 * a * min(t, ramp) ** 2 + abs(v) * max(0.0, t - ramp)
    return math.copysign(d, v)


def _drive(env: RobotEnv, twist, steps: int, torso=None):
    retarget = make_retargeter(env)
    hands = {a: env.robot.tcp_pose(a) for a in ARMS}
    worst = 0.0
    knees = []
    for _ in range(steps):
        cmd = retarget(OperatorCommand(base_twist=twist, torso=torso))
        obs, _, _, info = env.step(env.encode(cmd))
        for a in ARMS:
            worst = max(worst, float(np.linalg.norm(env.robot.tcp_pose(a).pos - hands[a].pos)))
        knees.append(obs[schema.OBS_JOINT_POS][env.robot.movable_names.index("left_knee")]
                     if "left_knee" in env.robot.movable_names else 0.0)
    return obs, worst, np.array(knees)


@pytest.fixture(scope="module")
def humanoid():
    env = RobotEnv("parts_sorting", overrides=["parts.count=1"], cameras=[])
    yield env
    env.close()


def test_humanoid_walks_the_commanded_distance_and_keeps_hands_on_target(humanoid):
    env = humanoid
    env.reset(seed=[0, 0])
    start = env.robot.base_pose()
    v = -0.3                                         # backwards, away from the bench in front
    steps = 60                                       # 3 s at 20 Hz
    obs, worst, knees = _drive(env, (v, 0.0, 0.0), steps)
    base = obs[schema.OBS_BASE_POSE]
    expected = _travel(v, env.robot.spec.max_base_accel[0], steps * env.control_dt)
    assert base[0] - start.pos[0] == pytest.approx(expected, abs=0.01)
    assert abs(base[1] - start.pos[1]) < 1e-9 and abs(base[2]) < 1e-9          # no drift, never falls
    assert np.allclose(base[3:5], 0.0, atol=1e-12)                                # upright: yaw only
    assert worst < 0.005                                                          # hands ride with the base
    assert knees.max() - knees.min() > 0.3                                        # a visible gait
    np.testing.assert_allclose(obs[schema.OBS_BASE_VEL], [v, 0.0, 0.0], atol=1e-9)


def test_humanoid_turns_in_place(humanoid):
    env = humanoid
    env.reset(seed=[0, 0])
    wz = 0.8
    obs, worst, knees = _drive(env, (0.0, 0.0, wz), 40)
    base = obs[schema.OBS_BASE_POSE]
    expected = _travel(wz, env.robot.spec.max_base_accel[2], 40 * env.control_dt)
    assert _yaw(base[3:7]) == pytest.approx(expected, abs=0.01)
    assert np.linalg.norm(base[:2]) < 1e-9                                        # in place
    assert worst < 0.005 and knees.max() > 0.1                                    # steps while turning


def test_stops_and_stands_when_the_twist_is_zero(humanoid):
    env = humanoid
    env.reset(seed=[0, 0])
    _drive(env, (0.4, 0.0, 0.0), 20)
    obs, _, knees = _drive(env, (0.0, 0.0, 0.0), 40)
    before = obs[schema.OBS_BASE_POSE].copy()
    obs, _, _ = _drive(env, (0.0, 0.0, 0.0), 5)
    np.testing.assert_array_equal(obs[schema.OBS_BASE_POSE], before)              # stopped, not creeping
    assert env.robot.driver.amplitude == 0.0 and abs(knees[-1]) < 0.05            # legs back at stance


def test_walking_replays_bit_identically(humanoid):
    """What a demo replay does: the initial state and the same actions give the same episode, bit for bit."""
    env = humanoid
    env.reset(seed=[0, 1])
    state, params = env.world.get_state(), env.params
    twists = [(-0.3, 0.1, 0.3)] * 10 + [(-0.2, -0.1, -0.4)] * 15 + [(0.0, 0.0, 0.0)] * 5
    runs = []
    for _ in range(2):
        env.reset_to(state, params)
        retarget = make_retargeter(env)
        states = []
        for t in twists:
            env.step(env.encode(retarget(OperatorCommand(base_twist=t))))
            states.append(env.world.get_state())
        runs.append(np.array(states))
    np.testing.assert_array_equal(runs[0], runs[1])
    assert np.abs(runs[0][-1] - runs[0][0]).max() > 0.1        # it did walk


def test_wheeled_robot_drives_sideways_and_lifts_its_torso():
    env = RobotEnv("parts_sorting", robot="wheeled_dual_arm", overrides=["parts.count=1"], cameras=[])
    try:
        env.reset(seed=[0, 0])
        names = env.robot.movable_names
        wheel0 = env.robot.joint_states()[0][names.index("front_left_wheel")]
        hands_before = {a: env.robot.tcp_pose(a) for a in ARMS}
        v = 0.2
        obs, worst, _ = _drive(env, (0.0, v, 0.0), 40, torso=0.22)
        base = obs[schema.OBS_BASE_POSE]
        assert base[1] == pytest.approx(_travel(v, env.robot.spec.max_base_accel[1], 2.0), abs=0.01)
        assert abs(base[0]) < 1e-9
        assert worst < 0.01                 # the hands lag the slow lift by a few mm, then sit on target
        assert np.linalg.norm(env.robot.tcp_pose("left").pos - hands_before["left"].pos) < 0.001
        q = obs[schema.OBS_JOINT_POS]
        assert q[names.index("torso_lift")] == pytest.approx(0.22, abs=0.005)
        assert q[names.index("front_left_wheel")] != wheel0   # wheels roll
    finally:
        env.close()


def test_differential_base_cannot_strafe(tmp_path):
    text = (REPO / "configs/robots/wheeled_dual_arm.yaml").read_text()
    text = text.replace("base_type: holonomic", "base_type: differential")
    text = text.replace("urdf: wheeled_dual_arm.urdf", f"urdf: {REPO / 'configs/robots/wheeled_dual_arm.urdf'}")
    path = tmp_path / "diff.yaml"
    path.write_text(text)
    env = RobotEnv("parts_sorting", robot=str(path), overrides=["parts.count=1"], cameras=[])
    try:
        env.reset(seed=[0, 0])
        obs, _, _ = _drive(env, (0.2, 0.3, 0.0), 20)
        assert abs(obs[schema.OBS_BASE_POSE][1]) < 1e-9 and obs[schema.OBS_BASE_POSE][0] > 0.1
    finally:
        env.close()


def test_bring_your_own_dual_panda_sorts_a_part():
    """Two pybullet_data Pandas assembled by a YAML alone run parts_sorting through the ordinary path."""
    env = RobotEnv("parts_sorting", robot=str(DUAL_PANDA), overrides=["parts.count=1"], cameras=["head"],
                   camera_size=32)
    try:
        assert env.robot.spec.assembly is not None and len(env.robot.spec.assembly.parts) == 2
        env.reset(seed=[0, 0])
        assert "left_panda_joint1" in env.robot.movable_names and "right_panda_finger_joint2" in env.robot.movable_names
        result = run_episode(env, ScriptedDevice(env.make_oracle()), record=True)
        assert result.success
        assert result.episode is not None and result.episode.obs["head_image"].shape[1:] == (32, 32, 3)
    finally:
        env.close()


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("base_type: fixed", "base_type: fixed\nurdf: x.urdf"), "either key 'urdf'"),
    (lambda t: t.replace('prefix: left_, parent: torso', 'prefix: left_, parent: nowhere'), "unknown link 'nowhere'"),
    (lambda t: t.replace("pybullet_data:franka_panda/panda.urdf", "missing/arm.urdf", 1), "not found"),
    (lambda t: t.replace("base_type: fixed", "base_type: legged"), "gait"),
])
def test_robot_yaml_errors_are_one_line(tmp_path, edit, message):
    path = tmp_path / "robot.yaml"
    path.write_text(edit(DUAL_PANDA.read_text()))
    with pytest.raises(ConfigError) as exc:
        RobotEnv("parts_sorting", robot=str(path), overrides=["parts.count=1"], cameras=[])
    assert message in str(exc.value) and "\n" not in str(exc.value)


def test_spec_of_both_robots_loads():
    for name in ("humanoid", "wheeled_dual_arm"):
        spec = load_spec(REPO / f"configs/robots/{name}.yaml")
        assert spec.head_joints == ["head_yaw", "head_pitch"]
