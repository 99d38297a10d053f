"""What a study asks to tune: `compare(tune=...)`, `--tune`, a study file's ``[tune]`` table.

A tuned arm names one field, or several fields tuned jointly, and the candidate values to
choose from. Each field's values parse as the variant grammar parses them (a
`Regularization` field, `learning_rate`, a numeric `Augment` field) and must be numbers:
a strength to choose. The run wing (`regkit.experiments.run.tuning`) chooses the value on
validation accuracy by successive halving and compares the chosen arm with the reference
on fresh seeds.

Forms (all normalised to ``{arm: {field: (values...)}}``):

- ``{"l2": [1e-5, 1e-4, 1e-3]}``: one arm, ``"l2"``, tuning one field;
- ``{"l2+dropout": {"l2": [1e-4, 1e-3], "dropout": [0.1, 0.3]}}``: one arm tuning two
  fields jointly, over their grid (4 candidates);
- on the command line, ``l2=1e-5,1e-4,1e-3`` and ``l2=1e-4,1e-3+dropout=0.1,0.3``.

Example:
    >>> coerce_tune({"l2": [1e-5, 1e-4]})
    {'l2': {'l2': (1e-05, 0.0001)}}
    >>> parse_tune("l2=1e-4,1e-3+dropout=0.1,0.3")
    ('l2+dropout', {'l2': (0.0001, 0.001), 'dropout': (0.1, 0.3)})
    >>> tuned_label("l2", {"l2": 0.0001})
    'l2 (tuned=0.0001)'
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from regkit._checks import invalid
from regkit.experiments.study.records import Variant
from regkit.experiments.study.specs import coerce_sweep, expand_sweep, format_value, parse_sweep

__all__ = ["MAX_CANDIDATES", "candidates", "coerce_tune", "parse_tune", "tuned_label"]

#: The most candidates one arm may try (a grid's size): each costs at least one run.
MAX_CANDIDATES = 64


def parse_tune(text: str) -> tuple[str, dict[str, tuple[Any, ...]]]:
    """Parses the command line's ``FIELD=V1,V2,...[+FIELD=V1,V2,...]``.

    Returns:
        The arm's name (its fields joined by ``+``) and ``{field: values}``.

    Raises:
        ValueError: a part without ``=``, an unknown field or a value that does not parse.
    """
    fields: dict[str, tuple[Any, ...]] = {}
    for part in str(text).split("+"):
        field, values = parse_sweep(part, arg="tune")
        if field in fields:
            raise invalid("tune", f"each field once per arm ({field!r} is given twice)", text)
        fields[field] = values
    return "+".join(fields), fields


def coerce_tune(tune: Mapping[str, Any] | None) -> dict[str, dict[str, tuple[Any, ...]]]:
    """Checks `tune` and normalises it to ``{arm: {field: (values...)}}``.

    Raises:
        ValueError: an unknown field, a value that is not a finite number, fewer than two
            candidates, more than `MAX_CANDIDATES`, or an arm whose name does not match its
            fields.
        TypeError: `tune` is not a mapping.
    """
    if tune is None:
        return {}
    if not isinstance(tune, Mapping):
        raise TypeError(
            "Invalid type for argument `tune`: expected a mapping of fields to candidate "
            f"values, e.g. {{'l2': [1e-5, 1e-4, 1e-3]}}. Received: tune={tune!r}"
        )
    out: dict[str, dict[str, tuple[Any, ...]]] = {}
    for arm, value in tune.items():
        if not isinstance(arm, str) or not arm.strip():
            raise invalid("tune", "arm names (str): a field, or fields joined by '+'", arm)
        if isinstance(value, Mapping):
            fields = coerce_sweep(value, arg="tune")
            expected = "+".join(fields)
            if arm.strip().lower() != expected:
                raise invalid("tune", f"the arm of fields {list(fields)} named {expected!r}", arm)
        else:
            fields = coerce_sweep({arm: value}, arg="tune")
        for field, values in fields.items():
            for candidate in values:
                if not _number(candidate):
                    raise invalid("tune", f"numbers to choose from for {field!r}", list(values))
        size = math.prod(len(values) for values in fields.values())
        if size < 2:
            raise invalid("tune", f"at least two candidates for {'+'.join(fields)!r}", value)
        if size > MAX_CANDIDATES:
            raise invalid(
                "tune", f"at most {MAX_CANDIDATES} candidates per arm", f"{size} candidates"
            )
        name = "+".join(fields)
        if name in out:
            raise invalid("tune", "each arm once", name)
        out[name] = fields
    return out


def candidates(base: Variant, fields: Mapping[str, Sequence[Any]]) -> dict[str, Variant]:
    """The arm's candidates: `base` with each combination of the fields' values (their
    grid), labelled ``{base}-{field}={value}`` with `swept` holding the pairs."""
    return expand_sweep({base.label: base}, fields, arg="tune")


def tuned_label(arm: str, chosen: Mapping[str, Any]) -> str:
    """The chosen arm's variant name: ``"l2 (tuned=0.0001)"``."""
    return f"{arm} (tuned={','.join(format_value(v) for v in chosen.values())})"


def _number(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )
