"""A report as text: its tables, configuration line, notes and the statistics, sweep and
warnings sections, the terminal table and the notebook's HTML.

Every output follows one convention, said once in its header (`units_line`): accuracies
and the penalty share in percent, the gap and differences in percentage points, each
figure the mean over seeds with its 95 % confidence interval in brackets, epochs as whole
epochs (the range over seeds). report.json keeps fractions.

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
    interval,
    measured_values,
    reference_comparisons,
    status_cell,
    sweep_points,
    warnings_for,
)
from regkit.experiments.report.stats import approx_text, comparison_words, mean
from regkit.experiments.report.tuning_trail import trail_html, trail_notes, trail_rows, tuned_trails
from regkit.experiments.study.config import skipped_images_note

__all__ = [
    "COLUMNS",
    "PERCENT_METRICS",
    "TERMINAL_COLUMNS",
    "align_table",
    "best_variant",
    "config_line",
    "describe_augment",
    "figure_text",
    "has_verdicts",
    "html_report",
    "paired_text",
    "report_line",
    "report_notes",
    "report_sections",
    "shorten",
    "statistics_lines",
    "stopped_early",
    "sweep_lines",
    "table_rows",
    "terminal_table",
    "tuning_lines",
    "units_line",
    "verdict_margin",
    "verdict_text",
    "warning_lines",
]

#: Figures shown in percent (the gap in percentage points); report.json keeps fractions.
PERCENT_METRICS = (
    "train_accuracy",
    "val_accuracy",
    "generalization_gap",
    "test_accuracy",
    "reg_loss_share",
)
#: Decimals of each kind of figure in report.md and HTML (the terminal shows one less).
_DIGITS = {"acc": 2, "gap": 2, "pct": 1, "loss": 4, "float": 2}


def figure_text(
    values: Sequence[float],
    kind: str,
    *,
    metric: str | None = None,
    epochs: int | None = None,
    digits: int | None = None,
    spread: bool = True,
) -> str:
    """One figure over seeds: its mean and, from two values on, its 95 % CI in brackets.

    `kind` (a `COLUMNS` kind) says the unit: ``"acc"`` and ``"pct"`` in percent, ``"gap"``
    in signed percentage points, ``"epoch"`` whole epochs (the one value, or the range
    over seeds), ``"int"`` a count, ``"loss"`` and ``"float"`` as measured. The interval
    is `analysis.interval`'s (Student t, inside the metric's bounds; `epochs` bounds the
    figures counted in epochs).

    Args:
        values: The figure's finite values over seeds (`analysis.measured_values`).
        kind: How to show it.
        metric: The figure's name (its bounds).
        epochs: The study's epochs.
        digits: Decimals (default: 2 for accuracies, 1 for shares, 4 for losses).
        spread: Show the interval (False: the mean alone).

    Example:
        >>> figure_text([0.91, 0.93, 0.92], "acc")
        '92.00 [89.52, 94.48]'
        >>> figure_text([0.0102, 0.0098], "gap", spread=False)
        '+1.00'
        >>> figure_text([3, 5, 4], "epoch"), figure_text([0.00046], "pct")
        ('3-5', '0.046')
    """
    centre = mean(values)
    if centre is None:
        return "—"
    if kind == "epoch":
        low, high = round(min(values)), round(max(values))
        return f"{low}" if low == high else f"{low}-{high}"
    if kind == "int":
        return f"{centre:,.0f}"
    scale = 100.0 if kind in ("acc", "gap", "pct") else 1.0
    places = _DIGITS.get(kind, 2) if digits is None else digits
    sign = "+" if kind == "gap" else ""

    def show(value: float) -> str:
        if kind == "float" and abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{scale * value:{sign}.{places}f}"

    text = show(centre)
    if kind == "pct" and centre and text.strip("0.") == "":  # a small share, not "0.0"
        text = approx_text(100 * centre)
    if not spread or len(values) < 2:
        return text
    found = interval(values, metric, epochs=epochs)
    return text if found is None else f"{text} [{show(found[0])}, {show(found[1])}]"


def units_line(report: Any, *, short: bool = False) -> str:
    """What every figure of the report's tables is, said once: units and interval.

    Example:
        >>> units_line(report)  # doctest: +SKIP
        'Accuracies and the penalty share in %, the gap and differences in percentage points; ...'
    """
    seeds = list(report.seeds)
    if short:
        over = f"mean [95 % CI] over {len(seeds)} seeds" if len(seeds) > 1 else "one seed"
        return f"Accuracy in %, gap in points; {over}; Best: best epoch"
    if len(seeds) > 1:
        over = (
            f"each figure is the mean over seeds {', '.join(map(str, seeds))} with its 95 % "
            "CI in brackets (Student t; accuracies on the logit scale, inside [0, 100])"
        )
    else:
        over = f"one seed ({seeds[0] if seeds else '-'}): no interval can be given"
    return (
        "Accuracies and the penalty share are in %, the gap and differences in percentage "
        f"points; {over}; epochs are whole epochs (the range over seeds)."
    )


#: The report table's columns: (metric, header, kind).
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("params", "Params", "int"),
    ("epochs_run", "Epochs", "epoch"),
    ("best_epoch", "Best epoch", "epoch"),
    ("train_accuracy", "Train acc %", "acc"),
    ("val_accuracy", "Val acc %", "acc"),
    ("generalization_gap", "Gap (train-val), points", "gap"),
    ("test_accuracy", "Test acc %", "acc"),
    ("train_loss", "Train loss", "loss"),
    ("val_loss", "Val loss", "loss"),
    ("reg_loss_share", "Reg. loss share %", "pct"),
    ("weight_norm", "Weight norm", "float"),
    ("wall_time", "Time (s)", "float"),
)


def align_table(rows: list[list[str]], *, markdown: bool, left: set[int] | None = None) -> str:
    """Header + rows as a markdown table or as aligned plain text (numbers right-aligned;
    `left`: the left-aligned columns, by default the first two and the last)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    left = {0, 1, len(widths) - 1} if left is None else left

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
    epochs = (report.config or {}).get("epochs")
    header = ["Variant", "Regularization", *(h for _, h, _ in COLUMNS), "Status"]
    rows = [header]
    for name, variant in report.variants.items():
        runs = report.runs_for(name)
        row = [name, variant.describe()]
        for metric, _, kind in COLUMNS:
            values = measured_values(runs, metric)
            row.append(figure_text(values, kind, metric=metric, epochs=epochs))
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
        notes.append("Diverged and failed runs count in no figure but epochs, time and size.")
    if not report.complete:
        notes.append("**Partial report:** the comparison is still running or was stopped.")
    stopped = stopped_early(report)
    if stopped:  # adaptive seeds ran out of budget: the open verdicts stay open
        notes.append(
            f"**Stopped early:** {stopped}; the verdicts still open stay undecided (budget "
            "spent). Rerun with a larger budget to continue the study."
        )
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
_KINDS = {"val_accuracy": "acc", "test_accuracy": "acc", "generalization_gap": "gap"}


