"""Accelerator set-up in one call: memory growth, mixed precision where it pays, seeds.

Replaces the seeds' hand-written GPU boilerplate (seed 001): `setup()` turns on memory
growth for every GPU, picks ``mixed_float16`` only when every GPU has compute capability
7.0 or more (Volta and later have float16 tensor cores; older GPUs run it slower), seeds
Python/NumPy/TensorFlow and can enable op determinism. It reports what it found and did,
is safe to call twice, and on a CPU-only machine reports "no GPU" and changes nothing.

``setup(precision=...)`` and `precision_policy` (a context manager that restores the
caller's policy) pick the Keras dtype policy by `resolve_precision`'s rule, which also
knows CPUs that compute bfloat16 in hardware; `device_facts` gathers what it reads.

TensorFlow is imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
from collections.abc import Sequence
from typing import Any

from regkit._checks import check_choice, invalid
from regkit._version import __version__
from regkit.device.export import export_model, float32_copy, is_mixed, takes_raw_pixels
from regkit.device.precision import (
    BFLOAT16_CPU_FLAGS,
    MIN_BFLOAT16_CAPABILITY,
    MIN_FLOAT16_CAPABILITY,
    PRECISIONS,
    DeviceFacts,
    GPUFacts,
    PrecisionChoice,
    choose_precision,
    cpu_flags,
    device_facts,
    gpus_and_capabilities,
    precision_notes,
    precision_policy,
    resolve_precision,
)

__all__ = [
    "BFLOAT16_CPU_FLAGS",
    "MIN_BFLOAT16_CAPABILITY",
    "MIN_FLOAT16_CAPABILITY",
    "PRECISIONS",
    "DeviceFacts",
    "DeviceReport",
    "GPUFacts",
    "PrecisionChoice",
    "choose_precision",
    "cpu_flags",
    "describe",
    "device_facts",
    "export_model",
    "float32_copy",
    "info",
    "is_mixed",
    "precision_policy",
    "resolve_precision",
    "setup",
    "strategy",
    "takes_raw_pixels",
    "versions",
]

_POLICIES = ("mixed_float16", "mixed_bfloat16", "float32")
_MIXED_CHOICES = ("auto", True, False, *_POLICIES)


@dataclasses.dataclass(frozen=True)
class DeviceReport:
    """What `setup()` found and did (or, from `info()`, would do).

    Attributes:
        gpus: Names of the physical GPUs, e.g. ``("/physical_device:GPU:0",)``.
        compute_capabilities: One ``(major, minor)`` per GPU, None where TensorFlow
            does not say.
        memory_growth: One line per GPU: ``"on"``, ``"already on"`` or why it could
            not be set (TensorFlow refuses once the GPUs are initialised).
        policy: The global Keras dtype policy after the call.
        policy_reason: Why that policy was chosen.
        policy_changed: Whether the call changed the global policy.
        seed: The seed set, or None.
        deterministic: Whether op determinism is on after the call.
        notes: Anything else worth knowing.
    """

    gpus: tuple[str, ...] = ()
    compute_capabilities: tuple[tuple[int, int] | None, ...] = ()
    memory_growth: tuple[str, ...] = ()
    policy: str = "float32"
    policy_reason: str = ""
    policy_changed: bool = False
    seed: int | None = None
    deterministic: bool = False
    notes: tuple[str, ...] = ()

    @property
    def has_gpu(self) -> bool:
        """Whether TensorFlow sees at least one GPU."""
        return bool(self.gpus)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-serializable data."""
        out = dataclasses.asdict(self)
        out["compute_capabilities"] = [
            None if cc is None else list(cc) for cc in self.compute_capabilities
        ]
        return out

    def __str__(self) -> str:
        lines = []
        if not self.gpus:
            lines.append("GPUs: no GPU (running on CPU)")
        else:
            lines.append(f"GPUs: {len(self.gpus)}")
            for name, cc, growth in zip(
                self.gpus, self.compute_capabilities, self.memory_growth, strict=False
            ):
                cc_text = "unknown" if cc is None else f"{cc[0]}.{cc[1]}"
                lines.append(f"  {name}: compute capability {cc_text}, memory growth {growth}")
        changed = " (changed)" if self.policy_changed else ""
        lines.append(f"dtype policy: {self.policy}{changed} - {self.policy_reason}")
        lines.append(f"seed: {'not set' if self.seed is None else self.seed}")
        lines.append(f"op determinism: {'on' if self.deterministic else 'off'}")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


def _current_policy() -> str:
    import keras

    return str(keras.config.dtype_policy().name)


def _determinism_enabled() -> bool | None:
    try:  # not exported publicly; used for reporting only
        from tensorflow.python.framework.config import is_op_determinism_enabled
    except ImportError:  # pragma: no cover - very old or very new TensorFlow
        return None
    return bool(is_op_determinism_enabled())


