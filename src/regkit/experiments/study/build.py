"""Building one variant's model: the single place a study creates and compiles a model.

`build_model` takes everything explicitly (no plan), so that the runner (through its
plan) and the ledger (through a report's config, for `Report.load_model`) build a model
the same way. Keras, the model builders and `compile_model` are imported inside the
functions, so that reading a report stays free of TensorFlow.

Example:
    >>> model = build_model("cnn", {}, (8, 8, 1), 10, Variant("l2"),
    ...                     optimizer="adam", learning_rate=1e-3)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from regkit.data.augment import Augment
from regkit.experiments.study.config import MODELS
from regkit.experiments.study.records import Variant

__all__ = ["build_from_config", "build_model"]


def build_model(
    model: str | Callable[..., Any],
    model_kwargs: Mapping[str, Any],
    input_shape: Sequence[int],
    num_classes: int,
    variant: Variant,
    *,
    optimizer: str,
    learning_rate: float,
    one_hot: bool = False,
) -> Any:
    """Builds and compiles `variant`'s model (call it inside a strategy's scope, if any).

    Args:
        model: A name in `MODELS` or a builder `(input_shape, num_classes, reg=...)`.
        model_kwargs: Extra builder arguments.
        input_shape: The model's input shape.
        num_classes: Classes of the output layer.
        variant: Its `Regularization` (architecture fields to the builder; weight decay,
            label smoothing and SAM to `compile_model`) and its optimizer/learning-rate
            overrides.
        optimizer: The study's optimizer (the variant's own wins).
        learning_rate: The study's learning rate (the variant's own wins).
        one_hot: Labels are one-hot (the variant's MixUp/CutMix).

    Returns:
        A compiled `keras.Model`.
    """
    from regkit.training import compile_model  # defers Keras/TensorFlow (heavy)

    reg = variant.reg
    shape = tuple(input_shape)
    if isinstance(model, str):
        from regkit.models import (  # defers Keras (heavy)
            build_cnn,
            build_mobilenet_v2,
            build_resnet,
        )

        builders: dict[str, Callable[..., Any]] = {
            "cnn": build_cnn,
            "mobilenet_v2": build_mobilenet_v2,
            "resnet": build_resnet,
        }
        built = builders[model](shape, num_classes, reg=reg, **model_kwargs)
    else:
        built = model(shape, num_classes, reg=reg, **model_kwargs)
    built = compile_model(
        built,
        optimizer=variant.optimizer or optimizer,
        learning_rate=variant.learning_rate or learning_rate,
        reg=reg,  # weight_decay, label_smoothing, sam / sam_adaptive
        labels="one_hot" if one_hot else "sparse",
    )
    return built


def build_from_config(config: Mapping[str, Any], variant: Variant) -> Any:
    """Rebuilds and compiles a run's model from a report's `config` (for `load_model`).

    Raises:
        ValueError: the report's model was a callable, which cannot be rebuilt by name.
    """
    if config.get("model") not in MODELS:
        raise ValueError(
            f"Cannot rebuild model {config.get('model')!r}: only the named models "
            f"({', '.join(MODELS)}) can be rebuilt from a report; build yours and call "
            "model.load_weights(<run folder>/best.weights.h5)."
        )
    study_augment = Augment.coerce(dict(config["augment"])) if config.get("augment") else None
    model_kwargs = dict(config.get("model_kwargs") or {})
    if (config.get("model_input") or {}).get("rescaling"):  # as the study built it
        model_kwargs["include_preprocessing"] = True
    return build_model(
        config["model"],
        model_kwargs,
        config["input_shape"],
        int(config["num_classes"]),
        variant,
        optimizer=str(config.get("optimizer") or "adam"),
        learning_rate=float(config.get("learning_rate") or 1e-3),
        one_hot=variant.one_hot_for(study_augment),
    )
