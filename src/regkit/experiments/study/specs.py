"""Studies as data: variant specs, sweeps of a strength, and study files.

One grammar names a variant everywhere (`regkit compare --variants`, `compare("...")`,
study files): items are separated by `,`; an item is ``[label:]part(+part)*``, where a
part is a preset name (`baseline`, `l2`, `bn`, `bn+l2`, `dropout`, `all`) or
``field=value`` (a `Regularization` field, `learning_rate`, `optimizer`, `augment` (an
augmentation preset, e.g. ``augment=mixup``) or an `Augment` field such as ``mixup=0.2`` or
``random_erasing=0.5``, applied over the variant's or else the study's augmentation).
Parts apply left to right: a preset sets the fields it sets (so `bn+dropout` has
BatchNorm and dropout), a ``field=value`` sets one field. An exact preset name wins, so
`bn+l2` is the preset. The label (the variant's name and folder) is the given one, else
the item as written.

    baseline,l2=1e-3,bn+l2=1e-4,wide:bn+dropout=0.3

A sweep (``{"l2": [1e-4, 1e-3]}``, CLI ``--sweep l2=1e-4,1e-3``) crosses every base
variant with each value; a study file is TOML whose top-level keys are `compare`'s
arguments and whose ``[variants.NAME]`` tables hold ``preset = "..."`` and/or fields.

Everything here is pure Python: it returns plain data (`records.Variant`, `StudyFile`)
that `regkit.experiments.run.plan` checks, and raises `ValueError` naming the item,
field or key at fault, before anything is trained.

Example:
    >>> specs = parse_variants("baseline,l2=1e-3,wide:bn+dropout=0.3")
    >>> list(specs)
    ['baseline', 'l2=1e-3', 'wide']
    >>> specs["wide"].reg.describe()
    'bn, dropout=0.3, head_bn'
    >>> list(expand_sweep(parse_variants("bn"), {"l2": [1e-4, 1e-3]}))
    ['bn-l2=0.0001', 'bn-l2=0.001']
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from regkit._checks import check_folder_name
from regkit._io import read_regular_text
from regkit.config import PRESETS, Regularization
from regkit.experiments.study.config import StudyConfig
from regkit.experiments.study.file_values import checked_setting
from regkit.experiments.study.records import AUGMENT_FIELD_TYPES, Variant, coerce_augment

__all__ = [
    "CHECKPOINT_NAME",
    "FIELD_TYPES",
    "REPORT_FILES",
    "RESERVED_NAMES",
    "STUDY_KEYS",
    "StudyFile",
    "expand_sweep",
    "folder_name",
    "format_value",
    "load_study",
    "parse_spec",
    "parse_sweep",
    "parse_value",
    "parse_variants",
    "spec_from_table",
]

#: What a ``field=value`` part may set, and the type its value is parsed as.
FIELD_TYPES: dict[str, type] = {
    **{
        f.name: bool if f.type in ("bool", bool) else float
        for f in dataclasses.fields(Regularization)
    },
    "learning_rate": float,
    "optimizer": str,
    "augment": str,
    **AUGMENT_FIELD_TYPES,
}
#: The parts that are not `Regularization` fields.
_OVERRIDES = ("learning_rate", "optimizer", "augment", *AUGMENT_FIELD_TYPES)

#: The best-only checkpoint's file name inside a run folder (`<variant>/seed<k>/`).
CHECKPOINT_NAME = "best.weights.h5"

#: The files regkit writes at the top of a study folder (the report and its plots).
REPORT_FILES: tuple[str, ...] = (
    "report.json",
    "report.md",
    "curves.png",
    "weight_norms.png",
    "differences.png",
    "sweep.png",
    "tuning.png",
)
#: Names a study folder uses for its own files: no variant may be called so.
RESERVED_NAMES: tuple[str, ...] = (*REPORT_FILES, "study.toml")

#: Top-level keys of a study file: `compare`'s arguments that a file can hold.
STUDY_KEYS: tuple[str, ...] = ("variants", *StudyConfig.file_keys())
#: Command-line option names a study file may use for `compare`'s argument names.
_KEY_ALIASES = {"out": "out_dir"}

#: The largest study file read.
MAX_STUDY_BYTES = 1 << 20

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class StudyFile(NamedTuple):
    """A study file, read: `compare`'s arguments, its variants and sweep, and its text.

    Attributes:
        path: Where the file was read from.
        text: The file's content (the report records it).
        settings: `compare`'s arguments other than `variants` and `sweep`, by their
            Python names (`out` becomes `out_dir`).
        variants: The variants, or None when the file names none.
        sweep: The sweep, or None.
    """

    path: Path
    text: str
    settings: dict[str, Any]
    variants: dict[str, Variant] | None
    sweep: dict[str, tuple[Any, ...]] | None

    def arguments(self) -> dict[str, Any]:
        """`compare`'s keyword arguments, so that `compare(**study.arguments())` runs it.

        `bn_momentum = "keep"` (the command line's word for None) becomes None.
        """
        out = dict(self.settings)
        if isinstance(out.get("bn_momentum"), str) and out["bn_momentum"].lower() == "keep":
            out["bn_momentum"] = None
        if self.variants is not None:
            out["variants"] = dict(self.variants)
        if self.sweep:
            out["sweep"] = {field: list(values) for field, values in self.sweep.items()}
        return out


# ---------------------------------------------------------------------------- values
def format_value(value: Any) -> str:
    """A value as it appears in labels: ``0.001``, ``1e-05``, ``true``, ``sgd``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def parse_value(field: str, value: Any, *, arg: str = "variants", where: str = "") -> Any:
    """Parses `value` (text from a spec, or a number/bool from TOML or Python) for `field`.

    Args:
        field: A key of `FIELD_TYPES`.
        value: ``"1e-3"``, ``"true"``, ``0.001``, ``True``, ``"sgd"``.
        arg: The argument named in errors.
        where: The spec or key the value came from, for errors.

    Returns:
        A bool, float or str by the field's type (range checks are `Regularization`'s).

    Raises:
        ValueError: `field` is unknown or `value` does not parse as its type.
    """
    kind = _field_type(field, arg=arg, where=where)
    context = f" in {where}" if where else ""
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower() if isinstance(value, str) else None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(
            f"Invalid value for argument `{arg}`: `{field}`{context} expects true or false. "
            f"Received: {field}={value!r}"
        )
    if kind is float:
        number: float | None = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = None
        if number is None or not math.isfinite(number):
            raise ValueError(
                f"Invalid value for argument `{arg}`: `{field}`{context} expects a finite "
                f"number. Received: {field}={value!r}"
            )
        return number
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f"Invalid value for argument `{arg}`: `{field}`{context} expects a name. "
            f"Received: {field}={value!r}"
        )
    return value.strip()


