"""docs/integrating.md's Python examples are Python: each block compiles (one shipped a SyntaxError)."""

import ast
import re
import textwrap
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrating.md"
# A block inside a list item is indented with it.
BLOCKS = [textwrap.dedent(b) for b in re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)]


def test_the_guide_has_python_examples():
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_each_python_example_compiles(number):
    compile(BLOCKS[number], f"integrating.md block {number}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
