"""Hyperparameter search over `Regularization`: a Keras Tuner `HyperModel` and an Optuna helper.

Both read one small search-space grammar, a dict from a name to how to search it:

- a Regularization field (``"l2"``, ``"dropout"``, ``"batch_norm"``, ...) or ``"preset"``
  (each trial starts from the chosen `Regularization.preset`);
- ``(low, high)``: a number drawn uniformly in [low, high] (an int field draws ints);
- ``(low, high, "log")``: drawn log-uniformly (low > 0), as learning rates and L2
  coefficients usually are;
- ``[a, b, ...]``: one of the listed values (the only form for bool fields and presets).

A trial's `Regularization` is the chosen preset (else `fixed`/`base`, else no
regularization), then the fixed fields, then the searched fields. Each value is checked
when the space is read, so a search never starts with a typo or an out-of-range bound:
an unknown name is a ValueError listing the valid ones.

- `RegularizedHyperModel` (``pip install "regkit[tuner]"``): a `keras_tuner.HyperModel`
  whose `build(hp)` returns a compiled regkit model; give it to any Keras Tuner tuner.
- `suggest_regularization(trial, space)` (``pip install "regkit[optuna]"``): the
  `Regularization` an Optuna trial suggests, for your own objective.

Neither Keras Tuner nor Optuna is imported by ``import regkit`` or ``import regkit.tuning``:
`RegularizedHyperModel` is defined the first time it is looked up (it subclasses
`keras_tuner.HyperModel`), and `suggest_regularization` only calls the trial's methods.

Example:
    >>> from regkit.tuning import RegularizedHyperModel
    >>> hypermodel = RegularizedHyperModel(
    ...     "cnn", (8, 8, 1), 10, search={"l2": (1e-6, 1e-2, "log"), "batch_norm": [False, True]}
    ... )
    >>> tuner = keras_tuner.RandomSearch(hypermodel, objective="val_accuracy", max_trials=3)
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from regkit._checks import check_kwargs, check_positive_int, invalid
from regkit.config import Regularization, auto_bn_momentum

__all__ = [
    "DEFAULT_SEARCH",
    "Dimension",
    "RegularizedHyperModel",
    "parse_space",
    "suggest_regularization",
]

if TYPE_CHECKING:  # defined by __getattr__ on first use: it subclasses keras_tuner.HyperModel
    RegularizedHyperModel: type

#: `RegularizedHyperModel`'s search when none is given: an L2 coefficient (log scale),
#: the dropout after each conv block and three presets (their BatchNorm and head dropout).
DEFAULT_SEARCH: dict[str, Any] = {
    "l2": (1e-6, 1e-2, "log"),
    "dropout": (0.0, 0.5),
    "preset": ["baseline", "bn", "all"],
}
#: The Regularization fields and their types (``"float"``, ``"int"`` or ``"bool"``).
_FIELD_TYPES: dict[str, str] = {f.name: str(f.type) for f in dataclasses.fields(Regularization)}
_SAMPLINGS = ("linear", "log")
_RANGE = "a (low, high) or (low, high, 'log') tuple of numbers, or a list of choices"
_TUNER_EXTRA = (
    "regkit.tuning.RegularizedHyperModel needs Keras Tuner, which is not installed. "
    'Install it with: pip install "regkit[tuner]" (or: pip install keras-tuner)'
)


class Dimension(NamedTuple):
    """One searched name: a float or int range (`low`, `high`, `log`) or `choices`."""

    name: str
    kind: Literal["float", "int", "choice"]
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    choices: tuple[Any, ...] = ()


def parse_space(
    space: Any, *, arg: str = "space", extra: Sequence[str] = ()
) -> tuple[Dimension, ...]:
    """Reads and checks a search space (see the module docstring for the grammar).

    Args:
        space: A dict from a name to ``(low, high)``, ``(low, high, "log")`` or a list of
            choices.
        arg: The argument name the errors give (``"search"``, ``"space"``).
        extra: Names accepted besides ``"preset"`` and the Regularization fields (the
            HyperModel's ``"learning_rate"``).

    Returns:
        One `Dimension` per name, in the dict's order.

    Raises:
        ValueError: An unknown name (the valid ones are listed), a malformed entry, a
            bound or choice the field refuses, an unknown preset.
        TypeError: `space` is not a dict.

    Example:
        >>> parse_space({"l2": (1e-5, 1e-2, "log")})[0]
        Dimension(name='l2', kind='float', low=1e-05, high=0.01, log=True, choices=())
    """
    if not isinstance(space, Mapping):
        raise TypeError(
            f"Invalid type for argument `{arg}`: expected a dict from a name to a range or a "
            f"list of choices. Received: {arg}={space!r} of type {type(space).__name__}"
        )
    if not space:
        raise invalid(arg, "a dict of at least one name to search", dict(space))
    valid = ("preset", *extra, *_FIELD_TYPES)
    return tuple(_dimension(arg, name, spec, valid) for name, spec in space.items())


def _dimension(arg: str, name: Any, spec: Any, valid: Sequence[str]) -> Dimension:
    if name not in valid:
        raise ValueError(
            f"Invalid value for argument `{arg}`: unknown name {name!r} (not a Regularization "
            f"field). Valid names: {', '.join(valid)}"
        )
    where = f"{arg}[{name!r}]"
    kind = _FIELD_TYPES.get(name, "str" if name == "preset" else "float")
    if isinstance(spec, list):
        if not spec:
            raise invalid(where, "a non-empty list of choices", spec)
        return Dimension(name, "choice", choices=tuple(_choice(where, name, v) for v in spec))
    if isinstance(spec, tuple) and kind in ("float", "int"):
        return _range(where, name, kind, spec)
    expected = _RANGE if kind in ("float", "int") else "a list of choices"
    raise invalid(where, expected, spec)


def _range(where: str, name: str, kind: str, spec: tuple[Any, ...]) -> Dimension:
    sampling = spec[2] if len(spec) == 3 else "linear"
    numbers_ok = len(spec) in (2, 3) and all(_is_number(v, kind) for v in spec[:2])
    if not numbers_ok or sampling not in _SAMPLINGS:
        expected = _RANGE if kind == "float" else _RANGE.replace("numbers", "ints")
        raise invalid(where, expected, spec)
    low, high = spec[0], spec[1]
    finite = kind == "int" or (math.isfinite(low) and math.isfinite(high))
    if not (finite and low < high):
        raise invalid(where, "finite bounds with low < high", spec)
    if sampling == "log" and low <= 0:
        raise invalid(where, "low > 0 for a log-uniform range", spec)
    for bound in (low, high):
        _check_value(name, bound)
    if kind == "int":
        return Dimension(name, "int", int(low), int(high), sampling == "log")
    return Dimension(name, "float", float(low), float(high), sampling == "log")


def _is_number(value: Any, kind: str) -> bool:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    if kind == "int":
        return isinstance(value, numbers.Integral)
    try:
        float(value)
    except OverflowError:
        return False
    return True


def _choice(where: str, name: str, value: Any) -> Any:
    """One listed value, checked and given the field's type (Keras Tuner wants one type)."""
    kind = _FIELD_TYPES.get(name)
    if name == "preset":
        names = Regularization.preset_names()
        if not isinstance(value, str) or value not in names:
            raise invalid(where, f"a list of preset names among {', '.join(names)}", value)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise invalid(where, "a list of bools", value)
        return value
    if not _is_number(value, kind or "float"):
        raise invalid(where, f"a list of {'ints' if kind == 'int' else 'numbers'}", value)
    _check_value(name, value)
    return int(value) if kind == "int" else float(value)


def _check_value(name: str, value: Any) -> None:
    """Checks one value of a field the way `Regularization` does (its errors name the field)."""
    if name == "learning_rate":
        if not value > 0:
            raise invalid("learning_rate", "a float > 0", value)
        return
    Regularization(**{name: value})


class _Start(NamedTuple):
    """Where a trial's Regularization starts: `base`, then the `fields` held fixed."""

    base: Regularization
    fields: dict[str, Any]


def _start(arg: str, fixed: Any, dimensions: Sequence[Dimension]) -> _Start:
    """Reads `fixed` (HyperModel) / `base` (Optuna): None, a Regularization or preset name
    (the start when no preset is searched), or a dict of fields held in every trial."""
    searched = {d.name for d in dimensions}
    if isinstance(fixed, Mapping):
        fields = dict(fixed)
        unknown = sorted(str(k) for k in fields if k not in _FIELD_TYPES)
        if unknown:
            raise ValueError(
                f"Invalid value for argument `{arg}`: {unknown[0]!r} is not a Regularization "
                f"field. Valid fields: {', '.join(_FIELD_TYPES)}"
            )
        both = [name for name in fields if name in searched]
        if both:
            raise ValueError(
                f"Invalid value for argument `{arg}`: {both[0]!r} is both held fixed and "
                f"searched; remove it from one. Received: {arg}={fields!r}"
            )
        Regularization(**fields)  # checks the values (the errors name the field)
        return _Start(Regularization(), fields)
    base = Regularization.coerce(fixed)
    if fixed is not None and "preset" in searched:
        raise ValueError(
            f"Invalid value for argument `{arg}`: with 'preset' searched, each trial starts "
            "from the chosen preset, so a whole Regularization here would be ignored; give "
            f"the fields to hold fixed as a dict, e.g. {{'bn_momentum': 0.9}}. "
            f"Received: {arg}={fixed!r}"
        )
    return _Start(base, {})


def _resolve(values: Mapping[str, Any], start: _Start) -> Regularization:
    """A trial's Regularization: the chosen preset (else `start.base`), the fixed fields,
    then the searched fields."""
    reg = Regularization.preset(values["preset"]) if "preset" in values else start.base
    searched = {k: v for k, v in values.items() if k in _FIELD_TYPES}
    return reg.replace(**start.fields, **searched)


def _sample(
    dimensions: Sequence[Dimension],
    draw_float: Callable[[Dimension], Any],
    draw_int: Callable[[Dimension], Any],
    draw_choice: Callable[[Dimension], Any],
) -> dict[str, Any]:
    draw = {"float": draw_float, "int": draw_int, "choice": draw_choice}
    return {d.name: draw[d.kind](d) for d in dimensions}


def suggest_regularization(
    trial: Any,
    space: Mapping[str, Any],
    base: Regularization | str | Mapping[str, Any] | None = None,
) -> Regularization:
    """The `Regularization` an Optuna trial suggests from `space`.

    Each name becomes one Optuna parameter of the same name: a range calls
    ``trial.suggest_float(name, low, high, log=...)`` (``suggest_int`` for an int field),
    a list ``trial.suggest_categorical(name, choices)``. So ``study.best_params`` holds
    the best trial's values, and ``suggest_regularization(optuna.trial.FixedTrial(
    study.best_params), space, base)`` rebuilds its `Regularization`.

    Optuna is not imported here (any object with those three methods works), but its trial
    objects come from ``pip install "regkit[optuna]"``. Build the model yourself with the
    returned value (``build_cnn(..., reg=reg)``, ``compile_model(model, reg=reg)``); on
    small data sets with BatchNorm, ``reg.replace(bn_momentum=auto_bn_momentum(
    reg.bn_momentum, steps_per_epoch))`` does what `regkit.compare` does by default.

    Args:
        trial: An `optuna.trial.Trial` (or `FixedTrial`).
        space: Name -> ``(low, high)``, ``(low, high, "log")`` or ``[choices]``; names are
            Regularization fields and ``"preset"``.
        base: Where each trial starts when no preset is searched: None (no
            regularization), a `Regularization` or a preset name; or a dict of fields
            held in every trial (also over a searched preset).

    Returns:
        A validated `Regularization`.

    Raises:
        ValueError: A name is not a Regularization field (the message lists the valid
            ones), an entry is malformed or out of the field's range, a field is both in
            `base` (a dict) and searched, or `base` is a whole Regularization while
            ``"preset"`` is searched.
        TypeError: `trial` has no ``suggest_float``, or `space` is not a dict.

    Example:
        >>> import optuna
        >>> space = {"l2": (1e-6, 1e-2, "log"), "dropout": (0.0, 0.5)}
        >>> trial = optuna.trial.FixedTrial({"l2": 1e-4, "dropout": 0.2})
        >>> reg = suggest_regularization(trial, space)
        >>> reg.l2, reg.dropout
        (0.0001, 0.2)
    """
    if not all(
        callable(getattr(trial, m, None))
        for m in ("suggest_float", "suggest_int", "suggest_categorical")
    ):
        raise TypeError(
            "Invalid type for argument `trial`: expected an optuna.trial.Trial (with "
            "suggest_float, suggest_int and suggest_categorical). "
            f"Received: trial={trial!r} of type {type(trial).__name__}"
        )
    dimensions = parse_space(space, arg="space")
    start = _start("base", base, dimensions)
    values = _sample(
        dimensions,
        lambda d: trial.suggest_float(d.name, d.low, d.high, log=d.log),
        lambda d: trial.suggest_int(d.name, int(d.low), int(d.high), log=d.log),
        lambda d: trial.suggest_categorical(d.name, list(d.choices)),
    )
    return _resolve(values, start)


# ------------------------------------------------------------------ Keras Tuner
def __getattr__(name: str) -> Any:
    """Defines `RegularizedHyperModel` on first use, so Keras Tuner loads only then."""
    if name == "RegularizedHyperModel":
        value = _define_hypermodel()
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _define_hypermodel() -> type:
    try:
        import keras_tuner  # defers Keras Tuner (optional: regkit[tuner]; heavy)
    except ImportError as error:
        raise ImportError(_TUNER_EXTRA) from error

    class RegularizedHyperModel(keras_tuner.HyperModel):  # type: ignore[misc]
        def __init__(
            self,
            builder: str | Callable[..., Any],
            input_shape: Sequence[int | None],
            num_classes: int,
            *,
            search: Mapping[str, Any] | None = None,
            fixed: Regularization | str | Mapping[str, Any] | None = None,
            model_kwargs: Mapping[str, Any] | None = None,
            compile_kwargs: Mapping[str, Any] | None = None,
            steps_per_epoch: int | None = None,
            name: str | None = None,
            tunable: bool = True,
        ) -> None:
            super().__init__(name=name, tunable=tunable)
            self.builder = _check_builder(builder)
            self.input_shape = tuple(input_shape)
            self.num_classes = num_classes
            self.search = dict(DEFAULT_SEARCH if search is None else search)
            self.dimensions = parse_space(self.search, arg="search", extra=("learning_rate",))
            self.start = _start("fixed", fixed, self.dimensions)
            self.model_kwargs = check_kwargs("model_kwargs", model_kwargs)
            self.compile_kwargs = check_kwargs("compile_kwargs", compile_kwargs)
            self.steps_per_epoch = (
                None
                if steps_per_epoch is None
                else check_positive_int("steps_per_epoch", steps_per_epoch)
            )
            _check_hypermodel_settings(self)

        def values(self, hp: Any) -> dict[str, Any]:
            """This trial's value of every searched name (registers them with `hp`)."""
            return _sample(
                self.dimensions,
                lambda d: hp.Float(d.name, d.low, d.high, sampling="log" if d.log else "linear"),
                lambda d: hp.Int(
                    d.name, int(d.low), int(d.high), sampling="log" if d.log else "linear"
                ),
                lambda d: hp.Choice(d.name, list(d.choices)),
            )

        def regularization(self, hp: Any) -> Regularization:
            """The `Regularization` of `hp`'s values (e.g. the best trial's:
            ``hypermodel.regularization(tuner.get_best_hyperparameters()[0])``)."""
            return self._regularization(self.values(hp))

        def _regularization(self, values: Mapping[str, Any]) -> Regularization:
            reg = _resolve(values, self.start)
            auto = (
                self.steps_per_epoch is not None
                and "bn_momentum" not in self.search
                and "bn_momentum" not in self.start.fields
            )
            if auto:
                reg = reg.replace(
                    bn_momentum=auto_bn_momentum(reg.bn_momentum, self.steps_per_epoch)
                )
            return reg

        def build(self, hp: Any) -> Any:
            """Builds and compiles (`regkit.compile_model`) the model of `hp`'s values."""
            # Imported here: the builders and compile_model load Keras (heavy)
            from regkit.models import BUILDERS
            from regkit.training import compile_model

            values = self.values(hp)
            reg = self._regularization(values)
            build = BUILDERS[self.builder] if isinstance(self.builder, str) else self.builder
            model = build(self.input_shape, self.num_classes, reg=reg, **self.model_kwargs)
            settings = dict(self.compile_kwargs)
            if "learning_rate" in values:
                settings["learning_rate"] = values["learning_rate"]
            return compile_model(model, reg=reg, **settings)

        def fit(self, hp: Any, model: Any, *args: Any, **kwargs: Any) -> Any:
            """`model.fit(*args, **kwargs)`, with the EMA or SWA callback the trial's
            `Regularization` asks for (before the tuner's own callbacks)."""
            # Imported here: the averaging callbacks load Keras (heavy)
            from regkit.callbacks import averaging_callbacks

            reg = self.regularization(hp)
            averaging = averaging_callbacks(
                reg,
                epochs=kwargs.get("epochs"),
                train_data=args[0] if args else kwargs.get("x"),
                batch_size=kwargs.get("batch_size") or 32,
            )
            if averaging:
                kwargs["callbacks"] = [*averaging, *(kwargs.get("callbacks") or [])]
            return model.fit(*args, **kwargs)

    RegularizedHyperModel.__module__ = __name__
    RegularizedHyperModel.__doc__ = _HYPERMODEL_DOC
    return RegularizedHyperModel


def _check_builder(builder: Any) -> str | Callable[..., Any]:
    from regkit.models import BUILDERS  # defers Keras (heavy)

    names = tuple(BUILDERS)
    if isinstance(builder, str):
        if builder not in names:
            raise ValueError(
                f"Invalid value for argument `builder`: unknown model {builder!r}. "
                f"Expected one of: {', '.join(names)}, or a callable "
                "(input_shape, num_classes, *, reg, ...) -> keras.Model"
            )
        return builder
    if not callable(builder):
        raise TypeError(
            "Invalid type for argument `builder`: expected a model name or a callable. "
            f"Received: builder={builder!r} of type {type(builder).__name__}"
        )
    return builder


def _check_hypermodel_settings(hypermodel: Any) -> None:
    """The HyperModel's settings that cannot work together, refused before any search."""
    for arg, kwargs in (
        ("model_kwargs", hypermodel.model_kwargs),
        ("compile_kwargs", hypermodel.compile_kwargs),
    ):
        if "reg" in kwargs:
            raise ValueError(
                f"Invalid value for argument `{arg}`: `reg` is what the search sets; "
                f"give fixed fields as `fixed=`. Received: {arg}={kwargs!r}"
            )
    if "learning_rate" in hypermodel.search and "learning_rate" in hypermodel.compile_kwargs:
        raise ValueError(
            "Invalid value for argument `compile_kwargs`: 'learning_rate' is also searched; "
            f"remove it from one. Received: compile_kwargs={hypermodel.compile_kwargs!r}"
        )
    start = hypermodel.start
    fixed_l2_sp = start.fields.get("l2_sp", start.base.l2_sp)
    if "l2_sp" in hypermodel.search or fixed_l2_sp:
        arg, value = (
            ("search", hypermodel.search["l2_sp"])
            if "l2_sp" in hypermodel.search
            else ("fixed", fixed_l2_sp)
        )
        raise ValueError(
            f"Invalid value for argument `{arg}`: `l2_sp` pulls a fine-tuned model toward "
            "its starting weights, and RegularizedHyperModel builds fresh models; tune it "
            "with suggest_regularization in your own fine-tuning objective. "
            f"Received: l2_sp={value!r}"
        )


_HYPERMODEL_DOC = """A Keras Tuner `HyperModel` of a regkit builder, with `Regularization`
fields (and presets, and the learning rate) as its hyperparameters.

`build(hp)` returns a compiled model: ``builder(input_shape, num_classes,
reg=<the trial's Regularization>, **model_kwargs)`` through `regkit.compile_model(model,
reg=reg, **compile_kwargs)` (so `weight_decay`, `label_smoothing` and `sam` act too), and
`fit` adds the EMA or SWA callback a trial's `ema` / `swa` asks for. Each searched name is
one Keras Tuner hyperparameter of the same name (``hp.Float`` for a float range, with
``sampling="log"`` for ``(low, high, "log")``; ``hp.Int`` for an int field; ``hp.Choice``
for a list), so ``tuner.get_best_hyperparameters()[0].values`` reads as a
Regularization, and `regularization(hp)` turns it into one.

Requires Keras Tuner: ``pip install "regkit[tuner]"``.

Args:
    builder: ``"cnn"``, ``"mobilenet_v2"``, ``"resnet"`` or a callable
        ``(input_shape, num_classes, *, reg, **model_kwargs) -> keras.Model``.
    input_shape: The model's input shape, e.g. ``(8, 8, 1)`` for the embedded digits.
    num_classes: Classes of the output layer.
    search: Name -> ``(low, high)``, ``(low, high, "log")`` or ``[choices]``; names are
        Regularization fields, ``"preset"`` and ``"learning_rate"``. None: `DEFAULT_SEARCH`.
    fixed: Where each trial starts when no preset is searched: None, a `Regularization`
        or a preset name; or a dict of fields held in every trial (also over a searched
        preset), e.g. ``{"bn_momentum": 0.9}``.
    model_kwargs: More builder arguments (``{"filters": (16, 32)}``).
    compile_kwargs: More `compile_model` arguments (``{"optimizer": "sgd"}``).
    steps_per_epoch: Training steps per epoch; when given, each trial's BatchNorm
        momentum follows `regkit.auto_bn_momentum` (as `regkit.compare` does by default)
        unless ``bn_momentum`` is searched or fixed.
    name: The HyperModel's name (Keras Tuner's).
    tunable: Keras Tuner's `tunable`.

Raises:
    ValueError: An unknown builder, or a search name that is not a Regularization field
        (the message lists the valid ones), a malformed or out-of-range entry, a field
        both fixed and searched, `reg` in `model_kwargs`/`compile_kwargs`, the learning
        rate both searched and in `compile_kwargs`, or ``l2_sp`` (a fine-tuning penalty).
    ImportError: Keras Tuner is not installed (the message names the extra).

Example:
    >>> hypermodel = RegularizedHyperModel(
    ...     "cnn", (8, 8, 1), 10,
    ...     search={"l2": (1e-6, 1e-2, "log"), "preset": ["baseline", "bn"]},
    ...     model_kwargs={"filters": (16, 32), "dense_units": (32,)},
    ... )
    >>> tuner = keras_tuner.RandomSearch(hypermodel, objective="val_accuracy", max_trials=3)
    >>> tuner.search(train, validation_data=validation, epochs=1)
    >>> hypermodel.regularization(tuner.get_best_hyperparameters()[0])
"""
