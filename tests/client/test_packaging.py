"""hitl_client installs into agents as httpx alone: every framework adapter is an optional extra,
and importing the client loads none of them (nor Django)."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "hitl_client" / "pyproject.toml"

# Each extra's top-level module, and what else the client must never bring in.
EXTRA_MODULES = {
    "langgraph": "langgraph",
    "openai-agents": "agents",
    "pydantic-ai": "pydantic_ai",
    "google-adk": "google.adk",
    "claude-agent-sdk": "claude_agent_sdk",
    "agent-framework": "agent_framework",
    "crewai": "crewai",
    "mcp": "mcp",
}
NEVER = ("django", "openai", "langchain", "langchain_core", "humanlayer", "pydantic")


def project():
    return tomllib.loads(PYPROJECT.read_text())["project"]


def test_the_client_depends_on_httpx_alone():
    names = [re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0] for requirement in project()["dependencies"]]

    assert names == ["httpx"]


def test_every_extra_is_known_here():
    """A new extra must be added to EXTRA_MODULES, so the import test below checks it too."""
    assert set(project()["optional-dependencies"]) == set(EXTRA_MODULES)


def test_importing_the_client_loads_no_framework():
    loaded = subprocess.run(
        [sys.executable, "-c", "import json, sys, hitl_client; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    modules = json.loads(loaded.stdout)

    assert "hitl_client" in modules and "httpx" in modules
    forbidden = [*EXTRA_MODULES.values(), *NEVER]
    found = [m for m in modules if any(m == name or m.startswith(f"{name}.") for name in forbidden)]
    assert found == []
