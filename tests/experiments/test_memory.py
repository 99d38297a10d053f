"""Memory stays flat between runs in one process (issue 22): a notebook that runs studies all
afternoon must not run out of memory. RSS (from /proc/self/status) after each of 12 tiny
one-run studies may grow by at most about 3 MiB per run after the first few.

Measured here: eager runs (run_eagerly=True) are flat; traced runs grow by about 22 MiB per
run because each run's two traced step functions (Keras' `one_step_on_data` FuncGraphs)
outlive the run, its model and `keras.backend.clear_session()` + `gc.collect()`; the
strict xfail below turns into a failure when that is fixed."""

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
    settled = sizes[3:]  # the first runs load data, import and warm caches
    return (settled[-1] - settled[0]) / (len(settled) - 1)


def test_eager_runs_keep_memory_flat():
    assert _growth_per_run(8, run_eagerly=True) < PER_RUN_MIB


@pytest.mark.xfail(
    strict=True,
    reason="each traced run leaves its step functions' FuncGraphs behind (~22 MiB per run)",
)
def test_twelve_traced_runs_keep_memory_flat():
    assert _growth_per_run(12) < PER_RUN_MIB
