"""The data room's files form a one-way chain (issue 19), read from the source with `ast`.

Every import of a `regkit.data` module counts: at the top, inside a function, or under
`if TYPE_CHECKING:`. A function-level import of a regkit module is allowed only where it
defers a heavy dependency, and says so in a comment just above it.
"""

from __future__ import annotations

import ast
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "src" / "regkit" / "data"


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported regkit.data module, line, at function level) for each import in `path`."""
    tree = ast.parse(path.read_text())
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.ImportFrom) and child.module:
                if child.module == "regkit.data":
                    found.extend(
                        (f"regkit.data.{a.name}", child.lineno, inner) for a in child.names
                    )
                elif child.module.startswith("regkit."):
                    found.append((child.module, child.lineno, inner))
            elif isinstance(child, ast.Import):
                found.extend(
                    (a.name, child.lineno, inner) for a in child.names if "regkit." in a.name
                )
            visit(child, inner)

    visit(tree, False)
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(DATA.glob("*.py")):
        if path.name == "__init__.py":
            continue  # the package's lazy names: imported by users, never by these files
        graph[path.stem] = {
            module.split(".")[2]
            for module, _, _ in _imports(path)
            if module.startswith("regkit.data.") and module.count(".") == 2
        }
    return graph


def test_no_data_file_imports_one_that_imports_it_back():
    graph = _graph()
    order: list[str] = []
    state: dict[str, str] = {}

    def walk(module: str, path: list[str]) -> None:
        if state.get(module) == "done":
            return
        assert state.get(module) != "open", f"import circle: {' -> '.join([*path, module])}"
        state[module] = "open"
        for dep in sorted(graph.get(module, ())):
            walk(dep, [*path, module])
        state[module] = "done"
        order.append(module)

    for module in sorted(graph):
        walk(module, [])
    assert set(order) == set(graph)


def test_no_data_file_imports_the_package():
    offenders = [
        f"{path.name}:{line}"
        for path in sorted(DATA.glob("*.py"))
        if path.name != "__init__.py"
        for module, line, _ in _imports(path)
        if module == "regkit.data"
    ]
    assert offenders == []


def test_function_level_regkit_imports_say_what_they_defer():
    offenders = []
    for path in sorted(DATA.glob("*.py")):
        lines = path.read_text().splitlines()
        for _, line, in_function in _imports(path):
            if not in_function:
                continue
            above = "\n".join(lines[max(0, line - 6) : line - 1])
            if "Imported here" not in above:
                offenders.append(f"{path.name}:{line}")
    assert offenders == []
