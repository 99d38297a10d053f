"""Every figure regkit draws, as PNG files: one training history (`plot_history`: loss and
accuracy side by side, weight norms when logged) and a comparison report (`plot_report`:
all variants overlaid; `plot_differences`: each variant against the reference, with its
interval; `plot_tuning`, in `regkit.plots.tuning`: how tuned arms chose their values).

matplotlib is imported inside the plotting functions (it is an optional dependency,
`regkit-keras[plots]`), and figures are drawn on matplotlib's Agg canvas through
`matplotlib.figure.Figure`, without pyplot: nothing touches the global backend or
pyplot's figure registry, so plotting from a script, a notebook or a worker thread
behaves the same.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from regkit._checks import invalid
from regkit._io import atomic_write_bytes
from regkit.plots.tuning import plot_tuning

__all__ = [
    "LOG_FIELDS",
    "load_history",
    "plot_differences",
    "plot_history",
    "plot_report",
    "plot_sweep",
    "plot_tuning",
]

_NORM_SUFFIX = "_kernel_norm"


def _to_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan  # "NA" cells from CSVLogger, empty strings


def _read_csv(path: Path) -> tuple[list[int], dict[str, list[float]]]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise invalid("history", "a CSV file with at least one epoch row", str(path))
    columns = [c for c in rows[0] if c != "epoch"]
    if "epoch" in rows[0]:
        epochs = [int(float(r["epoch"])) + 1 for r in rows]
    else:
        epochs = list(range(1, len(rows) + 1))
    return epochs, {c: [_to_float(r.get(c)) for r in rows] for c in columns}


def load_history(history: Any) -> tuple[list[int], dict[str, list[float]]]:
    """Reads a training history into (1-based epoch numbers, metric name -> values).

    Args:
        history: A `keras.callbacks.History` (what `model.fit` returns), a mapping of
            metric name to per-epoch values, or the path of a CSV file written by
            `keras.callbacks.CSVLogger`.

    Returns:
        The epoch numbers (starting at 1, as Keras prints them) and the series.

    Raises:
        ValueError: The history is empty or its series have different lengths.
        TypeError: `history` is none of the accepted kinds.
        FileNotFoundError: A CSV path that does not exist.

    Example:
        >>> load_history({"loss": [1.0, 0.5]})
        ([1, 2], {'loss': [1.0, 0.5]})
    """
    if isinstance(history, (str, os.PathLike)):
        return _read_csv(Path(history))
    data = getattr(history, "history", history)
    if not isinstance(data, Mapping):
        raise TypeError(
            "Invalid type for argument `history`: expected a keras History, a dict of "
            "lists or the path of a CSVLogger file. "
            f"Received: history={history!r} of type {type(history).__name__}"
        )
    series = {str(k): [_to_float(v) for v in values] for k, values in data.items()}
    lengths = {len(v) for v in series.values()}
    if not series or lengths == {0}:
        raise invalid("history", "at least one logged epoch", history)
    if len(lengths) != 1:
        raise invalid(
            "history",
            "series of equal length",
            {k: len(v) for k, v in series.items()},
        )
    n = lengths.pop()
    epochs = getattr(history, "epoch", None)
    if isinstance(epochs, Sequence) and len(epochs) == n:
        return [int(e) + 1 for e in epochs], series
    return list(range(1, n + 1)), series


def _accuracy_keys(series: Mapping[str, list[float]]) -> list[str]:
    return [k for k in series if not k.startswith("val_") and ("accuracy" in k or k == "acc")]


def _draw(ax: Any, epochs: list[int], series: Mapping[str, list[float]], keys: list[str]) -> None:
    for key in keys:
        ax.plot(epochs, series[key], marker="o", markersize=3, label=key)
        if f"val_{key}" in series:
            ax.plot(epochs, series[f"val_{key}"], marker="o", markersize=3, label=f"val_{key}")
    ax.set_xlabel("epoch")
    ax.grid(True, alpha=0.3)


def plot_history(history: Any, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Saves training curves as a PNG: loss and accuracy side by side, weight norms if logged.

    The first panel shows ``loss`` and ``val_loss``, the second every accuracy metric
    (``accuracy``, ``sparse_categorical_accuracy``, ...) with its ``val_`` twin, and a third
    panel appears when the history holds ``<layer>_kernel_norm`` series (logged by
    `regkit.callbacks.WeightNormLogger`).

    Args:
        history: A `keras.callbacks.History`, a dict of per-epoch lists, or the path of a
            CSV file written by `keras.callbacks.CSVLogger`.
        path: Where to write the PNG (parent folders are created).
        title: Optional figure title.

    Returns:
        The path of the written PNG.

    Raises:
        ValueError: The history is empty or has no ``loss`` series.
        TypeError: `history` is of an unsupported type.
        ImportError: matplotlib is not installed (``pip install regkit-keras[plots]``).

    Example:
        >>> history = model.fit(x, y, validation_split=0.2, epochs=3)  # doctest: +SKIP
        >>> plot_history(history, "runs/cnn/history.png", title="cnn, l2")  # doctest: +SKIP
        PosixPath('runs/cnn/history.png')
    """
    epochs, series = load_history(history)
    if "loss" not in series:
        raise invalid("history", "a history with a 'loss' series", sorted(series))
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as err:  # pragma: no cover - matplotlib is a dev dependency
        raise ImportError(
            "plot_history needs matplotlib: `pip install regkit-keras[plots]`."
        ) from err

    accuracy = _accuracy_keys(series)
    norms = sorted(k for k in series if k.endswith(_NORM_SUFFIX))
    panels = 1 + bool(accuracy) + bool(norms)
    fig = Figure(figsize=(5.0 * panels, 4.0), dpi=100, layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]

    ax = axes[0]
    _draw(ax, epochs, series, ["loss"])
    ax.set_ylabel("loss")
    ax.set_title("Training and validation loss")
    ax.legend(fontsize="small")
    index = 1
    if accuracy:
        ax = axes[index]
        _draw(ax, epochs, series, accuracy)
        ax.set_ylabel("accuracy")
        ax.set_title("Training and validation accuracy")
        ax.legend(fontsize="small")
        index += 1
    if norms:
        ax = axes[index]
        for key in norms:
            ax.plot(epochs, series[key], marker="o", markersize=3, label=key[: -len(_NORM_SUFFIX)])
        ax.set_xlabel("epoch")
        ax.set_ylabel("L2 norm of kernel")
        ax.set_title("Kernel norms")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="x-small", ncol=max(1, math.ceil(len(norms) / 12)))
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        fig.suptitle(title)

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    fig.clear()  # a pyplot-free Figure holds no global state; drop its artists now
    return out


