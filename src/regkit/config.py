"""`Regularization`: one frozen, validated description of how a model is regularized.

This module imports nothing heavy: it is safe to use before TensorFlow is loaded
(the CLI parses presets with it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from regkit._checks import check_bool, check_finite_float, check_positive_int, invalid, shown

__all__ = ["AUTO_BN_MOMENTUM", "PRESETS", "Regularization", "auto_bn_momentum"]

#: The largest DropBlock square side accepted (no feature map regkit builds is larger).
MAX_BLOCK_SIZE = 1024


@dataclasses.dataclass(frozen=True)
class Regularization:
    """How a regkit model is regularized. The defaults add no regularization at all.

    Every builder takes one of these as `reg=`; a single function
    (`regkit.regularization.kernel_regularizer`) turns it into Keras regularizer objects,
    so no layer ever builds its own and the string `"l2"` (which silently means 0.01)
    is never used.

    Args:
        l1: L1 coefficient on every conv, depthwise and dense kernel.
        l2: L2 coefficient on every conv, depthwise and dense kernel. Keras adds
            `l2 * sum(w**2)` to the loss (no factor 1/2).
        regularize_bias: Also apply L1/L2 to biases.
        regularize_depthwise: Apply L1/L2 to depthwise kernels (MobileNetV2).
        regularize_output: Apply L1/L2 to the final classifier. Seeds 000 and 003 leave
            it unregularized; set False to reproduce them exactly.
        batch_norm: BatchNormalization after every convolution.
        bn_momentum: BatchNormalization moving-average momentum.
        bn_epsilon: BatchNormalization epsilon.
        dropout: Dropout rate after each conv block's pooling (0 = none).
        spatial_dropout: SpatialDropout2D rate after each conv block's pooling.
        head_batch_norm: BatchNormalization after each hidden dense layer of the head.
        head_dropout: Dropout rate after each hidden dense layer of the head (or before
            the classifier when the head has no hidden layer, as in MobileNetV2).
        weight_decay: Decoupled weight decay, applied by the optimizer in
            `compile_model`, never to BatchNorm gamma/beta or to biases.
        drop_path: Stochastic depth (Huang et al. 2016), the largest rate: every residual
            branch is dropped per sample in training; block i of N (1-based, forward
            order) uses `drop_path * i / N`, so the last block uses `drop_path`.
        drop_block: DropBlock (Ghiasi et al. 2018): the fraction of activations dropped
            in contiguous squares after each conv block / later ResNet stage.
        drop_block_size: Side of DropBlock's square (clipped to the feature map).
        label_smoothing: Label smoothing of the cross-entropy loss (`compile_model`).
        ema: Decay of an exponential moving average of the weights (0 = off); the
            averaged weights are validated, checkpointed, tested and saved.
        swa: Stochastic weight averaging: the fraction of final epochs whose end-of-epoch
            weights are averaged uniformly (0 = off), BatchNorm statistics recomputed.
        sam: Sharpness-aware minimization radius rho (Foret et al. 2021; 0 = off).
        sam_adaptive: Adaptive SAM (ASAM): the perturbation is scaled by |w|.
        l2_sp: L2-SP coefficient (Li et al. 2018): `l2_sp * sum((w - w0)**2)` over the
            kernels, w0 the weights when the penalty is applied (fine-tuning).

    Raises:
        ValueError: A coefficient is negative or not finite, or a rate is outside [0, 1).
        TypeError: A field has the wrong type.

    Example:
        >>> reg = Regularization(l2=1e-4, batch_norm=True, dropout=0.25)
        >>> reg.active
        True
        >>> Regularization.preset("bn+l2").batch_norm
        True
    """

    l1: float = 0.0
    l2: float = 0.0
    regularize_bias: bool = False
    regularize_depthwise: bool = True
    regularize_output: bool = True
    batch_norm: bool = False
    bn_momentum: float = 0.99
    bn_epsilon: float = 1e-3
    dropout: float = 0.0
    spatial_dropout: float = 0.0
    head_batch_norm: bool = False
    head_dropout: float = 0.0
    weight_decay: float = 0.0
    drop_path: float = 0.0
    drop_block: float = 0.0
    drop_block_size: int = 7
    label_smoothing: float = 0.0
    ema: float = 0.0
    swa: float = 0.0
    sam: float = 0.0
    sam_adaptive: bool = False
    l2_sp: float = 0.0

    #: Fields the model builders read (the network's structure).
    ARCHITECTURE_FIELDS: ClassVar[tuple[str, ...]] = (
        "l1",
        "l2",
        "regularize_bias",
        "regularize_depthwise",
        "regularize_output",
        "batch_norm",
        "bn_momentum",
        "bn_epsilon",
        "dropout",
        "spatial_dropout",
        "head_batch_norm",
        "head_dropout",
        "drop_path",
        "drop_block",
        "drop_block_size",
    )
    #: Fields `compile_model` and the training loop read (loss, optimizer, averaging).
    TRAINING_FIELDS: ClassVar[tuple[str, ...]] = (
        "weight_decay",
        "label_smoothing",
        "ema",
        "swa",
        "sam",
        "sam_adaptive",
        "l2_sp",
    )

    _BOOL_FIELDS: ClassVar[tuple[str, ...]] = (
        "regularize_bias",
        "regularize_depthwise",
        "regularize_output",
        "batch_norm",
        "head_batch_norm",
        "sam_adaptive",
    )
    _RATE_FIELDS: ClassVar[tuple[str, ...]] = (
        "dropout",
        "spatial_dropout",
        "head_dropout",
        "drop_path",
        "drop_block",
        "label_smoothing",
        "ema",
    )
    _COEFF_FIELDS: ClassVar[tuple[str, ...]] = ("l1", "l2", "weight_decay", "sam", "l2_sp")

    def __post_init__(self) -> None:
        for name in self._BOOL_FIELDS:
            object.__setattr__(self, name, check_bool(name, getattr(self, name)))
        for name in self._COEFF_FIELDS:
            value = check_finite_float(name, getattr(self, name))
            if value < 0:
                raise invalid(name, "a float >= 0", getattr(self, name))
            object.__setattr__(self, name, value)
        for name in self._RATE_FIELDS:
            value = check_finite_float(name, getattr(self, name))
            if not 0.0 <= value < 1.0:
                raise invalid(name, "a float in [0, 1)", getattr(self, name))
            object.__setattr__(self, name, value)
        momentum = check_finite_float("bn_momentum", self.bn_momentum)
        if not 0.0 <= momentum < 1.0:
            raise invalid("bn_momentum", "a float in [0, 1)", self.bn_momentum)
        object.__setattr__(self, "bn_momentum", momentum)
        epsilon = check_finite_float("bn_epsilon", self.bn_epsilon)
        if epsilon <= 0:
            raise invalid("bn_epsilon", "a float > 0", self.bn_epsilon)
        object.__setattr__(self, "bn_epsilon", epsilon)
        swa = check_finite_float("swa", self.swa)
        if not 0.0 <= swa <= 1.0:
            raise invalid("swa", "a float in [0, 1] (the fraction of final epochs)", self.swa)
        object.__setattr__(self, "swa", swa)
        size: Any = self.drop_block_size
        if isinstance(size, float) and size.is_integer():
            size = int(size)  # "drop_block_size=7" in a spec or a TOML float reads as 7.0
        size = check_positive_int("drop_block_size", size)
        if size > MAX_BLOCK_SIZE:
            raise invalid(
                "drop_block_size", f"an int in [1, {MAX_BLOCK_SIZE}]", self.drop_block_size
            )
        object.__setattr__(self, "drop_block_size", size)
        if self.sam_adaptive and not self.sam:
            raise invalid("sam_adaptive", "False unless `sam` > 0 (ASAM needs a radius)", True)

    # ------------------------------------------------------------------ queries
    @property
    def has_penalty(self) -> bool:
        """True when L1 or L2 adds terms to `model.losses`."""
        return self.l1 > 0 or self.l2 > 0

    @property
    def active(self) -> bool:
        """True when this configuration regularizes anything at all."""
        return self != Regularization()

    def describe(self) -> str:
        """A short human-readable summary such as `"l2=0.0005, bn, dropout=0.25"`."""
        parts: list[str] = []
        if self.l1:
            parts.append(f"l1={self.l1:g}")
        if self.l2:
            parts.append(f"l2={self.l2:g}")
        if self.has_penalty and self.regularize_bias:
            parts.append("bias")
        if self.batch_norm:
            parts.append("bn")
        if (self.batch_norm or self.head_batch_norm) and self.bn_momentum != 0.99:
            parts.append(f"bn_momentum={self.bn_momentum:g}")
        if self.dropout:
            parts.append(f"dropout={self.dropout:g}")
        if self.spatial_dropout:
            parts.append(f"spatial_dropout={self.spatial_dropout:g}")
        if self.head_batch_norm:
            parts.append("head_bn")
        if self.head_dropout:
            parts.append(f"head_dropout={self.head_dropout:g}")
        if self.weight_decay:
            parts.append(f"weight_decay={self.weight_decay:g}")
        if self.drop_path:
            parts.append(f"drop_path={self.drop_path:g}")
        if self.drop_block:
            parts.append(f"drop_block={self.drop_block:g}/{self.drop_block_size}")
        if self.label_smoothing:
            parts.append(f"label_smoothing={self.label_smoothing:g}")
        if self.ema:
            parts.append(f"ema={self.ema:g}")
        if self.swa:
            parts.append(f"swa={self.swa:g}")
        if self.sam:
            parts.append(f"{'asam' if self.sam_adaptive else 'sam'}={self.sam:g}")
        if self.l2_sp:
            parts.append(f"l2_sp={self.l2_sp:g}")
        return ", ".join(parts) or "none"

    # ------------------------------------------------------------ conversions
    def to_dict(self) -> dict[str, Any]:
        """All fields as a plain dict (JSON-ready)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> Regularization:
        """Inverse of `to_dict`; unknown keys raise ValueError naming them.

        Raises:
            ValueError: `config` has a key that is not a field, or a value a field refuses.
            TypeError: `config` is not a mapping (e.g. None), or a value has the wrong type.
        """
        return cls._from_mapping(config, "config")

    @classmethod
    def _from_mapping(cls, config: Mapping[str, Any], arg: str) -> Regularization:
        if not isinstance(config, Mapping):
            raise TypeError(
                f"Invalid type for argument `{arg}`: expected a dict of Regularization "
                f"fields. Received: {arg}={shown(config)} of type {type(config).__name__}"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in set(config) - names)
        if unknown:
            raise ValueError(
                f"Invalid value for argument `{arg}`: unknown Regularization field(s) "
                f"{unknown}. Valid fields: {sorted(names)}"
            )
        return cls(**dict(config))

    def replace(self, **changes: Any) -> Regularization:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def preset(cls, name: str) -> Regularization:
        """A named configuration used by comparisons.

        Names: `"baseline"` (nothing), `"l2"` (L2 5e-4), `"bn"` (BatchNorm in the body and
        the head), `"bn+l2"`, `"dropout"` (0.25 after each conv block, 0.5 in the head, as
        seed 001), `"all"` (everything above: seed 001's regularized model plus L2).

        Raises:
            ValueError: `name` is not a preset; the message lists the valid names.
        """
        return _lookup_preset(name, "name")

    @classmethod
    def preset_names(cls) -> tuple[str, ...]:
        """The names `preset` accepts, in a stable order."""
        return tuple(PRESETS)

    @classmethod
    def coerce(cls, reg: Regularization | str | Mapping[str, Any] | None) -> Regularization:
        """Accepts what builders accept as `reg=`: None, a preset name, a dict or an instance.

        Raises:
            ValueError: an unknown preset name or field.
            TypeError: anything else.
        """
        if reg is None:
            return cls()
        if isinstance(reg, Regularization):
            return reg
        if isinstance(reg, str):
            return _lookup_preset(reg, "reg")
        if isinstance(reg, Mapping):
            return cls._from_mapping(reg, "reg")
        raise TypeError(
            "Invalid type for argument `reg`: expected a Regularization, a preset name, "
            f"a dict or None. Received: reg={reg!r} of type {type(reg).__name__}"
        )


