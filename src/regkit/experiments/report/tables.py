"""A report as text: its tables (mean ± std cells), configuration line, notes and the
statistics, sweep and warnings sections, and the terminal table.

The functions take a `regkit.experiments.Report`; `Report.to_markdown` and `str(report)`
put them together.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from regkit.data.augment import Augment
from regkit.experiments.report.analysis import (
    INTERVAL_METRICS,
    comparison_text,
    interval,
    measured_values,
    reference_comparisons,
    status_cell,
    sweep_points,
    warnings_for,
)
from regkit.experiments.report.stats import approx_text, mean
from regkit.experiments.study.config import skipped_images_note

__all__ = [
    "COLUMNS",
    "TERMINAL_COLUMNS",
    "align_table",
    "best_variant",
    "config_line",
    "describe_augment",
    "format_cell",
    "html_report",
    "report_line",
    "report_notes",
    "report_sections",
    "shorten",
    "statistics_lines",
    "sweep_lines",
    "table_rows",
    "terminal_table",
    "warning_lines",
]


def format_cell(
    value: float | None, std: float | None, kind: str, several: bool, *, compact: bool = False
) -> str:
    """One table cell: `value` formatted by `kind` (a `COLUMNS` kind), `± std` over seeds.

    `compact=True` is the terminal table's form: percentages without decimals, `±`
    without spaces, and a spread that rounds to zero left out.

    Example:
        >>> format_cell(0.91234, 0.01, "acc", several=True)
        '0.9123 ± 0.0100'
        >>> format_cell(0.91234, 0.01, "acc", several=True, compact=True)
        '0.9123±0.0100'
        >>> format_cell(0.00046, None, "pct", several=False)  # measured, not "0.0%"
        '0.046%'
    """
    if value is None:
        return "—"
    if kind == "int":
        if not several or not std:
            text = f"{value:.0f}" if compact else f"{value:,.0f}"
        else:
            text = f"{value:.1f}" if compact else f"{value:,.1f}"
    elif kind == "acc":
        text = f"{value:.4f}"
    elif kind == "gap":
        text = f"{value:+.4f}"
    elif kind == "pct":
        text = f"{100 * value:.0f}%" if compact else f"{100 * value:.1f}%"
        if value and text.strip("0.%") == "":  # a small share is shown, not rounded to 0
            text = f"{approx_text(100 * value)}%"
    elif kind == "loss":
        text = f"{value:.4f}"
    else:  # "float"
        text = f"{value:.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    if not several or std is None:
        return text
    if compact:
        if not std:
            return text
        if kind == "pct":
            spread = f"{100 * std:.0f}%"
        elif kind in ("acc", "gap", "loss"):
            spread = f"{std:.4f}"
        elif kind == "float":
            spread = f"{std:.2f}"
        else:
            spread = f"{std:.1f}"
        # a spread that rounds to zero is not shown
        return text + "±" + spread if spread.strip("0.%") else text
    if kind == "int" and std == 0:
        return text  # parameters, or epochs that agree across seeds
    if kind == "int":
        return text + f" ± {std:.1f}"
    if kind == "pct":
        return text + f" ± {100 * std:.1f}%"
    if kind == "float":
        return text + f" ± {std:.2f}"
    return text + f" ± {std:.4f}"


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
    notes.extend(_averaging_notes(report))
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
    skipped = report.config.get("skipped_images") or []
    if skipped:  # the data set is smaller than the image folder
        notes.append(skipped_images_note(skipped))
    return notes


def _averaging_notes(report: Any) -> list[str]:
    """Which weights the figures of EMA and SWA variants are of (they differ by figure)."""
    variants = getattr(report, "variants", None) or {}

    def using(field: str) -> list[str]:
        return [n for n, v in variants.items() if getattr(getattr(v, "reg", None), field, 0)]

    notes = []
    ema, swa = using("ema"), using("swa")
    if ema:
        notes.append(
            f"EMA ({', '.join(ema)}): validation figures, the best epoch and the test accuracy "
            "are of the averaged weights (swapped in for every validation pass); training "
            "figures are of the training weights."
        )
    if swa:
        notes.append(
            f"SWA ({', '.join(swa)}): validation figures, the gap and the best epoch are of "
            "the training weights, as without SWA; the test accuracy and the saved model are "
            "of the average over the last epochs, BatchNorm statistics recomputed."
        )
    return notes


def describe_augment(augment: Any) -> str:
    """A report's augmentation setting (an `Augment`'s fields as a dict) in words."""
    if isinstance(augment, Mapping):
        try:
            return Augment.coerce(dict(augment)).describe()  # type: ignore[union-attr]
        except (TypeError, ValueError):  # a report from another version: show the fields
            return ", ".join(f"{k}={v}" for k, v in augment.items())
    return str(augment)


# ---------------------------------------------------------------------------- sections
def _interval_text(values: Sequence[float], metric: str, digits: int = 4) -> str:
    centre = mean(values)
    if centre is None:
        return "—"
    found = interval(values, metric)
    if found is None:
        return f"{centre:.{digits}f}"
    return f"{centre:.{digits}f} [{found[0]:.{digits}f}, {found[1]:.{digits}f}]"


def statistics_lines(report: Any) -> list[str]:
    """The report's "Statistics over seeds" section (markdown lines).

    With one seed it says plainly that no interval can be given.
    """
    names = list(report.variants)
    lines = ["## Statistics over seeds", ""]
    if len(report.seeds) < 2:
        lines += [
            "One seed: no confidence interval can be given, and a difference between "
            "variants cannot be told from seed noise. Run several seeds (e.g. "
            "`--seeds 0,1,2`) for 95% intervals and a paired comparison with the reference.",
            "",
        ]
        return lines
    reference = names[0]
    comparisons = reference_comparisons(report)
    rows = [
        [
            "Variant",
            "Val acc [95% CI]",
            "Test acc [95% CI]",
            "Gap [95% CI]",
            f"Test acc vs {reference} (paired)",
        ]
    ]
    for name in names:
        runs = report.runs_for(name)
        row = [name, *(_interval_text(measured_values(runs, m), m) for m in INTERVAL_METRICS)]
        row.append("reference" if name == reference else comparison_text(comparisons[name]))
        rows.append(row)
    lines += [
        align_table([[c.replace("|", "/") for c in r] for r in rows], markdown=True),
        "",
        f"Mean [95% confidence interval] over the `ok` and `collapsed` runs of seeds "
        f"{', '.join(map(str, report.seeds))}: Student-t, computed on the logit scale for "
        "accuracies so that it stays inside [0, 1]. The last column is the mean difference "
        "in test accuracy over the same seeds, its 95% interval and a paired t-test "
        "p-value, with Holm's adjustment for the number of variants compared with the "
        "reference when there are several; the words follow the adjusted p-value. A "
        "difference that is not distinguishable from seed noise says how fine a difference "
        "these seeds could detect and how many seeds would resolve the one seen.",
        "",
    ]
    return lines


def sweep_lines(report: Any) -> list[str]:
    """The report's sweep table (markdown lines); empty without a sweep."""
    points = sweep_points(report)
    if not points:
        return []
    fields = list((report.config.get("sweep") or {}).get("fields") or points[0]["values"])
    header = ["Base", *fields, "Val acc [95% CI]", "Test acc [95% CI]", "Gap [95% CI]", "Runs"]
    rows = [header]
    for p in points:
        row = [str(p["base"]), *(_value_text(p["values"].get(f)) for f in fields)]
        row += [_interval_text(p[m]["values"], m) for m in INTERVAL_METRICS]
        row.append(_runs_text(p["counts"]))
        rows.append(row)
    return [
        f"## Sweep over {', '.join(fields)}",
        "",
        align_table([[c.replace("|", "/") for c in r] for r in rows], markdown=True),
        "",
        "Each row is one base variant with the swept value; mean [95% CI] over the seeds "
        "that ran `ok` or `collapsed` (`sweep.png` plots the same).",
        "",
    ]


