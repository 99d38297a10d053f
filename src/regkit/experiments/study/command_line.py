"""What the `regkit compare` command reads as text where Python takes objects.

- `parse_model_kwargs`: a model builder's keyword arguments, ``--model-kwargs
  depth=20,width=16`` (values read as TOML: numbers, booleans, strings, arrays);
- `pick_variants`: ``--variants baseline,ema`` with a study file, each name one of the
  file's ``[variants.NAME]`` tables or else a variant spec;
- `default_study_folder`: the study folder a command line without ``--out`` uses, named
  from the study's settings, so that the same command run again finds it (and reuses
  its finished runs).

Nothing here imports TensorFlow.

Example:
    >>> parse_model_kwargs("depth=20,width=16")
    {'depth': 20, 'width': 16}
    >>> parse_model_kwargs("filters=16,32,dense_units=[64],pooling=avg")
    {'filters': (16, 32), 'dense_units': (64,), 'pooling': 'avg'}
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from regkit.experiments.study.config import StudyConfig
from regkit.experiments.study.records import Variant, jsonable
from regkit.experiments.study.specs import folder_name, parse_spec, parse_variants

__all__ = [
    "MODEL_KWARGS_HELP",
    "STUDY_ROOT",
    "default_study_folder",
    "parse_model_kwargs",
    "pick_variants",
    "study_digest",
]

#: Where `default_study_folder` puts study folders (relative to the working folder).
STUDY_ROOT = "runs"
#: The settings besides `StudyConfig.invalidating()` that make a study another study:
#: they decide which variants run.
_VARIANT_SETTINGS = ("sweep", "tune")
#: How `--model-kwargs` reads its values, for its help and the docs.
MODEL_KWARGS_HELP = (
    "values read as TOML: 20, 0.5, true, 'avg' or avg, [16, 32]; a bare comma-separated "
    "run continues the key before it as a tuple: filters=16,32,dense_units=[64]"
)
_BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def _bad(text: str, why: str) -> ValueError:
    return ValueError(
        f"Invalid value for argument `model_kwargs`: expected KEY=VALUE,... such as "
        f"depth=20,width=16 ({why}). Received: model_kwargs={text!r}"
    )


def _split(text: str) -> list[str]:
    """`text` split at the commas outside brackets and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [part.strip() for part in parts]


def _tuples(value: Any) -> Any:
    """TOML arrays as tuples (builders take `filters=(16, 32)`), recursively."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def _value(text: str, item: str, whole: str) -> Any:
    """One value read as a TOML value; a bare word (``avg``) as a string."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    if not text:
        raise _bad(whole, f"{item!r} has no value")
    try:
        return _tuples(tomllib.loads(f"value = {text}")["value"])
    except (tomllib.TOMLDecodeError, RecursionError):
        if _BARE_WORD.fullmatch(text):
            return text
        raise _bad(whole, f"{text!r} in {item!r} is not a TOML value") from None


def parse_model_kwargs(text: str) -> dict[str, Any]:
    """Builder keyword arguments from ``KEY=VALUE,...`` text (`--model-kwargs`).

    Each value is read as a TOML value (``20`` an int, ``0.5`` a float, ``true`` a bool,
    ``"avg"`` or a bare word ``avg`` a string, ``[16, 32]`` a tuple); a comma-separated
    run without ``=`` continues the key before it as a tuple, so ``filters=16,32`` is
    ``filters=(16, 32)``. A one-element tuple needs brackets: ``dense_units=[64]``.

    Args:
        text: E.g. ``"depth=20,width=16"``.

    Returns:
        The keyword arguments, in the order given.

    Raises:
        ValueError: no ``KEY=VALUE`` pair, a key that is not a Python name or comes
            twice, or a value that does not parse; the message names it.

    Example:
        >>> parse_model_kwargs("filters=[8, 16],dense_units=[32]")
        {'filters': (8, 16), 'dense_units': (32,)}
    """
    out: dict[str, Any] = {}
    runs: dict[str, list[Any]] = {}  # keys continued by bare values: filters=16,32
    last: str | None = None
    for item in _split(text):
        if not item:
            continue
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep:
            if last is None:
                raise _bad(text, f"{item!r} comes before any KEY=")
            if last not in runs:
                if isinstance(out[last], tuple):
                    raise _bad(text, f"{item!r} follows the array given for {last!r}")
                runs[last] = [out[last]]
            runs[last].append(_value(item, item, text))
            out[last] = tuple(runs[last])
            continue
        if not key.isidentifier():
            raise _bad(text, f"{key!r} is not a keyword argument name")
        if key in out:
            raise _bad(text, f"{key!r} is given twice")
        out[key] = _value(raw.strip(), item, text)
        last = key
    if not out:
        raise _bad(text, "no KEY=VALUE pair")
    return out


