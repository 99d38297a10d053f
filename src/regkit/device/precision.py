"""The Keras dtype policy for this machine: the facts, the rule, and a scoped setter.

`resolve_precision` turns a `precision` setting (``"float32"``, ``"mixed_bfloat16"``,
``"mixed_float16"``, ``"auto"``) into a Keras dtype policy from `DeviceFacts` (the CPU's
flags and the GPUs' compute capabilities, gathered by `device_facts`; tests build their
own); `precision_policy` sets that policy for a block and restores the caller's.
`regkit.device` re-exports all of it; `setup(precision=...)` uses the same rule.

TensorFlow and Keras are imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from regkit._checks import check_choice

__all__ = [
    "PRECISIONS",
    "DeviceFacts",
    "GPUFacts",
    "PrecisionChoice",
    "choose_precision",
    "cpu_flags",
    "device_facts",
    "precision_policy",
    "resolve_precision",
]

#: Minimum compute capability with float16 tensor cores (Volta).
MIN_FLOAT16_CAPABILITY = (7, 0)
#: Minimum compute capability with bfloat16 tensor cores (Ampere).
MIN_BFLOAT16_CAPABILITY = (8, 0)
#: CPU flags (as Linux's /proc/cpuinfo spells them) of bfloat16 arithmetic in hardware:
#: AMX tiles (Sapphire Rapids and later) and AVX-512 BF16 (Cooper Lake, Zen 4 and later).
BFLOAT16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
#: The values of `precision` (setup, precision_policy, compare), "auto" last.
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")


def gpus_and_capabilities() -> tuple[list[Any], list[tuple[int, int] | None]]:
    """TensorFlow's GPUs and the compute capability of each (None where unknown)."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    caps: list[tuple[int, int] | None] = []
    for gpu in gpus:
        try:
            cc = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        except (RuntimeError, ValueError):
            cc = None
        caps.append((int(cc[0]), int(cc[1])) if cc else None)
    return gpus, caps


class GPUFacts(NamedTuple):
    """One GPU as `resolve_precision` sees it.

    Attributes:
        name: TensorFlow's name, e.g. ``"/physical_device:GPU:0"``.
        compute_capability: ``(major, minor)``, or None where TensorFlow does not say
            (non-NVIDIA GPUs).
    """

    name: str
    compute_capability: tuple[int, int] | None = None


class DeviceFacts(NamedTuple):
    """What the precision rule reads about the machine; tests build their own.

    Attributes:
        cpu_flags: The CPU's feature flags, lower case (``"amx_bf16"``, ``"avx512_bf16"``...).
        gpus: One `GPUFacts` per GPU TensorFlow sees.
    """

    cpu_flags: frozenset[str] = frozenset()
    gpus: tuple[GPUFacts, ...] = ()


class PrecisionChoice(NamedTuple):
    """A resolved precision: the Keras dtype policy and why (`choose_precision`)."""

    policy: str
    reason: str


