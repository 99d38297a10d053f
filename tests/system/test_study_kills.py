"""`regkit compare` SIGKILLed at random moments and rerun into the same folder gives exactly
the figures of an uninterrupted study: per-epoch histories, test accuracy, weight norms and
the best weights, bit for bit (each epoch's shuffle, augmentation and dropout depend on
(seed, epoch) only, and a killed run resumes from its last complete backup).

A seeded RNG picks each kill: 1-3 epochs further than the last attempt got, at a random
moment inside an epoch (so kills land mid-epoch, in a checkpoint or backup write, at an
epoch's end or between runs, and every attempt gets further). The ledger (kills survived,
origins of the runs, runs compared) is printed with `-s`.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

VARIANTS = "all,bn"
ARGS = ["--epochs", "4", "--batch-size", "16", "--limit", "96", "--augment", "--seeds", "0,1"]
ARGS += ["--quiet", "--no-plots"]


def _command(out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "regkit",
        "compare",
        "--variants",
        VARIANTS,
        *ARGS,
        "--out",
        str(out),
    ]


def _env() -> dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0"}


def _finish(out: Path) -> float:
    start = time.monotonic()
    done = subprocess.run(_command(out), capture_output=True, text=True, env=_env(), timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return time.monotonic() - start


def _epochs_logged(out: Path) -> int:
    rows = 0
    for log in out.glob("*/seed*/log.csv"):
        try:
            rows += max(0, len(log.read_text().splitlines()) - 1)
        except OSError:
            continue
    return rows


def _kill_once(out: Path, rng: random.Random, epoch_time: float) -> bool:
    """Starts the study and SIGKILLs it 1-3 epochs further on, at a random moment inside
    an epoch; False if the study finished first."""
    target = _epochs_logged(out) + rng.randint(1, 3)
    proc = subprocess.Popen(
        _command(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env()
    )
    while proc.poll() is None and _epochs_logged(out) < target:
        time.sleep(0.05)
    time.sleep(rng.uniform(0.0, epoch_time))
    if proc.poll() is not None:
        return False
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


def _weights(path: Path) -> list[np.ndarray]:
    import h5py

    arrays: list[np.ndarray] = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: arrays.append(obj[()]) if hasattr(obj, "shape") else None)
    return arrays


def _compare_studies(whole: Path, cut: Path) -> int:
    a = json.loads((whole / "report.json").read_text())
    b = json.loads((cut / "report.json").read_text())
    compared = 0
    for name, entry in a["variants"].items():
        for run, other in zip(entry["runs"], b["variants"][name]["runs"], strict=True):
            assert other["status"] == run["status"] in ("ok", "collapsed"), (name, other)
            assert other["history"] == run["history"], (name, run["seed"])
            for key in ("test_accuracy", "test_loss", "weight_norm", "best_epoch", "epochs_run"):
                assert other[key] == run[key], (name, run["seed"], key)
            folder = f"{name}/seed{run['seed']}/best.weights.h5"
            for x, y in zip(_weights(whole / folder), _weights(cut / folder), strict=True):
                np.testing.assert_array_equal(x, y)
            compared += 1
    return compared


@pytest.mark.slow
def test_random_sigkills_then_rerun_give_the_uninterrupted_figures(tmp_path):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    duration = _finish(whole)
    rng = random.Random(11)
    kills = 0
    while kills < 12 and _kill_once(cut, rng, epoch_time=duration / 16):  # 4 runs x 4 epochs
        kills += 1
    _finish(cut)
    compared = _compare_studies(whole, cut)
    origins = [
        r["origin"]
        for v in json.loads((cut / "report.json").read_text())["variants"].values()
        for r in v["runs"]
    ]
    print(f"\nkills survived: {kills}; runs compared bit for bit: {compared}; origins: {origins}")
    assert kills >= 3 and compared == 4
    assert "reused" in origins  # a run that finished before a kill is not trained again
