"""Import time: `import regkit` vs `import keras`, each in a fresh Python process.

regkit's `__init__` is lazy (PEP 562): `import regkit` loads no TensorFlow, Keras,
tensorflow_datasets, matplotlib or scikit-learn, and the first public name used loads
what it needs. For honesty the table also times `import regkit; regkit.build_cnn`, which
loads Keras (and TensorFlow) plus regkit's model modules, against `import keras` alone.
The commands run interleaved for several rounds; the figures are medians of wall-clock
seconds, interpreter start-up included. Target: `import regkit` / `import keras` <= 1.10.

    python bench/bench_import.py [--quick] [--rounds N] [--json PATH]
"""

from __future__ import annotations

import json
import subprocess

import _common

TARGET = 1.10
COMMANDS = {
    "python -c pass": "pass",
    "import keras": "import keras",
    "import regkit": "import regkit",
    "import regkit; regkit.build_cnn": "import regkit; regkit.build_cnn",
}
HEAVY = ("tensorflow", "keras", "tensorflow_datasets", "matplotlib", "sklearn")


def heavy_modules_after(code: str) -> list[str]:
    """Which heavy packages are in sys.modules after running `code` in a fresh process."""
    probe = (
        f"{code}\nimport sys, json\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [_common.python(), "-c", probe],
        env=_common.quiet_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    args = _common.parser(__doc__.splitlines()[0]).parse_args()
    info = _common.print_machine()
    rounds = args.rounds or (2 if args.quick else 7)
    print(f"timing {len(COMMANDS)} commands x {rounds} rounds in fresh processes", flush=True)
    arms = {
        label: (lambda code=code: _common.timed_run([_common.python(), "-c", code]))
        for label, code in COMMANDS.items()
    }
    times = _common.interleave(arms, rounds)
    med = {label: _common.median(values) for label, values in times.items()}
    keras_s = med["import keras"]
    rows = []
    for label in COMMANDS:
        rows.append(
            [
                f"`{label}`",
                _common.num(med[label]),
                _common.spread(times[label]),
                f"{med[label] / keras_s:.3f}",
                ", ".join(heavy_modules_after(COMMANDS[label])) or "none",
            ]
        )
    ratio = med["import regkit"] / keras_s
    honest = med["import regkit; regkit.build_cnn"] / keras_s
    print()
    print(
        _common.markdown_table(
            ["command", "median s", "min-max s", "/ import keras", "heavy modules loaded"], rows
        )
    )
    print()
    verdict = _common.verdict(ratio, TARGET, at_least=False)
    print(f"import regkit / import keras = {ratio:.3f}: {verdict}")
    print(f"import regkit; regkit.build_cnn / import keras = {honest:.3f} (loads Keras itself)")
    _common.finish(
        args,
        {
            "bench": "import",
            "machine": info,
            "rounds": rounds,
            "seconds": times,
            "median_s": med,
            "ratio": ratio,
            "ratio_build_cnn": honest,
            "verdict": verdict,
        },
    )


if __name__ == "__main__":
    main()
