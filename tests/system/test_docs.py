"""Every python code block in README.md and docs/*.md runs (docs/api.md, mkdocstrings
directives over the docstrings, aside), in a fresh namespace and an empty working folder.

A block may be skipped only for a reason written in its fence, e.g.
```` ```python skip: downloads CIFAR-10 ````, and moved to the slow tier (`make test-slow`)
the same way, ```` ```python slow: trains three ResNets ````. Blocks that train run in the
default tier otherwise (about a minute together, on digits), and each asserts what its text
claims (`CLAIMS`): a docs example that stays at chance accuracy fails here, not in a
user's notebook.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "api.md")]
TRAINS = re.compile(r"\.fit\(|\bcompare\(")
FENCE = re.compile(r"^```python([^\n]*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)


class Block(NamedTuple):
    file: str
    index: int  # 1-based, among the file's python blocks
    line: int
    info: str
    source: str

    @property
    def id(self) -> str:
        return f"{self.file}#{self.index}"

    @property
    def skip_reason(self) -> str | None:
        return self._reason("skip")

    @property
    def slow_reason(self) -> str | None:
        return self._reason("slow")

    def _reason(self, word: str) -> str | None:
        info = self.info.strip()
        if not info.startswith(word):
            return None
        return info.removeprefix(word).lstrip(":= ").strip() or None


def _blocks() -> list[Block]:
    out = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for index, match in enumerate(FENCE.finditer(text), start=1):
            line = text.count("\n", 0, match.start()) + 1
            out.append(Block(path.name, index, line, match.group(1), match.group(2)))
    return out


BLOCKS = _blocks()


def _run(block: Block) -> tuple[dict[str, Any], str]:
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    out = io.StringIO()
    code = compile(block.source, f"{block.file}:{block.line}", "exec")
    with contextlib.redirect_stdout(out):
        exec(code, namespace)
    return namespace, out.getvalue()


# ------------------------------------------------------------------ what the text claims
def _readme_first_model(ns: dict[str, Any], out: str) -> None:
    # "the model learns": the 0.1 example stayed at 0.10-0.26 (BN momentum 0.99, 36 steps)
    assert max(ns["history"].history["val_accuracy"]) >= 0.9, out


def _getting_started_first_model(ns: dict[str, Any], out: str) -> None:
    result = ns["model"].evaluate(ns["test"], return_dict=True, verbose=0)
    assert result["accuracy"] >= 0.9  # "about 0.97 test accuracy"


def _getting_started_compare(ns: dict[str, Any], out: str) -> None:
    report = ns["report"]
    summary = report.summary()
    assert summary["hot"]["status"] == "diverged"  # "hot" says "diverged"
    assert "diverged" in str(report)
    assert summary["l2"]["status"] == "ok"
    assert summary["bn+dropout"]["mean"]["val_accuracy"] >= 0.8  # BN learns by default


def _regularization_seed000_table(ns: dict[str, Any], out: str) -> None:
    lines = out.split()
    assert "4203018" in lines  # the seed's summary
    penalty = float(lines[-1])
    assert penalty == pytest.approx(9.69, abs=0.05)


def _designing_a_study(ns: dict[str, Any], out: str) -> None:
    report = ns["report"]
    assert len(report.runs) == len(report.variants) * len(report.config["seeds"])
    assert all(run.status == "ok" for run in report.runs)
    assert "ci95" in report.to_dict()["variants"][next(iter(report.variants))]


def _regularizers_structural_study(ns: dict[str, Any], out: str) -> None:
    summary = ns["report"].summary()
    assert all(v["status"] == "ok" for v in summary.values()), out
    assert min(v["mean"]["val_accuracy"] for v in summary.values()) >= 0.9, out
    gap = {name: v["mean"]["generalization_gap"] for name, v in summary.items()}
    # "Both close the generalization gap"
    assert gap["drop_path"] < gap["resnet"] and gap["drop_block"] < gap["resnet"], gap


def _regularizers_ema(ns: dict[str, Any], out: str) -> None:
    assert out.split() == ["EMA", "6"]  # "EMA 6: 3 steps per epoch"


def _regularizers_swa(ns: dict[str, Any], out: str) -> None:
    assert ns["swa"].averaged_epochs == [1, 2]  # "the last 2 of 3 epochs"


def _regularizers_sam(ns: dict[str, Any], out: str) -> None:
    import math

    assert all(math.isfinite(v) for v in ns["history"].history["loss"])


def _regularizers_l2_sp(ns: dict[str, Any], out: str) -> None:
    summary = ns["report"].summary()
    assert set(summary) == {"l2", "l2sp"}
    assert all(v["status"] == "ok" for v in summary.values()), out
    assert summary["l2sp"]["mean"]["val_accuracy"] >= 0.8, out  # the fine-tuned model learns


def _tuning_keras_tuner(ns: dict[str, Any], out: str) -> None:
    # "the best trial's Regularization", "well above chance (0.1)"
    assert ns["reg"] == ns["hypermodel"].regularization(ns["best_hp"])
    assert ns["reg"].l2 == ns["best_hp"].values["l2"]
    assert ns["best_score"] >= 0.3, out


def _tuning_optuna(ns: dict[str, Any], out: str) -> None:
    # FixedTrial(best_params) gives the best trial's Regularization; "well above chance"
    assert ns["best"].l2 == ns["study"].best_params["l2"]
    assert ns["best"].dropout == ns["study"].best_params["dropout"]
    assert ns["study"].best_value >= 0.3, out


def _designing_a_study_adaptive(ns: dict[str, Any], out: str) -> None:
    from collections import Counter

    report = ns["report"]
    verdicts = {name: c["verdict"] for name, c in report.comparisons().items()}
    seeds = Counter(run.variant for run in report.runs)
    assert verdicts["crushed"] == "worse" and seeds["crushed"] == 2, out  # "worse at once"
    assert verdicts["same"] == "equivalent" and seeds["same"] == 2, out
    assert seeds["lr"] <= 4 and seeds["baseline"] == max(seeds.values()), out


def _designing_a_study_tuned(ns: dict[str, Any], out: str) -> None:
    trail = ns["trail"]
    assert trail["chosen"]["l2"] != 1.0, out  # the crushing strength is never chosen
    assert min(trail["selection_seeds"]) >= 1_000_000
    assert {run.seed for run in ns["report"].runs} == {0, 1, 2}


def _export_from_a_study(ns: dict[str, Any], out: str) -> None:
    # "it gives the report's test accuracy"; the copy is the run's own file
    assert abs(ns["accuracy"] - ns["report"].runs_for("bn")[0].test_accuracy) < 1e-6, out
    run_file = Path("runs/export-demo/bn/seed0/model.keras")
    assert Path("bn.keras").read_bytes() == run_file.read_bytes()


CLAIMS: dict[str, Callable[[dict[str, Any], str], None]] = {
    "README.md#2": _readme_first_model,
    "getting-started.md#1": _getting_started_first_model,
    "getting-started.md#2": _getting_started_compare,
    "regularization.md#1": _regularization_seed000_table,
    "designing-a-study.md#1": _designing_a_study,
    "export.md#1": _export_from_a_study,
    "designing-a-study.md#3": _designing_a_study_adaptive,
    "designing-a-study.md#4": _designing_a_study_tuned,
    "regularizers.md#4": _regularizers_structural_study,
    "regularizers.md#6": _regularizers_ema,
    "regularizers.md#7": _regularizers_swa,
    "regularizers.md#8": _regularizers_sam,
    "regularizers.md#9": _regularizers_l2_sp,
    "tuning.md#2": _tuning_keras_tuner,
    "tuning.md#3": _tuning_optuna,
}


def _params() -> list[Any]:
    params = []
    for block in BLOCKS:
        marks = []
        if block.skip_reason:
            marks.append(pytest.mark.skip(reason=f"{block.id}: {block.skip_reason}"))
        if block.slow_reason:
            marks.append(pytest.mark.slow)
        params.append(pytest.param(block, id=block.id, marks=marks))
    return params


@pytest.mark.parametrize("block", _params())
def test_docs_block_runs(block: Block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # blocks write runs/...: keep the checkout clean
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace, out = _run(block)
    claim = CLAIMS.get(block.id)
    if claim is not None:
        claim(namespace, out)


def test_the_docs_have_python_blocks_and_skips_give_reasons():
    assert any(b.file == "README.md" for b in BLOCKS)
    for block in BLOCKS:
        if block.info.strip().startswith("skip"):
            assert block.skip_reason, f"{block.id}: a skipped block must say why in its fence"
        elif block.info.strip().startswith("slow"):
            assert block.slow_reason, f"{block.id}: a slow block must say why in its fence"
        else:
            assert not block.info.strip(), f"{block.id}: unknown fence info {block.info!r}"


def test_every_block_that_trains_checks_its_claim():
    training = [b.id for b in BLOCKS if TRAINS.search(b.source) and not b.skip_reason]
    missing = [name for name in training if name not in CLAIMS]
    assert not missing, f"blocks that train without a claim check in CLAIMS: {missing}"
    stale = [name for name in CLAIMS if name not in {b.id for b in BLOCKS}]
    assert not stale, f"CLAIMS for blocks that no longer exist: {stale}"


# ------------------------------------------------------------------------ the docs site
def test_api_reference_covers_every_public_module_and_root_name():
    """docs/api.md is `::: module` directives: one for each module the root exposes, and
    every root name appears (the site renders the rest from the docstrings)."""
    import regkit

    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    directives = set(re.findall(r"^::: (regkit[\w.]*)\s*$", text, re.MULTILINE))
    modules = {f"regkit.{name}" for name in regkit._LAZY_MODULES}
    modules |= set(regkit._LAZY_ATTRS.values())
    assert modules <= directives, sorted(modules - directives)
    missing = [name for name in regkit.__all__ if f"`{name}`" not in text]
    assert not missing, missing


def test_every_docs_page_is_in_the_site_navigation():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert [page for page in pages if f": {page}" not in nav] == []


@pytest.mark.slow
def test_the_site_builds_strictly(tmp_path):
    """`make docs`: broken links, anchors and API references fail (about 20 s)."""
    import os
    import subprocess
    import sys

    pytest.importorskip("mkdocs")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "api" / "index.html").read_text(encoding="utf-8").count("build_cnn") > 1
