"""Properties of the variant-spec grammar: any Regularization written as a spec parses back
to itself, and no text makes the parser escape with anything but a ValueError naming
`variants` (the CLI turns that into exit status 2)."""

from __future__ import annotations

from hypothesis import strategies as st

from regkit.config import Regularization
from regkit.experiments.study.specs import format_value, parse_spec, parse_sweep, parse_variants
from strategies import raises_naming, regularizations, twin


def _spec_of(reg: Regularization) -> str:
    return "+".join(f"{k}={format_value(v)}" for k, v in reg.to_dict().items()) or "baseline"


def _round_trip(reg):
    """field=value for every field, written as the labels write values, gives `reg` back."""
    assert parse_spec(_spec_of(reg)).reg == reg


test_spec_round_trip, test_spec_round_trip_slow = twin(regularizations, fast=40)(_round_trip)

_SPEC_ALPHABET = st.sampled_from([*"abdeln2+=:,.-_ 0123456789", "bn", "l2", "all", "dropout"])
spec_texts = st.lists(_SPEC_ALPHABET, max_size=20).map("".join)


def _no_escape(text):
    """Arbitrary spec text: parsed, or a ValueError/TypeError naming `variants`."""
    try:
        specs = parse_variants(text)
    except (ValueError, TypeError):
        raises_naming(lambda: parse_variants(text), ["variants"])
        return
    assert specs  # a parse gives at least one variant, each a valid Regularization
    assert all(isinstance(s.reg, Regularization) for s in specs.values())


test_specs_never_escape, test_specs_never_escape_slow = twin(spec_texts, fast=150)(_no_escape)


def _sweep_no_escape(text):
    try:
        parse_sweep(text)
    except ValueError:
        raises_naming(lambda: parse_sweep(text), ["sweep"])


test_sweeps_never_escape, test_sweeps_never_escape_slow = twin(spec_texts, fast=100)(
    _sweep_no_escape
)