def pick_variants(
    text: str, file_variants: Mapping[str, Variant], *, file: str | os.PathLike[str]
) -> dict[str, Variant]:
    """`--variants` with a study file: each comma-separated name picks one of the file's
    ``[variants.NAME]`` tables; an item that is no such name is read as a variant spec.

    Args:
        text: E.g. ``"baseline,ema"`` or ``"baseline,ema,l2=1e-3"``.
        file_variants: The study file's variants by name.
        file: The study file (for the message).

    Returns:
        The variants in the order given (the first is the reference).

    Raises:
        ValueError: an item that is neither a name of the file's variants nor a variant
            spec (the message lists the file's names), or a name given twice.

    Example:
        >>> league = {"baseline": Variant(), "wd": Variant("l2")}
        >>> list(pick_variants("wd,baseline,bn", league, file="league.toml"))
        ['wd', 'baseline', 'bn']
    """
    out: dict[str, Variant] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if item in file_variants:
            name, variant = item, file_variants[item]
        else:
            try:
                variant = parse_spec(item)
            except (TypeError, ValueError) as exc:
                names = ", ".join(file_variants)
                reason = str(exc).split("`: ", 1)[-1].rstrip(".")
                raise ValueError(
                    f"Invalid value for argument `variants`: {item!r} is neither a variant "
                    f"of {os.fspath(file)!r} ({names}) nor a variant spec ({reason}). "
                    f"Received: variants={text!r}"
                ) from None
            name = variant.label
        if name.lower() in (n.lower() for n in out):
            raise ValueError(
                f"Invalid value for argument `variants`: expected unique variant names. "
                f"Received: {name!r} twice"
            )
        out[name] = variant
    if not out:
        raise ValueError(
            f"Invalid value for argument `variants`: expected at least one variant. "
            f"Received: variants={text!r}"
        )
    return out


def study_digest(settings: Mapping[str, Any], variants: Any) -> str:
    """Eight hex digits that change with every setting that changes a run's figures
    (`StudyConfig.invalidating()`, as given), the sweep and tuning, and the variants'
    recipes; the seeds, the folder and progress output leave it alone.

    Example:
        >>> study_digest({"epochs": 15}, "baseline,all") == study_digest(
        ...     {"epochs": 15}, "baseline, all")
        True
    """
    chosen = parse_variants(variants) if isinstance(variants, str) else dict(variants or {})
    recipes = {
        str(name): variant.to_dict() if isinstance(variant, Variant) else variant
        for name, variant in chosen.items()
    }
    keys = (*StudyConfig.invalidating(), *_VARIANT_SETTINGS)
    given = {key: settings.get(key) for key in keys if settings.get(key) is not None}
    text = json.dumps(jsonable({"settings": given, "variants": recipes}), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def _slug(value: Any, width: int = 32) -> str:
    """A setting as part of a folder name: an image folder by its own name, other text
    with odd characters replaced (``imagenette/160px`` -> ``imagenette_160px``)."""
    text = str(value).strip()
    if os.path.isdir(text):
        text = Path(text).resolve().name
    return folder_name(text.strip("/"))[:width].strip("._-") or "study"


def default_study_folder(
    settings: Mapping[str, Any], variants: Any, *, root: str | os.PathLike[str] = STUDY_ROOT
) -> Path:
    """The study folder for a command line without ``--out``:
    ``runs/<dataset>-<model>-<study_digest>``, the same for the same study, so running
    the same command again reuses its finished runs and resumes the interrupted one.

    Args:
        settings: compare's keyword arguments as the command line gives them.
        variants: The variant specs (text) or the variants by name.
        root: The folder that holds study folders.

    Returns:
        The folder (relative to the working folder when `root` is).

    Example:
        >>> folder = default_study_folder({"dataset": "digits", "model": "cnn"}, "baseline,all")
        >>> folder.parent.name, folder.name.startswith("digits-cnn-"), len(folder.name)
        ('runs', True, 19)
    """
    dataset = _slug(settings.get("dataset") or "data")
    model = _slug(settings.get("model") or "model")
    return Path(root) / f"{dataset}-{model}-{study_digest(settings, variants)}"
