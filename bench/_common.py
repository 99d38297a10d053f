"""Timing helpers shared by the bench/bench_*.py scripts.

Every benchmark compares regkit with a reference measured in the same run, on the same
machine, at the same time: the two are interleaved (A B, B A, A B, ...) for several rounds
and the medians compared, so that load from other processes falls on both alike. Results
print as Markdown tables (ready for docs/benchmarks.md) and, with ``--json PATH``, as JSON.

Nothing here imports TensorFlow: bench_import.py times that import in fresh processes.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def quiet_env(**extra: str) -> dict[str, str]:
    """The environment for benchmark subprocesses: TensorFlow's C++ logging silenced."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **extra)
    return env


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--quick", action="store_true", help="smoke run: fewest rounds and steps (seconds)"
    )
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds per arm")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    return p


def interleave(arms: Mapping[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Measures every arm once per round, alternating the order between rounds.

    Args:
        arms: Name -> zero-argument callable returning one measurement (seconds, a rate...).
        rounds: How many measurements each arm gets.

    Returns:
        Name -> its measurements in the order taken.
    """
    names = list(arms)
    results: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            results[name].append(float(arms[name]()))
    return results


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def num(value: float) -> str:
    """A figure for a table: 1,305 / 4.81 / 0.0631 (three significant digits, no exponent)."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def spread(values: Sequence[float]) -> str:
    """``min-max`` of the measurements, for the reader to judge the noise."""
    return f"{num(min(values))}-{num(max(values))}"


def timed_run(cmd: Sequence[str], *, env: Mapping[str, str] | None = None, **kw: Any) -> float:
    """Wall-clock seconds of one subprocess run; raises if it fails."""
    start = time.perf_counter()
    proc = subprocess.run(
        list(cmd), env=dict(env or quiet_env()), capture_output=True, text=True, **kw
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return elapsed


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _regkit_version() -> str:
    """The version of the regkit being measured (this checkout's, whatever the distribution
    is called: regkit-keras since 0.4, and a stale `regkit` egg-info may linger)."""
    from regkit._version import __version__

    return __version__


def machine() -> dict[str, Any]:
    """Where and when the figures were taken (no TensorFlow import needed)."""
    load = [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None
    nvidia = Path("/proc/driver/nvidia").exists()
    return {
        "date": _dt.date.today().isoformat(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "load_average": load,
        "python": platform.python_version(),
        "tensorflow": _version("tensorflow"),
        "keras": _version("keras"),
        "regkit": _regkit_version(),
        "gpu": "NVIDIA driver present" if nvidia else "none visible",
    }


def print_machine(info: Mapping[str, Any] | None = None) -> dict[str, Any]:
    info = dict(info or machine())
    print(
        f"machine: {info['cpu']} x{info['cpu_count']} logical CPUs, GPU: {info['gpu']}; "
        f"load average {info['load_average']}; Python {info['python']}, TensorFlow "
        f"{info['tensorflow']}, Keras {info['keras']}, regkit {info['regkit']}; {info['date']}"
    )
    return info


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        return f"{v:.3g}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(ratio: float, target: float, *, at_least: bool) -> str:
    met = ratio >= target if at_least else ratio <= target
    sign = ">=" if at_least else "<="
    return f"{'met' if met else 'NOT met'} (target {sign} {target:g})"


def finish(args: argparse.Namespace, payload: Mapping[str, Any]) -> None:
    """Writes the JSON results when --json was given."""
    if args.json:
        Path(args.json).write_text(json.dumps(payload, indent=2, default=str) + "\n")
        print(f"results written to {args.json}")


def python() -> str:
    return sys.executable
