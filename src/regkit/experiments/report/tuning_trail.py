"""A tuned arm's trail as the report shows it: which values ran in each round of successive
halving, their mean validation accuracy, which were dropped when, and the value chosen.

report.json's ``config["tuning"]`` holds one trail per tuned arm (written by the run wing,
`regkit.experiments.run.tuning`): ``{"chosen": {field: value}, "variant", "fields":
{field: [values]}, "rounds": [{"round", "seeds", "candidates", "mean_val_accuracy",
"kept", "dropped"}], "selection_seeds", "metric", "chosen_variant"}``, where a candidate
is one value (one field) or the list of its fields' values (a joint arm). This module
reads it; `regkit.experiments.report.tables` renders it in report.md and the notebook's
HTML, `Report.__str__` prints one line per arm, and `regkit.plots` draws ``tuning.png``.

Example:
    >>> trail = {"fields": {"l2": [1e-4, 1e-3]}, "chosen": {"l2": 1e-3},
    ...          "variant": "l2 (tuned=0.001)", "selection_seeds": [1000000],
    ...          "rounds": [{"round": 0, "seeds": 1, "candidates": [1e-3, 1e-4],
    ...                      "mean_val_accuracy": [0.93, 0.91], "kept": [1e-3],
    ...                      "dropped": [1e-4]}]}
    >>> for row in trail_rows(trail): print(row)
    ['l2', 'Round 1, 1 seed', 'Outcome']
    ['0.0001', '91.00', 'dropped after round 1']
    ['0.001', '93.00', 'chosen']
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from regkit.experiments.study.specs import format_value

__all__ = [
    "candidate_key",
    "chosen_key",
    "trail_html",
    "trail_notes",
    "trail_rows",
    "trail_summary",
    "tuned_trails",
]

#: Said of a trail whose candidates all scored the same (``"tied"``: see `halving.Trail`).
TIED_TEXT = "every candidate scored the same: kept by the tie rule, not tuned"
#: Why candidates tie: said by the trail's notes and by tuning's warning.
TIED_WHY = (
    "The strength did not change the validation figures at all (for SWA they are of the "
    "training weights; an EMA decay its warm-up (1 + k) / (10 + k) never reaches within "
    "the run's steps changes nothing)."
)


def tuned_trails(config: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """The readable trails of a report's config: arm -> trail (each has its ``fields`` and
    ``rounds``); an arm whose trail lacks them (a damaged or foreign file) is left out."""
    found = (config or {}).get("tuning")
    if not isinstance(found, Mapping):
        return {}
    return {str(arm): trail for arm, trail in found.items() if _readable(trail)}


def _readable(trail: Any) -> bool:
    """Whether a trail has what the report reads: its fields' values, and rounds whose
    candidates each have a mean that is a number."""
    if not isinstance(trail, Mapping) or not isinstance(trail.get("fields"), Mapping):
        return False
    fields, rounds = trail["fields"], trail.get("rounds")
    if not fields or not all(isinstance(v, list) for v in fields.values()):
        return False
    if not all(_hashable(v) for values in fields.values() for v in values):
        return False
    if not isinstance(rounds, list) or not all(isinstance(r, Mapping) for r in rounds):
        return False
    for round_ in rounds:
        candidates, means = round_.get("candidates"), round_.get("mean_val_accuracy")
        if not isinstance(candidates, list) or not isinstance(means, list):
            return False
        if len(candidates) != len(means) or not all(_number(m) for m in means):
            return False
        if not all(_hashable(candidate_key(c)) for c in candidates):
            return False
    return True


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def candidate_key(candidate: Any) -> Any:
    """A candidate as a hashable key: a joint arm's list of values becomes a tuple."""
    return tuple(candidate) if isinstance(candidate, (list, tuple)) else candidate


def chosen_key(trail: Mapping[str, Any]) -> Any:
    """The chosen candidate as the rounds name it: its value, or its fields' values."""
    chosen = trail.get("chosen")
    fields = list(trail["fields"])
    if isinstance(chosen, Mapping):
        values = [chosen.get(field) for field in fields]
        key = values[0] if len(values) == 1 else tuple(values)
    else:
        key = candidate_key(chosen)
    return key if _hashable(key) else None


def _candidates(trail: Mapping[str, Any]) -> list[Any]:
    """Every candidate, in the grid's order (each field's values as the study listed them)."""
    fields = trail["fields"]
    grid = list(itertools.product(*(list(values) for values in fields.values())))
    order = [g[0] if len(fields) == 1 else g for g in grid]
    seen = [candidate_key(c) for r in trail["rounds"] for c in r.get("candidates") or []]
    extra = [c for c in dict.fromkeys(seen) if c not in order]  # not in the grid: last
    ran = set(seen)
    return [c for c in order if c in ran or not seen] + extra


def _means(round_: Mapping[str, Any]) -> dict[Any, float]:
    pairs = zip(round_["candidates"], round_["mean_val_accuracy"], strict=True)
    return {candidate_key(c): float(m) for c, m in pairs}


def _seeds_text(n: Any) -> str:
    return f"{n} seed{'' if n == 1 else 's'}"