def _runs_text(counts: Mapping[str, int]) -> str:
    """A sweep point's runs: "3/3 ok", or "2/3 ok, 1 collapsed" (collapsed apart from ok)."""
    total = sum(counts.values())
    text = f"{counts.get('ok', 0)}/{total} ok"
    others = [f"{n} {status}" for status, n in counts.items() if status != "ok" and n]
    return ", ".join([text, *others]) if counts.get("collapsed") else text


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def warning_lines(report: Any, warnings_of: Any) -> list[str]:
    """The report's "Warnings" section (markdown lines); empty when no run has any.

    Args:
        report: The `Report`.
        warnings_of: A callable `run -> list[str]`.
    """
    items = []
    for name in report.variants:
        for run in report.runs_for(name):
            for text in warnings_of(run):
                items.append(f"- **{name}**, seed {run.seed}: {text}")
    if not items:
        return []
    return ["## Warnings", "", *items, ""]


def report_sections(report: Any) -> list[str]:
    """The markdown sections after the main table: statistics, sweep, warnings."""
    return [
        *statistics_lines(report),
        *sweep_lines(report),
        *warning_lines(report, lambda run: warnings_for(report, run)),
    ]


#: The terminal table's columns: (metric, header, kind); report.md has the full table.
TERMINAL_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("val_accuracy", "Val acc", "acc"),
    ("generalization_gap", "Gap", "gap"),
    ("test_accuracy", "Test acc", "acc"),
    ("reg_loss_share", "Penalty", "pct"),
    ("best_epoch", "Best", "int"),
)


