"""regkit.tuning: the search-space grammar, the Optuna helper and the Keras Tuner HyperModel.

The grammar's checks run without TensorFlow; each library gets one tiny real search (two or
three trials of one epoch on the embedded digits) whose trials are checked against the
definition: every value inside its range, the best trial's model built from the best
values, the reported best the maximum of the trials.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from regkit import Regularization
from regkit.tuning import DEFAULT_SEARCH, Dimension, parse_space, suggest_regularization

FIELDS = ", ".join(f.name for f in __import__("dataclasses").fields(Regularization))
SPACE = {"l2": (1e-6, 1e-2, "log"), "dropout": (0.0, 0.5), "preset": ["baseline", "bn"]}
TINY_CNN = {"filters": (8, 16), "dense_units": (16,)}


# ------------------------------------------------------------------ the grammar
def test_the_space_reads_ranges_log_ranges_ints_and_choices():
    space = {
        "l2": (1e-6, 1e-2, "log"),
        "dropout": (0, 0.5),
        "drop_block_size": (3, 7),
        "batch_norm": [False, True],
        "head_dropout": [0, 0.5],
        "preset": ["bn", "all"],
    }
    assert parse_space(space) == (
        Dimension("l2", "float", 1e-6, 1e-2, log=True),
        Dimension("dropout", "float", 0.0, 0.5),
        Dimension("drop_block_size", "int", 3, 7),
        Dimension("batch_norm", "choice", choices=(False, True)),
        Dimension("head_dropout", "choice", choices=(0.0, 0.5)),  # one type for Keras Tuner
        Dimension("preset", "choice", choices=("bn", "all")),
    )
    assert isinstance(parse_space(space)[4].choices[0], float)


def test_an_unknown_name_is_named_and_the_valid_ones_listed():
    with pytest.raises(ValueError) as error:
        parse_space({"l2": (0.0, 0.1), "dropot": (0.0, 0.5)}, arg="space")
    assert str(error.value) == (
        "Invalid value for argument `space`: unknown name 'dropot' (not a Regularization "
        f"field). Valid names: preset, {FIELDS}"
    )


@pytest.mark.parametrize(
    ("space", "message"),
    [
        (
            {"l2": 0.01},
            "Invalid value for argument `space['l2']`: expected a (low, high) or (low, high, "
            "'log') tuple of numbers, or a list of choices. Received: space['l2']=0.01",
        ),
        (
            {"l2": (0.0, 0.1, "log")},
            "Invalid value for argument `space['l2']`: expected low > 0 for a log-uniform "
            "range. Received: space['l2']=(0.0, 0.1, 'log')",
        ),
        (
            {"l2": (0.1, 0.01)},
            "Invalid value for argument `space['l2']`: expected finite bounds with low < high. "
            "Received: space['l2']=(0.1, 0.01)",
        ),
        (
            {"l2": (1e-4, 1e-2, "loq")},
            "Invalid value for argument `space['l2']`: expected a (low, high) or (low, high, "
            "'log') tuple of numbers, or a list of choices. "
            "Received: space['l2']=(0.0001, 0.01, 'loq')",
        ),
        (
            {"batch_norm": (0, 1)},
            "Invalid value for argument `space['batch_norm']`: expected a list of choices. "
            "Received: space['batch_norm']=(0, 1)",
        ),
        (
            {"batch_norm": [0, 1]},
            "Invalid value for argument `space['batch_norm']`: expected a list of bools. "
            "Received: space['batch_norm']=0",
        ),
        (
            {"drop_block_size": (2.5, 7)},
            "Invalid value for argument `space['drop_block_size']`: expected a (low, high) or "
            "(low, high, 'log') tuple of ints, or a list of choices. "
            "Received: space['drop_block_size']=(2.5, 7)",
        ),
        (
            {"preset": ["bn", "heavy"]},
            "Invalid value for argument `space['preset']`: expected a list of preset names "
            "among baseline, l2, bn, bn+l2, dropout, all. Received: space['preset']='heavy'",
        ),
        (
            {"dropout": []},
            "Invalid value for argument `space['dropout']`: expected a non-empty list of "
            "choices. Received: space['dropout']=[]",
        ),
        (
            {},
            "Invalid value for argument `space`: expected a dict of at least one name to "
            "search. Received: space={}",
        ),
    ],
)
def test_malformed_entries_are_refused_exactly(space, message):
    with pytest.raises(ValueError) as error:
        parse_space(space)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("space", "field"),
    [({"dropout": (0.0, 1.5)}, "dropout"), ({"l2": [1e-4, -1.0]}, "l2"), ({"l2": (-1, 1)}, "l2")],
)
def test_a_bound_or_choice_the_field_refuses_is_refused_naming_the_field(space, field):
    with pytest.raises(ValueError, match=rf"^Invalid value for argument `{field}`"):
        parse_space(space)


# ------------------------------------------------------------------ Optuna's helper
def test_a_fixed_trial_gives_exactly_its_values_over_the_preset_and_base_fields():
    optuna = pytest.importorskip("optuna")
    trial = optuna.trial.FixedTrial({"l2": 1e-4, "dropout": 0.2, "preset": "bn"})
    reg = suggest_regularization(trial, SPACE, base={"bn_momentum": 0.9})
    assert reg == Regularization.preset("bn").replace(l2=1e-4, dropout=0.2, bn_momentum=0.9)
    plain = optuna.trial.FixedTrial({"l2": 1e-4})
    start = Regularization(head_dropout=0.5)
    assert suggest_regularization(plain, {"l2": (1e-6, 1e-2, "log")}, start) == Regularization(
        l2=1e-4, head_dropout=0.5
    )
    assert suggest_regularization(plain, {"l2": (1e-6, 1e-2, "log")}, "bn") == (
        Regularization.preset("bn").replace(l2=1e-4)
    )


def test_optuna_records_each_name_with_its_distribution():
    """A study of 30 cheap trials (no model): the distributions Optuna records are the
    space's, and every suggested value lies in its range."""
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = {**SPACE, "drop_block_size": (3, 7), "batch_norm": [False, True]}
    seen = []

    def objective(trial):
        reg = suggest_regularization(trial, space)
        seen.append(reg)
        return reg.l2

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=30)
    dist = study.trials[0].distributions
    assert dist["l2"] == optuna.distributions.FloatDistribution(1e-6, 1e-2, log=True)
    assert dist["dropout"] == optuna.distributions.FloatDistribution(0.0, 0.5)
    assert dist["drop_block_size"] == optuna.distributions.IntDistribution(3, 7)
    assert dist["preset"] == optuna.distributions.CategoricalDistribution(["baseline", "bn"])
    assert all(1e-6 <= r.l2 <= 1e-2 and 0.0 <= r.dropout <= 0.5 for r in seen)
    assert {r.batch_norm for r in seen} == {False, True}  # the field wins over the preset
    assert {r.head_batch_norm for r in seen} == {False, True}  # the preset's other fields
    # log-uniform: about half of the draws below the geometric midpoint 1e-4
    assert 5 <= sum(r.l2 < 1e-4 for r in seen) <= 25
    best = suggest_regularization(optuna.trial.FixedTrial(study.best_params), space)
    assert best.l2 == study.best_value == min(r.l2 for r in seen)


