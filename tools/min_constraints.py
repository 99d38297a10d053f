"""Print pip constraints that pin each direct dependency of regkit to its declared floor.

pip has no "lowest direct" resolution, so `make test-min-versions` installs regkit with
these constraints: every `name>=X` in pyproject.toml's `[project].dependencies` becomes
`name==X` (its environment marker kept), and pip resolves the rest as usual. A floor that
is false (the code needs something newer) then fails the smoke tests instead of a user's
install.

Usage:
    python tools/min_constraints.py [pyproject.toml] > constraints.txt

Extras (`--extra NAME`, repeatable) add the floors of those optional dependencies too.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
#: name[extras] >=floor [,<cap] [; marker]
REQUIREMENT = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*"
    r"(?P<spec>[^;]*?)\s*(?:;\s*(?P<marker>.+))?$"
)
FLOOR = re.compile(r">=\s*([^,\s]+)")


def floors(requirements: list[str]) -> list[str]:
    """`name==floor[; marker]` for each requirement; a requirement without a floor fails.

    Args:
        requirements: PEP 508 strings, as in `[project].dependencies`.

    Returns:
        One constraint line per requirement, in the given order.

    Raises:
        ValueError: A requirement has no `>=` floor (an unbounded dependency cannot be
            tested at its lowest version).

    Example:
        >>> floors(["numpy>=1.26", "tomli>=2; python_version < '3.11'"])
        ['numpy==1.26', "tomli==2; python_version < '3.11'"]
    """
    out = []
    for requirement in requirements:
        match = REQUIREMENT.match(requirement)
        floor = FLOOR.search(match.group("spec")) if match else None
        if match is None or floor is None:
            raise ValueError(
                f"Invalid value for a dependency: expected a `>=` floor. Received: {requirement!r}"
            )
        line = f"{match.group('name')}=={floor.group(1)}"
        if match.group("marker"):
            line += f"; {match.group('marker')}"
        out.append(line)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pyproject", nargs="?", default=str(ROOT / "pyproject.toml"))
    parser.add_argument("--extra", action="append", default=[], help="add an extra's floors")
    args = parser.parse_args(argv)
    with open(args.pyproject, "rb") as f:
        project = tomllib.load(f)["project"]
    requirements = list(project["dependencies"])
    for extra in args.extra:
        requirements += project["optional-dependencies"][extra]
    sys.stdout.write("".join(line + "\n" for line in floors(requirements)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
