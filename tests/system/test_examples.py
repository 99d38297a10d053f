"""The examples run: every seed script in its --smoke mode (offline, embedded digits), in
this process (TensorFlow is already loaded), and the notebook: its cells in this process in
the default tier, on a real Jupyter kernel in the slow tier."""

from __future__ import annotations

import importlib.util
import json
import warnings
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


def _exec_cells(path: Path) -> None:
    """Runs the notebook's code cells, in order, in this process (TensorFlow is loaded)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    namespace: dict = {"__name__": "__main__"}
    for cell in nb.cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, str(path), "exec"), namespace)


def _run_notebook(path: Path, workdir: Path):
    """Executes the notebook on the venv's `python3` kernel (jupyter_client launches
    `python` in a kernelspec as this interpreter). Falls back to running the code cells
    with exec only if no kernel can start at all."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        KernelSpecManager().get_kernel_spec("python3")
        import nbclient
    except Exception as exc:  # no kernel available: still check the code itself
        warnings.warn(f"no Jupyter kernel ({exc}); running the cells with exec", stacklevel=2)
        _exec_cells(path)
        return None
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()
    return nb


def _check_notebook_source() -> None:
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    source = "\n".join(cell.source for cell in nb.cells)
    for block in ("conv_block(", "inverted_residual(", "dense_head("):
        assert block in source


def test_compose_blocks_notebook_cells_run(tmp_path, monkeypatch, capsys):
    """Default tier: the notebook's cells, in order, in this process (a Jupyter kernel
    would import TensorFlow again; the slow tier runs it on one)."""
    pytest.importorskip("nbformat")
    monkeypatch.chdir(tmp_path)
    _exec_cells(NOTEBOOK)
    text = capsys.readouterr().out
    for line in NOTEBOOK_SAYS:
        assert line in text
    _check_notebook_source()


@pytest.mark.slow
def test_compose_blocks_notebook_executes(tmp_path):
    pytest.importorskip("nbformat")
    nb = _run_notebook(NOTEBOOK, tmp_path)
    if nb is None:
        return
    text = "\n".join(
        str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    for line in NOTEBOOK_SAYS:
        assert line in text
    _check_notebook_source()
