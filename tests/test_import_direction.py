"""Imports run one way: hitl_lib ← audit ← policies ← approvals ← sampling ← insights ← hitl_site,
with the MCP gateway beside hitl_site (it proposes through approvals; hitl_site serves it), and push
notifications over approvals (which tells them of actions by a signal, approvals/signals.py). A lower
app that imports a higher one, even inside a function or a migration, fails here; so does an import
cycle inside an app, even one closed by an import inside a function."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What each app must never import. sampling reads approvals' actions and insights reads
# sampling's error rates, so of the three apps over policies each may use the ones before it.
NEVER_IMPORTS = {
    "audit": {"policies", "approvals", "teams", "sampling", "insights", "gateway", "hitl_site", "push"},
    "policies": {"approvals", "teams", "sampling", "insights", "gateway", "hitl_site", "push"},
    "approvals": {"teams", "sampling", "insights", "gateway", "hitl_site", "push"},
    "sampling": {"insights", "gateway", "hitl_site"},
    "insights": {"gateway", "hitl_site"},
    "gateway": {"hitl_site"},
    "hitl_lib": {
        "audit", "policies", "identity", "approvals", "teams", "sampling", "insights", "gateway", "hitl_site", "push",
    },
    # Microsoft Teams decides through approvals (and joins its card channels from its AppConfig).
    "teams": {"sampling", "insights", "gateway", "hitl_site"},
    # Who a person or an agent is: used by approvals' and the gateway's auth points, so above neither.
    "identity": {"approvals", "teams", "sampling", "insights", "gateway", "hitl_site", "push"},
    # A channel over approvals: it reads actions and decides through them; nothing below hears of it.
    "push": {"sampling", "insights", "gateway", "hitl_site"},
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


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(app):
    """module → the modules of the same app it imports, wherever in the file (a lazy import
    inside a function hides a cycle from Python, not from the reader)."""
    modules = {module_name(path): path for path in (ROOT / app).rglob("*.py") if "migrations" not in path.parts}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for _, module in imported_apps(path):
            # `from approvals.models import Action` names approvals.models; `from approvals import
            # tasks` names approvals.tasks where that is a module.
            if module in modules:
                targets.add(module)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in modules:
                targets |= {f"{node.module}.{alias.name}" for alias in node.names} & modules.keys()
        graph[name] = targets - {name}
    return graph


def cycles(graph):
    """Each import cycle, as the list of modules around it (Tarjan's strongly connected components)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("app", NEVER_IMPORTS)
def test_no_app_has_an_import_cycle_inside_it(app):
    assert cycles(import_graph(app)) == []


def test_the_cycle_check_finds_a_cycle_hidden_in_a_function():
    graph = {"a.models": {"a.tasks"}, "a.tasks": {"a.views"}, "a.views": {"a.models"}, "a.api": {"a.models"}}
    assert cycles(graph) == [["a.models", "a.tasks", "a.views"]]

