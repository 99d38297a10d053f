"""A training process killed with SIGKILL mid-epoch resumes at the right epoch.

Runs tests/system/scripts/resume_train.py in a subprocess killed in the middle of epoch 3 (0-based),
and calls its `train` in-process, uninterrupted, as the reference. The resumed run is the
script again in a fresh process (slow tier) or its `train` in this process (default tier: the
killed child left nothing but files, so the resume still reads everything from disk).
The resumed run must start at epoch 3, log every epoch once, and end with exactly the
reference's weights and log (the script trains without shuffling, so both are deterministic).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

SCRIPT = Path(__file__).parent / "scripts" / "resume_train.py"
EPOCHS, KILL_AT = 6, 3

# Under `pytest -n 2 --dist loadgroup`, the tests that start TensorFlow children (and train
# beside them) share one xdist worker, so they never run at once and oversubscribe 2 cores.
pytestmark = [
    pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals"),
    pytest.mark.xdist_group("two_core_children"),
]


def _start(out: Path, *extra: int) -> subprocess.Popen:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONHASHSEED="0", CUDA_VISIBLE_DEVICES="")
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(out), str(EPOCHS), *map(str, extra)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _result(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def _load_script():
    spec = importlib.util.spec_from_file_location("resume_train", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _resume_in_process(run: Path) -> dict:
    keras.backend.clear_session(free_memory=False)
    return _load_script().train(run, EPOCHS)


def _resume_in_a_child(run: Path) -> dict:
    code, out, err = _finish(_start(run))
    assert code == 0, err[-2000:]
    return _result(out)


@pytest.mark.parametrize(
    "resume",
    [
        pytest.param(_resume_in_process, id="in_process"),
        pytest.param(_resume_in_a_child, id="child", marks=pytest.mark.slow),
    ],
)
def test_sigkill_mid_epoch_resumes_from_last_finished_epoch(tmp_path, resume):
    run, reference = tmp_path / "run", tmp_path / "reference"
    killed = _start(run, KILL_AT)
    ref = _load_script().train(reference, EPOCHS)  # meanwhile, in this process
    assert ref["begun"] == list(range(EPOCHS))
    code, _, err = _finish(killed)
    assert code == -signal.SIGKILL, err[-2000:]

    # After the kill: epochs 0-2 finished and logged, epoch 3 had begun, backup on disk.
    begun = [line.split() for line in (run / "epochs_begun.txt").read_text().splitlines()]
    assert [int(e) for _, e in begun] == [0, 1, 2, 3]
    assert [r["epoch"] for r in _csv_rows(run / "best_log.csv")] == ["0", "1", "2"]
    assert (run / "best_backup").is_dir()
    assert (run / "best.keras").is_file()

    resumed = resume(run)
    assert resumed["begun"] == [3, 4, 5]  # resumed at the right epoch, nothing rerun
    assert resumed["history_epochs"] == [3, 4, 5]

    # Same total epochs, each logged once, with the same numbers as the uninterrupted run.
    rows, ref_rows = _csv_rows(run / "best_log.csv"), _csv_rows(reference / "best_log.csv")
    assert [r["epoch"] for r in rows] == [str(e) for e in range(EPOCHS)]
    assert rows[0].keys() == ref_rows[0].keys()
    for row, ref_row in zip(rows, ref_rows, strict=True):
        for key in ("loss", "val_loss", "learning_rate"):
            np.testing.assert_allclose(float(row[key]), float(ref_row[key]), rtol=1e-5)
    np.testing.assert_allclose(resumed["sum"], ref["sum"], rtol=1e-5)

    # A finished run cleans up its backup and leaves a loadable best model.
    assert not (run / "best_backup").exists()
    assert not list(run.glob(".partial-*"))
    model = keras.saving.load_model(run / "best.keras")
    assert model.output_shape == (None, 4)
