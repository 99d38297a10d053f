"""The variant-spec grammar: ``[label:]part(+part)*`` items separated by ``,``."""

from __future__ import annotations

import pytest

from regkit.config import Regularization
from regkit.experiments.study.specs import FIELD_TYPES, parse_spec, parse_value, parse_variants


def test_the_issue_example_parses_into_four_labelled_variants():
    specs = parse_variants("baseline,l2=1e-3,bn+l2=1e-4,wide:bn+dropout=0.3")
    assert list(specs) == ["baseline", "l2=1e-3", "bn+l2=1e-4", "wide"]
    assert specs["baseline"].reg == Regularization()
    assert specs["l2=1e-3"].reg == Regularization(l2=1e-3)
    assert specs["bn+l2=1e-4"].reg == Regularization(l2=1e-4, batch_norm=True, head_batch_norm=True)
    assert specs["wide"].reg == Regularization(batch_norm=True, head_batch_norm=True, dropout=0.3)
    assert specs["wide"].spec == "bn+dropout=0.3"


def test_an_exact_preset_name_wins_over_splitting_on_plus():
    assert parse_spec("bn+l2").reg == Regularization.preset("bn+l2")
    assert parse_spec("bn+l2").label == "bn+l2"


def test_parts_apply_left_to_right():
    assert parse_spec("l2=1e-3+l2=1e-4").reg.l2 == 1e-4
    assert parse_spec("all+l2=0").reg == Regularization.preset("all").replace(l2=0.0)
    # a preset sets the fields it sets, so it can switch something back on
    assert parse_spec("all+batch_norm=false+bn").reg.batch_norm is True
    assert parse_spec("all+batch_norm=false").reg.batch_norm is False


def test_two_presets_combine():
    reg = parse_spec("bn+dropout").reg
    assert reg.batch_norm and reg.head_batch_norm
    assert (reg.dropout, reg.head_dropout) == (0.25, 0.5)


def test_every_field_type_parses():
    spec = parse_spec(
        "x:l1=1e-5+regularize_bias=true+batch_norm=yes+bn_momentum=0.9+head_dropout=0.5"
        "+learning_rate=3e-4+optimizer=sgd"
    )
    assert spec.reg.l1 == 1e-5
    assert spec.reg.regularize_bias is True
    assert spec.reg.bn_momentum == 0.9
    assert spec.learning_rate == 3e-4
    assert spec.optimizer == "sgd"
    assert spec.variant_kwargs() == {"reg": spec.reg, "learning_rate": 3e-4, "optimizer": "sgd"}
    assert set(FIELD_TYPES) >= {"l2", "dropout", "weight_decay", "learning_rate", "optimizer"}


def test_spaces_and_case_are_forgiven_in_names_not_in_labels():
    specs = parse_variants(" Baseline , BN + L2=1e-3 ")
    assert list(specs) == ["baseline", "bn+l2=1e-3"]


def test_sequences_and_mappings_of_specs():
    assert list(parse_variants(["baseline", "l2=1e-3,bn"])) == ["baseline", "l2=1e-3", "bn"]
    specs = parse_variants({"weak": "l2=1e-4", "strong": "bn+l2=1e-3"})
    assert list(specs) == ["weak", "strong"]
    assert specs["strong"].reg.batch_norm


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("l3=1e-3", r"unknown field 'l3'"),
        ("fancy", r"unknown variant 'fancy'.*Expected a preset \(baseline, l2, bn"),
        ("bn+fancy", r"unknown variant 'fancy' in 'bn\+fancy'"),
        ("dropout=1.5", r"variant 'dropout=1.5'.*`dropout`: expected a float in \[0, 1\)"),
        ("l2=-1", r"`l2`: expected a float >= 0"),
        ("l2=abc", r"`l2` in 'l2=abc' expects a finite number. Received: l2='abc'"),
        ("l2=nan", r"`l2` in 'l2=nan' expects a finite number"),
        ("batch_norm=maybe", r"`batch_norm` in 'batch_norm=maybe' expects true or false"),
        ("learning_rate=0", r"`learning_rate`: expected a finite float > 0"),
        ("bn+", r"empty part in variant spec 'bn\+'"),
        (":bn", r"empty label"),
        ("a/b:bn", r"a name usable as a folder.*Received: variants='a/b'"),
        ("..:bn", r"Received: variants='..'"),
        ("report.json:bn", r"other than the study's own files"),
        ("baseline,baseline", r"unique variant names.*'baseline' twice"),
        ("bn,BN", r"unique variant names"),
        ("", r"at least one variant"),
        (" , ", r"at least one variant"),
    ],
)
def test_bad_specs_raise_naming_what_is_wrong(text, match):
    with pytest.raises(ValueError, match=match) as info:
        parse_variants(text)
    assert str(info.value).startswith("Invalid value for argument `variants`")


def test_a_non_string_spec_is_a_type_error():
    with pytest.raises(TypeError, match="`variants`: expected a variant spec"):
        parse_variants(["baseline", Regularization()])
    with pytest.raises(TypeError, match="`variants`"):
        parse_variants(3)


def test_parse_value_by_field_type():
    assert parse_value("l2", "1e-3") == 1e-3
    assert parse_value("l2", 1) == 1.0
    assert parse_value("batch_norm", "OFF") is False
    assert parse_value("optimizer", " adamw ") == "adamw"
    with pytest.raises(ValueError, match="`l2`"):
        parse_value("l2", True)  # a bool is no coefficient
    with pytest.raises(ValueError, match="unknown field 'nope'"):
        parse_value("nope", "1")
