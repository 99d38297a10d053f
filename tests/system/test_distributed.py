"""regkit under TensorFlow's distribution strategies.

Logical CPU devices can only be configured before TensorFlow initialises its devices, and a
MultiWorkerMirroredStrategy needs processes of its own, so every check runs in fresh
subprocesses (tests/system/scripts/dist_*.py) that print their findings as JSON:

- MirroredStrategy over two logical CPUs: build_cnn + compile_model + fit, and compare,
  give the loss trajectory of one device for the same seed, data and global batch;
- MultiWorkerMirroredStrategy with two worker processes on 127.0.0.1 (TF_CONFIG) trains one
  epoch (with validation, then evaluate) and ends with the weights one device reaches.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

# Under `pytest -n 2 --dist loadgroup`, the tests that start TensorFlow children (and train
# beside them) share one xdist worker, so they never run at once and oversubscribe 2 cores.
# (It also keeps the module-scoped fixtures, each a child run of 10-15 s, from running once
# per xdist worker.)
pytestmark = pytest.mark.xdist_group("two_core_children")

SCRIPTS = Path(__file__).parent / "scripts"
RTOL = 1e-4  # float32 all-reduce sums in another order than one device's batch mean
WORKER_TIMEOUT = 120.0


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONHASHSEED="0", **extra)
    if "TF_CONFIG" not in extra:
        env.pop("TF_CONFIG", None)
    return env


def _last_json(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise AssertionError(f"no JSON line in the script's output:\n{stdout[-2000:]}")
    return json.loads(lines[-1])


def _run_script(*args: str, timeout: float = 300) -> dict:
    proc = subprocess.run(
        [sys.executable, str(SCRIPTS / "dist_mirrored.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(),
    )
    if proc.returncode != 0:
        pytest.fail(f"dist_mirrored.py {' '.join(args)} failed:\n{proc.stderr[-4000:]}")
    return _last_json(proc.stdout)


def _ok(result: dict) -> dict:
    """The result of one check, failing the test with the script's error if it raised."""
    if "error" in result and "replicas" not in result and "status" not in result:
        pytest.fail(f"the check raised {result['error']}")
    return result


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):  # keep each bound until all are chosen, so they differ
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _run_workers(*args: str, n: int = 2, timeout: float = WORKER_TIMEOUT) -> list[tuple]:
    """Starts `n` MultiWorkerMirroredStrategy workers on 127.0.0.1 and waits for all.

    A worker that fails makes the others wait forever on their collectives, so the first
    failure (or the deadline) kills the rest. Returns (returncode, stdout, stderr) each.
    """
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(n)]}
    procs = []
    for index in range(n):
        config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        procs.append(
            subprocess.Popen(
                [sys.executable, str(SCRIPTS / "dist_mwms_worker.py"), *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=_env(TF_CONFIG=json.dumps(config)),
            )
        )
    deadline = time.monotonic() + timeout
    timed_out = False
    try:
        while any(p.poll() is None for p in procs):
            failed = any(p.returncode not in (None, 0) for p in procs)
            if failed or time.monotonic() > deadline:
                timed_out = not failed
                break
            time.sleep(0.2)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    outputs = [(p.returncode, *p.communicate()) for p in procs]
    if timed_out:
        tails = "\n---\n".join(err[-2000:] for _, _, err in outputs)
        pytest.fail(f"workers still running after {timeout:.0f} s; killed.\n{tails}")
    return outputs


# ------------------------------------------------------------------ MirroredStrategy
@pytest.fixture(scope="module")
def mirrored() -> dict:
    return _run_script("builders", "compare")


def test_mirrored_strategy_replicates_model_and_optimizer(mirrored):
    single, dist = _ok(mirrored["single"]), _ok(mirrored["mirrored"])
    assert single["replicas"] == 1
    assert single["variable_replicas"] == 1
    assert dist["replicas"] == 2
    # build_cnn's variables and compile_model's optimizer were created in the scope.
    assert dist["variable_replicas"] == 2
    assert dist["optimizer_variable_replicas"] == 2
    # 64 examples in global batches of 16 for 2 epochs: 8 steps, not 16 half-batches.
    assert dist["optimizer_iterations"] == single["optimizer_iterations"] == 8
    assert dist["reg_losses"] == single["reg_losses"] == 4  # L2 on 2 convs + 2 dense


def test_mirrored_loss_trajectory_matches_one_device(mirrored):
    single, dist = _ok(mirrored["single"]), _ok(mirrored["mirrored"])
    losses = np.array(single["losses"])
    assert len(losses) == len(dist["losses"]) == 8
    # Training moves: the comparison below is between trajectories, not constants.
    assert np.ptp(losses) > 100 * RTOL * losses[0]
    assert single["weights_moved"] > 1e-2
    np.testing.assert_allclose(dist["losses"], losses, rtol=RTOL)
    for got, want in zip(dist["final_weights"], single["final_weights"], strict=True):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-6)


