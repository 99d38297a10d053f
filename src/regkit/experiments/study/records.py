"""The records of a study: `Variant` (one arm), `RunResult` (one run) and their JSON form.

Plain data with no regkit dependency above `regkit.config` and `regkit.data.augment`
(both light: no TensorFlow): the spec grammar, the ledger, the report and
the planner all read and write these.

Example:
    >>> Variant("l2").describe()
    'l2=0.0005'
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from regkit._checks import invalid
from regkit.config import Regularization
from regkit.data.augment import Augment

__all__ = [
    "ACCURACY_KEYS",
    "AUGMENT_FIELD_TYPES",
    "MEASURED_STATUSES",
    "METRICS",
    "ORIGINS",
    "REPORT_FORMAT",
    "STATUSES",
    "RunResult",
    "Variant",
    "coerce_augment",
    "finite",
    "jsonable",
]

#: Figures reported per run and per variant, in report order.
METRICS: tuple[str, ...] = (
    "params",
    "epochs_run",
    "best_epoch",
    "train_accuracy",
    "val_accuracy",
    "generalization_gap",
    "test_accuracy",
    "train_loss",
    "val_loss",
    "test_loss",
    "reg_loss_share",
    "weight_norm",
    "wall_time",
)

#: A run's status: trained and learned (`ok`), trained for several epochs and learned
#: nothing (`collapsed`: no better than always answering the most frequent class), a
#: NaN/inf loss or weights (`diverged`), or an exception (`failed`).
STATUSES: tuple[str, ...] = ("ok", "collapsed", "diverged", "failed")
#: Statuses whose figures are measurements that report statistics count.
MEASURED_STATUSES: tuple[str, ...] = ("ok", "collapsed")
#: The format version `report.json` files carry (`"regkit_report"`).
REPORT_FORMAT = 1
#: Where a run's figures come from: trained now, resumed from an interrupted run, or
#: reused from a finished run with the same settings in the study folder.
ORIGINS: tuple[str, ...] = ("trained", "resumed", "reused")
#: History keys that hold accuracy, in the order they are looked for.
ACCURACY_KEYS = ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy")


def finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# ---------------------------------------------------------------------------- variants
#: `Augment`'s fields, each a variant field too (``mixup=0.2``), by the type it parses as.
AUGMENT_FIELD_TYPES: dict[str, type] = {
    f.name: bool if f.type in ("bool", bool) else str if f.type in ("str", str) else float
    for f in dataclasses.fields(Augment)
}


def coerce_augment(value: Any) -> dict[str, Any] | None:
    """A variant's own augmentation as the `Augment` fields it sets (None: the study's).

    A preset name, ``True``/``False``, an `Augment` or a full recipe sets every field (the
    study's augmentation is replaced); a mapping of fields sets only those (they apply on
    top of the study's augmentation).

    Raises:
        ValueError: an unknown preset or field, or a value `Augment` refuses.
        TypeError: anything else.
    """
    if value is None:
        return None
    if isinstance(value, Mapping):
        fields = dict(value)
        unknown = sorted(set(fields) - set(AUGMENT_FIELD_TYPES))
        if unknown:
            raise invalid("augment", f"Augment fields among {sorted(AUGMENT_FIELD_TYPES)}", unknown)
        Augment(**fields)  # its own checks
        return fields
    full = Augment.coerce(value) or Augment()
    return dataclasses.asdict(full)


@dataclasses.dataclass(frozen=True)
class Variant:
    """One arm of a comparison: a `Regularization`, its augmentation and training overrides.

    The one variant type: the spec grammar, study files and sweeps return `Variant`s,
    which also say where they came from (`label`, `spec`, `base`, `swept`; these take no
    part in equality, so two variants with the same recipe compare equal).

    Args:
        reg: The regularization (a `Regularization`, a preset name, a dict or None).
            Its `weight_decay`, `label_smoothing` and `sam` reach the optimizer and loss
            through `compile_model`; `ema` / `swa` the weight-averaging callbacks.
        learning_rate: Overrides `compare`'s `learning_rate` for this variant only.
        optimizer: Overrides `compare`'s `optimizer` (a Keras optimizer name such as
            `"sgd"`) for this variant only.
        augment: The variant's own augmentation: None (the study's `augment`), a preset
            name, an `Augment`, or a dict of `Augment` fields applied over the study's
            (``{"mixup": 0.2}``).
        label: Its name, as the spec or study file gave it.
        spec: The spec as written, in canonical form (``"bn+l2=1e-4"``).
        base: For a swept variant, the label of the variant it was made from.
        swept: For a swept variant, the ``(field, value)`` pairs the sweep set.

    Raises:
        ValueError: `learning_rate` is not a finite float > 0, `reg` is an unknown preset
            or has an unknown field, or `augment` is not an augmentation.
        TypeError: `reg`, `augment` or `optimizer` has the wrong type.

    Example:
        >>> Variant("all").reg.dropout
        0.25
        >>> Variant("baseline", learning_rate=10.0).describe()
        'none, learning_rate=10'
        >>> Variant("l2", augment="mixup").describe()
        'l2=0.0005, augment=MixUp alpha 0.2'
    """

    reg: Regularization = dataclasses.field(default_factory=Regularization)
    learning_rate: float | None = None
    optimizer: str | None = None
    augment: Any = None
    label: str = dataclasses.field(default="", compare=False)
    spec: str = dataclasses.field(default="", compare=False)
    base: str | None = dataclasses.field(default=None, compare=False)
    swept: tuple[tuple[str, Any], ...] = dataclasses.field(default=(), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reg", Regularization.coerce(self.reg))
        if self.learning_rate is not None:
            if not finite(self.learning_rate) or self.learning_rate <= 0:
                raise invalid("learning_rate", "a finite float > 0", self.learning_rate)
            object.__setattr__(self, "learning_rate", float(self.learning_rate))
        if self.optimizer is not None and not isinstance(self.optimizer, str):
            raise TypeError(
                "Invalid type for argument `optimizer`: expected an optimizer name (str) or "
                f"None. Received: optimizer={self.optimizer!r} of type "
                f"{type(self.optimizer).__name__}"
            )
        object.__setattr__(self, "augment", coerce_augment(self.augment))
        object.__setattr__(self, "swept", tuple(tuple(pair) for pair in self.swept))

    @classmethod
    def coerce(cls, value: Variant | Regularization | str | Mapping[str, Any] | None) -> Variant:
        """Accepts a `Variant`, or anything `Regularization.coerce` accepts.

        Raises:
            ValueError: an unknown preset name or field.
            TypeError: anything else.
        """
        if isinstance(value, Variant):
            return value
        return cls(reg=Regularization.coerce(value))

    def replace(self, **changes: Any) -> Variant:
        """A copy with `changes` applied (`dataclasses.replace`)."""
        return dataclasses.replace(self, **changes)

    def variant_kwargs(self) -> dict[str, Any]:
        """The recipe as `Variant` keyword arguments (`augment` only when set)."""
        out: dict[str, Any] = {
            "reg": self.reg,
            "learning_rate": self.learning_rate,
            "optimizer": self.optimizer,
        }
        if self.augment is not None:
            out["augment"] = dict(self.augment)
        return out

    def augment_for(self, study: Any) -> Augment | None:
        """The augmentation this variant trains with, given the study's (`Augment` or None).

        None when nothing is active. A variant without its own uses the study's; a full
        recipe (a preset) replaces it; a dict of fields applies over it.
        """
        if self.augment is None:
            return study if study is not None and study.active else None
        base = dataclasses.asdict(study) if study is not None else {}
        merged = Augment(**{**base, **self.augment})
        return merged if merged.active else None

    def one_hot_for(self, study: Any) -> bool:
        """Whether this variant trains on one-hot labels (and a categorical loss): its
        MixUp/CutMix mixes labels, or its label smoothing smooths them."""
        augment = self.augment_for(study)
        return bool(self.reg.label_smoothing) or (augment is not None and augment.mixes_labels)

    def describe_augment(self) -> str | None:
        """The variant's own augmentation in words (None when it uses the study's)."""
        if self.augment is None:
            return None
        aug = Augment(**self.augment)
        return aug.describe() if aug.active else "none"

    def describe(self) -> str:
        """The regularization summary plus the variant's augmentation and overrides."""
        parts = [self.reg.describe()]
        augment = self.describe_augment()
        if augment is not None:
            parts.append(f"augment={augment}")
        if self.optimizer is not None:
            parts.append(f"optimizer={self.optimizer}")
        if self.learning_rate is not None:
            parts.append(f"learning_rate={self.learning_rate:g}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the inverse of `from_dict`)."""
        return {
            "regularization": self.reg.to_dict(),
            "augment": None if self.augment is None else jsonable(self.augment),
            "description": self.describe(),
            "learning_rate": self.learning_rate,
            "optimizer": self.optimizer,
        }

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> Variant:
        """Rebuilds a `Variant` written by `to_dict` (0.2 reports have no `augment`)."""
        return cls(
            reg=Regularization.from_dict(config.get("regularization", {})),
            learning_rate=config.get("learning_rate"),
            optimizer=config.get("optimizer"),
            augment=config.get("augment"),
        )


# ---------------------------------------------------------------------------- results
@dataclasses.dataclass
class RunResult:
    """What one variant trained with one seed gave.

    Figures are taken at the best epoch (lowest validation loss among finite values),
    which is the epoch whose weights the best-only checkpoint holds; `test_*` figures come
    from evaluating those restored weights on the test split. `best_epoch` is 1-based.

    Attributes:
        variant: The variant's name.
        seed: The seed it ran with.
        status: `"ok"`, `"collapsed"` (several epochs and no better than the majority
            class: see `regkit.experiments.report.analysis.is_collapsed`), `"diverged"` (a loss
            went NaN/inf) or `"failed"` (an exception).
        diverged_epoch: The first epoch (1-based) with a non-finite loss, if any.
        error: `"ExceptionType: message"` for a failed run.
        history: Keras' per-epoch logs (`loss`, `val_accuracy`, `reg_loss_share`,
            `<layer>_kernel_norm`, ...).
        origin: `"trained"`, `"resumed"` (an interrupted run continued) or `"reused"`
            (a finished run with identical settings, read back from the study folder).
        warnings: Notes on figures that look fine but may mislead.
        val_majority: The share of the most frequent class among the validation labels
            (what always answering that class scores), when the runner measured it.
        val_examples: The number of validation examples.
        prediction_share: For a collapsed run, the share of validation examples given
            the most common predicted class (1.0: constant predictions).
        initial_weight_norm: The global kernel norm before training, when the runner
            recorded it (else the collapse verdict uses the first epoch's logged norm).
    """

    variant: str
    seed: int
    status: str = "ok"
    params: int | None = None
    epochs_run: int | None = None
    best_epoch: int | None = None
    train_accuracy: float | None = None
    val_accuracy: float | None = None
    generalization_gap: float | None = None
    test_accuracy: float | None = None
    train_loss: float | None = None
    val_loss: float | None = None
    test_loss: float | None = None
    reg_loss_share: float | None = None
    weight_norm: float | None = None
    wall_time: float | None = None
    diverged_epoch: int | None = None
    error: str | None = None
    history: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    origin: str = "trained"
    warnings: list[str] = dataclasses.field(default_factory=list)
    val_majority: float | None = None
    val_examples: int | None = None
    prediction_share: float | None = None
    initial_weight_norm: float | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise invalid("status", f"one of {', '.join(STATUSES)}", self.status)
        if self.origin not in ORIGINS:
            raise invalid("origin", f"one of {', '.join(ORIGINS)}", self.origin)

    @classmethod
    def from_history(
        cls,
        variant: str,
        seed: int,
        history: Mapping[str, Sequence[float]],
        *,
        params: int | None = None,
        test_accuracy: float | None = None,
        test_loss: float | None = None,
        weight_norm: float | None = None,
        wall_time: float | None = None,
        monitor: str = "val_loss",
    ) -> RunResult:
        """Derives every per-run figure from a Keras history dict.

        Args:
            variant: The variant's name.
            seed: The seed.
            history: `keras.callbacks.History.history` (lists of per-epoch floats).
            params: The model's parameter count.
            test_accuracy: Accuracy of the restored best weights on the test split.
            test_loss: Loss of the restored best weights on the test split.
            weight_norm: Global L2 norm of the conv/dense kernels at the end.
            wall_time: Seconds spent training and evaluating.
            monitor: The history key whose minimum picks the best epoch; falls back to
                `"loss"` when the key is missing.

        Returns:
            A `RunResult`; `status` is `"diverged"` when `loss`, `val_loss` or a
            `<layer>_kernel_norm` holds a NaN/inf value.

        Example:
            >>> r = RunResult.from_history("baseline", 0, {
            ...     "loss": [1.0, 0.5], "val_loss": [1.1, 0.9],
            ...     "accuracy": [0.6, 0.9], "val_accuracy": [0.5, 0.7]})
            >>> r.best_epoch, round(r.generalization_gap, 2)
            (2, 0.2)
        """
        hist = {str(k): [float(v) for v in values] for k, values in history.items()}
        losses = hist.get("loss", [])
        epochs_run = max((len(v) for v in hist.values()), default=0)
        diverged_epoch = None
        # a clipped cross-entropy can stay finite while the weights overflow, so
        # WeightNormLogger's norms count too
        watched = ["loss", "val_loss", *(k for k in hist if k.endswith("_kernel_norm"))]
        for key in watched:
            for index, value in enumerate(hist.get(key, [])):
                if not math.isfinite(value):
                    epoch = index + 1
                    diverged_epoch = epoch if diverged_epoch is None else min(diverged_epoch, epoch)
                    break
        monitored = hist.get(monitor) or losses
        finite = [(v, i) for i, v in enumerate(monitored) if math.isfinite(v)]
        if diverged_epoch is not None:
            # weights after the first non-finite epoch are never the ones reported
            finite = [(v, i) for v, i in finite if i + 1 < diverged_epoch]
        best = min(finite)[1] if finite else None

        def at_best(key: str) -> float | None:
            values = hist.get(key)
            if best is None or not values or best >= len(values):
                return None
            value = values[best]
            return value if math.isfinite(value) else None

        acc_key = next((k for k in ACCURACY_KEYS if k in hist), None)
        train_acc = at_best(acc_key) if acc_key else None
        val_acc = at_best(f"val_{acc_key}") if acc_key else None
        gap = train_acc - val_acc if train_acc is not None and val_acc is not None else None

        def clean(value: float | None) -> float | None:
            return float(value) if value is not None and math.isfinite(value) else None

        return cls(
            variant=variant,
            seed=int(seed),
            status="diverged" if diverged_epoch is not None else "ok",
            params=None if params is None else int(params),
            epochs_run=epochs_run,
            best_epoch=None if best is None else best + 1,
            train_accuracy=train_acc,
            val_accuracy=val_acc,
            generalization_gap=gap,
            test_accuracy=clean(test_accuracy),
            train_loss=at_best("loss"),
            val_loss=at_best("val_loss"),
            test_loss=clean(test_loss),
            reg_loss_share=at_best("reg_loss_share"),
            weight_norm=clean(weight_norm),
            wall_time=clean(wall_time),
            diverged_epoch=diverged_epoch,
            history=hist,
        )

    @classmethod
    def failed(
        cls, variant: str, seed: int, exc: BaseException, *, wall_time: float | None = None
    ) -> RunResult:
        """A run that raised `exc`."""
        message = f"{type(exc).__name__}: {exc}".strip()
        return cls(
            variant=variant, seed=int(seed), status="failed", error=message, wall_time=wall_time
        )

    def weight_norm_history(self) -> list[float]:
        """Per-epoch global kernel norm, from `WeightNormLogger`'s `<layer>_kernel_norm` logs."""
        keys = [k for k in self.history if k.endswith("_kernel_norm") and not k.startswith("val_")]
        if not keys:
            return []
        epochs = min(len(self.history[k]) for k in keys)
        return [math.sqrt(sum(self.history[k][e] ** 2 for k in keys)) for e in range(epochs)]

    def to_dict(self, *, include_history: bool = True) -> dict[str, Any]:
        """JSON-ready dict (non-finite history values become None)."""
        data = dataclasses.asdict(self)
        if include_history:
            data["history"] = {
                k: [v if math.isfinite(v) else None for v in values]
                for k, values in self.history.items()
            }
        else:
            data.pop("history")
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunResult:
        """Inverse of `to_dict` (None in a history becomes NaN).

        Every value is checked, so a damaged `result.json` or report is refused here, not
        reused into a crash later (a figure given as text, a number beyond float range,
        an accuracy of 3).

        Raises:
            ValueError: a value out of range or not finite, naming the field.
            TypeError: `data` is not a mapping, or a value has the wrong type.
        """
        if not isinstance(data, Mapping):
            raise TypeError(
                f"Invalid type for argument `data`: expected a run's dict. Received: "
                f"{type(data).__name__}"
            )
        fields = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in fields}
        for key in ("variant", "seed"):
            if key not in kwargs:
                raise invalid("data", f"a run with a `{key}`", sorted(map(str, data))[:20])
        _check_run_values(kwargs)
        kwargs["history"] = _history(data.get("history"))
        return cls(**kwargs)


