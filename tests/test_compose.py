"""docker-compose.yml describes the production-like deployment the README promises."""

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"


def test_compose_runs_every_process_from_environment_variables():
    services = yaml.safe_load(COMPOSE.read_text())["services"]

    assert {"db", "redis", "web", "worker", "beat"} <= set(services)
    assert services["db"]["image"] == "postgres:17"
    for name in ("web", "worker", "beat"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["REDIS_URL"] == "redis://redis:6379/0"
    assert services["worker"]["command"][:4] == ["celery", "-A", "hitl_site", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "hitl_site", "beat"]