def test_the_base_and_the_space_must_agree():
    optuna = pytest.importorskip("optuna")
    trial = optuna.trial.FixedTrial({"l2": 1e-4, "preset": "bn"})
    with pytest.raises(ValueError) as error:
        suggest_regularization(trial, {"l2": (1e-6, 1e-2, "log")}, base={"l2": 1e-3})
    assert str(error.value) == (
        "Invalid value for argument `base`: 'l2' is both held fixed and searched; remove it "
        "from one. Received: base={'l2': 0.001}"
    )
    with pytest.raises(ValueError) as error:
        suggest_regularization(trial, {"preset": ["bn"]}, base=Regularization(l2=1e-3))
    assert str(error.value).startswith(
        "Invalid value for argument `base`: with 'preset' searched, each trial starts from "
        "the chosen preset, so a whole Regularization here would be ignored; give the fields "
        "to hold fixed as a dict, e.g. {'bn_momentum': 0.9}. Received: base=Regularization("
    )
    with pytest.raises(ValueError) as error:
        suggest_regularization(trial, {"preset": ["bn"]}, base={"dropuot": 0.1})
    assert str(error.value) == (
        "Invalid value for argument `base`: 'dropuot' is not a Regularization field. "
        f"Valid fields: {FIELDS}"
    )
    with pytest.raises(TypeError, match=r"^Invalid type for argument `trial`: expected an "):
        suggest_regularization({"l2": 1e-4}, {"l2": (1e-6, 1e-2, "log")})