def _lookup_preset(name: str, arg: str) -> Regularization:
    key = str(name).strip().lower()
    if key not in PRESETS:
        raise ValueError(
            f"Invalid value for argument `{arg}`: unknown Regularization preset {name!r}. "
            f"Expected one of: {', '.join(PRESETS)}"
        )
    return PRESETS[key]


#: The named variants, in the order reports list them.
PRESETS: dict[str, Regularization] = {
    "baseline": Regularization(),
    "l2": Regularization(l2=5e-4),
    "bn": Regularization(batch_norm=True, head_batch_norm=True),
    "bn+l2": Regularization(l2=5e-4, batch_norm=True, head_batch_norm=True),
    "dropout": Regularization(dropout=0.25, head_dropout=0.5),
    "all": Regularization(
        l2=5e-4,
        batch_norm=True,
        head_batch_norm=True,
        dropout=0.25,
        head_dropout=0.5,
    ),
}


#: The BatchNorm momentum `auto_bn_momentum` switches to: an average over about 10 steps
#: (PyTorch's default, 0.1 in its convention).
AUTO_BN_MOMENTUM = 0.9


def auto_bn_momentum(momentum: float, steps_per_epoch: int | None) -> float:
    """The BatchNorm momentum that suits a training run of `steps_per_epoch` steps.

    A momentum m averages BatchNorm's moving statistics over about ``1 / (1 - m)`` steps
    (100 for Keras' default 0.99). When that is more than an epoch has steps, as on small
    data sets (digits: 36 steps per epoch at batch 32), the moving statistics lag the
    weights for many epochs and validation accuracy sits at chance, although training
    accuracy rises. This rule returns `AUTO_BN_MOMENTUM` (0.9) in that case and `momentum`
    unchanged otherwise. `regkit.compare` and `regkit compare` apply it by default
    (`bn_momentum="auto"`); call it yourself in scripts and tuner objectives.

    Args:
        momentum: The momentum you would use otherwise (a float in [0, 1)).
        steps_per_epoch: Training steps per epoch, ``ceil(train examples / batch size)``;
            None (unknown) keeps `momentum`.

    Returns:
        `AUTO_BN_MOMENTUM` when `momentum` averages over more steps than an epoch has and
        is above it, else `momentum`.

    Raises:
        ValueError: `momentum` is outside [0, 1) or `steps_per_epoch` < 1.
        TypeError: an argument has the wrong type.

    Example:
        >>> auto_bn_momentum(0.99, steps_per_epoch=36)  # 100-step average, 36-step epochs
        0.9
        >>> auto_bn_momentum(0.99, steps_per_epoch=1563)  # CIFAR-10 at batch 32: unchanged
        0.99
        >>> reg = Regularization.preset("all")
        >>> reg.replace(bn_momentum=auto_bn_momentum(reg.bn_momentum, 36)).bn_momentum
        0.9
    """
    value = check_finite_float("momentum", momentum)
    if not 0.0 <= value < 1.0:
        raise invalid("momentum", "a float in [0, 1)", momentum)
    if steps_per_epoch is None:
        return value
    steps = check_positive_int("steps_per_epoch", steps_per_epoch)
    if value > AUTO_BN_MOMENTUM and 1.0 / (1.0 - value) > steps:
        return AUTO_BN_MOMENTUM
    return value
