# regkit developer commands. Every target installs into .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed


.PHONY: install demo test test-slow test-min-versions check-resolution lint typecheck bench build docs \
        clean

# _version.py too: the installed metadata carries the version (one source, read at install).
$(STAMP): pyproject.toml src/regkit/_version.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/regkit compare --out runs/demo

test: $(STAMP)
	$(PY) -m pytest -q

# The slow tier also checks the JAX backend, so it installs the jax extra first.
test-slow: $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,jax]"
	$(PY) -m pytest -q -m slow

# pip resolves regkit's dependencies for Python 3.10 quickly (no 3.10 interpreter needed).
check-resolution: $(STAMP)
	tools/check_resolution.sh 3.10

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench examples tools
	$(VENV)/bin/ruff format --check src tests bench examples tools

typecheck: $(STAMP)
	$(VENV)/bin/mypy src/regkit

bench: $(STAMP)
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# The league tables of docs/results.md: every regularizer on Fashion-MNIST, in short training
# (issue 24, float32: about 75 minutes on 2 CPU cores) and where the baseline overfits, each
# tuned and decided (issue 34, bfloat16, two runs at once: a pilot of about 100 minutes, then
# a confirmation on fresh seeds, which retunes on the same selection seeds in its own folder:
# about 115 more). Offline, from
# Debian's copy (sudo apt-get install -y dataset-fashion-mnist) or Keras' cache. Rerunning
# reuses finished runs and rewrites the tables in seconds (add --restart to start over).
.PHONY: benchmark-regularizers
benchmark-regularizers: $(STAMP)
	$(VENV)/bin/regkit compare --config examples/studies/fashion_mnist_league.toml --out runs/league
	$(VENV)/bin/regkit compare --config examples/studies/fashion_mnist_league_resnet.toml \
	    --out runs/league-resnet
	$(VENV)/bin/regkit compare --config examples/studies/fashion_mnist_overfitting.toml \
	    --out runs/league-overfitting --jobs 2
	$(VENV)/bin/regkit compare --config examples/studies/fashion_mnist_overfitting_resnet.toml \
	    --out runs/league-overfitting-resnet --jobs 2
	$(VENV)/bin/regkit compare --config examples/studies/fashion_mnist_overfitting_confirm.toml \
	    --out runs/league-overfitting-confirm --jobs 2
	$(PY) bench/league_table.py runs/league-overfitting-confirm/report.json \
	    runs/league-overfitting/report.json runs/league-overfitting-resnet/report.json \
	    runs/league/report.json runs/league-resnet/report.json > runs/league-table.md
	@echo "the tables: runs/league-table.md"

# The documentation site (mkdocs.yml): docs/*.md and the docstrings, into build/site.
# --strict: a broken link, #anchor or API reference fails the build.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# Issue 33: every direct dependency at its declared floor (tools/min_constraints.py pins each
# `>=X` to `==X`; pip resolves the rest), in a fresh venv, then a smoke set of tests. It
# downloads TensorFlow (~600 MB) the first time; about 10 minutes on 2 busy cores, the tests
# under 3 of them (216 pass at tensorflow 2.20.0, keras 3.10.0, numpy 1.26.0, tensorflow-
# datasets 4.9.10, filelock 3.13.0, importlib-resources 6.0.0). CI runs it
# from .ci/run with CI_MIN_VERSIONS=1 (it is too slow and too network-hungry for every run).
MIN_VENV  := build/min-venv
MIN_SMOKE := tests/test_io.py tests/test_tdist.py tests/models/test_config.py \
             tests/models/test_saving.py tests/data/test_data_datasets.py \
             tests/experiments/test_stats.py tests/system/test_package.py
test-min-versions:
	rm -rf $(MIN_VENV)
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PYTHON) tools/min_constraints.py > build/min-constraints.txt
	cat build/min-constraints.txt
	$(MIN_VENV)/bin/python -m pip install --quiet -c build/min-constraints.txt -e . \
	    "pytest>=7" "pytest-timeout>=2" "hypothesis>=6" "scipy>=1.11"
	$(MIN_VENV)/bin/python -m pip list | grep -iE '^(tensorflow|tensorflow-datasets|keras|numpy|filelock|importlib.resources|protobuf|tomli) '
	$(MIN_VENV)/bin/python -m pytest -q -p no:cacheprovider --durations=5 $(MIN_SMOKE)

build: $(STAMP)
	$(PY) -m build --outdir dist .

clean:
	rm -rf $(VENV) dist build runs .pytest_cache .ruff_cache .mypy_cache
