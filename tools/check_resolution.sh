#!/usr/bin/env bash
# Resolves regkit's runtime dependencies for another Python version without installing
# anything, and fails if pip cannot resolve them within a time limit. This is the check
# for "pip backtracks for minutes on Python 3.10": no 3.10 interpreter is needed.
#
#   tools/check_resolution.sh [PYTHON_VERSION] [SECONDS]     (defaults: 3.10, 300)
#
# pip only resolves for a foreign Python from wheels, and `promise` (a tensorflow-datasets
# dependency) is published as an sdist only, so a wheel of it is built locally first.
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-3.10}"
limit="${2:-300}"
py="${PYTHON:-.venv/bin/python}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
deps="$("$py" - <<'PY'
import sys
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
with open("pyproject.toml", "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["dependencies"]))
PY
)"
mapfile -t reqs <<<"$deps"
"$py" -m pip wheel --quiet --no-deps -w "$work/wheels" promise
start=$(date +%s)
if ! timeout "$limit" "$py" -m pip install --quiet --dry-run --ignore-installed \
    --python-version "$version" --only-binary=:all: --find-links "$work/wheels" \
    --target "$work/target" --report "$work/report.json" "${reqs[@]}"; then
    echo "FAIL: regkit's dependencies did not resolve for Python $version within ${limit}s" >&2
    exit 1
fi
seconds=$(( $(date +%s) - start ))
"$py" - "$work/report.json" "$version" "$seconds" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
picked = {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in report["install"]}
keys = ("tensorflow", "keras", "tensorflow-datasets", "numpy", "scikit-learn", "scipy")
print(f"Python {sys.argv[2]}: resolved in {sys.argv[3]} s: " +
      ", ".join(f"{k} {picked[k]}" for k in keys if k in picked))
PY