def cpu_flags(cpuinfo: str | os.PathLike[str] = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU's feature flags from Linux's `/proc/cpuinfo` (empty where it is unreadable).

    Args:
        cpuinfo: The file to read (tests pass their own).

    Returns:
        The flags of the first processor, lower case (x86 ``flags``, ARM ``Features``).

    Example:
        >>> isinstance(cpu_flags(), frozenset)
        True
    """
    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            return frozenset(value.lower().split())
    return frozenset()


def device_facts() -> DeviceFacts:
    """What `resolve_precision` reads, gathered from this machine (TensorFlow's GPU list).

    Example:
        >>> device_facts().gpus  # on a CPU-only machine
        ()
    """
    gpus, caps = gpus_and_capabilities()
    return DeviceFacts(
        cpu_flags=cpu_flags(),
        gpus=tuple(GPUFacts(g.name, cc) for g, cc in zip(gpus, caps, strict=True)),
    )


def choose_precision(precision: str, facts: DeviceFacts | None = None) -> PrecisionChoice:
    """`resolve_precision` with its reason, for reports and `setup`.

    Args:
        precision: One of `PRECISIONS`.
        facts: The machine; None gathers `device_facts()` (only for ``"auto"``).

    Returns:
        A `PrecisionChoice` (policy, reason).

    Raises:
        ValueError: `precision` is not one of `PRECISIONS` (they are listed).
    """
    check_choice("precision", precision, PRECISIONS)
    if precision != "auto":
        return PrecisionChoice(precision, "requested")
    facts = device_facts() if facts is None else facts
    caps = [gpu.compute_capability for gpu in facts.gpus]
    if caps:
        if any(cc is None for cc in caps):
            return PrecisionChoice("float32", "a GPU of unknown compute capability: float32")
        slowest = min(cc for cc in caps if cc is not None)
        text = f"{slowest[0]}.{slowest[1]}"
        if slowest >= MIN_BFLOAT16_CAPABILITY:
            return PrecisionChoice(
                "mixed_bfloat16", f"every GPU has compute capability >= 8.0 (lowest {text})"
            )
        if slowest >= MIN_FLOAT16_CAPABILITY:
            return PrecisionChoice(
                "mixed_float16", f"every GPU has compute capability >= 7.0 (lowest {text})"
            )
        return PrecisionChoice(
            "float32", f"a GPU has compute capability {text} < 7.0: mixed precision is slower"
        )
    found = [flag for flag in BFLOAT16_CPU_FLAGS if flag in facts.cpu_flags]
    if found:
        return PrecisionChoice(
            "mixed_bfloat16", f"no GPU; the CPU computes bfloat16 in hardware ({', '.join(found)})"
        )
    return PrecisionChoice("float32", "no GPU, and the CPU has no bfloat16 arithmetic")


def resolve_precision(precision: str, facts: DeviceFacts | None = None) -> str:
    """The Keras dtype policy a `precision` setting means on a machine.

    The rule for ``"auto"`` (pure: it reads only `facts`):

    - with GPUs, the slowest one decides: compute capability >= 8.0 (Ampere and later,
      bfloat16 tensor cores) gives ``"mixed_bfloat16"``; 7.x (Volta, Turing: float16
      tensor cores, no fast bfloat16) ``"mixed_float16"``; below 7.0, or a GPU whose
      compute capability TensorFlow does not report, ``"float32"``;
    - without a GPU, a CPU with bfloat16 arithmetic in hardware (flag ``amx_bf16`` or
      ``avx512_bf16``) gives ``"mixed_bfloat16"``, any other ``"float32"`` (float16 is
      never chosen for a CPU: it is emulated there, slower than float32).

    The other values are returned unchanged: an explicit request is honoured as asked.

    Args:
        precision: ``"float32"``, ``"mixed_bfloat16"``, ``"mixed_float16"`` or ``"auto"``.
        facts: The machine (`DeviceFacts`); None gathers `device_facts()`, only when
            `precision` is ``"auto"``.

    Returns:
        The policy name: ``"float32"``, ``"mixed_bfloat16"`` or ``"mixed_float16"``.

    Raises:
        ValueError: `precision` is not one of `PRECISIONS` (they are listed).

    Example:
        >>> resolve_precision("auto", DeviceFacts(cpu_flags=frozenset({"amx_bf16"})))
        'mixed_bfloat16'
        >>> resolve_precision("auto", DeviceFacts(gpus=(GPUFacts("gpu:0", (7, 5)),)))
        'mixed_float16'
    """
    return choose_precision(precision, facts).policy


def _read_global_policy() -> Any:
    """The global dtype policy as Keras holds it: None when nobody has set one (Keras then
    follows `floatx`); reading `keras.config.dtype_policy()` would set it."""
    try:
        from keras.src.backend.common import global_state
    except ImportError:  # pragma: no cover - a Keras that moved its internals
        import keras

        return keras.config.dtype_policy()
    return global_state.get_global_attribute("dtype_policy")


def _write_global_policy(policy: Any) -> None:
    import keras

    if policy is not None:
        keras.config.set_dtype_policy(policy)
        return
    from keras.src.backend.common import global_state

    global_state.set_global_attribute("dtype_policy", None)


@contextlib.contextmanager
def precision_policy(precision: str, facts: DeviceFacts | None = None) -> Iterator[str]:
    """Sets Keras' global dtype policy for a block and restores the caller's on exit.

    Models built inside the block take the policy (a layer keeps the policy it was built
    with, and a `.keras` file records it), and `compile` wraps the optimizer in a
    `LossScaleOptimizer` under ``mixed_float16``; so build and compile inside. The caller's
    policy comes back on exit, exception or not, even if the block called
    `keras.backend.clear_session()` (which resets the policy to float32). Keras keeps its
    global state per thread: the policy holds in the calling thread only.

    Args:
        precision: One of `PRECISIONS`; ``"auto"`` resolves by `resolve_precision`.
        facts: The machine for ``"auto"`` (None: `device_facts()`).

    Yields:
        The policy name in force inside the block.

    Raises:
        ValueError: `precision` is not one of `PRECISIONS`, before anything changes.

    Example:
        >>> with precision_policy("mixed_bfloat16") as policy:
        ...     model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        >>> policy, model.layers[0].compute_dtype, keras.config.dtype_policy().name
        ('mixed_bfloat16', 'bfloat16', 'float32')
    """
    import keras

    policy = resolve_precision(precision, facts)  # raises before any change
    saved = _read_global_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield policy
    finally:
        _write_global_policy(saved)


def precision_notes(policy: str, facts: DeviceFacts) -> list[str]:
    """What an explicit `precision` request costs on this machine, when it is slow."""
    caps = [gpu.compute_capability for gpu in facts.gpus]
    if policy == "mixed_float16" and not caps:
        return ["mixed_float16 without a GPU: float16 is emulated on the CPU, slower than float32"]
    if policy == "mixed_bfloat16" and not caps:
        if not any(flag in facts.cpu_flags for flag in BFLOAT16_CPU_FLAGS):
            return ["mixed_bfloat16 on a CPU without bfloat16 arithmetic: likely slower"]
        return []
    need = MIN_BFLOAT16_CAPABILITY if policy == "mixed_bfloat16" else MIN_FLOAT16_CAPABILITY
    if policy != "float32" and caps and any(cc is None or cc < need for cc in caps):
        return [f"{policy} on a GPU without fast {policy[6:]} tensor cores: likely slower"]
    return []
