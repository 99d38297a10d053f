"""What downstream packages rely on: a light import, the public names, typing, a wheel."""

from __future__ import annotations

import importlib.metadata
import os
import re
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
    PYPROJECT = tomllib.load(_f)
#: The distribution's name on the package index (the import name stays `regkit`).
DIST = PYPROJECT["project"]["name"]
#: The file-name form of DIST in wheels, sdists and dist-info folders (PEP 427 / 625).
DIST_FILE = re.sub(r"[-_.]+", "_", DIST).lower()
#: The one version source: src/regkit/_version.py, read without importing regkit.
VERSION = re.search(
    r'^__version__ = "([^"]+)"$',
    (ROOT / "src" / "regkit" / "_version.py").read_text(encoding="utf-8"),
    re.MULTILINE,
).group(1)  # type: ignore[union-attr]
#: `## [0.3.0] - 2026-12-04` or `## [Unreleased]` in CHANGELOG.md.
CHANGELOG_HEADING = re.compile(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?\s*$", re.MULTILINE)


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


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def test_one_version_source_and_it_agrees_with_metadata_cli_and_changelog():
    """The version lives in `_version.py` alone; everything else reads it and agrees.

    - pyproject.toml declares the version dynamic (read from `regkit._version`), never a copy.
    - The installed metadata (`importlib.metadata`) matches; a stale editable install fails
      here until `make install` (which tracks `_version.py`) reinstalls it.
    - `python -m regkit --version` prints it.
    - CHANGELOG.md agrees, in one of the two honest states of a release cycle: the version
      IS the newest released heading (`## [0.4.0] - 2027-01-10`; an `Unreleased` section
      may sit above it, still empty of a version), or the changelog's top heading is
      `## [Unreleased]`, directly above a released heading of a LOWER version: the
      release being prepared. A version bumped past the changelog, a changelog released
      past the version, or an Unreleased section under a release all fail.
    """
    assert "version" not in PYPROJECT["project"]
    assert "version" in PYPROJECT["project"]["dynamic"]
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "regkit._version.__version__"}
    assert regkit.__version__ == VERSION
    assert importlib.metadata.version(DIST) == VERSION, "stale install: run `make install`"

    cli = subprocess.run(
        [sys.executable, "-m", "regkit", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr[-2000:]
    assert cli.stdout.strip() == f"regkit {VERSION}"

    headings = CHANGELOG_HEADING.findall((ROOT / "CHANGELOG.md").read_text(encoding="utf-8"))
    released = [(name, date) for name, date in headings if name != "Unreleased"]
    assert released and all(date for _, date in released), headings
    assert all(name != "Unreleased" for name, _ in headings[1:]), "Unreleased must be on top"
    newest = released[0][0]
    if newest == VERSION:
        return  # released: the version is the newest release
    assert headings[0][0] == "Unreleased", (
        f"version {VERSION} is neither the newest release ({newest}) nor being prepared "
        "under an `## [Unreleased]` heading"
    )
    assert _version_key(VERSION) > _version_key(newest), (
        f"version {VERSION} is not above the release under Unreleased ({newest})"
    )


def test_version_answers_without_tensorflow():
    result = _run(
        "import sys\n"
        "from regkit.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    assert result.stdout.split()[-1] == "[]"


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
    wheels = list(dist.glob(f"{DIST_FILE}-{VERSION}-*.whl"))
    sdists = list(dist.glob(f"{DIST_FILE}-{VERSION}.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    wheel = zipfile.ZipFile(wheels[0])
    names = wheel.namelist()
    assert "regkit/py.typed" in names and "regkit/data/__init__.py" in names
    assert f"{DIST_FILE}-{VERSION}.dist-info/licenses/LICENSE" in names
    metadata = wheel.read(f"{DIST_FILE}-{VERSION}.dist-info/METADATA").decode()
    assert f"Name: {DIST}\n" in metadata and f"Version: {VERSION}\n" in metadata
    hard = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    hard = [line.split()[1] for line in hard if "extra ==" not in line]
    # issue 33: scipy's four calls are regkit._tdist; the digits need no scikit-learn
    assert not [name for name in hard if name.startswith(("scipy", "scikit-learn"))], hard
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
