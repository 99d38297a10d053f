"""Executes the notebooks in examples/ on a Jupyter kernel and stores their outputs.

    python tools/execute_notebooks.py                # every examples/*.ipynb
    python tools/execute_notebooks.py examples/compose_blocks.ipynb

Each notebook runs top to bottom on the ``python3`` kernel of this interpreter (ipykernel),
in an empty temporary folder (the runs they write land there), and is written back with its
outputs, as a reader sees it on GitHub. Needs ``pip install "regkit[notebook]"`` (nbclient,
nbformat, ipykernel).

TensorFlow's C++ start-up lines (oneDNN, a missing CUDA driver, absl's "All log messages
before absl::InitializeLog()") would fill the first cell's output: ipykernel forwards what
C++ code writes to the process's file descriptors into the notebook. The kernel is started
with ``--IPKernelApp.capture_fd_output=False``, so those lines go to this command's terminal
instead, and only what Python prints is stored; the notebooks themselves set nothing (a
reader running one sees their own machine's messages, and the environment variable
``TF_CPP_MIN_LOG_LEVEL`` no longer hides these absl lines). Python warnings are kept: a
warning in a stored output is something to fix in the notebook or in regkit.
tests/system/test_examples.py checks the stored outputs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
#: The kernel's options: C++ output to the terminal, not into the notebook's outputs.
KERNEL_ARGUMENTS = ["--IPKernelApp.capture_fd_output=False"]
TIMEOUT_S = 900


def execute(path: Path, *, timeout: int = TIMEOUT_S) -> object:
    """Runs the notebook at `path` on a fresh kernel and returns it, with its outputs."""
    import nbclient
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:  # earlier runs' timestamps (nbclient's record_timing)
        cell.metadata.pop("execution", None)
    with tempfile.TemporaryDirectory() as workdir:
        client = nbclient.NotebookClient(
            notebook,
            kernel_name="python3",
            timeout=timeout,
            resources={"metadata": {"path": workdir}},
            extra_arguments=KERNEL_ARGUMENTS,
            record_timing=False,  # no timestamps: a rerun changes only what it shows
        )
        client.execute()
    return notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: examples/*.ipynb")
    args = parser.parse_args(argv)
    import nbformat

    for path in args.notebooks or sorted(EXAMPLES.glob("*.ipynb")):
        print(f"executing {path} ...", flush=True)
        nbformat.write(execute(path), path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