def test_compile_model_outside_scope_uses_the_models_strategy(mirrored):
    single = _ok(mirrored["single"])
    dist = _ok(mirrored["mirrored_compiled_outside"])
    assert dist["optimizer_variable_replicas"] == 2
    np.testing.assert_allclose(dist["losses"], single["losses"], rtol=RTOL)


def test_compare_with_mirrored_strategy_matches_one_device(mirrored):
    single = _ok(mirrored["compare_single"])
    dist = _ok(mirrored["compare_mirrored"])
    assert single["status"] == "ok", single["error"]
    assert dist["status"] == "ok", dist["error"]
    assert len(single["loss"]) == 2
    np.testing.assert_allclose(dist["loss"], single["loss"], rtol=RTOL)
    np.testing.assert_allclose(dist["val_loss"], single["val_loss"], rtol=RTOL)
    assert math.isclose(dist["test_loss"], single["test_loss"], rel_tol=RTOL)


@pytest.mark.slow
def test_mobilenet_v2_trains_under_mirrored_strategy():
    result = _ok(_run_script("mobilenet")["mobilenet_mirrored"])
    assert result["replicas"] == 2
    assert result["variable_replicas"] == 2
    assert result["optimizer_iterations"] == 2
    assert all(math.isfinite(loss) for loss in result["losses"])


# ------------------------------------------------------- MultiWorkerMirroredStrategy
@pytest.fixture(scope="module")
def workers() -> list[dict]:
    outputs = _run_workers()
    for rc, _, err in outputs:
        if rc != 0:
            pytest.fail(f"a worker exited {rc}:\n{err[-4000:]}")
    return [_last_json(out) for _, out, _ in outputs]


@pytest.mark.slow  # two worker processes; MirroredStrategy stays in the default tier
def test_multi_worker_mirrored_trains_one_epoch(workers):
    assert sorted(w["task"]["index"] for w in workers) == [0, 1]
    for w in workers:
        assert w["replicas"] == 2
        assert w["steps"] == 4  # 32 examples, global batch 8, one epoch
        assert len(w["loss"]) == 1 and math.isfinite(w["loss"][0])
        assert abs(w["kernel_sum"] - w["initial_kernel_sum"]) > 1e-3
        # All-reduced gradients: each worker ends where one device with the whole
        # global batch ends.
        assert math.isclose(w["loss"][0], w["reference_loss"][0], rel_tol=RTOL)
        assert math.isclose(w["kernel_sum"], w["reference_kernel_sum"], rel_tol=RTOL)
        # Validation during fit and evaluate() run distributed too, on the trained weights.
        assert math.isclose(w["val_loss"][0], w["reference_val_loss"][0], rel_tol=RTOL)
        assert math.isclose(w["eval_loss"], w["val_loss"][0], rel_tol=RTOL)
    first, second = workers
    assert first["kernel_sum"] == pytest.approx(second["kernel_sum"], rel=1e-6)
    assert first["loss"] == pytest.approx(second["loss"], rel=1e-6)


@pytest.mark.slow  # shares the two worker processes above
def test_device_strategy_reads_tf_config(workers):
    for w in workers:
        assert w["strategy_from"] == "regkit.device.strategy()"
        assert w["multi_worker"]
        assert w["replicas"] == 2


@pytest.mark.slow
def test_keras_still_needs_the_multi_worker_reduce_fix():
    """Fails once Keras' fit works with TensorFlow's own class (keras-team/keras#20585):
    then the `reduce` fix (docs/distributed.md) can go."""
    outputs = _run_workers("--plain")
    assert any(rc != 0 for rc, _, _ in outputs), "plain MultiWorkerMirroredStrategy trained"
    errors = "".join(err for _, _, err in outputs)
    assert "PerReplica" in errors or "Invalid reduction dimension" in errors, errors[-3000:]
