"""Issue 10's yardstick, kept: no function in src/ needs a reader to hold more than one job in mind.

Cyclomatic complexity (radon) above 15 fails unless the function says why in a ``# complexity:`` comment.
"""

from __future__ import annotations

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
