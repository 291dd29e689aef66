"""The Dockerfile builds an image that can run the server: every local package the server needs is
copied into it. No Docker engine runs the tests, so the Dockerfile is read as text."""

import ast
import re
import shlex
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def instructions():
    """(instruction, arguments) per instruction, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def copied():
    """What the COPY instructions take from the build context, as top-level names."""
    sources = set()
    for instruction, arguments in instructions():
        if instruction == "COPY":
            words = [word for word in shlex.split(arguments) if not word.startswith("--")]
            sources |= {Path(source).parts[0] if Path(source).parts else "." for source in words[:-1]}
    return sources


def local_package(name):
    return (ROOT / name / "__init__.py").exists() or (ROOT / f"{name}.py").exists()


def local_imports(package):
    """The top-level local packages and modules that `package`'s code imports, its tests aside."""
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        if "tests" in path.relative_to(ROOT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found |= {name.split(".")[0] for name in names if local_package(name.split(".")[0])}
    return found


def server_packages():
    """The local apps in INSTALLED_APPS and, transitively, every local package they import."""
    needed = {app.split(".")[0] for app in settings.INSTALLED_APPS if local_package(app.split(".")[0])}
    todo = set(needed)
    while todo:
        imported = local_imports(todo.pop()) - needed
        needed |= imported
        todo |= imported
    return needed


def test_the_image_gets_every_local_package_the_server_imports():
    packages = server_packages()

    assert {"hitl_lib", "hitl_site", "approvals", "gateway"} <= packages
    assert "hitl_client" not in packages  # the agent's package: the server never imports it
    assert not packages - copied(), f"the Dockerfile does not copy {sorted(packages - copied())}"


def test_the_image_gets_the_templates_and_static_files_and_manage_py():
    folders = {Path(folder).relative_to(ROOT).parts[0] for folder in settings.STATICFILES_DIRS}
    folders |= {Path(folder).relative_to(ROOT).parts[0] for engine in settings.TEMPLATES for folder in engine["DIRS"]}

    assert folders | {"manage.py", "pyproject.toml"} <= copied()


def test_the_client_package_is_installed_as_its_own_distribution():
    """hitl_client is a distribution of its own (hitl_client/pyproject.toml), not one of the
    server's packages: installed from its folder, it brings the `countersign-mcp` console script."""
    installs = [
        arguments for instruction, arguments in instructions() if instruction == "RUN" and "pip install" in arguments
    ]

    assert any("./hitl_client" in shlex.split(arguments) for arguments in installs)


def test_the_server_distribution_includes_every_local_package_the_server_imports():
    import fnmatch
    import tomllib

    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    missing = {name for name in server_packages() if not any(fnmatch.fnmatch(name, pattern) for pattern in include)}

    assert not missing, f"pyproject.toml's packages leave out {sorted(missing)}"