def _field_type(field: str, *, arg: str, where: str) -> type:
    if field not in FIELD_TYPES:
        context = f" in {where}" if where else ""
        raise ValueError(
            f"Invalid value for argument `{arg}`: unknown field {field!r}{context}. "
            f"Fields: {', '.join(FIELD_TYPES)}; presets: {', '.join(PRESETS)}"
        )
    return FIELD_TYPES[field]


# ---------------------------------------------------------------------------- specs
def _check_label(label: str, arg: str) -> str:
    check_folder_name(arg, label, reserved=RESERVED_NAMES)
    return label


def _build(label: str, fields: Mapping[str, Any], spec: str, arg: str, where: str) -> Variant:
    """Validates the collected fields as a `Regularization`, augmentation and overrides."""
    reg_fields = {k: v for k, v in fields.items() if k not in _OVERRIDES}
    aug_fields = {k: v for k, v in fields.items() if k in AUGMENT_FIELD_TYPES}
    try:
        reg = Regularization(**reg_fields)
        augment = coerce_augment(fields.get("augment"))
        if aug_fields:
            augment = coerce_augment({**(augment or {}), **aug_fields})
    except (TypeError, ValueError) as exc:
        detail = str(exc).replace("Invalid value for argument ", "invalid value for ", 1)
        raise ValueError(f"Invalid value for argument `{arg}`: {where}: {detail}") from None
    learning_rate = fields.get("learning_rate")
    if learning_rate is not None and not learning_rate > 0:
        raise ValueError(
            f"Invalid value for argument `{arg}`: {where}: invalid value for `learning_rate`: "
            f"expected a finite float > 0. Received: learning_rate={learning_rate!r}"
        )
    return Variant(
        reg=reg,
        learning_rate=learning_rate,
        optimizer=fields.get("optimizer"),
        augment=augment,
        label=label,
        spec=spec,
    )