def _choose_policy(
    request: Any, caps: Sequence[tuple[int, int] | None], current: str
) -> tuple[str | None, str]:
    """`setup`'s older `mixed_precision` rule: (policy to set or None to leave it, reason).

    Raises on unknown or impossible requests."""
    check_choice("mixed_precision", request, _MIXED_CHOICES)
    capable = bool(caps) and all(cc is not None and cc >= MIN_FLOAT16_CAPABILITY for cc in caps)
    need = ".".join(map(str, MIN_FLOAT16_CAPABILITY))
    if request == "auto":
        if not caps:
            return None, f"no GPU: left as {current}"
        if capable:
            return "mixed_float16", f"every GPU has compute capability >= {need}"
        return "float32", f"a GPU has compute capability < {need} (or unknown): float16 is slow"
    if request is True or request == "mixed_float16":
        if not caps:
            raise ValueError(
                "Invalid value for argument `mixed_precision`: mixed_float16 needs a GPU "
                "and TensorFlow sees none, so it would only be emulated (slowly) on the CPU. "
                "Use mixed_precision='auto' or False here, 'mixed_bfloat16' for a CPU with "
                "bfloat16 support, or set keras.mixed_precision.set_global_policy("
                "'mixed_float16') yourself to exercise float16 code paths on purpose. "
                f"Received: mixed_precision={request!r}"
            )
        if not capable:
            raise ValueError(
                "Invalid value for argument `mixed_precision`: mixed_float16 needs compute "
                f"capability >= {need} on every GPU. Received: mixed_precision={request!r} "
                f"with compute capabilities {list(caps)}"
            )
        return "mixed_float16", "requested"
    if request is False:
        return "float32", "mixed precision off (requested)"
    return str(request), "requested"


def setup(
    memory_growth: bool = True,
    mixed_precision: bool | str | None = None,
    seed: int | None = None,
    deterministic: bool = False,
    *,
    precision: str | None = None,
) -> DeviceReport:
    """Prepares TensorFlow/Keras for training and reports what it found and did.

    The dtype policy comes from `precision` when given (`resolve_precision`'s rule; an
    explicit request that this machine runs slowly is honoured, with a note saying so),
    else from the older `mixed_precision` switch, whose default leaves a CPU-only machine
    alone. Either way the call sets Keras' global policy and says so
    (``policy_changed``); `precision_policy` sets one for a block and restores it.

    Args:
        memory_growth: Turn on memory growth for every GPU, so TensorFlow allocates GPU
            memory as needed instead of all of it at start (seed 001). TensorFlow only
            allows this before the GPUs are initialised; later calls report that
            instead of failing.
        mixed_precision: The older switch, used when `precision` is None. ``"auto"``
            (what None means): ``mixed_float16`` when every GPU has compute capability
            >= 7.0, ``float32`` on older GPUs, and no change at all without a GPU.
            ``True`` or ``"mixed_float16"``: require it (ValueError on a CPU-only
            machine or an older GPU; no emulation). ``False``: ``float32``.
            ``"mixed_bfloat16"`` or ``"float32"``: set that policy.
        seed: Seed for Python, NumPy and the backend (`keras.utils.set_random_seed`).
        deterministic: Enable TensorFlow op determinism (slower; pair it with `seed`).
        precision: ``"float32"``, ``"mixed_bfloat16"``, ``"mixed_float16"`` or
            ``"auto"`` (bfloat16 where the GPUs or the CPU compute it fast, float16 on
            7.x GPUs, else float32: `resolve_precision`). None: `mixed_precision` decides.

    Returns:
        A `DeviceReport`; ``str(report)`` is a readable summary.

    Raises:
        ValueError: An unknown `precision` or `mixed_precision` value (the valid ones are
            listed), both given, or mixed_float16 requested through `mixed_precision`
            where no capable GPU exists.
        TypeError: `seed` is not an int.

    Example:
        >>> report = setup(seed=0)
        >>> print(report)  # on a CPU-only machine
        GPUs: no GPU (running on CPU)
        dtype policy: float32 - no GPU: left as float32
        seed: 0
        op determinism: off
        >>> print(setup(precision="auto").policy)  # a CPU with AMX or AVX-512 BF16
        mixed_bfloat16
    """
    import keras
    import tensorflow as tf

    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(
            f"Invalid type for argument `seed`: expected an int. "
            f"Received: seed={seed!r} of type {type(seed).__name__}"
        )
    if seed is not None and seed < 0:
        raise invalid("seed", "an int >= 0", seed)
    if precision is not None and mixed_precision is not None:
        raise ValueError(
            "Invalid value for argument `mixed_precision`: give `precision` or "
            f"`mixed_precision`, not both. Received: mixed_precision={mixed_precision!r}, "
            f"precision={precision!r}"
        )
    gpus, caps = gpus_and_capabilities()
    current = _current_policy()
    notes: list[str] = []
    target: str | None
    if precision is None:  # raises before changes
        legacy = "auto" if mixed_precision is None else mixed_precision
        target, reason = _choose_policy(legacy, caps, current)
    else:
        facts = DeviceFacts(cpu_flags(), tuple(map(GPUFacts, (g.name for g in gpus), caps)))
        target, reason = choose_precision(precision, facts)
        reason = f"precision={precision!r}: {reason}"
        notes.extend(precision_notes(target, facts))

    growth: list[str] = []
    for gpu in gpus:
        if not memory_growth:
            growth.append("left as is (memory_growth=False)")
            continue
        try:
            if tf.config.experimental.get_memory_growth(gpu):
                growth.append("already on")
                continue
            tf.config.experimental.set_memory_growth(gpu, True)
            growth.append("on")
        except (RuntimeError, ValueError) as err:
            growth.append(f"not set: GPUs already initialised ({err})")

    changed = False
    if target is not None and target != current:
        keras.mixed_precision.set_global_policy(target)
        changed = True
    policy = _current_policy()

    if seed is not None:
        keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
        if seed is None:
            notes.append("op determinism is on but no seed was set: runs still differ")
    enabled = _determinism_enabled()
    return DeviceReport(
        gpus=tuple(g.name for g in gpus),
        compute_capabilities=tuple(caps),
        memory_growth=tuple(growth),
        policy=policy,
        policy_reason=reason,
        policy_changed=changed,
        seed=seed,
        deterministic=bool(deterministic if enabled is None else enabled),
        notes=tuple(notes),
    )


