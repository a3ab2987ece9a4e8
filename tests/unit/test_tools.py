"""Dataset tools on tiny synthetic files written by the real DatasetWriter (no simulation, fast)."""
from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest

from robotschool.data.stats import write_stats
from robotschool.errors import DatasetError, OutputPathError
from robotschool.recording import schema
from robotschool.recording.episode import Episode
from robotschool.recording.writer import DatasetWriter
from robotschool.tools import filter_demos, merge, rerender, split, validate, video
from robotschool.tools.filter import parse_condition
from robotschool.tools.png import encode_png

IMAGE = schema.OBS_IMAGE.format(camera="head")
ENV_ARGS = json.dumps({"env_name": "parts_sorting", "type": 4,
                       "env_kwargs": {"scene": "parts_sorting", "robot": None, "overrides": ["parts.count=1"],
                                      "cameras": [], "camera_size": 8, "depth": False}})


def make_episode(index: int, t: int = 4, success: bool = True, height: float = 1.0) -> Episode:
    rng = np.random.default_rng([3, index])
    obs = {schema.OBS_JOINT_POS: rng.standard_normal((t, 5)).astype(np.float32),
           IMAGE: rng.integers(0, 256, (t, 6, 6, 3), dtype=np.uint8)}
    final = {k: v[-1].copy() + (1 if v.dtype != np.uint8 else 0) for k, v in obs.items()}
    actions = rng.uniform(-1, 1, (t, 3)).astype(np.float32)
    dones = np.zeros(t, np.uint8)
    dones[-1] = 1
    return Episode(obs=obs, final_obs=final, actions=actions,
                   action_dict={schema.ACT_GRIPPER: actions[:, :2].copy()},
                   rewards=np.zeros(t, np.float32), dones=dones, states=rng.standard_normal((t, 6)),
                   operator={"left_pose": np.full((t, 7), np.nan), "phase": np.array(["a", "b", "c", "d"][:t])},
                   attrs={schema.ATTR_SUCCESS: success, "seed": index,
                          "scene_params": {"bench": {"height": height}, "parts": [{"color": "red"}]}})


def write_file(path: Path, episodes: list[Episode], scene: str = "parts_sorting") -> Path:
    with DatasetWriter(path, {schema.ATTR_SCENE: scene, schema.ATTR_ENV_ARGS: ENV_ARGS,
                              "action_space": {"names": ["a", "b", "c"]}}) as writer:
        for i, episode in enumerate(episodes):
            writer.add(episode, key=f"attempt_{i:06d}")
    return path


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return write_file(tmp_path / "good.hdf5",
                      [make_episode(0, success=True, height=0.9), make_episode(1, t=3, success=False, height=1.0),
                       make_episode(2, success=True, height=1.1)])


# ---------------------------------------------------------------------------------------------- validate

def test_validate_good_file(good: Path) -> None:
    report = validate(good)
    assert report.ok, report.problems
    assert report.num_demos == 3


def test_validate_nan(good: Path) -> None:
    with h5py.File(good, "a") as f:
        a = f["data/demo_2/actions"]
        a[0, :2] = np.nan
    report = validate(good)
    assert report.problems == ["data/demo_2/actions: 2 NaN values"]


def test_validate_actions_out_of_range(good: Path) -> None:
    with h5py.File(good, "a") as f:
        f["data/demo_1/actions"][1, 0] = 1.7
    (problem,) = validate(good).problems
    assert problem.startswith("actions outside [-1, 1] in demo_1") and "max 1.7" in problem


def test_validate_wrong_mask(good: Path) -> None:
    with h5py.File(good, "a") as f:
        del f["mask/train"]
        f["mask/train"] = np.array([b"demo_0", b"demo_9"])
    assert validate(good).problems == ["mask/train names demo_9 which does not exist"]


