"""Turning a `Regularization` into Keras regularizer objects, and applying it to models.

This module is the only place in regkit that creates regularizer objects: builders ask
`kernel_regularizer` / `bias_regularizer` and never build their own (and never pass the
string ``"l2"``, which Keras reads as L2(0.01)).
"""

from __future__ import annotations

import base64
import json
import os
import re
import zipfile
from typing import Any

import keras
import numpy as np

from regkit._checks import (
    check_bool,
    check_finite_float,
    check_keras_file,
    check_keras_model,
    invalid,
)
from regkit._version import __version__
from regkit.config import Regularization

# Moved to regkit.introspect (reading built models); kept importable from here, where 0.1
# documented them.
from regkit.introspect import (
    decay_exempt_variables,
    iter_layers,
    kernel_attributes,
    regularization_loss,  # noqa: F401 - re-exported
    regularized_variables,  # noqa: F401 - re-exported
)

# The names re-exported from regkit.introspect above stay importable from here but are
# documented (and listed in __all__) there.
__all__ = [
    "L2SP",
    "apply_regularization",
    "bias_regularizer",
    "exclude_from_decay",
    "kernel_regularizer",
    "load_model",
]


def _make(l1: float, l2: float) -> keras.regularizers.Regularizer | None:
    if l1 and l2:
        return keras.regularizers.L1L2(l1=l1, l2=l2)
    if l2:
        return keras.regularizers.L2(l2)
    if l1:
        return keras.regularizers.L1(l1)
    return None


def _encode(array: np.ndarray) -> dict[str, Any]:
    data = np.ascontiguousarray(array, dtype=np.float32)
    return {
        "shape": list(data.shape),
        "dtype": "float32",
        "base64": base64.b64encode(data.tobytes()).decode("ascii"),
    }