#: The packages `versions()` reports beside Python, the platform and regkit.
VERSIONED_PACKAGES = ("tensorflow", "keras", "numpy", "tensorflow-datasets", "scikit-learn")


def versions() -> dict[str, str]:
    """Python, platform, regkit and installed package versions, read without importing them.

    The one version collector: `info()`, `regkit info` and every `Report` use it. Packages
    that are not installed are left out.

    Returns:
        `{"python", "platform", "regkit", "tensorflow", "keras", "numpy",
        "tensorflow-datasets", "scikit-learn"}` -> version strings.

    Example:
        >>> sorted(versions())[:3]
        ['keras', 'numpy', 'platform']
    """
    from importlib import metadata

    found = {
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "regkit": __version__,
    }
    for package in VERSIONED_PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def info() -> dict[str, Any]:
    """Versions, devices and what `setup()` would do, changing nothing.

    Returns:
        A JSON-serializable dict with keys ``versions`` (`versions()`: python, platform,
        regkit, tensorflow, keras, numpy and the optional packages installed),
        ``devices`` (physical device names), ``gpus`` (name and compute capability
        each), ``dtype_policy`` (current), ``setup_would`` (policy and reason for
        ``setup()`` with its defaults, and whether memory growth would be set),
        ``precision_auto`` (the policy and reason ``precision="auto"`` resolves to here,
        and the CPU's bfloat16 flags found).

    Example:
        >>> "tensorflow" in info()["versions"]
        True
    """
    import tensorflow as tf

    devices = tf.config.list_physical_devices()
    gpus, caps = gpus_and_capabilities()
    current = _current_policy()
    policy, reason = _choose_policy("auto", caps, current)
    facts = DeviceFacts(cpu_flags(), tuple(map(GPUFacts, (g.name for g in gpus), caps)))
    auto = choose_precision("auto", facts)
    return {
        "versions": versions(),
        "devices": [d.name for d in devices],
        "gpus": [
            {"name": g.name, "compute_capability": None if cc is None else list(cc)}
            for g, cc in zip(gpus, caps, strict=True)
        ],
        "dtype_policy": current,
        "setup_would": {
            "memory_growth": bool(gpus),
            "dtype_policy": policy or current,
            "reason": reason,
        },
        "precision_auto": {
            "dtype_policy": auto.policy,
            "reason": auto.reason,
            "cpu_bfloat16_flags": [f for f in BFLOAT16_CPU_FLAGS if f in facts.cpu_flags],
        },
    }