def _digits(batches):
    """The embedded digits' training and validation batches (the first `batches` training
    batches when given: the quick tier's searches run on a part of an epoch)."""
    from regkit.data import image_pipeline, load_dataset

    splits = load_dataset("digits")
    train = image_pipeline(splits.train, batch_size=32, seed=0)
    if batches is not None:
        train = train.take(batches)
    validation = image_pipeline(splits.validation, batch_size=128, training=False)
    return splits, train, validation, len(list(train))


# Each search runs twice: quick in the default tier (two trials on 10 batches, run eagerly:
# tracing a trial's steps takes longer than training it), and as the issue asks in the slow
# tier (three trials of one full epoch, traced, the best well above chance).
SEARCHES = [
    pytest.param(2, 10, None, id="quick"),
    pytest.param(3, None, 0.3, id="epoch", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("trials", "batches", "learns"), SEARCHES)
def test_a_tiny_optuna_search_on_digits(trials, batches, learns):
    """Each trial's model is built from its suggestion, the best value is the best
    trial's, and (a full epoch) the best trial learns well above chance (0.1)."""
    optuna = pytest.importorskip("optuna")
    import keras

    from regkit import auto_bn_momentum, build_cnn, compile_model

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    splits, train, validation, steps = _digits(batches)
    built = {}

    def objective(trial):
        reg = suggest_regularization(trial, SPACE)
        reg = reg.replace(bn_momentum=auto_bn_momentum(reg.bn_momentum, steps))
        keras.utils.set_random_seed(trial.number)
        model = build_cnn(splits.image_shape, splits.num_classes, reg=reg, **TINY_CNN)
        compile_model(model, reg=reg, learning_rate=3e-3)
        model.run_eagerly = learns is None  # the quick tier
        history = model.fit(train, validation_data=validation, epochs=1, shuffle=False, verbose=0)
        built[trial.number] = (reg, model)
        return history.history["val_accuracy"][-1]

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=trials)
    assert len(study.trials) == trials
    for trial in study.trials:
        reg, model = built[trial.number]
        assert reg.l2 == trial.params["l2"] and reg.dropout == trial.params["dropout"]
        conv = model.get_layer("cnn_block1_conv1")
        assert conv.kernel_regularizer.get_config()["l2"] == pytest.approx(reg.l2)
        has_bn = any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
        assert has_bn is (trial.params["preset"] == "bn")
    assert study.best_value == max(t.value for t in study.trials)
    if learns is not None:
        assert study.best_value > learns, study.best_value