def _save_png(fig: Any, path: Path) -> Path:
    """Saves `fig` atomically (readers never see half a PNG; no write through a symlink)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    fig.clear()
    return atomic_write_bytes(path, buffer.getvalue(), sync=False)


# ---------------------------------------------------------------------------- report helpers
#: Swept fields that are strengths: drawn on a log axis.
LOG_FIELDS: tuple[str, ...] = ("l1", "l2", "weight_decay", "learning_rate")


def _robust_top(series: Sequence[Sequence[float]]) -> float | None:
    """A y-axis top that the healthy curves set: the largest value below 5x the median
    first-epoch value (a diverging run's 1e23 never sets the axis; it is clipped)."""
    firsts = sorted(v[0] for v in series if v and math.isfinite(v[0]))
    if not firsts:
        return None
    limit = 5.0 * firsts[len(firsts) // 2]
    tame = [x for v in series for x in v if math.isfinite(x) and x <= limit]
    return max([*tame, firsts[0]]) * 1.05 if tame else None


def _seed_handles(seeds: Sequence[int]) -> list[Any]:
    """Legend entries that explain the per-seed lines (none for one seed)."""
    from matplotlib.lines import Line2D

    if len(seeds) < 2:
        return []
    listed = ", ".join(map(str, seeds))
    return [
        Line2D([], [], color="0.3", lw=0.8, alpha=0.5, label=f"one seed (seeds {listed})"),
        Line2D([], [], color="0.3", lw=1.8, label=f"mean over {len(seeds)} seeds"),
    ]


def _mean_curve(curves: Sequence[Sequence[float]]) -> list[float]:
    """The per-epoch mean over the curves that reach each epoch (finite values only)."""
    length = max((len(c) for c in curves), default=0)
    out = []
    for e in range(length):
        values = [c[e] for c in curves if e < len(c) and math.isfinite(c[e])]
        if len(values) < len([c for c in curves if e < len(c)]) or not values:
            break
        out.append(sum(values) / len(values))
    return out


def _draw_variant(
    ax: Any, curves: list[list[float]], style: str, color: str, top: float | None
) -> bool:
    """Draws each seed's curve (thin when several) and their mean; returns True if clipped."""
    several = len(curves) > 1
    clipped = False
    for values in curves:
        epochs = list(range(1, len(values) + 1))
        shown = [v if math.isfinite(v) else math.nan for v in values]
        if top is not None:
            over = [(e, v) for e, v in zip(epochs, shown, strict=True) if v > top]
            if over:
                clipped = True
                ax.plot([e for e, _ in over], [top] * len(over), "^", color=color, ms=5)
            shown = [min(v, top) if math.isfinite(v) else math.nan for v in shown]
        ax.plot(
            epochs,
            shown,
            style,
            color=color,
            lw=0.8 if several else 1.6,
            alpha=0.35 if several else 1.0,
        )
        bad = [i for i, v in enumerate(values) if not math.isfinite(v)]
        if bad and bad[0] > 0:  # diverged: an x at the last finite point
            last = bad[0]
            ax.plot([last], [shown[last - 1]], "x", color=color, ms=8, mew=2)
    if several:
        mean = _mean_curve(curves)
        if top is not None:
            mean = [min(v, top) for v in mean]
        ax.plot(range(1, len(mean) + 1), mean, style, color=color, lw=1.8)
    return clipped


def _legend(
    fig: Any,
    names: Sequence[str],
    colors: Sequence[str],
    seeds: Sequence[int],
    extra: Sequence[tuple[str, str]],
) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=c, lw=2, label=n) for n, c in zip(names, colors, strict=True)]
    handles += [
        Line2D([], [], color="0.3", ls="-", label="train"),
        Line2D([], [], color="0.3", ls="--", label="validation"),
        *_seed_handles(seeds),
    ]
    for marker, label in extra:
        handles.append(Line2D([], [], color="0.3", ls="", marker=marker, label=label))
    fig.legend(handles=handles, fontsize="small", loc="outside right upper")