def terminal_table(report: Any, *, width: int = 24) -> str:
    """The report as a plain table that fits a terminal (about 100-120 characters).

    Variant, validation and test accuracy, gap, penalty share, best epoch and status
    (mean ± std over seeds); the wide table with every figure is in report.md.
    """
    summary = report.summary()
    several = len(report.seeds) > 1
    rows = [["Variant", *(h for _, h, _ in TERMINAL_COLUMNS), "Status"]]
    for name, entry in summary.items():
        row = [shorten(name, width)]
        for metric, _, kind in TERMINAL_COLUMNS:
            row.append(
                format_cell(
                    entry["mean"][metric], entry["std"][metric], kind, several, compact=True
                )
            )
        row.append(shorten(status_cell(report, name), 36))
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    last = len(widths) - 1
    lines = []
    for r, row in enumerate(rows):
        cells = [
            text.ljust(widths[i]) if i in (0, last) else text.rjust(widths[i])
            for i, text in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if r == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ---------------------------------------------------------------------------- notebooks
def best_variant(report: Any) -> tuple[str, str, float] | None:
    """The variant with the highest mean test accuracy (validation accuracy when no run has
    a test figure): `(name, metric, mean)`, or None before any figure exists."""
    summary = report.summary()
    for metric in ("test_accuracy", "val_accuracy"):
        scored = [
            (e["mean"][metric], n) for n, e in summary.items() if e["mean"][metric] is not None
        ]
        if scored:
            value, name = max(scored, key=lambda item: item[0])
            return name, metric, value
    return None


def report_line(report: Any) -> str:
    """`repr(report)`: one short line with the study, variants, seeds and best variant.

    Example:
        >>> report_line(report)  # doctest: +SKIP
        "<Report cnn on digits: 2 variants (baseline, l2), seeds 0,1; best l2 (test acc 0.9712)>"
    """
    config = report.config or {}
    study = f"{config.get('model', 'model')} on {config.get('dataset', 'data')}"
    names = list(report.variants)
    shown = ", ".join(shorten(n, 20) for n in names[:3]) + (", …" if len(names) > 3 else "")
    plural = "s" if len(names) != 1 else ""
    seeds = ",".join(str(s) for s in report.seeds[:8]) + (",…" if len(report.seeds) > 8 else "")
    best = best_variant(report)
    if best is None:
        tail = "no runs yet" if not report.runs else "no figures"
    else:
        label = "test acc" if best[1] == "test_accuracy" else "val acc"
        tail = f"best {shorten(best[0], 30)} ({label} {best[2]:.4f})"
    if not report.complete:
        tail += ", partial"
    return f"<Report {study}: {len(names)} variant{plural} ({shown}), seeds {seeds}; {tail}>"


def html_report(report: Any, figure_png: str | None = None) -> str:
    """The report as HTML for a notebook: title, configuration, the comparison table with
    the 95% intervals and the paired comparison with the reference, and the main figure.

    Args:
        report: The `Report`.
        figure_png: The main figure as a base64-encoded PNG, or None (table alone).

    Returns:
        An HTML fragment.
    """
    esc = html.escape
    names = list(report.variants)
    summary = report.summary()
    comparisons = reference_comparisons(report)
    several = len(report.seeds) > 1
    header = ["Variant", "Regularization", "Val acc", "Test acc", "Gap", "Penalty"]
    if several:
        header.append(f"Test acc vs {names[0]} (paired)" if names else "vs reference")
    header.append("Status")
    rows = []
    for name in names:
        runs = report.runs_for(name)
        entry = summary[name]
        cells = [f"<b>{esc(name)}</b>", esc(entry["description"])]
        for metric in INTERVAL_METRICS:
            values = measured_values(runs, metric)
            cells.append(esc(_interval_text(values, metric) if several else _single(values)))
        share = entry["mean"]["reg_loss_share"]
        cells.append(esc(format_cell(share, None, "pct", False)))
        if several:
            text = "reference" if name == names[0] else comparison_text(comparisons.get(name))
            cells.append(esc(text))
        cells.append(esc(status_cell(report, name)))
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"
    parts = [
        '<div class="regkit-report">',
        f"<h3>{esc(report.title())}</h3>",
        f"<p>{esc(config_line(report))}.</p>",
        f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>",
    ]
    if several:
        parts.append(
            "<p><small>Mean [95% confidence interval] over seeds; paired differences in test "
            "accuracy with Holm-adjusted p-values (see report.md).</small></p>"
        )
    if not report.complete:
        parts.append("<p><b>Partial report:</b> the comparison is still running or stopped.</p>")
    if figure_png:
        parts.append(f'<img alt="{esc(report.title())}" src="data:image/png;base64,{figure_png}"/>')
    parts.append("</div>")
    return "\n".join(parts)


def _single(values: Sequence[float]) -> str:
    centre = mean(values)
    return "—" if centre is None else f"{centre:.4f}"
