"""docker-compose.yml describes the production-like deployment the README promises."""

import ipaddress
from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"
HAPROXY = COMPOSE.parent / "deploy" / "haproxy.cfg"


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


def test_compose_runs_two_web_replicas_behind_haproxy_with_the_committed_configuration():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    web, proxy = services["web"], services["proxy"]

    assert web["deploy"]["replicas"] == 2
    assert "ports" not in web  # reached through the proxy only
    assert proxy["image"].startswith("haproxy:")
    assert "./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in proxy["volumes"]
    assert proxy["ports"] == ["8000:8000"]
    # The config finds the replicas by the service's name, on the network they share with the proxy.
    assert "server-template web 8 web:8000 " in HAPROXY.read_text()
    assert "front" in web["networks"] and "front" in proxy["networks"]


def test_the_web_believes_forwarded_headers_from_the_proxys_address_only():
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    proxy_address = services["proxy"]["networks"]["front"]["ipv4_address"]
    subnet = compose["networks"]["front"]["ipam"]["config"][0]["subnet"]

    assert services["web"]["environment"]["FORWARDED_ALLOW_IPS"] == proxy_address
    assert ipaddress.ip_address(proxy_address) in ipaddress.ip_network(subnet)
    for name in ("worker", "beat", "migrate"):
        assert "FORWARDED_ALLOW_IPS" not in services[name]["environment"]


def test_the_replicas_and_celery_fit_the_databases_max_connections():
    """What gunicorn's start-up check (hitl_site/connection_budget.py) holds each replica to, for
    the compose file's own numbers: both replicas' processes and Celery within max_connections."""
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    web = services["web"]["environment"]
    max_connections = int(services["db"]["command"][services["db"]["command"].index("-c") + 1].split("=")[1])
    workers = int(web["HITL_WEB_WORKERS"].removeprefix("${HITL_WEB_WORKERS:-").removesuffix("}"))
    others = int(web["HITL_DB_OTHER_CONNECTIONS"].removeprefix("${HITL_DB_OTHER_CONNECTIONS:-").removesuffix("}"))
    per_process = int(web.get("DB_POOL_MAX_SIZE", 20)) + 1
    replicas = services["web"]["deploy"]["replicas"]

    # Each replica's check: its own processes and everything else it is told of.
    assert workers * per_process + others <= max_connections - 3
    # What it is told of covers the other replica's processes.
    assert others >= (replicas - 1) * workers * per_process


def test_a_stopping_replica_has_time_to_drain_before_docker_kills_it():
    from hitl_site import gunicorn_conf

    web = yaml.safe_load(COMPOSE.read_text())["services"]["web"]

    assert web["stop_grace_period"].endswith("s")
    assert int(web["stop_grace_period"][:-1]) > gunicorn_conf.graceful_timeout
