"""The gymnasium interface over every registered scene: API conformance, seeding, spaces vs a recorded file."""
from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium
import h5py
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import robotschool
from robotschool.env import RobotEnv
from robotschool.errors import RobotschoolError
from robotschool.generate import generate
from robotschool.gym_env import RobotschoolGymEnv, gym_id
from robotschool.recording import schema
from robotschool.registry import SCENES

ONE_PART = ["parts.count=1"]
# smaller variants where a scene's default is slow to reset (check_env resets ~10 times); others use their YAML
QUICK = {"parts_sorting": ONE_PART}


def test_every_scene_has_a_registered_id_and_import_stays_light():
    ids = {k for k in gymnasium.registry if k.startswith("robotschool/")}
    assert ids == {gym_id(s) for s in SCENES.names()}
    assert gym_id("parts_sorting") == "robotschool/PartsSorting-v0"
    code = "import sys, gymnasium, robotschool; assert 'pybullet' not in sys.modules; " \
           "print(sorted(k for k in gymnasium.registry if k.startswith('robotschool/')))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "robotschool/PartsSorting-v0" in r.stdout


@pytest.mark.parametrize("scene", SCENES.names())
def test_env_checker_and_a_few_steps(scene):
    env = gymnasium.make(gym_id(scene), cameras=[], overrides=QUICK.get(scene, []))
    try:
        assert isinstance(env.unwrapped, RobotschoolGymEnv)
        assert isinstance(env.unwrapped.sim, RobotEnv)
        assert env.action_space.shape == (env.unwrapped.sim.codec.dim,)
        assert env.action_space.dtype == np.float32
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*infinity.*")   # unbounded float observations
            check_env(env.unwrapped, skip_render_check=True)
        obs, info = env.reset(seed=7)
        assert obs in env.observation_space and info["success"] is False
        for _ in range(3):
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            assert obs in env.observation_space
            assert all(np.all(np.isfinite(v)) for v in obs.values())
            assert isinstance(info["success"], bool) and terminated == info["success"]
            assert reward == (1.0 if terminated else 0.0) and truncated is False
    finally:
        env.close()


def test_seeding_maps_to_generator_attempts():
    env = robotschool.make("parts_sorting", overrides=ONE_PART)
    sim = RobotEnv("parts_sorting", overrides=ONE_PART, cameras=[])
    try:
        a, info = env.reset(seed=4)
        assert info["seed"] == [4, 0]
        b, info = env.reset()                                   # the next attempt of the same base seed
        assert info["seed"] == [4, 1]
        c, _ = env.reset(seed=4, options={"attempt": 1})
        for k in a:
            assert np.array_equal(b[k], c[k])
        assert not np.array_equal(a[schema.OBS_OBJECT], b[schema.OBS_OBJECT])
        ref = sim.reset(seed=[4, 1])                            # what `generate --seed 4` runs as attempt 1
        assert env.unwrapped.sim.params == sim.params
        for k, v in ref.items():
            assert np.array_equal(c[k], np.asarray(v, dtype=c[k].dtype))
        # the same actions from the same seed give bit-identical steps
        actions = np.random.default_rng(0).uniform(-1, 1, (4, env.action_space.shape[0])).astype(np.float32)
        runs = []
        for _ in range(2):
            env.reset(seed=9)
            runs.append([env.step(act)[0] for act in actions])
        for o1, o2 in zip(*runs):
            assert all(np.array_equal(o1[k], o2[k]) for k in o1)
        with pytest.raises(RobotschoolError, match="unknown reset option"):
            env.reset(options={"atempt": 2})
    finally:
        env.close()
        sim.close()


def test_spaces_match_a_recorded_dataset(tmp_path):
    out = tmp_path / "cam.hdf5"
    generate("parts_sorting", episodes=1, out=out, seed=3, overrides=ONE_PART, cameras=["head"], camera_size=32,
             depth=True, progress=False)
    env = robotschool.make("parts_sorting", overrides=ONE_PART, cameras=["head"], camera_size=32, depth=True,
                           render_mode="rgb_array", render_size=(64, 48))
    try:
        with h5py.File(out, "r") as f:
            demo = f["data/demo_0"]
            recorded = {k: demo[schema.OBS][k] for k in demo[schema.OBS]}
            assert set(recorded) == set(env.observation_space.spaces)
            for k, ds in recorded.items():
                space = env.observation_space[k]
                assert space.shape == ds.shape[1:] and space.dtype == ds.dtype, k
            assert env.observation_space["head_image"].dtype == np.uint8
            assert env.action_space.shape == demo[schema.ACTIONS].shape[1:]
            seed = [int(x) for x in demo.attrs["seed"]]
            first = {k: ds[0] for k, ds in recorded.items()}
        obs, _ = env.reset(seed=seed[0], options={"attempt": seed[1]})
        for k, v in first.items():                              # the recorded first observation, bit for bit
            assert np.array_equal(obs[k], v), k
        frame = env.render()
        assert frame.shape == (48, 64, 3) and frame.dtype == np.uint8 and frame.std() > 1.0
    finally:
        env.close()


def test_render_from_a_robot_camera_and_bad_arguments():
    env = robotschool.make("parts_sorting", overrides=ONE_PART, render_mode="rgb_array", render_camera="head",
                           render_size=(40, 30))
    try:
        env.reset(seed=0)
        frame = env.render()
        assert frame.shape == (30, 40, 3) and frame.std() > 1.0
    finally:
        env.close()
    with pytest.raises(RobotschoolError, match="render_mode"):
        robotschool.make("parts_sorting", render_mode="video")
    with pytest.raises(RobotschoolError, match="render_camera"):
        robotschool.make("parts_sorting", overrides=ONE_PART, render_mode="rgb_array", render_camera="tail")


def test_human_render_mode_opens_the_gui_window():
    """render_mode="human" is the PyBullet GUI (under Xvfb here, as the teleop tests run)."""
    import os
    import shutil

    if not os.environ.get("DISPLAY") and shutil.which("xvfb-run") is None:
        pytest.skip("needs a display or xvfb-run (CI installs xvfb)")
    code = ("import numpy as np, robotschool; "
            "env = robotschool.make('parts_sorting', overrides=['parts.count=1'], render_mode='human'); "
            "obs, _ = env.reset(seed=2); obs, *_ = env.step(np.zeros(env.action_space.shape, np.float32)); "
            "print('gui', env.unwrapped.sim.world.gui, env.render() is None, obs in env.observation_space); "
            "env.close()")
    cmd = [sys.executable, "-c", code]
    if not os.environ.get("DISPLAY"):
        cmd = ["xvfb-run", "-a", *cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "gui True True True" in r.stdout
