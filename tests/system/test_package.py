"""What downstream packages rely on: a light import, the public names, typing, a wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import regkit

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("tensorflow", "keras", "tensorflow_datasets", "matplotlib", "sklearn")


try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

with open(ROOT / "pyproject.toml", "rb") as _f:
    VERSION = tomllib.load(_f)["project"]["version"]


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
    assert version == VERSION
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
    wheels = list(dist.glob(f"regkit-{VERSION}-*.whl"))
    sdists = list(dist.glob(f"regkit-{VERSION}.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    wheel = zipfile.ZipFile(wheels[0])
    names = wheel.namelist()
    assert "regkit/py.typed" in names and "regkit/data/__init__.py" in names
    assert f"regkit-{VERSION}.dist-info/licenses/LICENSE" in names
    metadata = wheel.read(f"regkit-{VERSION}.dist-info/METADATA").decode()
    assert "License-Expression: Apache-2.0" in metadata
    assert "License-File: LICENSE" in metadata
    assert metadata.count("Project-URL: ") >= 3
    assert "Classifier: Programming Language :: Python :: 3.10" in metadata
    assert "Classifier: Typing :: Typed" in metadata
    # The sdist carries what its tests need: conftest, shared helpers, scripts, docs.
    with tarfile.open(sdists[0]) as sdist:
        members = {m.split("/", 1)[1] for m in sdist.getnames() if "/" in m}
    for needed in (
        "tests/conftest.py",
        "tests/strategies.py",
        "tests/seed_models.py",
        "tests/system/scripts/fault_train.py",
        "docs/architecture.md",
        "examples/seed000_l2_question.py",
        "Makefile",
        "LICENSE",
    ):
        assert needed in members, needed
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