#: A run's figures by kind: (low, high) bounds of the float ones (None: unbounded).
_FRACTIONS = (
    "train_accuracy",
    "val_accuracy",
    "test_accuracy",
    "reg_loss_share",
    "val_majority",
    "prediction_share",
)
_NON_NEGATIVE = (
    "train_loss",
    "val_loss",
    "test_loss",
    "weight_norm",
    "wall_time",
    "initial_weight_norm",
)
_COUNTS = ("params", "epochs_run", "best_epoch", "diverged_epoch", "val_examples")
_MAX_COUNT = 2**63 - 1


def _number(field: str, value: Any, low: float | None, high: float | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"Invalid type for argument `{field}`: expected a number or null. "
            f"Received: {field}={value!r} of type {type(value).__name__}"
        )
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if (
        not math.isfinite(number)
        or (low is not None and number < low)
        or (high is not None and number > high)
    ):
        span = (
            f"in [{low:g}, {high:g}]"
            if high is not None
            else "finite, >= 0"
            if low == 0
            else "finite"
        )
        raise invalid(field, f"a number {span} or null", str(value)[:40])
    return number


def _check_run_values(values: dict[str, Any]) -> None:
    """Checks (and converts in place) the values of a run read back from JSON."""
    if not isinstance(values["variant"], str):
        raise TypeError(
            f"Invalid type for argument `variant`: expected a str. Received: {values['variant']!r}"
        )
    seed = values["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= 2**32 - 1:
        raise invalid("seed", "an int in [0, 2**32 - 1]", str(seed)[:40])
    for field in _COUNTS:
        value = values.get(field)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_COUNT
        ):
            raise invalid(field, "an int >= 0 or null", str(value)[:40])
    for field in (*_FRACTIONS, *_NON_NEGATIVE, "generalization_gap"):
        value = values.get(field)
        if value is not None:
            low, high = (0.0, 1.0) if field in _FRACTIONS else (0.0, None)
            if field == "generalization_gap":
                low, high = -1.0, 1.0
            values[field] = _number(field, value, low, high)
    for field in ("error", "status", "origin"):
        value = values.get(field)
        if value is not None and not isinstance(value, str):
            raise TypeError(
                f"Invalid type for argument `{field}`: expected a str. Received: {value!r}"
            )
    warnings = values.get("warnings", [])
    if not isinstance(warnings, list) or not all(isinstance(w, str) for w in warnings):
        raise TypeError("Invalid type for argument `warnings`: expected a list of str")


def _history(history: Any) -> dict[str, list[float]]:
    """A run's history read back: per-epoch numbers by key, None as NaN."""
    if history is None:
        return {}
    if not isinstance(history, Mapping):
        raise TypeError(
            "Invalid type for argument `history`: expected a dict of lists. "
            f"Received: {type(history).__name__}"
        )
    out = {}
    for key, values in history.items():
        if not isinstance(values, list):
            raise TypeError(
                f"Invalid type for argument `history`: {key!r} holds "
                f"{type(values).__name__}, not a list"
            )
        out[str(key)] = [
            math.nan if v is None else _number("history", v, None, None) for v in values
        ]
    return out


def jsonable(value: Any) -> Any:
    """`value` with tuples as lists, NaN/inf as None and anything else odd as its repr."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    return repr(value)
