"""Imports run one way: audit ← policies ← approvals ← sampling ← insights ← hitl_site, with the
MCP gateway beside hitl_site (it proposes through approvals; hitl_site serves it). A lower app
that imports a higher one, even inside a function or a migration, fails here."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What each app must never import. sampling reads approvals' actions and insights reads
# sampling's error rates, so of the three apps over policies each may use the ones before it.
NEVER_IMPORTS = {
    "audit": {"policies", "approvals", "sampling", "insights", "gateway", "hitl_site"},
    "policies": {"approvals", "sampling", "insights", "gateway", "hitl_site"},
    "approvals": {"sampling", "insights", "gateway", "hitl_site"},
    "sampling": {"insights", "gateway", "hitl_site"},
    "insights": {"gateway", "hitl_site"},
    "gateway": {"hitl_site"},
    # Who a person or an agent is: used by approvals' and the gateway's auth points, so above neither.
    "identity": {"approvals", "sampling", "insights", "gateway", "hitl_site"},
}


def imported_apps(path):
    """(line, module) for every absolute import in the file, wherever in it the import is."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.lineno, node.module


@pytest.mark.parametrize("app", NEVER_IMPORTS)
def test_an_app_imports_none_of_the_apps_above_it(app):
    wrong_way = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted((ROOT / app).rglob("*.py"))
        for line, module in imported_apps(path)
        if module.split(".")[0] in NEVER_IMPORTS[app]
    ]
    assert wrong_way == []


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "lower.py"
    module.write_text("def f():\n    from hitl_site.settings import DEBUG\n    import gateway.asgi\n")
    assert list(imported_apps(module)) == [(2, "hitl_site.settings"), (3, "gateway.asgi")]
