"""Concatenate dataset files: every demo of the first input, then the second, ... renumbered demo_0, ...

Demos are re-added through `DatasetWriter` (see `_episode_io.py`): that rebuilds `next_obs` for the new
names, `total` and the masks (the train/valid split is the writer's default hash; run `split` to redraw it).
Normalisation stats (`/stats`) of the inputs are not copied: they describe one input, not the merge; the
writer computes the merged file's own when it closes. Files whose `scene` or `action_space` differ are refused, because their
actions or observations would not mean the same thing.
"""
from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from robotschool.data.stats import demo_names, open_dataset_file
from robotschool.errors import DatasetError
from robotschool.recording import schema
from robotschool.tools._episode_io import check_output, data_attrs, read_episode, write_episodes

MUST_MATCH = (schema.ATTR_SCENE, "action_space")


@dataclass(frozen=True)
class MergeResult:
    out: Path
    num_demos: int
    sources: list[tuple[str, str, str]]        # (input path, old demo name, new demo name)
    notes: list[str] = field(default_factory=list)


def merge(inputs: list[str | Path], out: str | Path, overwrite: bool = False) -> MergeResult:
    """Write the demos of every file in `inputs`, in order, to the new file `out`."""
    if not inputs:
        raise DatasetError("merge needs at least one input file")
    out = check_output(out, inputs)
    with ExitStack() as stack:
        files = [stack.enter_context(open_dataset_file(p)) for p in inputs]
        first = files[0][schema.DATA].attrs
        for path, f in zip(inputs[1:], files[1:]):
            for attr in MUST_MATCH:
                a, b = first.get(attr), f[schema.DATA].attrs.get(attr)
                if a != b:
                    raise DatasetError(f"cannot merge {path} into {inputs[0]}: /{schema.DATA} attr {attr} "
                                       f"differs ({_short(b)} vs {_short(a)})")
        pairs = [(str(p), f[schema.DATA][n]) for p, f in zip(inputs, files) for n in demo_names(f)]
        episodes = (read_episode(g) for _, g in pairs)
        count = write_episodes(out, data_attrs(files[0]), episodes, overwrite=overwrite)
        new = [schema.demo_name(i) for i in range(count)]
        notes: list[str] = []
        sources = [(p, g.name.rsplit("/", 1)[-1], n) for (p, g), n in zip(pairs, new)]
    return MergeResult(out, len(new), sources, notes)


def _short(value: object, limit: int = 40) -> str:
    text = repr(value.decode() if isinstance(value, bytes) else value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
