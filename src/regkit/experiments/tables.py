"""Text tables for reports: cell formatting (mean ± std) and column alignment."""

from __future__ import annotations

__all__ = ["COLUMNS", "align_table", "format_cell", "shorten"]


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
