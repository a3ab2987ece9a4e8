"""Tiny end to end: generate a few demos, `robotschool train`, `robotschool eval` (real files, subprocesses)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from robotschool.cli import main
from robotschool.data.stats import compute_stats, read_stats
from robotschool.generate import generate
from robotschool.policy.data import DEFAULT_OBS_KEYS, default_obs_keys, load_training_arrays
from robotschool.policy.evaluate import ChunkExecutor
from robotschool.policy.model import load_policy
from robotschool.policy.train import train_policy
from robotschool.recording import schema

REPO_ROOT = Path(__file__).resolve().parents[2]
CHUNK = 4


def _cli(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "robotschool.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("bc")
    generate("parts_sorting", episodes=3, out=d / "demos.hdf5", overrides=["parts.count=1"], progress=False)
    r = _cli("train", "--data", "demos.hdf5", "--out", "pol", "--steps", "40", "--chunk", str(CHUNK),
             "--hidden", "64,64", "--batch-size", "64", cwd=d)
    assert r.returncode == 0, r.stderr
    return d, r


def test_train_writes_policy_config_weights_and_curve(trained):
    d, r = trained
    assert "trained 40 steps" in r.stdout
    assert "note:" not in r.stderr                        # the writer stored /stats and the masks
    for name in ("policy.json", "policy.pt", "loss.png"):
        assert (d / "pol" / name).stat().st_size > 0, name
    assert (d / "pol" / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cfg = json.loads((d / "pol" / "policy.json").read_text())
    stats = read_stats(d / "demos.hdf5")
    with h5py.File(d / "demos.hdf5", "r") as f:
        action_dim = f["data/demo_0/actions"].shape[1]
        n_valid = len(f["mask/valid"][()])
        obs_dim = sum(f[f"data/demo_0/obs/{k}"].shape[1] for k in cfg["obs_keys"])
    assert cfg["scene"] == "parts_sorting" and cfg["overrides"] == ["parts.count=1"] and cfg["robot"] == "humanoid"
    assert cfg["chunk"] == CHUNK and cfg["action_dim"] == action_dim and cfg["obs_dim"] == obs_dim
    assert cfg["training"]["valid_demos"] == n_valid and cfg["training"]["train_demos"] == 3 - n_valid
    np.testing.assert_allclose(cfg["normalizer"]["act_mean"], stats[schema.ACTIONS]["mean"], rtol=1e-6, atol=1e-7)
    assert len(cfg["training"]["curve"]["train"]) >= 1 and np.isfinite(cfg["training"]["final_train_loss"])

    policy = load_policy(d / "pol")
    with h5py.File(d / "demos.hdf5", "r") as f:
        obs = {k: f[f"data/demo_0/obs/{k}"][0] for k in cfg["obs_keys"]}
        obs2 = {k: f[f"data/demo_0/obs/{k}"][1] for k in cfg["obs_keys"]}
    chunk = policy.predict_chunk(obs)
    assert chunk.shape == (CHUNK, action_dim) and chunk.dtype == np.float32 and np.all(np.abs(chunk) <= 1)
    # temporal ensembling: step 0 plays chunk0[0]; step 1 blends chunk0[1] and chunk1[0], oldest weighted most
    ex = ChunkExecutor(policy, ensemble_m=0.5)
    np.testing.assert_allclose(ex(obs), chunk[0], rtol=1e-6)
    w = np.exp(-0.5 * np.arange(2))
    expected = (w[0] * chunk[1] + w[1] * policy.predict_chunk(obs2)[0]) / w.sum()
    np.testing.assert_allclose(ex(obs2), expected, rtol=1e-5, atol=1e-6)


def test_training_is_repeatable_and_needs_neither_stats_nor_masks(trained, tmp_path):
    d, _ = trained
    bare = tmp_path / "bare.hdf5"                       # the same demos without /stats and /mask
    with h5py.File(d / "demos.hdf5", "r") as src, h5py.File(bare, "w") as dst:
        src.copy(src["data"], dst, "data")
    weights = []
    for name in ("a", "b"):
        r = train_policy(bare, tmp_path / name, chunk=CHUNK, hidden=(32,), steps=15, batch_size=32,
                         progress=False)
        weights.append(torch.load(tmp_path / name / "policy.pt", weights_only=True))
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert any("no normalisation stats" in n for n in r.notes) and any("split" in n for n in r.notes)
    assert r.train_demos + r.valid_demos == 3 and r.valid_demos == 1
    cfg = json.loads((tmp_path / "a" / "policy.json").read_text())
    np.testing.assert_allclose(cfg["normalizer"]["act_mean"], compute_stats(bare)[schema.ACTIONS]["mean"],
                               rtol=1e-6, atol=1e-7)


def test_history_stacks_past_frames_in_training_and_at_run_time(trained, tmp_path):
    d, _ = trained
    keys = [schema.OBS_OBJECT] + [schema.OBS_EEF_POS.format(arm=a) for a in ("left", "right")]
    arrays = load_training_arrays(d / "demos.hdf5", keys, CHUNK, history=3)
    with h5py.File(d / "demos.hdf5", "r") as f:          # items are demo steps in demo order: demo_0 first
        frames = [{k: f[f"data/demo_0/obs/{k}"][t] for k in keys} for t in range(21)]
    vec = [arrays.normalizer.obs_vector(o) for o in frames]
    np.testing.assert_allclose(arrays.obs[0], np.concatenate([vec[0]] * 3), rtol=1e-6)    # start padded
    np.testing.assert_allclose(arrays.obs[20], np.concatenate(vec[18:21]), rtol=1e-6)     # oldest first

    train_policy(d / "demos.hdf5", tmp_path / "h", obs_keys=keys, chunk=CHUNK, hidden=(32,), steps=5,
                 batch_size=16, history=3, progress=False)
    policy = load_policy(tmp_path / "h")
    assert policy.config.history == 3 and policy.config.obs_dim == len(vec[0])
    ex = ChunkExecutor(policy, execute=1)                  # receding horizon of 1: every step a fresh chunk
    seen = [frames[0], frames[10], frames[20]]
    played = [ex(o) for o in seen]
    np.testing.assert_allclose(played[0], policy.predict_chunk([frames[0]] * 3)[0], rtol=1e-6)
    np.testing.assert_allclose(played[2], policy.predict_chunk(seen)[0], rtol=1e-6)
    assert not np.allclose(policy.predict_chunk(seen), policy.predict_chunk([frames[20]] * 3))   # the past counts


def test_hand_to_object_offsets_are_derived_the_same_way_in_training_and_at_run_time(trained, tmp_path):
    d, _ = trained
    keys = [schema.OBS_GRIPPER_QPOS.format(arm="left")]        # the offsets need no object or hand key here
    arrays = load_training_arrays(d / "demos.hdf5", keys, CHUNK, rel_objects=1)
    norm = arrays.normalizer
    assert norm.input_keys == keys + ["rel/left_eef_to_object0", "rel/right_eef_to_object0"]
    with h5py.File(d / "demos.hdf5", "r") as f:
        obs = {k: f[f"data/demo_0/obs/{k}"][7] for k in f["data/demo_0/obs"]}
    offset = obs[schema.OBS_OBJECT][:3] - obs[schema.OBS_EEF_POS.format(arm="right")]
    expected = (offset - norm.obs_mean["rel/right_eef_to_object0"]) / norm.obs_std["rel/right_eef_to_object0"]
    assert arrays.obs.shape[1] == 2 + 3 + 3
    np.testing.assert_allclose(arrays.obs[7, -3:], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(norm.obs_vector(obs), arrays.obs[7], rtol=1e-6)   # run time = training
    train_policy(d / "demos.hdf5", tmp_path / "r", obs_keys=keys, chunk=CHUNK, hidden=(16,), steps=3,
                 batch_size=16, rel_objects=1, progress=False)
    assert load_policy(tmp_path / "r").normalizer.rel_objects == 1      # saved and restored with the policy


def test_eval_report_and_frames(trained):
    d, _ = trained
    r = _cli("eval", "--policy", "pol", "--episodes", "2", "--max-steps", "6", "--seed", "5", "--json", "r.json",
             "--video", "frames/", "--log-episodes", cwd=d)
    assert r.returncode == 0, r.stderr
    assert "95% CI (Wilson)" in r.stdout
    report = json.loads((d / "r.json").read_text())
    logged = [line for line in r.stderr.splitlines() if line.startswith("attempt ")]   # one line per episode
    assert logged == [f"attempt {e['attempt']}: {'success' if e['success'] else 'failure'} after {e['steps']} steps"
                      for e in report["per_episode"]]
    assert report["episodes"] == 2 and report["max_steps"] == 6 and report["seed"] == 5
    assert [e["seed"] for e in report["per_episode"]] == [[5, 0], [5, 1]]
    assert all(1 <= e["steps"] <= 6 for e in report["per_episode"])
    k = sum(e["success"] for e in report["per_episode"])
    assert report["successes"] == k and report["success_rate"] == k / 2
    lo, hi = report["ci95"]
    assert 0.0 <= lo <= k / 2 <= hi <= 1.0 and hi - lo > 0.3          # two episodes say little
    frames = sorted((d / "frames").glob("frame_*.png"))
    assert len(frames) == report["per_episode"][0]["steps"] + 1       # first episode only: reset + every step


def test_bad_inputs_are_one_line_errors(trained, tmp_path, capsys, monkeypatch):
    d, _ = trained
    monkeypatch.chdir(d)
    cases = [
        (("train", "--data", "missing.hdf5", "--out", "x"), "no such dataset file"),
        (("train", "--data", "demos.hdf5", "--out", "pol"), "--overwrite"),
        (("train", "--data", "demos.hdf5", "--out", "y", "--obs-keys", "head_image"), "low-dim"),
        (("eval", "--policy", str(tmp_path), "--episodes", "1"), "not a policy folder"),
        (("eval", "--policy", "pol", "--episodes", "1", "--video", "v.avi"), ".mp4 or .gif"),
    ]
    for args, expected in cases:        # in-process: the same main() as the console script, minus startup
        code = main(list(args))
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and expected in lines[0], (args, err)
    # without torch (a subprocess where importing it fails): one line naming the extra
    block_torch = ("-c", "import sys; sys.modules['torch'] = None; from robotschool.cli import main; "
                         "sys.exit(main(sys.argv[1:]))")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    r = subprocess.run([sys.executable, *block_torch, "train", "--data", "demos.hdf5", "--out", "z"], cwd=d,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "pip install robotschool[torch]" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (d / "z").exists()


def test_help_texts_render(capsys):
    for argv in (["--help"], ["train", "--help"], ["eval", "--help"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--obs-keys" in out and "--video" in out


def test_observation_std_is_floored_so_near_constant_dims_are_not_blown_up(trained):
    d, _ = trained
    stats = read_stats(d / "demos.hdf5")
    floored = load_training_arrays(d / "demos.hdf5", DEFAULT_OBS_KEYS, CHUNK).normalizer          # default 0.01
    raw = load_training_arrays(d / "demos.hdf5", DEFAULT_OBS_KEYS, CHUNK, obs_std_floor=0.0).normalizer
    tiny = 0
    for k in DEFAULT_OBS_KEYS:
        std = np.asarray(stats[f"obs/{k}"]["std"], np.float32)
        np.testing.assert_allclose(floored.obs_std[k], np.maximum(std, 0.01), rtol=1e-6)
        np.testing.assert_allclose(raw.obs_std[k], np.maximum(std, 1e-6), rtol=1e-6)
        tiny += int(np.sum(std < 0.01))
    assert tiny > 0          # the demos do have such dims (a level hand's quaternion x and y), so the floor acts
    np.testing.assert_array_equal(floored.act_std, raw.act_std)        # actions keep the 1e-6 floor


def test_learnability_script_mixes_clean_and_recovery_demos(tmp_path):
    """scripts/learnability.py --perturb M --mix: recovery and clean demos are generated, merged into one file,
    trained on and evaluated; the table and the JSON row say so. --mix alone is refused with a one-line error."""
    script = REPO_ROOT / "scripts" / "learnability.py"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = lambda *a: subprocess.run([sys.executable, str(script), *a], cwd=tmp_path, env=env,  # noqa: E731
                                    capture_output=True, text=True, timeout=600)
    r = run("--scenes", "parts_sorting", "--demos", "2", "--steps", "20", "--episodes", "1", "--perturb", "0.03",
            "--mix", "--out-dir", "lb", "--json", "rows.json")
    assert r.returncode == 0, r.stderr
    (row,) = json.loads((tmp_path / "rows.json").read_text())
    assert row["demos"] == 4 and row["episodes"] == 1 and row["train_steps"] == 20
    with h5py.File(tmp_path / "lb" / "parts_sorting_p0.03_mix.hdf5", "r") as f:
        demos = [f[f"data/{name}"] for name in f["data"]]
        perturbed = [schema.OP_PERTURB_OFFSET in d[schema.OPERATOR] for d in demos]
    assert sorted(perturbed) == [False, False, True, True]
    assert (tmp_path / "lb" / "parts_sorting_p0.03_mix_policy" / "policy.pt").is_file()
    assert "stations at >= 80% success: " in r.stdout and "parts_sorting" in r.stdout
    bad = run("--mix", "--out-dir", "lb")
    assert bad.returncode == 2 and "--mix merges recovery demos with clean ones" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_idle_items_are_chunks_that_hold_still():
    """idle_items: an item is idle when every in-demo action of its chunk stays within the tolerance of its first;
    steps past the demo's end (masked) do not count."""
    from robotschool.policy.data import IDLE_TOLERANCE, idle_items

    a = np.zeros((4, 3, 2), np.float32)
    a[1, 2, 0] = 0.5                                   # moves at the chunk's last step
    a[2, 1, 1] = IDLE_TOLERANCE / 2                    # jitter within the tolerance
    a[3, 2, 0] = 0.5                                   # moves, but past the demo's end
    mask = np.ones((4, 3), bool)
    mask[3, 2] = False
    assert idle_items(a, mask).tolist() == [True, False, True, True]


