"""Memory stays flat between runs in one process (issue 22): a notebook that runs studies all
afternoon must not run out of memory. RSS (from /proc/self/status) after each of 12 tiny
one-run studies may grow by at most about 3 MiB per run after the first few.

Measured here: eager runs (run_eagerly=True) were flat; traced runs grew by about 22 MiB a
run until each run was wrapped in `regkit.training.release_training_memory` (the optimizer's
all-reduce gradient, registered in TensorFlow's process-wide gradient registry at every
trace, held each run's traced steps; tests/models/test_training_memory.py shows the cause)."""

from __future__ import annotations

import sys

import pytest

from regkit.experiments import compare

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status"),
]
TINY = {"filters": (4, 8), "dense_units": (8,)}
PER_RUN_MIB = 3.0


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS line")


def _growth_per_run(runs: int, **settings) -> float:
    sizes = []
    for seed in range(runs):
        compare(
            ["bn+l2=1e-4"],
            seeds=(seed,),
            epochs=1,
            batch_size=16,
            limit=64,
            verbose=0,
            plots=False,
            model_kwargs=TINY,
            **settings,
        )
        sizes.append(_rss_mib())
    print("RSS after each run (MiB):", [round(size) for size in sizes])
    settled = sizes[3:]  # the first runs load data, import and warm caches
    return (settled[-1] - settled[0]) / (len(settled) - 1)


def test_eager_runs_keep_memory_flat():
    assert _growth_per_run(8, run_eagerly=True) < PER_RUN_MIB


def test_twelve_traced_runs_keep_memory_flat():
    assert _growth_per_run(12) < PER_RUN_MIB