def plot_report(report: Any, directory: str | os.PathLike[str]) -> list[Path]:
    """Draws the curves of all variants of a comparison overlaid, and their weight norms.

    Writes `curves.png` (loss and accuracy in % per epoch: one colour per variant, train solid,
    validation dashed; with several seeds a thin line per seed and a thick one for their
    mean; a dot at each seed's best epoch, an x where a run diverged, a triangle where a
    curve leaves the axes), `weight_norms.png` when the histories hold `WeightNormLogger`
    logs (global kernel norm per epoch; its axis follows the norms rather than starting at
    0, so close lines stay apart), `differences.png` when the report compares
    variants over several seeds (see `plot_differences`), for a sweep `sweep.png`
    (see `plot_sweep`) and, for tuned arms, `tuning.png` (see `plot_tuning`).
    A diverging run never sets the axes: the loss axis is sized by the healthy curves and
    values above it are clipped and marked. Epoch ticks are integers. `Report.plot` calls
    this.

    Args:
        report: A `regkit.experiments.Report`.
        directory: Where to write the images (created if missing).

    Returns:
        The paths written.

    Raises:
        ImportError: matplotlib is not installed (``pip install regkit-keras[plots]``).

    Example:
        >>> report = compare(["baseline", "l2"], epochs=2)  # doctest: +SKIP
        >>> plot_report(report, "runs/cmp")  # doctest: +SKIP
        [PosixPath('runs/cmp/curves.png'), PosixPath('runs/cmp/weight_norms.png')]
    """
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as err:  # pragma: no cover - matplotlib is a dev dependency
        raise ImportError(
            "plot_report needs matplotlib: `pip install regkit-keras[plots]`."
        ) from err

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    names = list(report.variants)
    colors = [f"C{i % 10}" for i in range(len(names))]
    seeds = list(report.seeds)
    written: list[Path] = []

    fig = Figure(figsize=(14, 4.8), layout="constrained")
    axes = fig.subplots(1, 2)
    loss_series = [
        run.history.get(key, [])
        for name in names
        for run in report.runs_for(name)
        for key in ("loss", "val_loss")
    ]
    top = _robust_top(loss_series)
    clipped = diverged = False
    for name, color in zip(names, colors, strict=True):
        runs = report.runs_for(name)
        acc_key = next((k for r in runs for k in _accuracy_keys(r.history)), None)
        for ax, key, limit in ((axes[0], "loss", top), (axes[1], acc_key, None)):
            if key is None:
                continue
            scale = 1.0 if key == "loss" else 100.0  # accuracy in percent, as the tables
            for prefix, style in (("", "-"), ("val_", "--")):
                curves = [[scale * v for v in r.history.get(prefix + key, [])] for r in runs]
                curves = [c for c in curves if c]
                if curves:
                    clipped |= _draw_variant(ax, curves, style, color, limit)
        for run in runs:
            diverged |= run.status == "diverged"
            if run.best_epoch is not None and run.val_loss is not None:
                y = run.val_loss if top is None else min(run.val_loss, top)
                axes[0].plot([run.best_epoch], [y], "o", color=color, ms=5)
    extra = [("o", "best epoch (lowest validation loss)")]
    if diverged:
        extra.append(("x", "diverged (loss or weights NaN/inf)"))
    if clipped:
        extra.append(("^", "off the scale (clipped)"))
    for ax, title in ((axes[0], "Loss"), (axes[1], "Accuracy (%)")):
        ax.set_title(title)
        ax.set_xlabel("Epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    if top is not None:
        axes[0].set_ylim(bottom=0, top=top)
    if axes[1].has_data():
        axes[1].set_ylim(-2, 102)
    if axes[0].has_data():
        _legend(fig, names, colors, seeds, extra)
    fig.suptitle(report.title())
    written.append(_save_png(fig, directory / "curves.png"))

    norms = {name: [run.weight_norm_history() for run in report.runs_for(name)] for name in names}
    if any(h for hs in norms.values() for h in hs):
        fig = Figure(figsize=(8.5, 4.5), layout="constrained")
        ax = fig.subplots()
        norm_top = _robust_top([h for hs in norms.values() for h in hs])
        norm_clipped = False
        for name, color in zip(names, colors, strict=True):
            curves = [h for h in norms[name] if h]
            if curves:
                norm_clipped |= _draw_variant(ax, curves, "-", color, norm_top)
        ax.set_title("Global kernel L2 norm")
        ax.set_xlabel("Epoch")
        ax.set_ylabel("‖W‖₂ (all conv/dense kernels)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if norm_top is not None:  # the bottom follows the norms: close lines stay apart
            ax.set_ylim(top=norm_top)
        ax.grid(alpha=0.3)
        from matplotlib.lines import Line2D

        handles = [
            Line2D([], [], color=c, lw=2, label=n) for n, c in zip(names, colors, strict=True)
        ]
        handles += _seed_handles(seeds)
        if norm_clipped:
            handles.append(
                Line2D([], [], color="0.3", ls="", marker="^", label="off the scale (clipped)")
            )
        fig.legend(handles=handles, fontsize="small", loc="outside right upper")
        written.append(_save_png(fig, directory / "weight_norms.png"))
    difference_rows = getattr(report, "difference_rows", None)
    if callable(difference_rows):
        differences = plot_differences(
            difference_rows(), directory / "differences.png", reference=names[0] if names else None
        )
        if differences is not None:
            written.append(differences)
    sweep = plot_sweep(report, directory)
    if sweep is not None:
        written.append(sweep)
    tuning = plot_tuning((report.config or {}).get("tuning"), directory / "tuning.png")
    if tuning is not None:
        written.append(tuning)
    return written


# ---------------------------------------------------------------------------- differences
#: The verdicts of `Report.difference_rows` and their colours in `plot_differences`: the
#: sequential verdict (`"decision"`) where the report has one, else the t-test's words.
_VERDICT_COLORS = {"higher": "tab:green", "lower": "tab:red", "not distinguishable": "0.45"}
_DECISION_COLORS = {
    "better": "tab:green",
    "worse": "tab:red",
    "equivalent": "tab:blue",
    "undecided": "0.45",
}


def _p_text(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def plot_differences(
    rows: Sequence[Mapping[str, Any]],
    path: str | os.PathLike[str],
    *,
    reference: str | None = None,
    metric: str = "test accuracy",
    percent: bool = True,
) -> Path | None:
    """Draws each variant's paired difference from the reference with its 95 % CI.

    One row per variant (`Report.difference_rows()`), the reference at zero: a dot at the mean
    difference over seeds, a bar for its interval. Where the report has sequential verdicts
    (rows with a ``"decision"``), the colour is the verdict (better green, worse red,
    equivalent blue, undecided grey), the word is written beside the row, and a shaded band
    shows the equivalence margin (±``"margin"``) when there is one; otherwise green where
    the variant is higher than the reference, red where lower, grey where the seeds cannot
    tell (after Holm's adjustment when several variants are compared). The p-values are
    written beside each row. `plot_report` writes it as `differences.png` whenever a
    comparison has an interval.

    Args:
        rows: `[{"variant", "mean_diff", "lo", "hi", "p_value", "p_adjusted", "verdict",
            "decision", "margin"}]` (the last two optional), as `Report.difference_rows()`
            (`regkit.experiments.report.analysis.difference_rows`) gives them.
        path: The PNG to write (its folder is created).
        reference: The reference's name, for the axis label.
        metric: What the differences are of, for the axis label.
        percent: Show differences in percentage points (accuracies).

    Returns:
        The path written, or None when no comparison has an interval (one seed).

    Raises:
        ImportError: matplotlib is not installed (``pip install regkit-keras[plots]``).
    """
    if not rows:
        return None
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover - matplotlib is a dev dependency
        raise ImportError(
            "plot_differences needs matplotlib: `pip install regkit-keras[plots]`."
        ) from err
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scale = 100.0 if percent else 1.0
    fig = Figure(figsize=(9.5, 1.2 + 0.42 * len(rows)), layout="constrained")
    ax = fig.subplots()
    decided = any(row.get("decision") for row in rows)
    colors = _DECISION_COLORS if decided else _VERDICT_COLORS
    margin = next((row["margin"] for row in rows if row.get("margin")), None)
    if margin:
        ax.axvspan(-margin * scale, margin * scale, color="tab:blue", alpha=0.12, lw=0)
    for y, row in enumerate(rows):
        color = colors.get(str(row.get("decision") if decided else row["verdict"]), "0.45")
        lo, hi = row["lo"] * scale, row["hi"] * scale
        ax.plot([lo, hi], [y, y], color=color, lw=2.5, solid_capstyle="butt")
        ax.plot([row["mean_diff"] * scale], [y], "o", color=color, ms=6)
        words = [str(row["decision"])] if decided and row.get("decision") else []
        words += [] if row["p_value"] is None else [f"p {_p_text(row['p_value'])}"]
        if row["p_adjusted"] is not None:
            words.append(f"Holm {_p_text(row['p_adjusted'])}")
        ax.annotate(
            ", ".join(words),
            (1.0, y),
            xycoords=("axes fraction", "data"),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize="small",
            color=color,
        )
    ax.axvline(0.0, color="0.2", lw=1)
    ax.set_yticks(range(len(rows)), [row["variant"] for row in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)  # the first variant on top
    unit = ", percentage points" if percent else ""
    against = f" {reference}" if reference else " the reference"
    ax.set_xlabel(f"{metric}: variant minus{against}{unit}; mean and 95 % CI over paired seeds")
    ax.grid(axis="x", alpha=0.3)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [
        Line2D([], [], color=color, lw=2.5, marker="o", label=label)
        for label, color in colors.items()
    ]
    if margin:
        shown = f"±{margin * scale:.2f}{' points' if percent else ''}"
        handles.append(Patch(color="tab:blue", alpha=0.12, label=f"equivalence margin {shown}"))
    fig.legend(handles=handles, fontsize="small", loc="outside lower center", ncols=5)
    return _save_png(fig, path)


def _sweep_axis(ax: Any, field: str, values: Sequence[Any]) -> Any:
    """Sets the x-axis for a swept field; returns a function value -> x position."""
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if not numeric:
        labels = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
        ax.set_xticks(range(len(values)), labels)
        ax.set_xlim(-0.5, len(values) - 0.5)
        return lambda v: values.index(v)
    positive = [float(v) for v in values if float(v) > 0]
    if field in LOG_FIELDS and positive:
        if len(positive) < len(values):  # 0 is swept too: linear near 0, log beyond
            ax.set_xscale("symlog", linthresh=min(positive), linscale=0.5)
        else:
            ax.set_xscale("log")
        ax.set_xticks([float(v) for v in values], [f"{float(v):g}" for v in values])
        ax.minorticks_off()
    return float


def plot_sweep(report: Any, directory: str | os.PathLike[str]) -> Path | None:
    """Draws `sweep.png` for a report with a sweep: figures against the swept value.

    Left: validation (circles, solid) and test accuracy (squares, dashed) in percent; right:
    the generalization gap (train - validation accuracy) in percentage points. One colour
    per base variant, the mean over seeds with its 95 % CI as error bars (Student t, as in
    the report's tables), and each seed as a small dot.
    Strengths (`l1`, `l2`, `weight_decay`, `learning_rate`) get a log axis (linear
    around 0 when 0 is swept too). A value whose every run diverged is marked with an x.

    Args:
        report: A `regkit.experiments.Report` whose config has a sweep (its
            `sweep_points()` gives the figures).
        directory: Where to write the image.

    Returns:
        The path written, or None when the report has no sweep.

    Raises:
        ImportError: matplotlib is not installed (``pip install regkit-keras[plots]``).
    """
    points = report.sweep_points() if hasattr(report, "sweep_points") else []
    if not points:
        return None
    try:
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
    except ImportError as err:  # pragma: no cover - matplotlib is a dev dependency
        raise ImportError(
            "plot_sweep needs matplotlib: `pip install regkit-keras[plots]`."
        ) from err

    fields = list((report.config.get("sweep") or {}).get("fields") or points[0]["values"])
    field = fields[0]
    values = list(dict.fromkeys(p["values"][field] for p in points))
    groups: dict[str, list[dict[str, Any]]] = {}
    for p in points:
        others = ", ".join(
            f"{f}={p['values'][f]:g}"
            if isinstance(p["values"][f], float)
            else f"{f}={p['values'][f]}"
            for f in fields[1:]
        )
        groups.setdefault(str(p["base"]) + (f" ({others})" if others else ""), []).append(p)

    fig = Figure(figsize=(12, 4.8), layout="constrained")
    axes = fig.subplots(1, 2)
    position = None
    for ax in axes:
        position = _sweep_axis(ax, field, values)
    if position is None:  # pragma: no cover - two axes always
        return None
    n_seeds = len(report.seeds)
    failed_marked = False
    for i, members in enumerate(groups.values()):
        color = f"C{i % 10}"
        for ax, metric, marker, style in (
            (axes[0], "val_accuracy", "o", "-"),
            (axes[0], "test_accuracy", "s", "--"),
            (axes[1], "generalization_gap", "o", "-"),
        ):
            xs, ys, lo, hi = [], [], [], []
            for p in members:
                x = position(p["values"][field])
                entry = p[metric]
                for v in entry["values"]:
                    ax.plot([x], [100 * v], ".", color=color, alpha=0.35, ms=4)
                if entry["mean"] is None:
                    if metric != "test_accuracy":
                        ax.plot([x], [0.0], "x", color=color, ms=9, mew=2)
                        failed_marked = True
                    continue
                xs.append(x)  # in percent (the gap in points), as the report's tables
                ys.append(100 * entry["mean"])
                ci = entry["ci95"] or [entry["mean"], entry["mean"]]
                lo.append(100 * (entry["mean"] - ci[0]))
                hi.append(100 * (ci[1] - entry["mean"]))
            if xs:
                ax.errorbar(
                    xs, ys, yerr=[lo, hi], fmt=marker + style, color=color, capsize=3, ms=5, lw=1.5
                )
    low, high = axes[0].get_ylim()
    axes[0].set_ylim(low, min(high, 100.5))  # accuracy cannot pass 100 %
    axes[0].set_title("Accuracy against " + field)
    axes[0].set_ylabel("accuracy (%)")
    axes[1].set_title("Generalization gap (train - validation accuracy)")
    axes[1].set_ylabel("gap (percentage points)")
    axes[1].axhline(0.0, color="0.5", lw=0.8)
    for ax in axes:
        ax.set_xlabel(field)
        ax.grid(alpha=0.3)
    handles = [
        Line2D([], [], color=f"C{i % 10}", lw=2, label=label) for i, label in enumerate(groups)
    ]
    handles += [
        Line2D([], [], color="0.3", marker="o", ls="-", label="validation accuracy"),
        Line2D([], [], color="0.3", marker="s", ls="--", label="test accuracy"),
        Line2D([], [], color="0.3", marker=".", ls="", alpha=0.5, label="one seed"),
    ]
    if n_seeds > 1:
        handles.append(
            Line2D(
                [],
                [],
                color="0.3",
                ls="",
                marker="|",
                ms=10,
                label=f"mean and 95 % CI over {n_seeds} seeds",
            )
        )
    if failed_marked:
        handles.append(Line2D([], [], color="0.3", ls="", marker="x", label="every run diverged"))
    fig.legend(handles=handles, fontsize="small", loc="outside right upper")
    fig.suptitle(f"{report.title()}: sweep over {', '.join(fields)}")
    return _save_png(fig, Path(directory) / "sweep.png")
