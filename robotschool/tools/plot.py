"""One PNG overview of a dataset file: what is in it, before training on it.

Panels: episode lengths (histogram, successes and failures stacked), the distribution of every action
dimension (box per dimension: median, quartiles, whiskers at the 1st/99th percentile, named from the file's
``action_space`` when it has one), the distribution of every low-dim observation key (a box per dimension,
one panel per key), and the success rate by scene parameter.

Success by scene parameter: each demo's ``scene_params`` attribute (JSON) is flattened to dotted paths
(``bench.height``, ``parts.0.mass``); numeric (non-bool) parameters present in at least half the demos that
take more than one value are candidates. Each is cut into up to ``bins`` equal-count bins (quantile edges);
the bar is the fraction of successful demos in the bin, with the bin's demo count above it. The
``max_params`` shown are those whose success rate varies most between their bins (the ones that seem to
matter), ties in name order. A file without ``success`` attributes or without such parameters gets a note
in that panel instead.

matplotlib is an optional extra (``pip install robotschool[plot]``). The figure is drawn with the Agg canvas
directly, never pyplot, so plotting sets no global backend and opens no window.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robotschool.data.stats import demo_names, is_low_dim_key, open_dataset_file
from robotschool.errors import DatasetError, OutputPathError, RobotschoolError
from robotschool.recording import schema

SCENE_PARAMS = "scene_params"
_COLS = 3
_MAX_BOXES = 40            # dims per panel beyond which boxes get too thin: later dims are dropped (and said)


@dataclass(frozen=True)
class PlotResult:
    out: Path
    num_demos: int
    num_samples: int
    obs_keys: list[str]
    params: list[str]       # the scene parameters plotted against success


def _import_matplotlib() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise RobotschoolError("robotschool plot needs matplotlib: pip install robotschool[plot]") from None
    return Figure


def flatten_params(value: Any, prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a JSON value as {dotted.path: float}; bools and text are skipped."""
    out: dict[str, float] = {}
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = ((str(i), v) for i, v in enumerate(value))
    else:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[prefix] = float(value)
        return out
    for key, child in items:
        out.update(flatten_params(child, f"{prefix}.{key}" if prefix else str(key)))
    return out


def success_by_param(params: list[dict[str, float]], success: list[bool], *, bins: int = 5,
                     max_params: int = 6) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """{param: (bin edges, success rate per bin, demos per bin)} for the `max_params` varying numeric params
    whose success rate varies most across bins (module doc)."""
    n = len(params)
    names = sorted({k for p in params for k in p})
    out: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    ok = np.asarray(success, dtype=bool)
    for name in names:
        have = np.array([name in p for p in params])
        if have.sum() * 2 < n:
            continue
        x = np.array([p[name] for p, h in zip(params, have) if h])
        if np.unique(x).size < 2:
            continue
        edges = np.unique(np.quantile(x, np.linspace(0, 1, min(bins, np.unique(x).size) + 1)))
        which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.size - 2)
        count = np.bincount(which, minlength=edges.size - 1)
        wins = np.bincount(which, weights=ok[have].astype(float), minlength=edges.size - 1)
        rate = np.divide(wins, count, out=np.full(count.shape, np.nan), where=count > 0)
        out[name] = (edges, rate, count)
    spread = {k: float(np.nanmax(r) - np.nanmin(r)) for k, (_, r, _) in out.items()}
    chosen = sorted(out, key=lambda k: (-spread[k], k))[:max_params]
    return {k: out[k] for k in chosen}


def _boxes(ax: Any, x: np.ndarray, labels: list[str] | None, title: str) -> None:
    x = x.reshape(x.shape[0], -1).astype(np.float64)
    dims = x.shape[1]
    shown = min(dims, _MAX_BOXES)
    ax.boxplot(x[:, :shown], whis=(1, 99), showfliers=False, widths=0.6)
    ax.set_title(title if shown == dims else f"{title} (first {shown} of {dims} dims)", fontsize=9)
    if labels is not None and len(labels) >= shown:
        ax.set_xticks(range(1, shown + 1), labels[:shown], rotation=90, fontsize=6)
    else:
        ax.set_xticks(range(1, shown + 1), [str(i) for i in range(shown)], fontsize=6)
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(axis="y", alpha=0.3)


def _note(ax: Any, title: str, text: str) -> None:
    ax.set_title(title, fontsize=9)
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=8, wrap=True, transform=ax.transAxes)
    ax.set_axis_off()