def describe() -> str:
    """`info()` as the text `regkit info` prints.

    Example:
        >>> print(describe())  # doctest: +SKIP
        regkit 0.2.0, TensorFlow 2.21.0, Keras 3.15.1, NumPy 2.4.0, Python 3.11.9
        platform: Linux x86_64
        other packages: tensorflow-datasets 4.9.9, scikit-learn 1.7.2
        devices: /physical_device:CPU:0
        GPUs: none
        dtype policy: float32
        setup() would: leave the policy (no GPU: left as float32), set no memory growth
        precision="auto" would use: mixed_bfloat16 (no GPU; the CPU computes bfloat16 in
        hardware (amx_bf16, avx512_bf16))
    """
    data = info()
    v = data["versions"]
    main = ("regkit", "tensorflow", "keras", "numpy", "python", "platform")
    lines = [
        f"regkit {v['regkit']}, TensorFlow {v.get('tensorflow')}, Keras {v.get('keras')}, "
        f"NumPy {v.get('numpy')}, Python {v['python']}",
        f"platform: {v['platform']}",
    ]
    others = {k: value for k, value in v.items() if k not in main}
    if others:
        lines.append("other packages: " + ", ".join(f"{k} {value}" for k, value in others.items()))
    lines.append(f"devices: {', '.join(data['devices']) or 'none'}")
    if data["gpus"]:
        for gpu in data["gpus"]:
            cc = gpu["compute_capability"]
            cc_text = "unknown" if cc is None else f"{cc[0]}.{cc[1]}"
            lines.append(f"GPU {gpu['name']}: compute capability {cc_text}")
    else:
        lines.append("GPUs: none")
    lines.append(f"dtype policy: {data['dtype_policy']}")
    would = data["setup_would"]
    action = (
        "leave the policy"
        if would["dtype_policy"] == data["dtype_policy"]
        else f"set policy {would['dtype_policy']}"
    )
    growth = "turn on memory growth" if would["memory_growth"] else "set no memory growth"
    lines.append(f"setup() would: {action} ({would['reason']}), {growth}")
    auto = data["precision_auto"]
    lines.append(f'precision="auto" would use: {auto["dtype_policy"]} ({auto["reason"]})')
    return "\n".join(lines)


def strategy(devices: Sequence[str] | None = None) -> Any:
    """The distribution strategy to build and train under.

    Args:
        devices: Explicit device names, e.g. ``["/cpu:0", "/cpu:1"]`` (logical devices).
            One device gives a `OneDeviceStrategy`, several a `MirroredStrategy`. None
            (default): a `MultiWorkerMirroredStrategy` when `TF_CONFIG` names a cluster
            of two or more workers (create it before any other TensorFlow op in the
            process; see docs/distributed.md), else `MirroredStrategy` over all GPUs when
            there are two or more, else TensorFlow's default strategy.

    Returns:
        A `tf.distribute.Strategy`; use ``with strategy().scope():`` around model
        building and compiling.

    Raises:
        ValueError: `devices` is empty or not a sequence of names, or `TF_CONFIG` is
            not valid JSON.

    Example:
        >>> import keras
        >>> with strategy().scope():
        ...     model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten()])
    """
    import tensorflow as tf

    if devices is not None:
        if isinstance(devices, str) or not all(isinstance(d, str) for d in devices):
            raise invalid("devices", "a sequence of device names such as ['/gpu:0']", devices)
        names = list(devices)
        if not names:
            raise invalid("devices", "at least one device name", devices)
        if len(names) == 1:
            return tf.distribute.OneDeviceStrategy(names[0])
        return tf.distribute.MirroredStrategy(devices=names)
    if _tf_config_workers() > 1:
        return _keras_multi_worker_strategy()
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _tf_config_workers() -> int:
    """How many tasks (chief and workers) the `TF_CONFIG` cluster names; 0 without one."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return 0
    try:
        cluster = json.loads(raw).get("cluster", {})
    except (ValueError, AttributeError) as err:
        raise ValueError(
            f"Invalid value for environment variable `TF_CONFIG`: expected JSON with a "
            f"'cluster' and a 'task'. Received: TF_CONFIG={raw!r}"
        ) from err
    return sum(len(cluster.get(kind, [])) for kind in ("chief", "worker"))


def _keras_multi_worker_strategy() -> Any:
    """TensorFlow's `MultiWorkerMirroredStrategy`, with a `reduce` Keras 3's `fit` can use.

    Keras 3 (to 3.15 at least) calls `strategy.reduce` with a nested (x, y) batch and with
    ``axis=0`` on scalar logs; `MirroredStrategy` accepts both, the collective strategy
    neither (keras-team/keras#20585). Reducing leaf by leaf, and over replicas only for
    scalars, gives the values `MirroredStrategy` gives. Everything else is TensorFlow's.
    """
    import tensorflow as tf

    base = tf.distribute.MultiWorkerMirroredStrategy

    class KerasMultiWorkerMirroredStrategy(base):  # type: ignore[misc, valid-type]
        def reduce(self, reduce_op: Any, value: Any, axis: Any) -> Any:
            def leaf(v: Any) -> Any:
                local = self.experimental_local_results(v)[0]
                shape = getattr(local, "shape", None)
                scalar = shape is not None and shape.rank == 0
                return base.reduce(self, reduce_op, v, None if scalar else axis)

            return tf.nest.map_structure(leaf, value)

    return KerasMultiWorkerMirroredStrategy()
