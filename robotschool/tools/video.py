"""Turn one demo into a video (.gif / .mp4 via imageio) or a folder of PNG frames (`out` ending in "/").

Frames come from the stored `obs/<camera>_image` when the file has it; otherwise they are re-rendered from
`states` (see `_render.py`), so even a low-dim-only dataset can be looked at. imageio is an optional extra
(`pip install robotschool[video]`); the PNG-folder output needs nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robotschool.data.stats import open_dataset_file
from robotschool.errors import DatasetError
from robotschool.recording import schema
from robotschool.replay import demo_key
from robotschool.tools._render import demo_render_inputs, render_states
from robotschool.tools.png import write_png

DEFAULT_CAMERA = "head"
RENDER_SIZE = 256
_VIDEO_SUFFIXES = (".gif", ".mp4")


@dataclass(frozen=True)
class VideoResult:
    out: Path
    frames: int
    camera: str
    rendered: bool          # True when re-rendered from states, False when read from obs


def video(path: str | Path, demo: int | str, out: str | Path, camera: str | None = None,
          fps: int = 20) -> VideoResult:
    """Write demo `demo` of `path` as a video or PNG frames (see the module doc)."""
    as_frames = str(out).endswith("/")
    out = Path(out)
    if not as_frames and out.suffix.lower() not in _VIDEO_SUFFIXES:
        raise DatasetError(f"{out}: video output must end in .gif or .mp4, or '/' for a folder of PNG frames")
    if fps <= 0:
        raise DatasetError(f"fps must be positive, got {fps}")
    imageio = None if as_frames else _imageio()
    name = demo_key(demo)
    with open_dataset_file(path) as f:
        data = f[schema.DATA]
        if name not in data:
            raise DatasetError(f"{path} has no {name}")
        group = data[name]
        obs = group.get(schema.OBS, {})
        stored = [k for k in obs if schema.is_image_key(k)]
        key = schema.OBS_IMAGE.format(camera=camera) if camera else (stored[0] if stored else None)
        rendered = key not in stored
        cam = camera or (key[: -len("_image")] if key else DEFAULT_CAMERA)
        if rendered:
            kwargs, states, params = demo_render_inputs(path, data, group)
        else:
            frames = np.asarray(obs[key][()])
    if rendered:
        frames = render_states(kwargs, states, params, [cam], RENDER_SIZE)[schema.OBS_IMAGE.format(camera=cam)]
    if as_frames:
        out.mkdir(parents=True, exist_ok=True)
        for t, frame in enumerate(frames):
            write_png(out / f"frame_{t:05d}.png", frame)
    else:
        _write_video(imageio, out, frames, fps)
    return VideoResult(out, int(len(frames)), cam, rendered)


def _imageio():
    try:
        import imageio.v2 as imageio
    except ImportError:
        raise DatasetError("writing .gif/.mp4 needs imageio: pip install robotschool[video] "
                           "(or give an output ending in '/' for PNG frames)") from None
    return imageio


def _write_video(imageio, out: Path, frames: np.ndarray, fps: int) -> None:
    """Write to a temp name then rename, so an interrupted run never leaves a half video under `out`."""
    tmp = out.with_name(f".{out.stem}.tmp{out.suffix}")
    try:
        if out.suffix.lower() == ".gif":
            imageio.mimsave(tmp, list(frames), duration=1000.0 / fps, loop=0)
        else:
            imageio.mimsave(tmp, list(frames), fps=fps)
        tmp.replace(out)
    except (ImportError, OSError, ValueError, RuntimeError) as e:
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if isinstance(e, ImportError) or "backend" in text:     # .mp4 without imageio-ffmpeg
            raise DatasetError(f"writing {out.suffix} needs imageio-ffmpeg: pip install robotschool[video] "
                               f"(or write a .gif)") from None
        raise DatasetError(f"{out}: cannot write video ({text})") from None
    finally:
        tmp.unlink(missing_ok=True)