def paired_text(comparison: Mapping[str, Any] | None) -> str:
    """A comparison with the reference in percentage points: the mean paired difference,
    its 95 % CI and p-value (Holm's when several), then `stats.comparison_words`.

    Example:
        >>> paired_text({"mean_diff": 0.02, "ci95": [-0.0048, 0.0448], "p_value": 0.0742,
        ...              "seeds": 3})
        '+2.00 [-0.48, +4.48], p = 0.0742: not distinguishable from zero at 3 seeds'
    """
    if comparison is None:
        return "no seed where both ran"
    diff = 100 * comparison["mean_diff"]
    if comparison["ci95"] is None:
        return f"{diff:+.2f} (one seed: no interval can be given)"
    lo, hi = (100 * v for v in comparison["ci95"])
    text = f"{diff:+.2f} [{lo:+.2f}, {hi:+.2f}], p = {comparison['p_value']:.3g}"
    adjusted = comparison.get("p_adjusted")
    if adjusted is not None:
        text += f" (Holm {adjusted:.3g})"
    detectable, needed = comparison.get("detectable"), comparison.get("seeds_needed")
    words = comparison_words(  # in points: every figure scaled alike, the same decision
        diff,
        (lo, hi),
        comparison["p_value"],
        comparison["seeds"],
        p_adjusted=adjusted,
        detectable=None if detectable is None else 100 * detectable,
        seeds_needed=needed,
    )
    return f"{text}: {words}"