# ------------------------------------------------------------------ Keras Tuner's HyperModel
def test_import_regkit_tuning_loads_neither_keras_tuner_nor_optuna():
    code = (
        "import sys, regkit, regkit.tuning; "
        "from regkit.tuning import suggest_regularization, parse_space; "
        "print(sorted(m for m in ('keras_tuner', 'optuna', 'tensorflow', 'keras') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_without_keras_tuner_the_error_names_the_extra(monkeypatch):
    import regkit.tuning

    monkeypatch.delitem(regkit.tuning.__dict__, "RegularizedHyperModel", raising=False)
    monkeypatch.setitem(sys.modules, "keras_tuner", None)  # as if not installed
    with pytest.raises(ImportError) as error:
        regkit.tuning.RegularizedHyperModel  # noqa: B018
    assert str(error.value) == (
        "regkit.tuning.RegularizedHyperModel needs Keras Tuner, which is not installed. "
        'Install it with: pip install "regkit[tuner]" (or: pip install keras-tuner)'
    )


def _hypermodel(**kwargs):
    kt = pytest.importorskip("keras_tuner")
    from regkit.tuning import RegularizedHyperModel

    kwargs = {"model_kwargs": TINY_CNN} | kwargs
    hypermodel = RegularizedHyperModel(kwargs.pop("builder", "cnn"), (8, 8, 1), 10, **kwargs)
    return kt, hypermodel


def test_the_hypermodel_is_a_keras_tuner_hypermodel_with_the_default_search():
    kt, hypermodel = _hypermodel()
    assert isinstance(hypermodel, kt.HyperModel)
    assert type(hypermodel).__module__ == "regkit.tuning"
    assert hypermodel.search == DEFAULT_SEARCH
    hp = kt.HyperParameters()
    model = hypermodel.build(hp)
    assert set(hp.values) == {"l2", "dropout", "preset"}
    assert model.optimizer is not None and model.loss is not None  # compiled
    # defaults of hp.Float/Choice: the range's low end and the first choice
    assert hp.values == {"l2": 1e-6, "dropout": 0.0, "preset": "baseline"}
    hp_l2 = hp.get_config()["space"][0]["config"]
    assert (hp_l2["name"], hp_l2["sampling"]) == ("l2", "log")


def test_build_makes_the_model_of_the_given_values():
    kt, hypermodel = _hypermodel(
        search={"l2": (1e-6, 1e-2, "log"), "preset": ["baseline", "all"], "learning_rate": [3e-3]},
        fixed={"bn_momentum": 0.9},
    )
    hp = kt.HyperParameters()
    hp.Fixed("l2", 1e-3)
    hp.Fixed("preset", "all")
    model = hypermodel.build(hp)
    assert hypermodel.regularization(hp) == Regularization.preset("all").replace(
        l2=1e-3, bn_momentum=0.9
    )
    conv = model.get_layer("cnn_block1_conv1")
    assert conv.kernel_regularizer.get_config()["l2"] == pytest.approx(1e-3)
    bn = model.get_layer("cnn_block1_bn1")
    assert bn.momentum == 0.9
    assert model.get_layer("cnn_block1_dropout").rate == 0.25  # the preset's dropout
    assert float(model.optimizer.learning_rate) == pytest.approx(3e-3)


def test_steps_per_epoch_sets_the_batch_norm_momentum_as_compare_does():
    kt, hypermodel = _hypermodel(search={"preset": ["bn"]}, steps_per_epoch=36)
    assert hypermodel.regularization(kt.HyperParameters()).bn_momentum == 0.9  # 100 > 36
    kt, long_epochs = _hypermodel(search={"preset": ["bn"]}, steps_per_epoch=1000)
    assert long_epochs.regularization(kt.HyperParameters()).bn_momentum == 0.99


def test_a_resnet_hypermodel_searches_drop_path():
    kt, hypermodel = _hypermodel(
        builder="resnet", search={"drop_path": (0.0, 0.3)}, model_kwargs={"depth": 8, "width": 4}
    )
    hp = kt.HyperParameters()
    hp.Fixed("drop_path", 0.3)
    model = hypermodel.build(hp)
    rates = [layer.rate for layer in model.layers if type(layer).__name__ == "DropPath"]
    assert rates == pytest.approx([0.1, 0.2, 0.3])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"builder": "vgg"},
            ValueError,
            "Invalid value for argument `builder`: unknown model 'vgg'. Expected one of: cnn, "
            "mobilenet_v2, resnet, or a callable (input_shape, num_classes, *, reg, ...) -> "
            "keras.Model",
        ),
        (
            {"search": {"dropot": (0.0, 0.5)}},
            ValueError,
            "Invalid value for argument `search`: unknown name 'dropot' (not a Regularization "
            f"field). Valid names: preset, learning_rate, {FIELDS}",
        ),
        (
            {
                "search": {"learning_rate": (1e-4, 1e-2, "log")},
                "compile_kwargs": {"learning_rate": 1e-3},
            },
            ValueError,
            "Invalid value for argument `compile_kwargs`: 'learning_rate' is also searched; "
            "remove it from one. Received: compile_kwargs={'learning_rate': 0.001}",
        ),
        (
            {"model_kwargs": {"reg": "bn"}},
            ValueError,
            "Invalid value for argument `model_kwargs`: `reg` is what the search sets; give "
            "fixed fields as `fixed=`. Received: model_kwargs={'reg': 'bn'}",
        ),
        (
            {"search": {"l2_sp": (1e-4, 1e-2, "log")}},
            ValueError,
            "Invalid value for argument `search`: `l2_sp` pulls a fine-tuned model toward its "
            "starting weights, and RegularizedHyperModel builds fresh models; tune it with "
            "suggest_regularization in your own fine-tuning objective. "
            "Received: l2_sp=(0.0001, 0.01, 'log')",
        ),
        (
            {"steps_per_epoch": 0},
            ValueError,
            "Invalid value for argument `steps_per_epoch`: expected an int >= 1. "
            "Received: steps_per_epoch=0",
        ),
    ],
)
def test_hypermodel_errors_are_exact(kwargs, error, message):
    with pytest.raises(error) as info:
        _hypermodel(**kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize(("trials", "batches", "learns"), SEARCHES)
def test_a_tiny_keras_tuner_search_on_digits(tmp_path, trials, batches, learns):
    """The oracle's best is the best trial, every value lies in its range, the best
    hyperparameters rebuild the best model (same L2, same layers), and (a full epoch) the
    best trial learns well above chance (0.1)."""
    import keras

    _, train, validation, steps = _digits(batches)
    kt, hypermodel = _hypermodel(
        search=SPACE, compile_kwargs={"learning_rate": 3e-3}, steps_per_epoch=steps
    )
    if learns is None:  # the quick tier: each trial's model runs eagerly
        fit = hypermodel.fit

        def eager_fit(hp, model, *args, **kwargs):
            model.run_eagerly = True
            return fit(hp, model, *args, **kwargs)

        hypermodel.fit = eager_fit
    tuner = kt.RandomSearch(
        hypermodel,
        objective="val_accuracy",
        max_trials=trials,
        seed=0,
        directory=str(tmp_path),
        project_name="digits",
    )
    tuner.search(train, validation_data=validation, epochs=1, shuffle=False, verbose=0)
    done = list(tuner.oracle.trials.values())
    assert len(done) == trials and all(t.status == "COMPLETED" for t in done)
    for trial in done:
        values = trial.hyperparameters.values
        assert 1e-6 <= values["l2"] <= 1e-2 and 0.0 <= values["dropout"] <= 0.5
        assert values["preset"] in ("baseline", "bn")
        assert math.isfinite(trial.score)
    best_hp = tuner.get_best_hyperparameters()[0]
    assert tuner.oracle.get_best_trials()[0].score == max(t.score for t in done)
    if learns is not None:
        assert max(t.score for t in done) > learns
    reg = hypermodel.regularization(best_hp)
    assert (reg.l2, reg.dropout) == (best_hp.values["l2"], best_hp.values["dropout"])
    assert reg.batch_norm is (best_hp.values["preset"] == "bn")
    best = tuner.get_best_models(1)[0]
    conv = best.get_layer("cnn_block1_conv1")
    assert conv.kernel_regularizer.get_config()["l2"] == pytest.approx(best_hp.values["l2"])
    assert isinstance(best, keras.Model) and best.output_shape == (None, 10)
