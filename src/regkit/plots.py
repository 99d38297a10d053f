"""Every figure regkit draws, as PNG files: one training history (`plot_history`: loss and
accuracy side by side, weight norms when logged) and a comparison report (`plot_report`:
all variants overlaid).

matplotlib is imported inside the plotting functions (it is an optional dependency,
`regkit[plots]`), and figures are drawn on matplotlib's Agg canvas through
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

__all__ = ["load_history", "plot_history", "plot_report"]

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
        ImportError: matplotlib is not installed (``pip install regkit[plots]``).

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
        raise ImportError("plot_history needs matplotlib: `pip install regkit[plots]`.") from err

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


def plot_report(report: Any, directory: str | os.PathLike[str]) -> list[Path]:
    """Draws the curves of all variants of a comparison overlaid, and their weight norms.

    Writes `curves.png` (loss and accuracy per epoch: train solid, validation dashed,
    one colour per variant, one line per seed, a dot at each variant's best epoch) and,
    when the histories hold `WeightNormLogger` logs, `weight_norms.png` (global kernel
    norm per epoch). `Report.plot` calls this.

    Args:
        report: A `regkit.experiments.Report`.
        directory: Where to write the images (created if missing).

    Returns:
        The paths written.

    Raises:
        ImportError: matplotlib is not installed (``pip install regkit[plots]``).

    Example:
        >>> report = compare(["baseline", "l2"], epochs=2)  # doctest: +SKIP
        >>> plot_report(report, "runs/cmp")  # doctest: +SKIP
        [PosixPath('runs/cmp/curves.png'), PosixPath('runs/cmp/weight_norms.png')]
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover - matplotlib is a dev dependency
        raise ImportError("plot_report needs matplotlib: `pip install regkit[plots]`.") from err

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    colors = [f"C{i % 10}" for i in range(len(report.variants))]
    written: list[Path] = []

    fig = Figure(figsize=(12, 4.5), layout="constrained")
    axes = fig.subplots(1, 2)
    for name, color in zip(report.variants, colors, strict=True):
        for k, run in enumerate(report.runs_for(name)):
            acc_key = next(iter(_accuracy_keys(run.history)), None)
            for ax, key in ((axes[0], "loss"), (axes[1], acc_key)):
                if key is None:
                    continue
                for prefix, style in (("", "-"), ("val_", "--")):
                    values = run.history.get(prefix + key)
                    if not values:
                        continue
                    label = None
                    if k == 0:
                        label = f"{name} ({'validation' if prefix else 'train'})"
                    ax.plot(
                        range(1, len(values) + 1),
                        values,
                        style,
                        color=color,
                        alpha=1.0 if k == 0 else 0.45,
                        label=label,
                    )
            if run.best_epoch is not None and k == 0 and run.val_loss is not None:
                axes[0].plot([run.best_epoch], [run.val_loss], "o", color=color)
    for ax, title in ((axes[0], "Loss"), (axes[1], "Accuracy")):
        ax.set_title(title)
        ax.set_xlabel("Epoch")
        ax.grid(alpha=0.3)
        if ax.has_data():
            ax.legend(fontsize="small")
    fig.suptitle(report.title())
    written.append(_save_png(fig, directory / "curves.png"))

    norms = {
        name: [run.weight_norm_history() for run in report.runs_for(name)]
        for name in report.variants
    }
    if any(h for hs in norms.values() for h in hs):
        fig = Figure(figsize=(6.5, 4.5), layout="constrained")
        ax = fig.subplots()
        for name, color in zip(report.variants, colors, strict=True):
            for k, values in enumerate(norms[name]):
                if values:
                    ax.plot(
                        range(1, len(values) + 1),
                        values,
                        color=color,
                        alpha=1.0 if k == 0 else 0.45,
                        label=name if k == 0 else None,
                    )
        ax.set_title("Global kernel L2 norm")
        ax.set_xlabel("Epoch")
        ax.set_ylabel("‖W‖₂ (all conv/dense kernels)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
        written.append(_save_png(fig, directory / "weight_norms.png"))
    return written
