"""The examples run: every seed script in its --smoke mode (offline, embedded digits), in
this process (TensorFlow is already loaded), and the notebook: its cells in this process in
the default tier, on a real Jupyter kernel in the slow tier."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = {
    "seed000_l2_question.py": ("no L2", "L2 0.01"),
    "seed001_regularized_cnn.py": ("basic", "regularized"),
    "seed002_bn_l2_weight_norms.py": ("bn+l2",),
    "seed003_l2_dropout.py": ("bn only", "l2 + dropout"),
}


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(f"example_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_seed_has_an_example():
    assert sorted(p.name for p in EXAMPLES.glob("seed*.py")) == sorted(SCRIPTS)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_example_smoke(script, tmp_path, capsys):
    module = _load(EXAMPLES / script)
    assert module.main(["--smoke", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["config"]["dataset"] == "digits"  # offline by default
    assert report["config"]["epochs"] == 1
    assert tuple(report["variants"]) == SCRIPTS[script]
    for name in SCRIPTS[script]:
        assert report["variants"][name]["status"] == "ok"
        assert f"| {name}" in out  # the markdown table was printed
    assert (tmp_path / "report.md").exists()


def test_seed000_prints_the_penalty_arithmetic(capsys):
    module = _load(EXAMPLES / "seed000_l2_question.py")
    from regkit.data import load_dataset

    module.initial_penalty(load_dataset("digits"), module.variants()["L2 0.01"])
    out = capsys.readouterr().out
    # 512 -> 512 dense layer on digits: Glorot gives E[sum w^2] = 2*512*512/1024 = 512
    assert "(Glorot:    512.0)" in out
    assert "L2 penalty 5.1" in out


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_examples_give_argparse_help(script, capsys):
    module = _load(EXAMPLES / script)
    with pytest.raises(SystemExit) as info:
        module.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--dataset" in out and "--smoke" in out


NOTEBOOK = EXAMPLES / "compose_blocks.ipynb"
NOTEBOOK_SAYS = (
    "residual add present: True",
    "reloaded without custom_objects: predictions match",
    "| regularized",
)
#: What the notebook promises: both models learn, well above chance (0.1 on ten digits).
LEARNED = 0.5
ACCURACIES = re.compile(
    r"^(validation accuracy after 3 epochs|baseline: test accuracy|regularized: test "
    r"accuracy):? ([0-9.]+) \(chance: 0\.1\)$",
    re.MULTILINE,
)
#: The quick twin's smaller settings: (text in the notebook, what the twin runs instead).
#: Each must occur exactly once, so the twin fails loudly when the notebook changes.
QUICK = (
    ("learning_rate=3e-3)\nhistory", "learning_rate=3e-3)\nmodel.run_eagerly = True\nhistory"),
    ("epochs=3, verbose=2, shuffle=False", "epochs=1, verbose=2, shuffle=False, steps_per_epoch=4"),
    ("    epochs=4,\n", "    epochs=1,\n    limit=64,\n    run_eagerly=True,\n"),
)
#: TensorFlow's C++ start-up lines, which tools/execute_notebooks.py keeps out of the
#: stored outputs.
TF_NOISE = ("absl::InitializeLog", "oneDNN", "cuda", "cpu_feature_guard", "I0000", "E0000")


def _exec_cells(path: Path, replace: tuple[tuple[str, str], ...] = ()) -> None:
    """Runs the notebook's code cells, in order, in this process (TensorFlow is loaded),
    with the given (old, new) replacements made in their source first."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    source = "\n# %% cell\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for old, new in replace:
        assert source.count(old) == 1, f"the quick twin's {old!r} is not once in {path.name}"
        source = source.replace(old, new)
    namespace: dict = {"__name__": "__main__"}
    for cell in source.split("\n# %% cell\n"):
        exec(compile(cell, str(path), "exec"), namespace)


def _output_text(nb) -> str:
    return "\n".join(
        str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )


def _check_notebook_source() -> None:
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    source = "\n".join(cell.source for cell in nb.cells)
    for block in ("conv_block(", "inverted_residual(", "dense_head("):
        assert block in source


def _check_it_learned(text: str) -> None:
    found = dict(ACCURACIES.findall(text))
    assert len(found) == 3, text[-3000:]
    assert all(float(value) >= LEARNED for value in found.values()), found


def test_compose_blocks_notebook_cells_run(tmp_path, monkeypatch, capsys):
    """Default tier, the quick twin: the notebook's cells, in order, in this process (a
    Jupyter kernel would import TensorFlow again), each training for one short epoch. The
    slow tier runs the notebook as it is on a kernel and checks that its models learn."""
    pytest.importorskip("nbformat")
    monkeypatch.chdir(tmp_path)
    _exec_cells(NOTEBOOK, QUICK)
    text = capsys.readouterr().out
    for line in NOTEBOOK_SAYS:
        assert line in text
    assert len(ACCURACIES.findall(text)) == 3
    _check_notebook_source()


@pytest.mark.slow
def test_compose_blocks_notebook_executes(tmp_path):
    """The notebook as a reader runs it, on a Jupyter kernel (tools/execute_notebooks.py,
    which also stores the outputs): both models learn, well above chance."""
    pytest.importorskip("nbclient")
    nb = _load(EXAMPLES.parent / "tools" / "execute_notebooks.py").execute(NOTEBOOK)
    text = _output_text(nb)
    for line in NOTEBOOK_SAYS:
        assert line in text
    _check_it_learned(text)
    _check_notebook_source()


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_stored_with_their_outputs(path):
    """Every notebook is stored executed top to bottom in one go (tools/execute_notebooks.py),
    every code cell with its outputs, none an error, a warning or TensorFlow's start-up
    lines."""
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(path, as_version=4)
    cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in cells] == list(range(1, len(cells) + 1))
    for cell in cells:
        assert cell.outputs, f"{path.name}: a code cell without outputs:\n{cell.source}"
        for output in cell.outputs:
            assert output.output_type != "error", output
            assert output.get("name") != "stderr", output.get("text")
    text = _output_text(nb)
    assert not [word for word in TF_NOISE if word in text]


def test_the_stored_compose_blocks_notebook_shows_what_it_promises():
    nbformat = pytest.importorskip("nbformat")
    text = _output_text(nbformat.read(NOTEBOOK, as_version=4))
    for line in NOTEBOOK_SAYS:
        assert line in text
    _check_it_learned(text)