def test_drop_idle_trains_without_the_waiting_steps(trained, tmp_path):
    """Scripted demos wait (a grasp closing, a settle); --drop-idle leaves those items out and says how many."""
    d, _ = trained
    arrays = load_training_arrays(d / "demos.hdf5", DEFAULT_OBS_KEYS, CHUNK)
    raw = arrays.actions * arrays.normalizer.act_std + arrays.normalizer.act_mean
    idle = arrays.idle
    assert 0 < idle.sum() < len(idle)
    i = int(np.flatnonzero(idle & arrays.mask.all(axis=1))[0])
    assert np.abs(raw[i] - raw[i, 0]).max() <= 1e-3 + 1e-6
    r = _cli("train", "--data", "demos.hdf5", "--out", str(tmp_path / "idle"), "--steps", "5", "--chunk", str(CHUNK),
             "--hidden", "16", "--batch-size", "16", "--drop-idle", cwd=d)
    assert r.returncode == 0, r.stderr
    training = json.loads((tmp_path / "idle" / "policy.json").read_text())["training"]
    assert training["drop_idle"] and training["idle_items_dropped"] == int((idle & ~arrays.valid).sum())
    assert training["samples"] == int((~idle & ~arrays.valid).sum())


def test_default_inputs_add_the_base_velocity_only_when_the_demos_walk(trained, tmp_path):
    """parts_sorting never moves the base: the defaults are DEFAULT_OBS_KEYS exactly (its measured policies keep
    their inputs). A walking station's demos add robot0_base_vel, and a policy trained on them reads it."""
    d, _ = trained
    assert default_obs_keys(d / "demos.hdf5") == list(DEFAULT_OBS_KEYS)
    with open(d / "pol" / "policy.json") as f:
        assert json.load(f)["obs_keys"] == list(DEFAULT_OBS_KEYS)
    walk = tmp_path / "walk.hdf5"
    generate("shelf_restock", episodes=1, out=walk, overrides=["gaps.count=[1, 1]", "basket.extra=[0, 0]"],
             progress=False)
    assert default_obs_keys(walk) == list(DEFAULT_OBS_KEYS) + [schema.OBS_BASE_VEL]
    train_policy(walk, tmp_path / "pol", steps=2, chunk=CHUNK, hidden=(16,), batch_size=8, progress=False)
    policy = load_policy(tmp_path / "pol")
    assert schema.OBS_BASE_VEL in policy.config.obs_keys
