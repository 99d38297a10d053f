"""A report as text: its table rows (mean ± std cells), configuration line and notes.

The functions take a `regkit.experiments.Report`; `Report.to_markdown` and `str(report)`
put them together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "COLUMNS",
    "align_table",
    "config_line",
    "describe_augment",
    "format_cell",
    "report_notes",
    "shorten",
    "table_rows",
]


def format_cell(value: float | None, std: float | None, kind: str, several: bool) -> str:
    """One table cell: `value` formatted by `kind` (a `COLUMNS` kind), `± std` over seeds.

    Example:
        >>> format_cell(0.91234, 0.01, "acc", several=True)
        '0.9123 ± 0.0100'
    """
    if value is None:
        return "—"
    if kind == "int":
        text = f"{value:,.0f}" if not several or not std else f"{value:,.1f}"
    elif kind == "acc":
        text = f"{value:.4f}"
    elif kind == "gap":
        text = f"{value:+.4f}"
    elif kind == "pct":
        text = f"{100 * value:.1f}%"
    elif kind == "loss":
        text = f"{value:.4f}"
    else:  # "float"
        text = f"{value:.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    if several and std is not None:
        if kind == "int" and std == 0:
            return text  # parameters, or epochs that agree across seeds
        if kind == "int":
            text += f" ± {std:.1f}"
        elif kind == "pct":
            text += f" ± {100 * std:.1f}%"
        elif kind == "float":
            text += f" ± {std:.2f}"
        else:
            text += f" ± {std:.4f}"
    return text


#: The report table's columns: (metric, header, kind).
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("params", "Params", "int"),
    ("epochs_run", "Epochs", "int"),
    ("best_epoch", "Best epoch", "int"),
    ("train_accuracy", "Train acc", "acc"),
    ("val_accuracy", "Val acc", "acc"),
    ("generalization_gap", "Gap (train-val)", "gap"),
    ("test_accuracy", "Test acc", "acc"),
    ("train_loss", "Train loss", "loss"),
    ("val_loss", "Val loss", "loss"),
    ("reg_loss_share", "Reg. loss share", "pct"),
    ("weight_norm", "Weight norm", "float"),
    ("wall_time", "Time (s)", "float"),
)


def align_table(rows: list[list[str]], *, markdown: bool) -> str:
    """Header + rows as a markdown table or as aligned plain text (numbers right-aligned)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    # numbers right-aligned, names and status left-aligned
    left = {0, 1, len(widths) - 1}

    def cell(text: str, i: int) -> str:
        return text.ljust(widths[i]) if i in left else text.rjust(widths[i])

    lines = []
    for r, row in enumerate(rows):
        cells = [cell(text, i) for i, text in enumerate(row)]
        lines.append(("| " + " | ".join(cells) + " |") if markdown else "  ".join(cells).rstrip())
        if r == 0:
            if markdown:
                rule = [
                    ("-" * w) if i in left else ("-" * (w - 1) + ":") for i, w in enumerate(widths)
                ]
                lines.append("| " + " | ".join(rule) + " |")
            else:
                lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def shorten(text: str, width: int) -> str:
    """`text` on one line, cut to `width` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table_rows(report: Any) -> list[list[str]]:
    """Header + one row per variant: name, regularization, the `COLUMNS`, status."""
    summary = report.summary()
    several = len(report.seeds) > 1
    header = ["Variant", "Regularization", *(h for _, h, _ in COLUMNS), "Status"]
    rows = [header]
    for name, entry in summary.items():
        row = [name, entry["description"]]
        for metric, _, kind in COLUMNS:
            row.append(format_cell(entry["mean"][metric], entry["std"][metric], kind, several))
        from regkit.experiments.analysis import status_cell

        status = status_cell(report, name)  # "ok, 2 warnings": never `ok` without a word
        errors = [r.error for r in report.runs_for(name) if r.error]
        if errors:
            status += ": " + shorten(errors[0], 80)
        row.append(status)
        rows.append(row)
    return [[cell.replace("|", "/") for cell in row] for row in rows]


def config_line(report: Any) -> str:
    """Epochs, batch size, optimizer, learning rate, seeds, augmentation, BN momentum."""
    c = report.config
    parts = []
    for key, label in (
        ("epochs", "epochs"),
        ("batch_size", "batch size"),
        ("optimizer", "optimizer"),
        ("learning_rate", "learning rate"),
    ):
        if key in c:
            parts.append(f"{label} {c[key]}")
    parts.append("seeds " + ",".join(str(s) for s in report.seeds))
    augment = c.get("augment")
    parts.append("augment " + (describe_augment(augment) if augment else "none"))
    if c.get("bn_momentum"):
        parts.append(f"BN momentum {c['bn_momentum']}")
    return ", ".join(parts)


def report_notes(report: Any) -> list[str]:
    """The notes under a report's table: what the figures mean, partial, resumed, reused."""
    notes = [
        "Figures are at the best epoch (lowest validation loss); test accuracy is the "
        "restored best weights on the test split.",
        "Gap = train - validation accuracy at the best epoch (train accuracy is measured "
        "during training, with dropout and augmentation active).",
        "Reg. loss share = L1/L2 penalty / total loss at the best epoch; weight norm = "
        "global L2 norm of all conv/dense kernels of the reported (best-epoch) weights.",
    ]
    if len(report.seeds) > 1:
        notes.append(
            f"Mean ± sample std over seeds {', '.join(map(str, report.seeds))} "
            "(diverged or failed runs excluded)."
        )
    if not report.complete:
        notes.append("**Partial report:** the comparison is still running or was stopped.")
    for origin, text in (
        ("resumed", "Resumed after an interruption"),
        ("reused", "Reused from the study folder (finished earlier, same settings)"),
    ):
        runs = [f"{r.variant} seed {r.seed}" for r in report.runs if r.origin == origin]
        if runs:
            notes.append(f"{text}: {', '.join(runs)}.")
    return notes


def describe_augment(augment: Any) -> str:
    """A report's augmentation setting (an `Augment`'s fields as a dict) in words."""
    if isinstance(augment, Mapping):
        from regkit.data.augment import Augment

        try:
            return Augment.coerce(dict(augment)).describe()  # type: ignore[union-attr]
        except (TypeError, ValueError):  # a report from another version: show the fields
            return ", ".join(f"{k}={v}" for k, v in augment.items())
    return str(augment)