def stopped_early(report: Any) -> str | None:
    """Why an adaptive study stopped before its verdicts were decided (its budget was
    spent: report.json's ``config["design"]["stopped"]``), or None."""
    stopped = ((report.config or {}).get("design") or {}).get("stopped")
    return str(stopped) if stopped else None


def verdict_text(comparison: Mapping[str, Any] | None, *, stopped: bool = False) -> str:
    """The sequential verdict against the reference (``better``, ``worse``,
    ``equivalent``, ``undecided``; an undecided one with what the study could still
    detect and the seeds that would decide it, and "budget spent" when the study
    `stopped` early), or "—" for a report without verdicts.

    Example:
        >>> verdict_text({"verdict": "undecided", "detectable": 0.012, "seeds_to_decide": 5})
        'undecided (could detect 1.2 points; about 5 more seeds would decide)'
    """
    word = (comparison or {}).get("verdict")
    if not word:
        return "—"
    if word != "undecided":
        return str(word)
    detectable, seeds = comparison.get("detectable"), comparison.get("seeds_to_decide")  # type: ignore[union-attr]
    parts = ["budget spent"] if stopped else []
    parts += [] if detectable is None else [f"could detect {approx_text(100 * detectable)} points"]
    if seeds:
        parts.append(f"about {seeds} more seed{'s' if seeds != 1 else ''} would decide")
    return f"undecided ({'; '.join(parts)})" if parts else "undecided"


def verdict_margin(comparisons: Mapping[str, Any]) -> float | None:
    """The equivalence margin the verdicts share (a fraction), or None."""
    margins = [c.get("margin") for c in comparisons.values() if c and c.get("margin")]
    return float(margins[0]) if margins else None


def has_verdicts(comparisons: Mapping[str, Any]) -> bool:
    return any(c and c.get("verdict") for c in comparisons.values())


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
            "`--seeds 0,1,2`) for 95 % intervals and a paired comparison with the reference.",
            "",
        ]
        return lines
    reference = names[0]
    comparisons = reference_comparisons(report)
    decided = has_verdicts(comparisons)
    stopped = stopped_early(report) is not None
    header = ["Variant", "Val acc %", "Test acc %", "Gap, points"]
    header.append(f"Test acc vs {reference}, points (paired)")
    rows = [header + (["Verdict"] if decided else [])]
    for name in names:
        runs = report.runs_for(name)
        row = [name]
        for metric in INTERVAL_METRICS:
            row.append(figure_text(measured_values(runs, metric), _KINDS[metric], metric=metric))
        ours = comparisons.get(name)
        row.append("reference" if name == reference else paired_text(ours))
        if decided:
            row.append("reference" if name == reference else verdict_text(ours, stopped=stopped))
        rows.append(row)
    margin = verdict_margin(comparisons)
    lines += [
        align_table([[c.replace("|", "/") for c in r] for r in rows], markdown=True),
        "",
        "Units as above. The paired column is the mean difference in test accuracy "
        "over the same seeds, its 95 % CI and a paired t-test p-value, with Holm's "
        "adjustment for the number of variants compared with the reference when there are "
        "several; the words follow the adjusted p-value. A difference that is not "
        "distinguishable from seed noise says how fine a difference these seeds could "
        "detect and how many seeds would resolve the one seen.",
        "",
    ]
    if decided:
        within = f" (within ±{100 * margin:.2f} points)" if margin else ""
        lines += [
            f"Verdict: the sequential test's decision against {reference}, at the study's "
            f"family-wise error rate: better, worse, equivalent{within} or undecided.",
            "",
        ]
    return lines


