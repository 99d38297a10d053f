"""Generates docs/api.md, regkit's API reference, from the docstrings.

    python tools/gen_api_docs.py            # write docs/api.md
    python tools/gen_api_docs.py --check    # exit 1 when docs/api.md is out of date

Every public module is documented in a fixed order: its docstring, then each name in its
`__all__` with the signature and the Google-style docstring (Args / Returns / Raises /
Example sections become lists and code blocks). Classes list their own public methods and
properties that carry a docstring. The output depends only on the source, so `--check` can
run in CI.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import importlib
import inspect
import os
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "api.md"

#: (module, title) in reading order: configuration -> models -> training -> data -> tools.
MODULES: tuple[tuple[str, str], ...] = (
    ("regkit.config", "Regularization"),
    ("regkit.layers", "Layers"),
    ("regkit.introspect", "Reading built models"),
    ("regkit.regularization", "Regularizers, weight-decay exclusion and loading"),
    ("regkit.blocks", "Building blocks"),
    ("regkit.models", "Model builders"),
    ("regkit.training", "Compiling"),
    ("regkit.data", "Data"),
    ("regkit.callbacks", "Callbacks"),
    ("regkit.plots", "Plots"),
    ("regkit.device", "Devices"),
    ("regkit.experiments", "Comparisons"),
    ("regkit.experiments.study.specs", "Variant specs, sweeps and study files"),
    ("regkit.experiments.report.stats", "Statistics over seeds"),
    ("regkit.experiments.report.collapse", "Verdicts on a run"),
    ("regkit.cli", "Command line"),
)

_SECTION = re.compile(
    r"^(Args|Arguments|Attributes|Returns|Yields|Raises|Example|Examples|Note|Notes|Warning)"
    r":\s*$"
)
_ITEM = re.compile(r"^(\*{0,2}[A-Za-z_][\w.]*(?:\s*\([^)]*\))?):\s*(.*)$")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _own_doc(obj: Any) -> str:
    doc = obj.__doc__ if isinstance(getattr(obj, "__doc__", None), str) else None
    return inspect.cleandoc(doc) if doc else ""


def _items(lines: list[str]) -> list[str]:
    """`name: text` entries (continuation lines indented further) -> markdown bullets."""
    out: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        match = _ITEM.match(stripped)
        if match and (indent == 0 or not out):
            name, text = match.groups()
            out.append(f"- `{name}`: {text}".rstrip())
        elif out:
            out[-1] += " " + stripped
        else:
            out.append(f"- {stripped}")
    return out


def render_docstring(doc: str) -> str:
    """A Google-style docstring as markdown."""
    if not doc:
        return "*(No docstring.)*"
    lines = doc.splitlines()
    blocks: list[tuple[str, list[str]]] = [("", [])]
    for line in lines:
        match = _SECTION.match(line)
        if match:
            blocks.append((match.group(1), []))
        else:
            blocks[-1][1].append(line)
    out: list[str] = []
    for section, body in blocks:
        body = inspect.cleandoc("\n".join(body)).splitlines() if any(body) else []
        if not section:
            if body:
                out.append("\n".join(body))
            continue
        if not body:
            continue
        if section in ("Args", "Arguments", "Attributes", "Raises"):
            label = {"Arguments": "Args"}.get(section, section)
            out.append(f"**{label}:**\n\n" + "\n".join(_items(body)))
        elif section in ("Example", "Examples"):
            out.append("**Example:**\n\n```python\n" + "\n".join(body).rstrip() + "\n```")
        else:
            out.append(f"**{section}:**\n\n" + "\n".join(body))
    return "\n\n".join(out)


def _annotation(ann: Any) -> str:
    return ann if isinstance(ann, str) else inspect.formatannotation(ann)


def _parameters(sig: inspect.Signature, *, drop_first: bool) -> list[str]:
    """Parameters as source-like strings, with `*` and `/` markers and unquoted annotations."""
    params = list(sig.parameters.values())
    if drop_first and params and params[0].name in ("self", "cls"):
        params = params[1:]
    out: list[str] = []
    star_done = False
    for index, p in enumerate(params):
        if p.kind is p.KEYWORD_ONLY and not star_done:
            out.append("*")
            star_done = True
        if p.kind is p.VAR_POSITIONAL:
            star_done = True
        text = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
        if p.annotation is not p.empty:
            text += f": {_annotation(p.annotation)}"
        if p.default is not p.empty:
            text += f" = {_ADDRESS.sub('', repr(p.default))}"
        out.append(text)
        is_last_positional_only = p.kind is p.POSITIONAL_ONLY and (
            index + 1 == len(params) or params[index + 1].kind is not p.POSITIONAL_ONLY
        )
        if is_last_positional_only:
            out.append("/")
    return out


def _signature(name: str, obj: Any, *, method: bool = False) -> str | None:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    params = _parameters(sig, drop_first=method)
    ret = ""
    if sig.return_annotation is not inspect.Signature.empty and not inspect.isclass(obj):
        ret = f" -> {_annotation(sig.return_annotation)}"
    one_line = f"{name}({', '.join(params)}){ret}"
    if len(one_line) <= 92:
        return one_line
    return f"{name}(\n" + "".join(f"    {p},\n" for p in params) + f"){ret}"


def _members(cls: type) -> list[tuple[str, Any]]:
    """Own public methods/properties/classmethods of `cls` that carry a docstring."""
    out = []
    for attr, value in vars(cls).items():
        if attr.startswith("_"):
            continue
        func = value
        if isinstance(value, (classmethod, staticmethod)):
            func = value.__func__
        if isinstance(value, property):
            if value.fget is not None and _own_doc(value.fget):
                out.append((attr, value))
            continue
        if callable(func) and _own_doc(func):
            out.append((attr, value))
    return out


def _document_object(qualname: str, obj: Any) -> list[str]:
    out = [f"### {qualname}", ""]
    if inspect.isclass(obj) or callable(obj):
        sig = _signature(qualname.rsplit(".", 1)[-1], obj)
        kind = "class " if inspect.isclass(obj) else ""
        if sig:
            out += ["```python", f"{kind}{sig}", "```", ""]
        out += [render_docstring(_own_doc(obj)), ""]
        if inspect.isclass(obj):
            if dataclasses.is_dataclass(obj):
                fields = ", ".join(f"`{f.name}`" for f in dataclasses.fields(obj))
                out += [f"Fields: {fields}.", ""]
            for attr, value in _members(obj):
                if isinstance(value, property):
                    out += [f"#### {qualname}.{attr} (property)", ""]
                    out += [render_docstring(_own_doc(value.fget)), ""]
                    continue
                func = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
                prefix = "classmethod " if isinstance(value, classmethod) else ""
                prefix = "staticmethod " if isinstance(value, staticmethod) else prefix
                out += [f"#### {qualname}.{attr}", ""]
                sig = _signature(attr, func, method=not isinstance(value, staticmethod))
                if sig:
                    out += ["```python", f"{prefix}{sig}", "```", ""]
                out += [render_docstring(_own_doc(func)), ""]
        return out
    if isinstance(obj, dict):
        text = "{" + ", ".join(f"{k!r}: ..." for k in obj) + "}"
    else:
        text = _ADDRESS.sub("", repr(obj))
    if len(text) > 300:
        text = text[:297] + "..."
    out += ["```python", f"{qualname.rsplit('.', 1)[-1]} = {text}", "```", ""]
    return out


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9_ -]", "", text.lower()).replace(" ", "-")


def render() -> str:
    """The whole reference as markdown."""
    import regkit

    out = [
        "# API reference",
        "",
        "<!-- Generated by tools/gen_api_docs.py from the docstrings: edit those, then run "
        "`python tools/gen_api_docs.py`. -->",
        "",
        f"regkit {regkit.__version__}. The top-level names (`from regkit import ...`):",
        "",
    ]
    homes: dict[str, str] = {}
    for module_name, _ in MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            homes.setdefault(name, module_name)
    for name in regkit.__all__:
        if name.startswith("__"):
            out.append(f"- `regkit.{name}`: the package version, `{regkit.__version__}`.")
        elif f"regkit.{name}" in dict(MODULES):
            title = dict(MODULES)[f"regkit.{name}"]
            heading = f"regkit.{name}: {title}"
            out.append(f"- [`regkit.{name}`](#{_anchor(heading)}) (module)")
        elif name in homes:
            out.append(f"- [`regkit.{name}`](#{_anchor(homes[name] + '.' + name)})")
        else:
            out.append(f"- `regkit.{name}`")
    out += ["", "Modules:", ""]
    for module_name, title in MODULES:
        out.append(f"- [{module_name}](#{_anchor(f'{module_name}: {title}')}): {title}")
    out.append("")

    for module_name, title in MODULES:
        module = importlib.import_module(module_name)
        out += [f"## {module_name}: {title}", ""]
        doc = _own_doc(module)
        if doc:
            out += [doc, ""]
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            out += _document_object(f"{module_name}.{name}", obj)
    text = "\n".join(out)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate docs/api.md from the docstrings.")
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/api.md is stale")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="default: docs/api.md")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current == text:
            print(f"{args.output} is up to date")
            return 0
        diff = difflib.unified_diff(
            current.splitlines(), text.splitlines(), "committed", "generated", lineterm="", n=1
        )
        print("\n".join(list(diff)[:60]))
        print(f"{args.output} is out of date: run `python tools/gen_api_docs.py`", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
