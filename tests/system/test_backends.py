"""regkit under Keras' JAX backend (slow tier; `pip install regkit[jax]`).

regkit builds stock Keras layers, so its builders, compile_model, callbacks, pipelines
(tf.data feeds any backend) and compare run under JAX as under TensorFlow. The checks run
in a fresh process because the backend is chosen once, at Keras' import.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent / "scripts" / "backend_checks.py"


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs regkit[jax]")
def test_public_api_runs_under_jax():
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=900
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "backend jax", result.stdout + result.stderr
    failures = [line for line in lines if line.startswith("FAIL")]
    assert not failures and result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert sum(line.startswith("ok ") for line in lines) == 7, result.stdout
