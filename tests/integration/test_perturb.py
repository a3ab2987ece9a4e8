"""Recovery demos (`generate --perturb`, DART): deterministic, replayable, labelled, and masked in training."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from generate_helpers import assert_same_file
from robotschool.cli import main
from robotschool.errors import OutputPathError
from robotschool.generate import generate
from robotschool.perturb import ATTR_PERTURB, OP_PERTURB_OFFSET, Perturbation
from robotschool.policy.data import DEFAULT_OBS_KEYS, load_training_arrays
from robotschool.recording import schema
from robotschool.replay import replay_demo

SCENE, OVERRIDES = "parts_sorting", ["parts.count=1"]
PERTURB = Perturbation(0.03, rate=0.2, steps=6, gap=4)     # frequent, so two short demos hold several


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("perturb")
    for name, p in (("a", PERTURB), ("b", PERTURB), ("clean", None)):
        generate(SCENE, episodes=2, out=d / f"{name}.hdf5", overrides=OVERRIDES, progress=False, perturb=p,
                 verify=p is not None)
    return d


def test_same_seed_and_settings_give_the_same_file(files):
    assert_same_file(files / "a.hdf5", files / "b.hdf5")


def test_perturbed_demos_replay_bit_identically_and_store_their_offsets(files):
    with h5py.File(files / "a.hdf5", "r") as f, h5py.File(files / "clean.hdf5", "r") as c:
        assert json.loads(f[schema.DATA].attrs[ATTR_PERTURB]) == {"scale": 0.03, "rate": 0.2, "steps": 6, "gap": 4}
        assert ATTR_PERTURB not in c[schema.DATA].attrs
        for name in ("demo_0", "demo_1"):
            demo = f[schema.DATA][name]
            assert bool(demo.attrs["replay_ok"]) and demo.attrs["replay_max_state_error"] == 0.0   # in memory
            offsets = demo[f"{schema.OPERATOR}/{OP_PERTURB_OFFSET}"][()]
            t = demo[schema.ACTIONS].shape[0]
            assert offsets.shape == (t, 6)
            pushed = np.any(offsets != 0, axis=1)
            assert 0 < pushed.sum() < t and np.abs(offsets).max() <= 2 * 0.03 + 1e-12
            # the operator stream holds the executed (pushed) command: clean target + offset
            assert OP_PERTURB_OFFSET not in c[schema.DATA][name][schema.OPERATOR]
            # the scene is the one of the clean run (the offsets have their own generator), and until the first
            # push the two runs are the same episode, action for action
            np.testing.assert_array_equal(demo[schema.STATES][0], c[schema.DATA][name][schema.STATES][0])
            first = int(np.argmax(pushed))
            np.testing.assert_array_equal(demo[schema.ACTIONS][:first], c[schema.DATA][name][schema.ACTIONS][:first])
            assert not np.array_equal(demo[schema.ACTIONS][first], c[schema.DATA][name][schema.ACTIONS][first])
    for name in ("demo_0", "demo_1"):      # and from the file, as any user would replay it
        result = replay_demo(files / "a.hdf5", name)
        assert result.ok and result.max_state_error == 0.0, result


def test_training_masks_the_pushed_actions_unless_kept(files):
    chunk = 4
    dropped = load_training_arrays(files / "a.hdf5", DEFAULT_OBS_KEYS, chunk)
    kept = load_training_arrays(files / "a.hdf5", DEFAULT_OBS_KEYS, chunk, keep_perturbed=True)
    with h5py.File(files / "a.hdf5", "r") as f:
        lengths = [f[schema.DATA][n][schema.ACTIONS].shape[0] for n in ("demo_0", "demo_1")]
        pushed = np.concatenate([np.any(f[schema.DATA][n][schema.OPERATOR][OP_PERTURB_OFFSET][()] != 0, axis=1)
                                 for n in ("demo_0", "demo_1")])
    assert dropped.perturbed_actions == kept.perturbed_actions == int(pushed.sum()) > 0
    start = 0
    for t_len in lengths:                  # item i of a demo covers its steps i .. i + chunk - 1
        for i in range(t_len):
            inside = np.array([i + j < t_len for j in range(chunk)])
            np.testing.assert_array_equal(kept.mask[start + i], inside)
            expect = inside & ~np.array([pushed[start + i + j] if i + j < t_len else False for j in range(chunk)])
            np.testing.assert_array_equal(dropped.mask[start + i], expect)
        start += t_len


def test_resume_refuses_other_perturbation_settings(files):
    with pytest.raises(OutputPathError, match="perturbation"):
        generate(SCENE, episodes=3, out=files / "a.hdf5", overrides=OVERRIDES, progress=False, resume=True,
                 perturb=Perturbation(0.05))
    with pytest.raises(OutputPathError, match="perturbation"):
        generate(SCENE, episodes=3, out=files / "clean.hdf5", overrides=OVERRIDES, progress=False, resume=True,
                 perturb=PERTURB)


@pytest.mark.parametrize("args, expected", [
    (("--perturb", "0"), "scale must be in (0, 0.2]"),
    (("--perturb", "0.03", "--perturb-rate", "1.5"), "rate must be in (0, 1]"),
    (("--perturb", "nan"), "scale must be in (0, 0.2]"),
])
def test_bad_perturbation_options_are_one_line_errors(tmp_path, capsys, args, expected):
    code = main(["generate", "--set", "parts.count=1", "--episodes", "1", "--out", str(tmp_path / "x.hdf5"), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and expected in err[0], err
    assert not (tmp_path / "x.hdf5").exists()