def trail_rows(trail: Mapping[str, Any], *, bold: bool = False) -> list[list[str]]:
    """The trail as a table: a header, then one row per candidate.

    Columns: each tuned field's value, each round's mean validation accuracy in percent
    (over all the selection seeds the candidate had run by then; the header says how
    many), ``"dropped"`` in the first round a candidate no longer ran and ``"-"`` after
    it, and the outcome: ``"chosen"`` or ``"dropped after round N"``.

    Args:
        trail: One arm's trail (`tuned_trails`).
        bold: Mark the chosen row's outcome in markdown bold.

    Returns:
        Rows of text cells, the header first.
    """
    fields = list(trail["fields"])
    rounds = list(trail["rounds"])
    means = [_means(r) for r in rounds]
    chosen = chosen_key(trail)
    header = [
        *fields,
        *(f"Round {i + 1}, {_seeds_text(r.get('seeds'))}" for i, r in enumerate(rounds)),
    ]
    rows = [[*header, "Outcome"]]
    for candidate in _candidates(trail):
        values = candidate if len(fields) > 1 else (candidate,)
        row = [format_value(v) for v in values]
        last = None
        for index, figures in enumerate(means):
            if candidate in figures:
                row.append(f"{100 * figures[candidate]:.2f}")
                last = index
            else:
                row.append("dropped" if last is not None and index == last + 1 else "-")
        if candidate == chosen:
            outcome = "**chosen**" if bold else "chosen"
        elif last is not None:
            outcome = f"dropped after round {last + 1}"
        else:
            outcome = "did not run"
        rows.append([*row, outcome])
    return rows


def _seed_list(seeds: Sequence[Any]) -> str:
    """Selection seeds, a run of consecutive ones as ``first-last``."""
    numbers = [s for s in seeds if isinstance(s, int) and not isinstance(s, bool)]
    if len(numbers) < len(seeds):  # not a regkit trail's seeds: as they are
        return ", ".join(map(str, seeds))
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[0] + len(numbers))):
        return f"{numbers[0]}-{numbers[-1]}"
    return ", ".join(map(str, numbers))


def trail_notes(trail: Mapping[str, Any], reference: str, seeds: Sequence[int]) -> list[str]:
    """What a trail's table means: the selection seeds, and that the choice used validation
    accuracy only while the comparison used the study's own seeds.

    Args:
        trail: One arm's trail.
        reference: The reference variant's name.
        seeds: The study's own seeds (the comparison's).
    """
    selection = list(trail.get("selection_seeds") or [])
    chosen = trail.get("variant") or trail.get("chosen_variant") or "the chosen arm"
    own = ", ".join(map(str, seeds)) or "-"
    tied = [
        f"Tied: {TIED_TEXT} (the tie rule keeps the smallest value, or the first listed). "
        + TIED_WHY
    ]
    return [
        *(tied if trail.get("tied") else []),
        f"Selection seeds: {_seed_list(selection) or '-'} ({_seeds_text(len(selection))}).",
        "Successive halving keeps the better candidates by mean validation accuracy after "
        "each round and runs them on more seeds; the choice used validation accuracy only "
        f"(test accuracy took no part), and {chosen} was then compared with {reference} "
        f"on the study's own seeds ({own}), which took no part in the choice.",
    ]


def trail_summary(arm: str, trail: Mapping[str, Any]) -> str:
    """One line for the terminal: the chosen value, its validation accuracy in the last
    round, and how many candidates and rounds it took.

    Example:
        >>> trail_summary("l2", {"fields": {"l2": [1e-4, 1e-3]}, "chosen": {"l2": 1e-3},
        ...     "rounds": [{"seeds": 1, "candidates": [1e-3, 1e-4],
        ...                 "mean_val_accuracy": [0.93, 0.91]}]})
        'l2: chose l2=0.001 (val acc 93.0% over 1 seed; 2 candidates, 1 round)'
    """
    chosen = trail.get("chosen")
    if isinstance(chosen, Mapping):
        text = ", ".join(f"{f}={format_value(v)}" for f, v in chosen.items())
    else:
        text = format_value(chosen)
    rounds = list(trail["rounds"])
    count = len(_candidates(trail))
    tail = f"{count} candidates, {len(rounds)} round{'' if len(rounds) == 1 else 's'}"
    last = _means(rounds[-1]) if rounds else {}
    key = chosen_key(trail)
    if key in last:
        seeds = _seeds_text(rounds[-1].get("seeds"))
        line = f"{arm}: chose {text} (val acc {100 * last[key]:.1f}% over {seeds}; {tail})"
    else:
        line = f"{arm}: chose {text} ({tail})"
    return f"{line}; {TIED_TEXT}" if trail.get("tied") else line


def trail_html(config: Mapping[str, Any] | None, reference: str, seeds: Sequence[int]) -> str:
    """Each tuned arm's trail as an HTML table with its notes (empty without tuning)."""
    trails = tuned_trails(config)
    if not trails:
        return ""
    esc = html.escape
    parts = ["<h4>Tuning (validation accuracy %, selection seeds)</h4>"]
    for arm, trail in trails.items():
        header, *rows = trail_rows(trail)
        head = "".join(f"<th>{esc(h)}</th>" for h in header)
        body = "".join(
            "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows
        )
        notes = " ".join(trail_notes(trail, reference, seeds))
        parts += [
            f"<p>{esc(trail_summary(arm, trail))}</p>",
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>",
            f"<p><small>{esc(notes)}</small></p>",
        ]
    return "\n".join(parts)
