"""generate(): resume, keep_failed, max_attempts and Ctrl-C, in process where possible (parts.count=1, no cameras)."""
from __future__ import annotations

import logging
import signal
import subprocess
import time
from pathlib import Path

import h5py
import pytest
import yaml

from generate_helpers import INTERRUPTED, cli_cmd, cli_env, restore_sigint
from robotschool.errors import OutputPathError
from robotschool.generate import generate
from robotschool.recording import schema

ONE_PART = ["parts.count=1"]
HOPELESS = ["parts.count=1", "horizon_s=0.3"]       # 6 control steps: the operator cannot finish


def _keys(path: Path) -> list[str]:
    with h5py.File(path, "r") as f:
        data = f[schema.DATA]
        return [str(data[n].attrs[schema.ATTR_KEY]) for n in sorted(data, key=schema.demo_index)]


def test_resume_skips_done_attempts_and_counts_their_successes(tmp_path: Path):
    out = tmp_path / "r.hdf5"
    first = generate("parts_sorting", 1, out, overrides=ONE_PART, progress=False)
    assert (first.successes, first.attempts, first.resumed) == (1, 1, 0)
    second = generate("parts_sorting", 2, out, overrides=ONE_PART, resume=True, progress=False)
    assert (second.successes, second.attempts, second.resumed) == (2, 1, 1)
    assert _keys(out) == ["attempt_000000", "attempt_000001"]
    again = generate("parts_sorting", 2, out, overrides=ONE_PART, resume=True, progress=False)
    assert (again.successes, again.attempts) == (2, 0)
    # a file begun under another scene config (here: an older YAML's oracle noise) is not continued
    with h5py.File(out, "r+") as f:
        cfg = yaml.safe_load(f["data"].attrs[schema.ATTR_CONFIG])
        cfg["oracle"]["position_noise"] = cfg["oracle"]["position_noise"] + 0.001
        f["data"].attrs[schema.ATTR_CONFIG] = yaml.safe_dump(cfg, sort_keys=False)
    with pytest.raises(OutputPathError, match=r"scene config oracle\.position_noise=.*write to another file"):
        generate("parts_sorting", 3, out, overrides=ONE_PART, resume=True, progress=False)
    assert _keys(out) == ["attempt_000000", "attempt_000001"]          # nothing lost


def test_keep_failed_and_max_attempts(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    out = tmp_path / "f.hdf5"
    with caplog.at_level(logging.WARNING, logger="robotschool.generate"):
        s = generate("parts_sorting", 1, out, overrides=HOPELESS, keep_failed=True, max_attempts=2, progress=False)
    assert (s.successes, s.failures, s.attempts, s.complete) == (0, 2, 2, False)
    assert any("max_attempts" in r.getMessage() for r in caplog.records)
    with h5py.File(out, "r") as f:
        assert [n.decode() for n in f[schema.MASK][schema.MASK_FAILED][()]] == ["demo_0", "demo_1"]
        assert not f["data/demo_0"].attrs[schema.ATTR_SUCCESS]
    dropped = generate("parts_sorting", 1, tmp_path / "g.hdf5", overrides=HOPELESS, max_attempts=1, progress=False)
    assert dropped.failures == 1 and _keys(tmp_path / "g.hdf5") == []


def test_ctrl_c_exits_130_keeping_recorded_episodes(tmp_path: Path):
    cmd = cli_cmd("generate", "--episodes", "50", "--set", "parts.count=1", "--out", "k.hdf5")
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=restore_sigint)
    parts = tmp_path / "k.hdf5.parts"
    deadline = time.monotonic() + 60
    while not list(parts.glob("*.h5")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)               # wait until the first episode is durable
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode in INTERRUPTED, (out, err)
    assert "Traceback" not in err and "--resume" in err
    assert not parts.exists()        # the writer closed: staged episodes were committed
    done = _keys(tmp_path / "k.hdf5")
    assert done and done[0] == "attempt_000000"