def test_validate_length_mismatch_and_total(good: Path) -> None:
    with h5py.File(good, "a") as f:
        f["data/demo_1"].attrs[schema.ATTR_NUM_SAMPLES] = 40
        del f["data/demo_0/rewards"]
        f["data/demo_0/rewards"] = np.zeros(2, np.float32)
        del f["data/demo_2/states"]
    problems = validate(good).problems
    assert "data/demo_1: num_samples 40 but actions has 3 rows" in problems
    assert "data/demo_0/rewards: 2 rows but actions has 4" in problems
    assert "data/demo_2: missing states" in problems
    assert len(problems) == 3, problems


def test_validate_total_and_missing_obs(good: Path) -> None:
    with h5py.File(good, "a") as f:
        f["data"].attrs[schema.ATTR_TOTAL] = 99
        del f["data/demo_0/obs"]
    assert validate(good).problems == ["data/demo_0: missing obs",
                                       "data: attr total is 99 but the demos have 11 samples"]


def test_validate_truncated_file_is_one_problem(good: Path, tmp_path: Path) -> None:
    data = good.read_bytes()
    cut = tmp_path / "cut.hdf5"
    cut.write_bytes(data[: len(data) // 2])
    report = validate(cut)
    assert len(report.problems) == 1 and "truncated" in report.problems[0]
    junk = tmp_path / "junk.hdf5"
    junk.write_bytes(b"not hdf5 at all")
    assert len(validate(junk).problems) == 1
    with pytest.raises(DatasetError):
        validate(tmp_path / "missing.hdf5")


def _corrupt(good: Path, tmp_path: Path, kind: str) -> Path:
    """A real damaged copy of `good`: the kinds of damage a crash, a bad disk or a wrong file produce."""
    data = good.read_bytes()
    with h5py.File(good, "r") as f:          # the compressed chunk of demo_1's second image frame
        chunk = f[f"data/demo_1/obs/{IMAGE}"].id.get_chunk_info(1)
    blob = bytearray(data)
    if kind == "empty":
        blob = bytearray()
    elif kind == "not_hdf5":
        blob = bytearray(b"demo,step,action\n0,0,0.5\n" * 20)
    elif kind == "truncated_mid_dataset":
        blob = blob[: chunk.byte_offset + chunk.size // 2]
    elif kind == "flipped_signature":
        blob[0] ^= 0x01
    elif kind == "flipped_superblock":
        blob[20] ^= 0x10                      # a superblock address: its checksum no longer matches
    elif kind == "damaged_chunk":
        blob[chunk.byte_offset:chunk.byte_offset + chunk.size] = bytes(chunk.size)
    out = tmp_path / f"{kind}.hdf5"
    out.write_bytes(bytes(blob))
    return out


@pytest.mark.parametrize("kind, validate_says, dataset_says", [
    ("empty", "not HDF5", "not an HDF5 file"),
    ("not_hdf5", "not HDF5", "not an HDF5 file"),
    ("truncated_mid_dataset", "truncated", "truncated file"),
    ("flipped_signature", "signature", "not an HDF5 file"),
    ("flipped_superblock", "checksum", "checksum"),
    ("damaged_chunk", f"data/demo_1/obs/{IMAGE}: data unreadable", f"demo_1/obs/{IMAGE} is unreadable"),
])
def test_damaged_files_are_reported_not_crashed_on(good: Path, tmp_path: Path, kind: str, validate_says: str,
                                                   dataset_says: str) -> None:
    from robotschool.data import DemoDataset
    from robotschool.data.stats import compute_stats

    bad = _corrupt(good, tmp_path, kind)
    report = validate(bad)
    assert not report.ok and len(report.problems) == 1 and validate_says in report.problems[0], report.problems
    keys = [schema.OBS_JOINT_POS, IMAGE]
    for cache in ("low_dim", None, "all"):
        with pytest.raises(DatasetError, match=dataset_says) as err:
            ds = DemoDataset(bad, keys, seq_len=2, cache=cache)
            ds.get_batch(np.arange(len(ds)))  # construction succeeds when only an image chunk is damaged
        assert "\n" not in str(err.value) and str(bad) in str(err.value)
    if kind != "damaged_chunk":                 # stats skip images, so that file still has good stats
        with pytest.raises(DatasetError, match=dataset_says):
            compute_stats(bad)


# ---------------------------------------------------------------------------------------------- split

def masks(path: Path) -> tuple[list[str], list[str]]:
    with h5py.File(path, "r") as f:
        return ([n.decode() for n in f["mask/train"][()]], [n.decode() for n in f["mask/valid"][()]])


def test_split_is_deterministic_and_crash_safe(good: Path) -> None:
    result = split(good, valid=0.34, seed=5)
    train, valid = masks(good)
    assert sorted(train + valid) == ["demo_0", "demo_1", "demo_2"] and len(valid) == 1
    assert (train, valid) == (result.train, result.valid)
    assert split(good, valid=0.34, seed=5).valid == valid
    assert not list(good.parent.glob("*.tmp")) and not Path(f"{good}.parts").exists()
    assert validate(good).ok
    with pytest.raises(DatasetError):
        split(good, valid=1.5)


def test_split_refuses_while_writer_open(good: Path, tmp_path: Path) -> None:
    Path(f"{good}.parts").mkdir()
    with pytest.raises(DatasetError, match="being written"):
        split(good)


# ---------------------------------------------------------------------------------------------- merge

def test_merge_renumbers_and_rebuilds_next_obs(good: Path, tmp_path: Path) -> None:
    other = write_file(tmp_path / "b.hdf5", [make_episode(10), make_episode(11, t=2)])
    out = tmp_path / "merged.hdf5"
    result = merge([good, other], out)
    assert result.num_demos == 5
    assert result.sources[3] == (str(other), "demo_0", "demo_3")
    report = validate(out)
    assert report.ok, report.problems
    with h5py.File(out, "r") as f, h5py.File(other, "r") as b:
        new, old = f["data/demo_4"], b["data/demo_1"]
        for key in (schema.OBS_JOINT_POS, IMAGE):
            np.testing.assert_array_equal(new["next_obs"][key][()], old["next_obs"][key][()])
        np.testing.assert_array_equal(new["actions"][()], old["actions"][()])
        assert list(new["operator/phase"].asstr()[()]) == ["a", "b"]
        assert json.loads(new.attrs["scene_params"]) == json.loads(old.attrs["scene_params"])
        assert f["data"].attrs[schema.ATTR_TOTAL] == 4 + 3 + 4 + 4 + 2
        assert f["data"].attrs[schema.ATTR_ENV_ARGS] == ENV_ARGS


def test_merge_refuses_other_scene_and_existing_output(good: Path, tmp_path: Path) -> None:
    other = write_file(tmp_path / "k.hdf5", [make_episode(0)], scene="kitchen")
    with pytest.raises(DatasetError, match="scene"):
        merge([good, other], tmp_path / "m.hdf5")
    with pytest.raises(DatasetError, match="also an input"):
        merge([good], good)
    assert not (tmp_path / "m.hdf5").exists()


def test_merge_output_is_all_or_nothing(good: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.hdf5"
    write_stats(good)
    assert merge([good], out).notes == []
    with h5py.File(good, "r") as f, h5py.File(out, "r") as g:    # the merged file's own, fresh stats
        assert g["stats"].attrs["total"] == g["data"].attrs["total"] == f["data"].attrs["total"]
        np.testing.assert_array_equal(g["stats/actions/mean"][()], f["stats/actions/mean"][()])
    with pytest.raises(OutputPathError):
        merge([good], out)
    broken = write_file(tmp_path / "broken.hdf5", [make_episode(5)])
    with h5py.File(broken, "a") as f:
        del f["data/demo_0/states"]
    with pytest.raises(DatasetError, match="lacks states"):
        merge([good, broken], out, overwrite=True)
    with h5py.File(out, "r") as f:          # the previous output is intact, no partial file left behind
        assert len(f["data"]) == 3 and f["stats"].attrs["total"] == f["data"].attrs["total"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.hdf5", "good.hdf5", "m.hdf5"]


# ---------------------------------------------------------------------------------------------- filter

def test_filter_by_success_and_params(good: Path, tmp_path: Path) -> None:
    result = filter_demos(good, tmp_path / "ok.hdf5", success=True)
    assert result.kept == ["demo_0", "demo_2"] and result.dropped == 1
    result = filter_demos(good, tmp_path / "tall.hdf5", param_conditions=["bench.height>0.97"])
    assert result.kept == ["demo_1", "demo_2"]
    result = filter_demos(good, tmp_path / "both.hdf5", success=True,
                          param_conditions=["bench.height>=1.05", "parts.0.color==red"])
    assert result.kept == ["demo_2"]
    assert validate(tmp_path / "both.hdf5").ok
    with h5py.File(tmp_path / "both.hdf5", "r") as f:
        assert list(f["data"]) == ["demo_0"]


def test_filter_bad_condition_is_one_line(good: Path, tmp_path: Path) -> None:
    for bad in ("bench.height ~ 3", "height", ">3"):
        with pytest.raises(DatasetError) as info:
            filter_demos(good, tmp_path / "x.hdf5", param_conditions=[bad])
        assert "\n" not in str(info.value)
    with pytest.raises(DatasetError, match="cannot compare"):
        filter_demos(good, tmp_path / "x.hdf5", param_conditions=["parts.0.color>1"])
    with pytest.raises(DatasetError, match="none of"):
        filter_demos(good, tmp_path / "x.hdf5", param_conditions=["bench.height>5"])
    assert parse_condition("a.b!=x").value == "x"


# ---------------------------------------------------------------------------------------------- video

def decode_png(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    idat_len = struct.unpack(">I", data[33:37])[0]
    raw = np.frombuffer(zlib.decompress(data[41:41 + idat_len]), np.uint8).reshape(h, 1 + w * 3)
    return raw[:, 1:].reshape(h, w, 3)


def test_png_roundtrip() -> None:
    img = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    np.testing.assert_array_equal(decode_png(encode_png(img)), img)


def test_video_png_frames_from_stored_images(good: Path, tmp_path: Path) -> None:
    result = video(good, 1, f"{tmp_path}/frames/")
    assert (result.frames, result.camera, result.rendered) == (3, "head", False)
    files = sorted((tmp_path / "frames").glob("*.png"))
    assert len(files) == 3
    with h5py.File(good, "r") as f:
        np.testing.assert_array_equal(decode_png(files[2].read_bytes()), f["data/demo_1/obs"][IMAGE][2])


def test_video_gif_or_clear_error(good: Path, tmp_path: Path) -> None:
    try:
        import imageio
        del imageio
    except ImportError:
        with pytest.raises(DatasetError, match=r"pip install robotschool\[video\]"):
            video(good, "demo_0", tmp_path / "v.gif")
        return
    result = video(good, "demo_0", tmp_path / "v.gif", fps=10)
    assert result.frames == 4 and (tmp_path / "v.gif").stat().st_size > 0


def test_video_bad_input(good: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no demo_7"):
        video(good, 7, f"{tmp_path}/f/")
    with pytest.raises(DatasetError, match=".gif or .mp4"):
        video(good, 0, tmp_path / "v.avi")


# ---------------------------------------------------------------------------------------------- re-render

@pytest.fixture(scope="module")
def sim_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two real simulator states of a one-part scene (no stepping): enough to re-render, cheap to build."""
    from robotschool.env import RobotEnv

    path = tmp_path_factory.mktemp("sim") / "sim.hdf5"
    with RobotEnv("parts_sorting", overrides=["parts.count=1"], cameras=[]) as env:
        env.reset(seed=0)
        state = env.world.get_state()
        attrs = env.data_attrs()
        params = env.params
    episodes = []
    for i in range(2):
        episode = make_episode(i, t=2)
        del episode.obs[IMAGE], episode.final_obs[IMAGE]
        episode.states = np.stack([state, state])
        episode.attrs["scene_params"] = params
        episodes.append(episode)
    with DatasetWriter(path, attrs) as writer:
        for episode in episodes:
            writer.add(episode)
    return path


def test_video_rerenders_from_states(sim_file: Path, tmp_path: Path) -> None:
    result = video(sim_file, 0, f"{tmp_path}/frames/")
    assert (result.frames, result.camera, result.rendered) == (2, "head", True)
    frame = decode_png((tmp_path / "frames" / "frame_00001.png").read_bytes())
    assert frame.shape == (256, 256, 3) and frame.std() > 0


@pytest.mark.parametrize("workers", [1, 2])
def test_rerender_adds_images(sim_file: Path, tmp_path: Path, workers: int) -> None:
    out = tmp_path / f"r{workers}.hdf5"
    result = rerender(sim_file, out, ["head", "left_wrist"], 16, workers=workers)
    assert result.num_demos == 2
    assert validate(out).ok, validate(out).problems
    with h5py.File(out, "r") as f:
        demo = f["data/demo_1"]
        assert demo["obs"][IMAGE].shape == (2, 16, 16, 3)
        assert demo["next_obs"]["left_wrist_image"].shape == (2, 16, 16, 3)
        np.testing.assert_array_equal(demo["obs"][IMAGE][0], demo["obs"][IMAGE][1])   # same state twice
        assert json.loads(f["data"].attrs[schema.ATTR_ENV_ARGS])["env_kwargs"]["cameras"] == ["head", "left_wrist"]


# ---------------------------------------------------------------------------------------------- plot

def test_flatten_params_and_success_by_param() -> None:
    from robotschool.tools.plot import flatten_params, success_by_param

    assert flatten_params({"a": {"b": 1, "c": [2.5, {"d": True}], "e": "x"}, "f": float("nan")}) == \
        {"a.b": 1.0, "a.c.0": 2.5}
    params = [{"h": 0.9, "k": 1.0}, {"h": 1.0, "k": 1.0}, {"h": 1.1, "k": 1.0}, {"h": 1.2}]
    got = success_by_param(params[:3], [True, False, True], bins=3)
    assert list(got) == ["h"]                       # k never varies
    edges, rate, count = got["h"]
    np.testing.assert_allclose(edges, [0.9, 0.9 + 0.2 / 3, 0.9 + 0.4 / 3, 1.1])
    assert rate.tolist() == [1.0, 0.0, 1.0] and count.tolist() == [1, 1, 1]
    edges, rate, count = success_by_param(params, [True, True, False, False], bins=2)["h"]
    assert rate.tolist() == [1.0, 0.0] and count.tolist() == [2, 2]
    # the params whose success rate varies most come first, whatever their names
    rng = np.random.default_rng(0)
    many = [{"a": float(rng.random()), "m": float(rng.random()), "z": float(i)} for i in range(40)]
    ranked = success_by_param(many, [i >= 20 for i in range(40)], bins=4, max_params=2)
    assert len(ranked) == 2 and next(iter(ranked)) == "z"
    assert ranked["z"][1].tolist() == [0.0, 0.0, 1.0, 1.0]


def test_plot_writes_a_png(good: Path, tmp_path: Path) -> None:
    from robotschool.tools.plot import plot

    out = tmp_path / "overview.png"
    result = plot(good, out)
    assert (result.num_demos, result.num_samples) == (3, 11)
    assert result.params == ["bench.height"] and result.obs_keys == [schema.OBS_JOINT_POS]
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert 800 <= width <= 3000 and 600 <= height <= 4000 and len(data) > 20_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.hdf5", "overview.png"]    # no temp left
    with pytest.raises(OutputPathError, match="ending in .png"):
        plot(good, tmp_path / "overview.jpg")
    with pytest.raises(OutputPathError, match="does not exist"):
        plot(good, tmp_path / "nope" / "p.png")
    with pytest.raises(DatasetError, match="not an HDF5 file"):
        plot(_corrupt(good, tmp_path, "not_hdf5"), out)
