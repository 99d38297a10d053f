"""What downstream packages rely on: a light import, the public names, typing, a wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import regkit

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("tensorflow", "keras", "tensorflow_datasets", "matplotlib", "sklearn")


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        check=True,
    )


def test_import_is_light():
    result = _run(
        "import sys, regkit; print(regkit.__version__); "
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    version, loaded = result.stdout.split()[:2]
    assert version == "0.1.0"
    assert loaded == "[]"
    assert result.stderr == ""  # regkit adds no noise of its own at import


def test_config_needs_no_tensorflow():
    result = _run(
        "import sys; from regkit import Regularization; Regularization.preset('all'); "
        "print('tensorflow' in sys.modules)"
    )
    assert result.stdout.strip() == "False"


def test_public_names_resolve():
    for name in regkit.__all__:
        value = getattr(regkit, name)
        if name != "__version__":  # every other public name is defined in a submodule
            assert value.__name__.rpartition(".")[2] == name, name
    assert set(regkit.__all__) <= set(dir(regkit))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        regkit.nope  # noqa: B018


def test_py_typed_is_shipped():
    assert (Path(regkit.__file__).parent / "py.typed").exists()


def test_ruff_is_clean_on_src():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    if ruff is None:
        pytest.skip("ruff is not installed in this environment")
    result = subprocess.run(
        [ruff, "check", "src"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.slow
def test_mypy_is_clean_on_src():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "src/regkit"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.slow
def test_wheel_and_sdist_build_install_and_import(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheels = list(dist.glob("regkit-0.1.0-*.whl"))
    assert len(wheels) == 1 and len(list(dist.glob("regkit-0.1.0.tar.gz"))) == 1
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert "regkit/py.typed" in names and "regkit/data/__init__.py" in names
    # Install the wheel alone (its dependencies are this venv's) and import it from there.
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), wheels[0]],
        check=True,
        capture_output=True,
        timeout=300,
    )
    result = _run(
        "import regkit; m = regkit.build_cnn((32, 32, 3), 10); "
        "print(regkit.__file__); print(m.count_params())",
        PYTHONPATH=str(target),
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    where, params = result.stdout.split()[-2:]
    assert where.startswith(str(target))
    assert int(params) > 0