def plot(path: str | Path, out: str | Path, *, bins: int = 5, max_params: int = 6, dpi: int = 100,
         overwrite: bool = True) -> PlotResult:
    """Write the overview PNG of `path` to `out` (see the module doc)."""
    path, out = Path(path), Path(out)
    if out.suffix.lower() != ".png":
        raise OutputPathError(f"{out}: the plot is a PNG; give an output name ending in .png")
    if out.is_dir():
        raise OutputPathError(f"{out} is a directory; give a file name ending in .png")
    if not out.parent.is_dir():
        raise OutputPathError(f"cannot write {out}: directory {out.parent} does not exist")
    if out.exists() and not overwrite:
        raise OutputPathError(f"{out} exists; pass --overwrite to replace it")
    if bins < 1 or max_params < 0:
        raise ValueError(f"bins must be >= 1 and max_params >= 0, got {bins} and {max_params}")
    figure_class = _import_matplotlib()

    with open_dataset_file(path) as f:
        names = demo_names(f)
        if not names:
            raise DatasetError(f"{path}: no demos in /{schema.DATA}; nothing to plot")
        data = f[schema.DATA]
        lengths, success, params = [], [], []
        actions, obs = [], {}
        first = data[names[0]]
        obs_keys = sorted(k for k in first[schema.OBS] if is_low_dim_key(k)) if schema.OBS in first else []
        for name in names:
            demo = data[name]
            if schema.ACTIONS not in demo:
                raise DatasetError(f"{path}: {name} has no {schema.ACTIONS}; run `robotschool validate {path}`")
            a = demo[schema.ACTIONS][()]
            lengths.append(a.shape[0])
            actions.append(a)
            for k in obs_keys:
                if f"{schema.OBS}/{k}" in demo:
                    obs.setdefault(k, []).append(demo[schema.OBS][k][()])
            s = demo.attrs.get(schema.ATTR_SUCCESS)
            success.append(None if s is None else bool(s))
            params.append(_params(demo.attrs.get(SCENE_PARAMS)))
        action_names = _action_names(data.attrs.get("action_space"))
    try:
        all_actions = np.concatenate(actions)
        all_obs = {k: np.concatenate(v) for k, v in obs.items()}
    except ValueError as e:
        raise DatasetError(f"{path}: demos disagree on an array's shape ({e}); run `robotschool validate "
                           f"{path}`") from None

    known = [s for s in success if s is not None]
    by_param = success_by_param(params, [bool(s) for s in success], bins=bins, max_params=max_params) \
        if len(known) == len(success) else {}

    obs_rows = math.ceil(len(all_obs) / _COLS)
    param_rows = max(1, math.ceil(len(by_param) / _COLS))
    rows = 1 + obs_rows + param_rows
    fig = figure_class(figsize=(5.0 * _COLS, 3.3 * rows), dpi=dpi, layout="constrained")
    grid = fig.add_gridspec(rows, _COLS)
    ok = np.array([s is True for s in success])
    lens = np.array(lengths)
    ax = fig.add_subplot(grid[0, 0])
    edges = np.histogram_bin_edges(lens, bins=min(20, max(1, np.unique(lens).size)))
    ax.hist([lens[ok], lens[~ok]], bins=edges, stacked=True, label=["success", "failed / unknown"],
            color=["tab:green", "tab:red"])
    ax.set_title(f"episode length ({len(names)} demos, {int(lens.sum())} steps)", fontsize=9)
    ax.set_xlabel("steps", fontsize=8)
    ax.legend(fontsize=7)
    _boxes(fig.add_subplot(grid[0, 1:]), all_actions, action_names, f"actions ({all_actions.shape[1]} dims)")
    for i, (k, x) in enumerate(all_obs.items()):
        _boxes(fig.add_subplot(grid[1 + i // _COLS, i % _COLS]), x, None, f"obs/{k}")
    if by_param:
        for i, (name, (edges, rate, count)) in enumerate(by_param.items()):
            ax = fig.add_subplot(grid[1 + obs_rows + i // _COLS, i % _COLS])
            labels = [f"{lo:.3g}..{hi:.3g}" for lo, hi in zip(edges[:-1], edges[1:])]
            pos = np.arange(rate.size)
            ax.bar(pos, np.nan_to_num(rate), color="tab:blue")
            for p, r, c in zip(pos, rate, count):
                ax.text(p, (0 if np.isnan(r) else r) + 0.02, f"n={c}", ha="center", fontsize=7)
            ax.set_xticks(pos, labels, rotation=30, fontsize=6)
            ax.set_ylim(0, 1.15)
            ax.set_title(f"success rate by {name}", fontsize=9)
    else:
        why = ("the demos carry no success flag" if len(known) != len(success)
               else "no numeric scene parameter varies across the demos")
        _note(fig.add_subplot(grid[1 + obs_rows, :]), "success rate by scene parameter", why)
    fig.suptitle(f"{path.name}: {len(names)} demos, success {int(ok.sum())}/{len(names)}", fontsize=11)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        fig.savefig(tmp, format="png")
        tmp.replace(out)            # never a half-written PNG under the final name
    finally:
        tmp.unlink(missing_ok=True)
    return PlotResult(out, len(names), int(lens.sum()), list(all_obs), list(by_param))


def _params(raw: Any) -> dict[str, float]:
    if raw is None:
        return {}
    try:
        return flatten_params(json.loads(raw.decode() if isinstance(raw, bytes) else str(raw)))
    except (json.JSONDecodeError, TypeError):
        return {}


def _action_names(raw: Any) -> list[str] | None:
    if raw is None:
        return None
    try:
        names = json.loads(raw.decode() if isinstance(raw, bytes) else str(raw)).get("names")
    except (json.JSONDecodeError, AttributeError, TypeError):
        return None
    return [str(n) for n in names] if isinstance(names, list) else None
