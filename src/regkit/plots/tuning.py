"""`tuning.png`: how each tuned arm's value was chosen, validation accuracy against the value.

A study with tuned arms (``compare(tune={"l2": [1e-5, 1e-4, 1e-3]})``) chooses each arm's
value by successive halving on selection seeds; report.json's ``config["tuning"]`` holds
the trail (`regkit.experiments.report.tuning_trail` reads it for the tables). This figure
draws it: one panel per tuned arm and field, each round's mean validation accuracy of
every candidate that ran in it (later rounds average more seeds), hollow where the
candidate was dropped after that round, and the chosen value marked. `plot_report` draws
it for a report that has tuned arms.
"""

from __future__ import annotations

import io
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeGuard

from regkit._io import atomic_write_bytes

__all__ = ["plot_tuning", "tuning_figure"]

#: One marker per round (cycled), so rounds read apart without colour too.
_MARKERS = ("o", "s", "D", "^", "v", "P")


def _key(candidate: Any) -> Any:
    return tuple(candidate) if isinstance(candidate, (list, tuple)) else candidate


def _real(value: Any) -> TypeGuard[float]:
    """A real number (an int or float, not a bool)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _panels(tuning: Mapping[str, Any]) -> list[tuple[str, str, Mapping[str, Any]]]:
    """(arm, field, trail) for every tuned field of every arm whose trail has rounds of
    numeric means."""
    panels = []
    for arm, trail in tuning.items():
        if not isinstance(trail, Mapping) or not isinstance(trail.get("fields"), Mapping):
            continue
        rounds = trail.get("rounds")
        if not isinstance(rounds, list) or not all(
            isinstance(r, Mapping)
            and isinstance(r.get("candidates"), list)
            and isinstance(r.get("mean_val_accuracy"), list)
            and all(_real(m) for m in r["mean_val_accuracy"])
            for r in rounds
        ):
            continue
        panels += [(str(arm), str(field), trail) for field in trail["fields"]]
    return panels


def _log_axis(values: Sequence[float]) -> bool:
    """A log x-axis when every value is positive and they span more than a factor 10."""
    return bool(values) and min(values) > 0 and max(values) / min(values) > 10


def _draw_panel(ax: Any, arm: str, field: str, trail: Mapping[str, Any]) -> None:
    from matplotlib.lines import Line2D

    fields = list(trail["fields"])
    index = fields.index(field)
    joint = len(fields) > 1
    grid = [v for v in trail["fields"][field] if _real(v)]

    def x_of(candidate: Any) -> float | None:
        value = candidate[index] if joint and isinstance(candidate, (list, tuple)) else candidate
        return float(value) if _real(value) and math.isfinite(float(value)) else None

    handles = []
    last: dict[Any, float] = {}
    for r, round_ in enumerate(trail["rounds"]):
        marker, color = _MARKERS[r % len(_MARKERS)], f"C{r % 10}"
        kept = {_key(c) for c in round_.get("kept") or []}
        points = [
            (x, 100.0 * float(m), _key(c) in kept)
            for c, m in zip(round_["candidates"], round_["mean_val_accuracy"], strict=False)
            if (x := x_of(c)) is not None
        ]
        for x, y, alive in points:
            ax.plot([x], [y], marker, color=color, ms=7, mfc=color if alive else "none", mew=1.5)
        if not joint and len(points) > 1:  # one field: the round's curve over the values
            ordered = sorted(points)
            ax.plot([p[0] for p in ordered], [p[1] for p in ordered], "-", color=color, lw=0.8)
        seeds = round_.get("seeds")
        label = f"round {r + 1}: mean over {seeds} seed{'' if seeds == 1 else 's'}"
        handles.append(Line2D([], [], color=color, marker=marker, ls="", ms=7, label=label))
        last = {
            _key(c): 100.0 * float(m)
            for c, m in zip(round_["candidates"], round_["mean_val_accuracy"], strict=False)
        }
    chosen = trail.get("chosen")
    named = chosen if isinstance(chosen, Mapping) else {field: chosen}
    found = named.get(field)
    value = float(found) if _real(found) else None
    if value is not None:
        ax.axvline(value, color="0.3", ls=":", lw=1.2)
        key = tuple(named.get(f) for f in fields) if joint else named[field]
        mean = last.get(key) if all(_real(v) for v in named.values()) else None
        if mean is not None:  # the chosen value's mean in the last round
            ax.plot([value], [mean], "*", color="gold", mec="0.2", ms=15, zorder=5)
        handles.append(
            Line2D([], [], color="gold", mec="0.2", marker="*", ls="", ms=12, label="chosen")
        )
    handles.append(
        Line2D([], [], color="0.3", marker="o", mfc="none", ls="", label="dropped after the round")
    )
    xs = [float(v) for v in grid]
    if _log_axis(xs):
        ax.set_xscale("log")
    if xs:
        ax.set_xticks(sorted(set(xs)), [f"{v:g}" for v in sorted(set(xs))])
        ax.minorticks_off()
    ax.set_xlabel(field + (" (log scale)" if _log_axis(xs) else ""))
    ax.set_ylabel("validation accuracy (%)")
    title = f"{arm}: {field}" if joint else arm
    ax.set_title(title + ("" if value is None else f", chose {value:g}"))
    ax.grid(alpha=0.3)
    ax.legend(handles=handles, fontsize="small", loc="best")


def tuning_figure(tuning: Mapping[str, Any] | None) -> Any:
    """The tuning figure (a `matplotlib.figure.Figure`, one axes per tuned arm and field),
    or None when there is nothing to draw.

    Args:
        tuning: report.json's ``config["tuning"]``: arm -> trail.

    Raises:
        ImportError: matplotlib is not installed (``pip install regkit-keras[plots]``).
    """
    panels = _panels(tuning) if isinstance(tuning, Mapping) else []
    if not panels:
        return None
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover - matplotlib is a dev dependency
        raise ImportError(
            "plot_tuning needs matplotlib: `pip install regkit-keras[plots]`."
        ) from err
    columns = min(len(panels), 3)
    rows = math.ceil(len(panels) / columns)
    fig = Figure(figsize=(5.4 * columns, 4.4 * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, (arm, field, trail) in zip(axes, panels, strict=False):
        _draw_panel(ax, arm, field, trail)
    for ax in axes[len(panels) :]:
        fig.delaxes(ax)
    fig.suptitle(  # two short lines: one panel is 5.4 inches wide
        "Tuning: mean validation accuracy per round,\non selection seeds "
        "(test accuracy took no part)",
        fontsize="medium",
    )
    return fig


def plot_tuning(tuning: Mapping[str, Any] | None, path: str | os.PathLike[str]) -> Path | None:
    """Draws `tuning.png`: validation accuracy (%) against each tuned field's value.

    One panel per tuned arm and field: each round's mean validation accuracy of every
    candidate that ran in it, one marker and colour per round (a later round's mean is
    over more selection seeds: the legend says how many), hollow where the candidate was
    dropped after that round, a star and a dotted line at the chosen value. The x-axis is
    logarithmic when every value is positive and they span more than a factor 10. A
    joint arm (several fields) gets one panel per field, each candidate at its value of
    that field. `plot_report` writes it for a report whose config has ``"tuning"``.

    Args:
        tuning: report.json's ``config["tuning"]`` (arm -> trail).
        path: The PNG to write (its folder is created).

    Returns:
        The path written, or None when there is no tuned arm.

    Raises:
        ImportError: matplotlib is not installed (``pip install regkit-keras[plots]``).

    Example:
        >>> report = Report.from_json("runs/study/report.json")  # doctest: +SKIP
        >>> plot_tuning(report.config["tuning"], "tuning.png")  # doctest: +SKIP
        PosixPath('tuning.png')
    """
    fig = tuning_figure(tuning)
    if fig is None:
        return None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    fig.clear()
    return atomic_write_bytes(path, buffer.getvalue(), sync=False)
