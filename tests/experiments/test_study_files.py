"""Study files: a study kept as TOML, read into compare's arguments and variants."""

from __future__ import annotations

import pytest

from regkit.config import Regularization
from regkit.experiments.study.specs import load_study

STUDY = """\
# How much L2 does the BN model want?
dataset = "digits"
epochs = 5
seeds = [0, 1, 2]
out = "runs/l2-study"
bn_momentum = "auto"

[variants.baseline]

[variants.wide]
preset = "bn"
dropout = 0.3
learning_rate = 3e-4

[variants.strong]
preset = "bn+l2=1e-3"
batch_norm = false

[sweep]
weight_decay = [0, 1e-4]
"""


def test_a_study_file_gives_compares_arguments_variants_and_sweep(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(STUDY, encoding="utf-8")
    study = load_study(path)
    assert study.settings == {
        "dataset": "digits",
        "epochs": 5,
        "seeds": [0, 1, 2],
        "out_dir": "runs/l2-study",  # the CLI's `out` is compare's `out_dir`
        "bn_momentum": "auto",
    }
    assert list(study.variants) == ["baseline", "wide", "strong"]  # file order: first is reference
    assert study.variants["baseline"].reg == Regularization()
    wide = study.variants["wide"]
    assert wide.reg == Regularization(batch_norm=True, head_batch_norm=True, dropout=0.3)
    assert wide.learning_rate == 3e-4
    assert study.variants["strong"].reg == Regularization(l2=1e-3, head_batch_norm=True)
    assert study.sweep == {"weight_decay": (0.0, 1e-4)}
    assert study.text == STUDY  # the report records the file as written
    assert study.path == path


def test_variants_may_also_be_spec_strings(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('variants = "baseline,l2=1e-3"\n', encoding="utf-8")
    assert list(load_study(path).variants) == ["baseline", "l2=1e-3"]
    path.write_text('variants = ["baseline", "strong:bn+l2=1e-3"]\n', encoding="utf-8")
    assert list(load_study(path).variants) == ["baseline", "strong"]
    path.write_text("epochs = 2\n", encoding="utf-8")
    study = load_study(path)
    assert (study.variants, study.sweep) == (None, None)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("epoch = 3\n", r"unknown key 'epoch'. Expected keys: .*epochs"),
        ("epochs = \n", r"is not valid TOML"),
        (
            "[variants.wide]\npreset = 'bn'\ndropuot = 0.3\n",
            r"\[variants.wide\]: unknown key 'dropuot'",
        ),
        ("[variants.wide]\npreset = 'fancy'\n", r"unknown variant 'fancy'"),
        ("[variants.wide]\ndropout = 2.0\n", r"\[variants.wide\]: invalid value for `dropout`"),
        (
            "[variants.wide]\nbatch_norm = 'maybe'\n",
            r"`batch_norm` in \[variants.wide\] expects true or false",
        ),
        ('[variants."a/b"]\n', r"a name usable as a folder"),
        ("variants = 3\n", r"expected a spec string, a list of specs"),
        ("sweep = [1, 2]\n", r"`sweep` expects a table of lists"),
        ("[sweep]\nl3 = [1, 2]\n", r"unknown field 'l3'"),
        ("out = 'a'\nout_dir = 'b'\n", r"sets 'out_dir' twice"),
    ],
)
def test_a_bad_file_names_the_file_and_the_key(tmp_path, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=match) as info:
        load_study(path)
    assert str(path) in str(info.value)
    assert str(info.value).startswith("Invalid value for argument `config`")


def test_a_missing_file_names_itself(tmp_path):
    with pytest.raises(ValueError, match=r"cannot read study file .*nope.toml"):
        load_study(tmp_path / "nope.toml")


def test_the_allowed_keys_can_be_extended(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("jobs = 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown key 'jobs'"):
        load_study(path)
    from regkit.experiments.study.specs import STUDY_KEYS

    assert load_study(path, keys=(*STUDY_KEYS, "jobs")).settings == {"jobs": 2}


def test_python_runs_a_study_file_through_compares_arguments(tmp_path):
    from regkit.experiments.run.plan import plan_comparison

    path = tmp_path / "study.toml"
    path.write_text(STUDY.replace('out = "runs/l2-study"', f'out = "{tmp_path / "out"}"'))
    arguments = load_study(path).arguments()
    assert set(arguments) == {
        "dataset",
        "epochs",
        "seeds",
        "out_dir",
        "bn_momentum",
        "variants",
        "sweep",
    }
    plan = plan_comparison(arguments.pop("variants"), limit=64, **arguments)  # = compare's checks
    assert list(plan.variants) == [
        "baseline-weight_decay=0.0",
        "baseline-weight_decay=0.0001",
        "wide-weight_decay=0.0",
        "wide-weight_decay=0.0001",
        "strong-weight_decay=0.0",
        "strong-weight_decay=0.0001",
    ]
    assert plan.variants["wide-weight_decay=0.0001"].learning_rate == 3e-4
    assert plan.config["epochs"] == 5