def _apply_preset(fields: dict[str, Any], name: str) -> None:
    """Sets the fields preset `name` sets (those that differ from the defaults)."""
    default = Regularization()
    preset = PRESETS[name]
    for f in dataclasses.fields(Regularization):
        value = getattr(preset, f.name)
        if value != getattr(default, f.name):
            fields[f.name] = value


def _parse_body(body: str, *, arg: str, where: str) -> tuple[dict[str, Any], str]:
    """The fields a spec body sets, and the body in canonical form."""
    text = body.strip()
    if not text:
        raise ValueError(
            f"Invalid value for argument `{arg}`: empty variant spec{where and ' in ' + where}. "
            f"Expected a preset ({', '.join(PRESETS)}) or field=value parts joined by '+'"
        )
    fields: dict[str, Any] = {}
    if text.lower() in PRESETS:  # an exact preset name wins (`bn+l2`)
        _apply_preset(fields, text.lower())
        return fields, text.lower()
    canonical: list[str] = []
    for raw in text.split("+"):
        part = raw.strip()
        if not part:
            raise ValueError(
                f"Invalid value for argument `{arg}`: empty part in variant spec {text!r}. "
                "Expected presets and field=value parts joined by '+'"
            )
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if not sep:
            if name not in PRESETS:
                raise ValueError(
                    f"Invalid value for argument `{arg}`: unknown variant {part!r}"
                    f"{' in ' + repr(text) if part != text else ''}. Expected a preset "
                    f"({', '.join(PRESETS)}) or field=value with a field from: "
                    f"{', '.join(FIELD_TYPES)}"
                )
            _apply_preset(fields, name)
            canonical.append(name)
            continue
        fields[name] = parse_value(name, value, arg=arg, where=repr(text))
        canonical.append(f"{name}={value.strip()}")
    return fields, "+".join(canonical)


def parse_spec(text: str, *, label: str | None = None, arg: str = "variants") -> Variant:
    """Parses one variant spec, ``[label:]part(+part)*``.

    Args:
        text: E.g. ``"bn+l2=1e-4"`` or ``"wide:bn+dropout=0.3"``.
        label: The label to use when `text` gives none (e.g. a mapping's key); by
            default the spec itself.
        arg: The argument named in errors.

    Returns:
        A `Variant`.

    Raises:
        ValueError: an unknown preset or field, a value that does not parse or is out of
            range, or a label that is not a safe folder name; the message names it.
        TypeError: `text` is not a str.

    Example:
        >>> parse_spec("strong:bn+l2=1e-3").reg.describe()
        'l2=0.001, bn, head_bn'
    """
    if not isinstance(text, str):
        raise TypeError(
            f"Invalid type for argument `{arg}`: expected a variant spec (str). "
            f"Received: {text!r} of type {type(text).__name__}"
        )
    given, colon, body = text.partition(":")
    if colon:
        given = given.strip()
        if not given:
            raise ValueError(
                f"Invalid value for argument `{arg}`: empty label in variant spec {text!r}"
            )
    else:
        given, body = "", text
    fields, canonical = _parse_body(body, arg=arg, where=repr(text.strip()))
    name = _check_label(given or label or canonical, arg)
    return _build(name, fields, canonical, arg, f"variant {name!r}")