def sweep_lines(report: Any) -> list[str]:
    """The report's sweep table (markdown lines); empty without a sweep."""
    points = sweep_points(report)
    if not points:
        return []
    fields = list((report.config.get("sweep") or {}).get("fields") or points[0]["values"])
    header = ["Base", *fields, "Val acc %", "Test acc %", "Gap, points", "Runs"]
    rows = [header]
    for p in points:
        row = [str(p["base"]), *(_value_text(p["values"].get(f)) for f in fields)]
        row += [figure_text(p[m]["values"], _KINDS[m], metric=m) for m in INTERVAL_METRICS]
        row.append(_runs_text(p["counts"]))
        rows.append(row)
    return [
        f"## Sweep over {', '.join(fields)}",
        "",
        align_table([[c.replace("|", "/") for c in r] for r in rows], markdown=True),
        "",
        "Each row is one base variant with the swept value, over the seeds that ran `ok` or "
        "`collapsed`, in the units above (`sweep.png` plots the same).",
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


def tuning_lines(report: Any) -> list[str]:
    """The report's "Tuning" section (markdown lines): for each tuned arm, every
    candidate's mean validation accuracy per round of successive halving, which were
    dropped when, the chosen value, and the selection seeds; empty without tuning."""
    trails = tuned_trails(report.config)
    if not trails:
        return []
    reference = next(iter(report.variants), "the reference")
    lines = ["## Tuning", ""]
    for arm, trail in trails.items():
        rows = [[c.replace("|", "/") for c in r] for r in trail_rows(trail, bold=True)]
        left = {*range(len(trail["fields"])), len(rows[0]) - 1}
        lines += [f"### {arm}", "", align_table(rows, markdown=True, left=left), ""]
        lines += [
            line for note in trail_notes(trail, reference, report.seeds) for line in (note, "")
        ]
    lines += [
        "Each round's figure is a candidate's mean validation accuracy in %, over every "
        "selection seed it had run by then (the header says how many); `tuning.png` plots it.",
        "",
    ]
    return lines


def report_sections(report: Any) -> list[str]:
    """The markdown sections after the main table: statistics, sweep, tuning, warnings."""
    return [
        *statistics_lines(report),
        *sweep_lines(report),
        *tuning_lines(report),
        *warning_lines(report, lambda run: warnings_for(report, run)),
    ]


#: The terminal table's columns: (metric, header, kind, with its interval); report.md has
#: the full table.
TERMINAL_COLUMNS: tuple[tuple[str, str, str, bool], ...] = (
    ("val_accuracy", "Val acc", "acc", False),
    ("generalization_gap", "Gap", "gap", False),
    ("test_accuracy", "Test acc", "acc", True),
    ("reg_loss_share", "Penalty", "pct", False),
    ("best_epoch", "Best", "epoch", False),
)


def terminal_table(report: Any, *, width: int = 24) -> str:
    """The report as a plain table that fits a terminal (about 100-120 characters).

    Variant, validation accuracy, gap, test accuracy with its 95 % CI, penalty share,
    best epoch (the range over seeds), the verdict against the reference when the report
    has verdicts, and status; `units_line(short=True)` says the units above it. The wide
    table with every figure is in report.md.
    """
    epochs = (report.config or {}).get("epochs")
    names = list(report.variants)
    comparisons = reference_comparisons(report) if len(report.seeds) > 1 else {}
    decided = has_verdicts(comparisons)
    header = ["Variant", *(h for _, h, _, _ in TERMINAL_COLUMNS)]
    rows = [[*header, *([f"vs {shorten(names[0], 12)}"] if decided else []), "Status"]]
    for name in names:
        runs = report.runs_for(name)
        row = [shorten(name, width)]
        for metric, _, kind, spread in TERMINAL_COLUMNS:
            values = measured_values(runs, metric)
            digits = 0 if kind == "pct" else max(0, _DIGITS.get(kind, 2) - 1)
            row.append(
                figure_text(
                    values, kind, metric=metric, epochs=epochs, digits=digits, spread=spread
                )
            )
        if decided:
            word = str((comparisons.get(name) or {}).get("verdict") or "—")
            word += " (budget spent)" if word == "undecided" and stopped_early(report) else ""
            row.append("reference" if name == names[0] else word)
        row.append(shorten(status_cell(report, name), 36))
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    last = len(widths) - 1
    verdict = last - 1 if decided else None
    lines = [units_line(report, short=True)]
    margin = verdict_margin(comparisons)
    if decided and margin:
        lines[0] += f"; vs {names[0]}: the verdict, equivalent within ±{100 * margin:.2f} points"
    for r, row in enumerate(rows):
        cells = [
            text.ljust(widths[i]) if i in (0, last, verdict) else text.rjust(widths[i])
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
        "<Report cnn on digits: 2 variants (baseline, l2), seeds 0,1; best l2 (test acc 97.1%)>"
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
        tail = f"best {shorten(best[0], 30)} ({label} {100 * best[2]:.1f}%)"
    if not report.complete:
        tail += ", partial"
    return f"<Report {study}: {len(names)} variant{plural} ({shown}), seeds {seeds}; {tail}>"


def html_report(report: Any, figure_png: str | None = None) -> str:
    """The report as HTML for a notebook: title, configuration, the units line, the
    comparison table with the 95 % CIs, the paired comparison with the reference and its
    verdict, and the main figure.

    Args:
        report: The `Report`.
        figure_png: The main figure as a base64-encoded PNG, or None (table alone).

    Returns:
        An HTML fragment.
    """
    esc = html.escape
    names = list(report.variants)
    comparisons = reference_comparisons(report)
    several = len(report.seeds) > 1
    decided = several and has_verdicts(comparisons)
    header = ["Variant", "Regularization", "Val acc %", "Test acc %", "Gap, points", "Penalty %"]
    if several:
        header.append(f"Test acc vs {names[0]}, points (paired)" if names else "vs reference")
    if decided:
        header.append("Verdict")
    header.append("Status")
    rows = []
    for name in names:
        runs = report.runs_for(name)
        cells = [f"<b>{esc(name)}</b>", esc(report.variants[name].describe())]
        for metric in INTERVAL_METRICS:
            values = measured_values(runs, metric)
            cells.append(esc(figure_text(values, _KINDS[metric], metric=metric)))
        share = measured_values(runs, "reg_loss_share")
        cells.append(esc(figure_text(share, "pct", spread=False)))
        ours = comparisons.get(name)
        if several:
            cells.append(esc("reference" if name == names[0] else paired_text(ours)))
        if decided:
            shown = verdict_text(ours, stopped=stopped_early(report) is not None)
            cells.append(esc("reference" if name == names[0] else shown))
        cells.append(esc(status_cell(report, name)))
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"
    parts = [
        '<div class="regkit-report">',
        f"<h3>{esc(report.title())}</h3>",
        f"<p>{esc(config_line(report))}.</p>",
        f"<p><small>{esc(units_line(report))}</small></p>",
        f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>",
    ]
    if several:
        margin = verdict_margin(comparisons) if decided else None
        within = f"; equivalent: within ±{100 * margin:.2f} points" if margin else ""
        parts.append(
            "<p><small>Paired differences in test accuracy with Holm-adjusted p-values "
            f"(see report.md){esc(within)}.</small></p>"
        )
    if not report.complete:
        parts.append("<p><b>Partial report:</b> the comparison is still running or stopped.</p>")
    if stopped_early(report):
        parts.append(f"<p><b>Stopped early:</b> {esc(str(stopped_early(report)))}.</p>")
    parts.append(trail_html(report.config, names[0] if names else "the reference", report.seeds))
    if figure_png:
        parts.append(f'<img alt="{esc(report.title())}" src="data:image/png;base64,{figure_png}"/>')
    parts.append("</div>")
    return "\n".join(parts)