def _decode(reference: Any) -> np.ndarray:
    if isinstance(reference, dict):  # the form `get_config` writes
        try:
            raw = base64.b64decode(reference["base64"], validate=True)
            shape = tuple(int(n) for n in reference["shape"])
            array = np.frombuffer(raw, dtype=np.dtype(reference.get("dtype", "float32")))
            return array.reshape(shape).copy()
        except (KeyError, TypeError, ValueError) as err:
            raise invalid(
                "reference",
                "an array or the dict `L2SP.get_config` writes (shape, dtype, base64)",
                f"<dict with keys {sorted(reference)}: {err}>",
            ) from err
    try:
        array = np.array(keras.ops.convert_to_numpy(reference), dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise TypeError(
            "Invalid type for argument `reference`: expected an array of the starting "
            f"weights. Received: reference of type {type(reference).__name__}"
        ) from err
    if not np.all(np.isfinite(array)):
        raise invalid("reference", "finite starting weights", "<array with NaN or inf>")
    return array


@keras.saving.register_keras_serializable(package="regkit")
class L2SP(keras.regularizers.Regularizer):
    """L2-SP (Li et al. 2018): pulls a kernel toward its starting weights, not toward 0.

    The penalty is ``l2_sp * sum((w - w0)**2)`` (plus optional plain ``l1 * sum(|w|)`` and
    ``l2 * sum(w**2)`` terms, so one regularizer carries all of a `Regularization`'s
    kernel penalties). ``w0`` is stored in the regularizer and written into the layer's
    config (float32, base64), so a `.keras` file reloads the same penalty; load such a
    file with `regkit.load_model`, or with `keras.saving.load_model` after
    ``import regkit.regularization`` (the class is registered as ``"regkit>L2SP"``).
    `regkit.introspect.decay_exempt_variables` lists kernels carrying it, so decoupled
    weight decay (which pulls toward 0) leaves them alone.

    Args:
        l2_sp: Coefficient of the pull toward ``w0`` (>= 0).
        reference: The starting weights ``w0`` (any array of the kernel's shape).
        l1: Plain L1 coefficient (>= 0).
        l2: Plain L2 coefficient (>= 0).

    Raises:
        ValueError: A negative or non-finite coefficient, or a non-finite reference.
        TypeError: `reference` is not an array.

    Example:
        >>> reg = L2SP(0.01, np.ones((2, 2)))
        >>> float(reg(keras.ops.zeros((2, 2))))
        0.04
    """

    #: Read by `regkit.introspect.decay_exempt_variables`: decay toward 0 would undo it.
    exempt_from_weight_decay = True

    def __init__(self, l2_sp: float, reference: Any, *, l1: float = 0.0, l2: float = 0.0) -> None:
        for arg, value in (("l2_sp", l2_sp), ("l1", l1), ("l2", l2)):
            if check_finite_float(arg, value) < 0:
                raise invalid(arg, "a float >= 0", value)
        self.l2_sp = float(l2_sp)
        self.l1 = float(l1)
        self.l2 = float(l2)
        self.reference = _decode(reference)

    def __call__(self, x: Any) -> Any:
        ops = keras.ops
        if tuple(x.shape) != self.reference.shape:
            raise ValueError(
                "Invalid value for argument `x`: expected a kernel of the reference's shape "
                f"{self.reference.shape}. Received: x of shape {tuple(x.shape)}"
            )
        w0 = ops.convert_to_tensor(self.reference, dtype=x.dtype)
        loss = self.l2_sp * ops.sum(ops.square(x - w0))
        if self.l1:
            loss = loss + self.l1 * ops.sum(ops.abs(x))
        if self.l2:
            loss = loss + self.l2 * ops.sum(ops.square(x))
        return loss

    def get_config(self) -> dict[str, Any]:
        return {
            "l2_sp": self.l2_sp,
            "l1": self.l1,
            "l2": self.l2,
            "reference": _encode(self.reference),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> L2SP:
        config = dict(config)
        return cls(
            config.pop("l2_sp"),
            config.pop("reference"),
            l1=config.pop("l1", 0.0),
            l2=config.pop("l2", 0.0),
        )


def kernel_regularizer(reg: Regularization | str | None) -> keras.regularizers.Regularizer | None:
    """The Keras regularizer for conv, depthwise and dense kernels, or None.

    Args:
        reg: A `Regularization`, a preset name or None.

    Returns:
        A fresh `keras.regularizers.L1`, `L2` or `L1L2`, or None when `reg` has no penalty.

    Example:
        >>> kernel_regularizer(Regularization(l2=1e-4)).get_config()
        {'l2': 0.0001}
    """
    reg = Regularization.coerce(reg)
    return _make(reg.l1, reg.l2)


def bias_regularizer(reg: Regularization | str | None) -> keras.regularizers.Regularizer | None:
    """The Keras regularizer for biases: the kernel one when `regularize_bias`, else None."""
    reg = Regularization.coerce(reg)
    return _make(reg.l1, reg.l2) if reg.regularize_bias else None


def _set_regularizer(
    layer: keras.layers.Layer, var_attr: str, config_attr: str, regularizer: Any
) -> None:
    """Sets a regularizer on a built layer's variable AND on the layer's config attribute.

    The variable's regularizer is what `model.losses` reads; the layer attribute is what
    `get_config` writes, so a `.keras` save/load rebuilds the layer with it.
    """
    setattr(layer, config_attr, regularizer)
    var = getattr(layer, var_attr, None)
    if isinstance(var, keras.Variable):
        var.regularizer = regularizer


def apply_regularization(
    model: keras.Model, reg: Regularization | str | None, *, overwrite: bool = True
) -> keras.Model:
    """Adds L1/L2 and L2-SP penalties to an existing, built model in place, keeping its weights.

    Setting `layer.kernel_regularizer` on a built Keras 3 layer is silently ignored, and
    rebuilding from `get_config` re-initialises every weight; this function avoids both
    traps: it sets the regularizer on the existing variables (what `model.losses` reads)
    and on the layer attributes (what `.keras` saving writes). Only L1/L2 settings are
    used, with `l2_sp`; BatchNorm/Dropout are architectural and need a rebuild.

    With ``reg.l2_sp > 0`` every conv, depthwise and dense kernel gets an `L2SP` regularizer
    whose reference ``w0`` is a copy of the weights the kernel holds now (call this right
    after loading pretrained weights), adding ``l2_sp * sum((w - w0)**2)`` to the loss
    (with the kernel's L1/L2 terms, if any). Biases and normalization parameters get no
    L2-SP term, and the kernels carrying one are kept out of decoupled weight decay (also
    by the optimizer of a model that is already compiled).

    Args:
        model: A built Keras model, e.g. `keras.applications.MobileNetV2(weights=None)`.
            Nested models are handled.
        reg: A `Regularization`, a preset name or None. Kernels of conv, depthwise and dense
            layers get `kernel_regularizer(reg)` (depthwise only if
            `reg.regularize_depthwise`); biases get one when `reg.regularize_bias`.
        overwrite: When False, layers that already carry a regularizer keep it.

    Returns:
        The same model, for chaining. Compiled step functions are dropped, so a model that
        already trained picks the penalty up at its next `fit`/`evaluate`.

    Raises:
        TypeError: `model` is not a Keras model.
        ValueError: `model` is not built yet (call it on data or give it an input shape).

    Example:
        >>> base = keras.applications.MobileNetV2((32, 32, 3), weights=None, classes=10)
        >>> model = apply_regularization(base, Regularization(l2=1e-4))
        >>> len(model.losses)
        53
        >>> tuned = apply_regularization(base, Regularization(l2_sp=1e-3))  # pull toward now
    """
    model = check_keras_model("model", model, built=True)
    overwrite = check_bool("overwrite", overwrite)
    reg = Regularization.coerce(reg)
    k_reg = kernel_regularizer(reg)
    b_reg = bias_regularizer(reg)
    for layer in iter_layers(model):
        kernels = kernel_attributes(layer)
        if not kernels:
            continue
        targets = [
            (var_attr, config_attr, None if depthwise and not reg.regularize_depthwise else k_reg)
            for var_attr, config_attr, depthwise in kernels
        ]
        if isinstance(getattr(layer, "bias", None), keras.Variable):
            targets.append(("bias", "bias_regularizer", b_reg))
        for var_attr, config_attr, wanted in targets:
            if overwrite or getattr(layer, config_attr, None) is None:
                if reg.l2_sp and var_attr != "bias":
                    wanted = _starting_point_regularizer(reg, layer, var_attr, wanted)
                _set_regularizer(layer, var_attr, config_attr, wanted)
    _drop_traced_functions(model)
    optimizer = getattr(model, "optimizer", None)
    if reg.l2_sp and optimizer is not None:
        exclude_from_decay(optimizer, model)
    return model


def _starting_point_regularizer(
    reg: Regularization, layer: keras.layers.Layer, var_attr: str, plain: Any
) -> L2SP | None:
    """The `L2SP` for one kernel: its current value as w0, with the kernel's L1/L2 (if any)."""
    variable = getattr(layer, var_attr, None)
    if not isinstance(variable, keras.Variable):
        return None
    l1 = l2 = 0.0
    if plain is not None:  # the L1/L2 this kernel gets (None for unregularized depthwise)
        config = plain.get_config()
        l1, l2 = float(config.get("l1", 0.0)), float(config.get("l2", 0.0))
    return L2SP(reg.l2_sp, keras.ops.convert_to_numpy(variable), l1=l1, l2=l2)


def _drop_traced_functions(model: keras.Model) -> None:
    """Forgets compiled train/test/predict functions so the next call retraces.

    `model.losses` is read when `fit`/`evaluate` trace their step function; a model that
    already trained or evaluated would otherwise keep using the old (unregularized) loss.
    """
    for attr in ("train_function", "test_function", "predict_function"):
        if getattr(model, attr, None) is not None:
            setattr(model, attr, None)


def exclude_from_decay(optimizer: Any, model: keras.Model) -> None:
    """Keeps `model`'s BatchNorm gamma/beta and biases out of `optimizer`'s weight decay.

    Does nothing for an optimizer without weight decay. Works on an optimizer that is
    already built (one restored from a `.keras` file): Keras decides per variable when it
    applies an update, so the exclusions count from the next traced train step on.

    Raises:
        ValueError: The optimizer refuses to take exclusions (a future Keras might, once
            built); the message says to pass a fresh optimizer.
    """
    if not getattr(optimizer, "weight_decay", None):
        return
    try:
        optimizer.exclude_from_weight_decay(var_list=decay_exempt_variables(model))
    except ValueError as err:
        raise ValueError(
            "Invalid value for argument `optimizer`: it refuses weight-decay exclusions "
            f"now ({err}), so BatchNorm parameters and biases would be decayed. Pass a fresh "
            f"optimizer. Received: optimizer={optimizer!r}"
        ) from err


def _mixed_policy_of(file: Any) -> str | None:
    """The mixed policy a `.keras` file's layers compute in, or None (float32, unreadable)."""
    try:
        with zipfile.ZipFile(file) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None  # Keras' own loader reports what is wrong with the file
    found: set[str] = set()
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("class_name") == "DTypePolicy" and isinstance(item.get("config"), dict):
                found.add(str(item["config"].get("name")))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    for policy in ("mixed_float16", "mixed_bfloat16"):  # float16 decides the optimizer
        if policy in found:
            return policy
    return None


def _load_under_its_policy(file: Any, compile: bool) -> keras.Model:
    """`keras.saving.load_model` with the global policy set, for the call, to the file's.

    Keras saves each layer's policy but not the model's, so the model takes the global
    policy at load time, and `compile` wraps the optimizer in a `LossScaleOptimizer` only
    when that is ``mixed_float16``; a mismatch drops the saved optimizer state.
    """
    policy = _mixed_policy_of(file)
    if policy is None:
        return keras.saving.load_model(file, compile=compile)
    caller = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        return keras.saving.load_model(file, compile=compile)
    finally:
        keras.config.set_dtype_policy(caller)


def _unregistered(path: Any, file: Any, error: Exception) -> TypeError:
    """A short error for a `.keras` file that needs a class registered nowhere in this
    process: the class, the module it was saved from and what to do (Keras' own message
    repeats the object's whole config, thousands of characters, with that line inside)."""
    found = re.search(r"Could not locate (?:class|function) '([^']+)'", str(error))
    name = found.group(1) if found else "?"
    module = registered = None
    try:
        with zipfile.ZipFile(file) as archive:
            stack: list[Any] = [json.loads(archive.read("config.json"))]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        stack = []
    while stack and module is None:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("class_name") == name and isinstance(item.get("module"), str):
                module, registered = item["module"], item.get("registered_name")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    saved = f" (registered as {registered!r}, saved from module {module!r})" if module else ""
    if module is not None and module.split(".")[0] == "regkit":
        fix = (
            f"this regkit ({__version__}) has no such class; load the file with the regkit "
            "version that saved it"
        )
    else:
        fix = (
            f"import {'the module that defines it' if module is None else module} before "
            "loading (its class decorated with @keras.saving.register_keras_serializable())"
        )
    return TypeError(
        f"Cannot load {os.fspath(path)!r}: it needs the class {name!r}{saved}, which is not "
        f"registered in this process: {fix}. regkit's own layers (DropPath, DropBlock2D) "
        "need nothing: regkit.load_model imports regkit.layers."
    )


def load_model(path: str | os.PathLike[str], *, compile: bool = True) -> keras.Model:
    """Loads a `.keras` model and keeps BatchNorm parameters and biases out of weight decay.

    `keras.saving.load_model` restores the optimizer, its weight decay included, but not
    the list of variables excluded from it: Keras does not save
    `exclude_from_weight_decay`, so a model compiled by `compile_model(weight_decay=...)`
    comes back decaying BatchNorm's gamma/beta and every bias. This function loads the
    file the same way and re-applies regkit's exclusions to the restored optimizer, so
    training can continue as it would have. A model saved under a mixed policy is loaded
    under that policy (Keras records it per layer but not for the model, so under a float32
    global policy a ``mixed_float16`` model came back without its `LossScaleOptimizer`
    and with its optimizer state dropped). regkit models need no `custom_objects`: this
    function imports `regkit.layers` first, so models holding `DropPath` / `DropBlock2D`
    always load (`keras.saving.load_model` loads them once ``import regkit.layers`` ran).

    Args:
        path: A ``.keras`` file written by `model.save` (or regkit's checkpoints).
        compile: Restore the optimizer, loss and metrics (as Keras does by default).

    Returns:
        The model, compiled when the file holds a compiled model and `compile` is True.

    Raises:
        ValueError: `path` does not end in ``.keras`` or is not a file.
        TypeError: The file holds a class that is registered nowhere in this process (a
            short message names the class, the module it was saved from and what to
            import; `keras.saving.load_model` would print the object's whole config).

    Example:
        >>> model = compile_model(build_cnn((32, 32, 3), 10, reg="bn"), weight_decay=1e-4)
        >>> model.save("cnn.keras")  # doctest: +SKIP
        >>> model = load_model("cnn.keras")  # doctest: +SKIP
    """
    file = check_keras_file("path", path)
    compile = check_bool("compile", compile)
    # Registers DropPath / DropBlock2D: Keras imports only its own packages while loading.
    import regkit.layers  # noqa: F401

    try:
        model = _load_under_its_policy(file, compile)
    except TypeError as error:
        if "Could not locate" not in str(error):
            raise
        raise _unregistered(path, file, error) from None  # Keras' message: the whole config
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        exclude_from_decay(optimizer, model)
    return model