def parse_variants(
    variants: str | Sequence[str] | Mapping[str, str], *, arg: str = "variants"
) -> dict[str, Variant]:
    """Parses a comma-separated spec string, a sequence of specs, or labels -> specs.

    Args:
        variants: ``"baseline,l2=1e-3"``, ``["baseline", "l2=1e-3"]`` or
            ``{"weak": "l2=1e-4", "strong": "l2=1e-3"}``.
        arg: The argument named in errors.

    Returns:
        Labels mapped to `Variant`s, in the order given (the first is the reference).

    Raises:
        ValueError: no variant, a bad spec, or two variants with the same label.
        TypeError: an entry is not a str.
    """
    items: list[tuple[str | None, Any]]
    if isinstance(variants, str):
        items = [(None, part) for part in variants.split(",") if part.strip()]
    elif isinstance(variants, Mapping):
        items = [(str(k), v) for k, v in variants.items()]
    elif isinstance(variants, Iterable):
        items = []
        for entry in variants:
            if isinstance(entry, str) and "," in entry:
                items.extend((None, part) for part in entry.split(",") if part.strip())
            else:
                items.append((None, entry))
    else:
        raise TypeError(
            f"Invalid type for argument `{arg}`: expected variant specs (a str, a sequence "
            f"or a mapping). Received: {arg}={variants!r} of type {type(variants).__name__}"
        )
    if not items:
        raise ValueError(
            f"Invalid value for argument `{arg}`: expected at least one variant. "
            f"Received: {arg}={variants!r}. Presets: {', '.join(PRESETS)}"
        )
    out: dict[str, Variant] = {}
    for label, text in items:
        spec = parse_spec(text, label=label, arg=arg)
        _add(out, spec, arg)
    return out


def _add(out: dict[str, Variant], spec: Variant, arg: str) -> None:
    folded = {name.lower(): name for name in out}
    if spec.label.lower() in folded:
        raise ValueError(
            f"Invalid value for argument `{arg}`: expected unique variant names (folders "
            f"differ by more than case). Received: {spec.label!r} twice"
        )
    out[spec.label] = spec


def spec_from_table(
    name: str, table: Mapping[str, Any], *, arg: str = "variants", where: str = ""
) -> Variant:
    """A variant from a table: ``{"preset": "bn", "dropout": 0.3, "learning_rate": 1e-3}``.

    `preset` (optional) may be any spec body (``"bn+l2=1e-4"``); the other keys are fields,
    applied after it.

    Args:
        name: The variant's label.
        table: The table (a study file's ``[variants.NAME]``).
        arg: The argument named in errors.
        where: Where the table is, for errors (e.g. ``"study.toml [variants.wide]"``).

    Returns:
        A `Variant`.

    Raises:
        ValueError: an unknown key, a bad value or label; the message names it.
    """
    where = where or f"variant {name!r}"
    if not isinstance(table, Mapping):
        raise ValueError(
            f"Invalid value for argument `{arg}`: {where}: expected a table of `preset` "
            f"and fields. Received: {table!r}"
        )
    fields: dict[str, Any] = {}
    canonical: list[str] = []
    if "preset" in table:
        body = table["preset"]
        if not isinstance(body, str):
            raise ValueError(
                f"Invalid value for argument `{arg}`: {where}: `preset` expects a preset "
                f"name or spec (str). Received: preset={body!r}"
            )
        fields, text = _parse_body(body, arg=arg, where=where)
        canonical.append(text)
    for key, value in table.items():
        if key == "preset":
            continue
        if key not in FIELD_TYPES:
            raise ValueError(
                f"Invalid value for argument `{arg}`: {where}: unknown key {key!r}. "
                f"Expected `preset` or a field: {', '.join(FIELD_TYPES)}"
            )
        fields[key] = parse_value(key, value, arg=arg, where=where)
        canonical.append(f"{key}={format_value(fields[key])}")
    label = _check_label(name, arg)
    return _build(label, fields, "+".join(canonical) or "baseline", arg, where)


