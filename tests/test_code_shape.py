"""Issue 10's yardstick, kept: no function in src/ needs a reader to hold more than one job in mind; and
issue 21's: no two modules import each other, directly or round a circle.

Cyclomatic complexity (radon) above 15 fails unless the function says why in a ``# complexity:`` comment.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

radon = pytest.importorskip("radon.complexity")

SRC = Path(__file__).resolve().parents[1] / "src" / "weirdkinetics"
LIMIT = 15


def _blocks(path: Path):
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    for block in radon.cc_visit(text):
        for item in [block, *getattr(block, "methods", [])]:
            body = "\n".join(lines[item.lineno - 1 : item.endline])
            yield item, body


def test_no_function_above_the_complexity_yardstick_without_a_reason():
    too_complex = [
        f"{path.relative_to(SRC.parent)}:{item.lineno} {item.fullname} ({item.complexity})"
        for path in sorted(SRC.rglob("*.py"))
        for item, body in _blocks(path)
        if item.complexity > LIMIT and "# complexity:" not in body
    ]
    assert not too_complex, "split these, or say why in a '# complexity:' comment:\n" + "\n".join(too_complex)


def test_the_yardstick_can_fail(tmp_path):
    branches = "\n".join(f"    if x == {i}:\n        return {i}" for i in range(LIMIT + 1))
    code = f"def f(x):\n{branches}\n    return -1\n"
    (block,) = radon.cc_visit(code)
    assert block.complexity > LIMIT


# --- import cycles (issue 21.2) -------------------------------------------------------------------------------


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(node: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The package's modules one import statement names (``from a import b`` names ``a.b`` where that is a
    module, else ``a``), relative imports resolved against ``module``."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in known}
    if not isinstance(node, ast.ImportFrom):
        return set()
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, base] if base else package)
    names = {f"{base}.{alias.name}" for alias in node.names}
    return (names & known) or ({base} & known)


def import_graph(root: Path = SRC) -> dict[str, set[str]]:
    """Module -> the package's modules it imports anywhere: at the top, inside functions and under
    ``TYPE_CHECKING`` alike (a type imported for annotations is still an arrow between two rooms)."""
    files = {_module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    known = set(files)
    graph = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        graph[module] = set().union(*(_imported(n, module, is_package, known) for n in ast.walk(tree))) - {
            module
        }
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each group of modules that import one another, directly or round a circle (networkx's strongly
    connected components with more than one member)."""
    nx = pytest.importorskip("networkx")
    digraph = nx.DiGraph([(a, b) for a, targets in graph.items() for b in targets])
    return sorted(sorted(c) for c in nx.strongly_connected_components(digraph) if len(c) > 1)


def test_no_import_cycles():
    cycles = import_cycles(import_graph())
    assert not cycles, "these modules import each other (make each arrow run one way):\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )


def test_the_cycle_check_sees_function_level_and_type_checking_imports(tmp_path):
    pkg = tmp_path / "weirdkinetics"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from weirdkinetics.sub import b\n")
    (pkg / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .. import c\n"
    )
    (pkg / "c.py").write_text("import weirdkinetics.a\n")
    (pkg / "d.py").write_text("from weirdkinetics import a\n")
    graph = import_graph(pkg)
    assert graph["weirdkinetics.sub.b"] == {"weirdkinetics.c"}
    assert import_cycles(graph) == [["weirdkinetics.a", "weirdkinetics.c", "weirdkinetics.sub.b"]]