# ---------------------------------------------------------------------------- sweeps
def parse_sweep(text: str, *, arg: str = "sweep") -> tuple[str, tuple[Any, ...]]:
    """Parses the command line's ``FIELD=V1,V2,...``.

    Returns:
        The field and its parsed values.

    Raises:
        ValueError: no ``=``, an unknown field, no value or a value that does not parse.

    Example:
        >>> parse_sweep("l2=0,1e-4,1e-3")
        ('l2', (0.0, 0.0001, 0.001))
    """
    field, sep, values = str(text).partition("=")
    field = field.strip().lower()
    if not sep or not field:
        raise ValueError(
            f"Invalid value for argument `{arg}`: expected FIELD=V1,V2,... "
            f"(e.g. l2=1e-4,1e-3). Received: {arg}={text!r}"
        )
    swept = coerce_sweep({field: [v for v in values.split(",") if v.strip()]}, arg=arg)
    return field, swept[field]


def coerce_sweep(
    sweep: Mapping[str, Sequence[Any] | Any] | None, *, arg: str = "sweep"
) -> dict[str, tuple[Any, ...]]:
    """Checks and parses a sweep, ``{field: [values]}``; values parse by the field's type.

    Raises:
        ValueError: an unknown field, an empty or repeated value list, a bad value.
        TypeError: `sweep` is not a mapping.
    """
    if sweep is None:
        return {}
    if not isinstance(sweep, Mapping):
        raise TypeError(
            f"Invalid type for argument `{arg}`: expected a mapping of fields to lists of "
            f"values, e.g. {{'l2': [1e-4, 1e-3]}}. Received: {arg}={sweep!r}"
        )
    out: dict[str, tuple[Any, ...]] = {}
    for field, values in sweep.items():
        if not isinstance(field, str):
            raise TypeError(
                f"Invalid type for argument `{arg}`: field names are str. Received: {field!r}"
            )
        key = field.strip().lower()
        _field_type(key, arg=arg, where="")
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            values = [values]
        parsed = tuple(parse_value(key, v, arg=arg, where=f"{arg}[{key!r}]") for v in values)
        if not parsed:
            raise ValueError(
                f"Invalid value for argument `{arg}`: expected at least one value for "
                f"{key!r}. Received: {arg}={dict(sweep)!r}"
            )
        if len(set(parsed)) != len(parsed):
            raise ValueError(
                f"Invalid value for argument `{arg}`: a value for {key!r} is repeated. "
                f"Received: {key}={list(values)!r}"
            )
        out[key] = parsed
    return out


def expand_sweep(
    bases: Mapping[str, Variant],
    sweep: Mapping[str, Sequence[Any]] | None,
    *,
    arg: str = "sweep",
) -> dict[str, Variant]:
    """Crosses every base variant with every value of every swept field.

    Labels are ``{base}-{field}={value}`` (e.g. ``all-l2=0.001``); each swept variant
    records its `base` and the `swept` pairs, for the sweep plot and table.

    Args:
        bases: The base variants, e.g. from `parse_variants`.
        sweep: ``{field: [values]}``; None or empty returns `bases` unchanged.
        arg: The argument named in errors.

    Returns:
        The crossed variants, base by base, values in the order given.

    Raises:
        ValueError: a bad field or value, or a combination that is out of range.
    """
    fields = coerce_sweep(sweep, arg=arg)
    if not fields:
        return dict(bases)
    out: dict[str, Variant] = {}
    for base in bases.values():
        for combo in itertools.product(*fields.values()):
            pairs = tuple(zip(fields, combo, strict=True))
            suffix = "-".join(f"{f}={format_value(v)}" for f, v in pairs)
            label = f"{base.label}-{suffix}"
            values: dict[str, Any] = {
                **base.reg.to_dict(),
                "learning_rate": base.learning_rate,
                "optimizer": base.optimizer,
                "augment": base.augment,
            }
            values.update(pairs)
            if values["learning_rate"] is None:
                values.pop("learning_rate")
            if values["optimizer"] is None:
                values.pop("optimizer")
            if values["augment"] is None:
                values.pop("augment")
            spec = _build(
                _check_label(label, arg),
                values,
                f"{base.spec}+{'+'.join(f'{f}={format_value(v)}' for f, v in pairs)}",
                arg,
                f"variant {label!r}",
            )
            _add(out, spec.replace(base=base.label, swept=pairs), arg)
    return out


# ---------------------------------------------------------------------------- study files
def _load_toml(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(str(exc)) from None
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise ValueError("it nests arrays or tables deeper than Python can read") from None


def load_study(
    path: str | os.PathLike[str], *, keys: Iterable[str] = STUDY_KEYS, arg: str = "config"
) -> StudyFile:
    """Reads a study file (TOML).

    Top-level keys are `compare`'s arguments (`out` may stand for `out_dir`); `variants`
    is a spec string, a list of specs, or ``[variants.NAME]`` tables with `preset` and/or
    fields; `sweep` is a table of lists (``[sweep]`` then ``l2 = [1e-4, 1e-3]``).

        seeds = [0, 1, 2]
        epochs = 10
        [variants.baseline]
        [variants.wide]
        preset = "bn"
        dropout = 0.3
        [sweep]
        l2 = [1e-4, 1e-3]

    Args:
        path: The file.
        keys: The top-level keys allowed (defaults to `STUDY_KEYS`).
        arg: The argument named in errors.

    Returns:
        A `StudyFile`; `settings` holds the other arguments as written (`compare` checks them).

    Raises:
        ValueError: the file cannot be read, is not valid TOML, has an unknown key or a bad
            variant or sweep; the message names the file and the key.
    """
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"Invalid type for argument `{arg}`: expected a study file's path (str or "
            f"os.PathLike). Received: {arg}={path!r} of type {type(path).__name__}"
        )
    file = Path(path)
    try:  # a regular file of bounded size: a FIFO or /dev/zero is refused, never read
        text = read_regular_text(file, max_bytes=MAX_STUDY_BYTES, what="study file")
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValueError(
            f"Invalid value for argument `{arg}`: cannot read study file {str(file)!r}: {reason}"
        ) from None
    try:
        data = _load_toml(text)
    except ValueError as exc:
        raise ValueError(
            f"Invalid value for argument `{arg}`: study file {str(file)!r} is not valid TOML: {exc}"
        ) from None
    allowed = set(keys)
    settings: dict[str, Any] = {}
    for key, value in data.items():
        name = _KEY_ALIASES.get(key, key)
        if name not in allowed:
            raise ValueError(
                f"Invalid value for argument `{arg}`: study file {str(file)!r} has an unknown "
                f"key {key!r}. Expected keys: {', '.join(sorted(allowed))}"
            )
        if name in settings:
            raise ValueError(
                f"Invalid value for argument `{arg}`: study file {str(file)!r} sets "
                f"{name!r} twice (as {key!r})"
            )
        settings[name] = checked_setting(name, value, file, arg)
    variants = None
    if "variants" in settings:
        variants = _study_variants(settings.pop("variants"), file, arg)
    sweep = None
    if "sweep" in settings:
        raw = settings.pop("sweep")
        if not isinstance(raw, Mapping):
            raise ValueError(
                f"Invalid value for argument `{arg}`: study file {str(file)!r}: `sweep` "
                f"expects a table of lists, e.g. [sweep] l2 = [1e-4, 1e-3]. Received: {raw!r}"
            )
        try:
            sweep = coerce_sweep(raw, arg="sweep")
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"Invalid value for argument `{arg}`: study file {str(file)!r}: {exc}"
            ) from None
    return StudyFile(path=file, text=text, settings=settings, variants=variants, sweep=sweep)


def _study_variants(value: Any, file: Path, arg: str) -> dict[str, Variant]:
    try:
        if isinstance(value, Mapping):
            out: dict[str, Variant] = {}
            for name, table in value.items():
                where = f"[variants.{name}]"
                _add(out, spec_from_table(name, table, arg="variants", where=where), "variants")
            if not out:
                raise ValueError(
                    "Invalid value for argument `variants`: expected at least one variant"
                )
            return out
        if isinstance(value, (str, list)):
            return parse_variants(value)
        raise ValueError(
            "Invalid value for argument `variants`: expected a spec string, a list of specs or "
            f"[variants.NAME] tables. Received: variants={value!r}"
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"Invalid value for argument `{arg}`: study file {str(file)!r}: {exc}"
        ) from None


def folder_name(name: str) -> str:
    """A variant name as a folder name (odd characters replaced by `_`)."""
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", name) or "variant"
