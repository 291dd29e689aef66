"""Each web process opens at most DB_POOL_MAX_SIZE + 1 PostgreSQL connections (its pool and one
LISTEN), and gunicorn refuses to start processes that together could open more than the server
takes (hitl_site/connection_budget.py; README, "Connection limits")."""

import subprocess
import threading

import httpx
import pytest
from django.db import connection

from tests.scale.conftest import GUNICORN, env_on_test_database, free_port, start_gunicorn, stop, wait_until_answering

pytestmark = pytest.mark.django_db(transaction=True)


def server_allows():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(setting::int) FILTER (WHERE name = 'max_connections'),"
            " sum(setting::int) FILTER (WHERE name <> 'max_connections') FROM pg_settings"
            " WHERE name IN ('max_connections', 'superuser_reserved_connections', 'reserved_connections')"
        )
        max_connections, kept = cursor.fetchone()
    return max_connections, max_connections - kept


def connections_to_the_test_database():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND backend_type = 'client backend'"
        )
        return cursor.fetchone()[0]


def test_processes_that_could_open_more_connections_than_the_server_takes_are_refused_with_the_numbers():
    max_connections, available = server_allows()
    env = env_on_test_database(
        HITL_WEB_WORKERS="3", DB_POOL_MAX_SIZE=str(available // 3), HITL_DB_OTHER_CONNECTIONS="10"
    )

    started = subprocess.run(
        [str(GUNICORN), "--config", "hitl_site/gunicorn_conf.py", "--bind", f"127.0.0.1:{free_port()}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    each = available // 3 + 1
    assert started.returncode == 1
    assert (
        f"Refusing to start: 3 web processes (HITL_WEB_WORKERS) × {each} PostgreSQL connections each "
        f"(DB_POOL_MAX_SIZE {each - 1} + 1 LISTEN) + 10 for everything else (HITL_DB_OTHER_CONNECTIONS: Celery, "
        f"other hosts, psql) = {3 * each + 10}, more than the {available} the server allows (max_connections "
        f"{max_connections} − {max_connections - available} reserved). Lower HITL_WEB_WORKERS or DB_POOL_MAX_SIZE, "
        "or raise max_connections"
    ) in started.stderr
    assert "Booting worker" not in started.stderr


def test_processes_that_fit_start_and_say_how_many_connections_they_may_open(start_web):
    _, available = server_allows()

    (web,) = start_web(1, HITL_WEB_WORKERS="2", DB_POOL_MAX_SIZE="5", HITL_DB_OTHER_CONNECTIONS="10")

    assert httpx.get(web.url + "/readyz").status_code == 200
    assert f"PostgreSQL connections: at most 22 of the {available} available" in web.log()


def test_without_a_number_set_gunicorn_starts_as_many_processes_as_fit_rather_than_refusing(start_web):
    """Two cores here; the server's connections leave room for one process of 6 (a pool of 5 and
    the LISTEN) beside everything else: one starts, and says so."""
    _, available = server_allows()
    others = available - 6 - 1

    (web,) = start_web(1, HITL_WEB_WORKERS="", DB_POOL_MAX_SIZE="5", HITL_DB_OTHER_CONNECTIONS=str(others))

    assert httpx.get(web.url + "/readyz").status_code == 200
    assert f"PostgreSQL connections: at most {6 + others} of the {available} available" in web.log()
    assert web.log().count("Booting worker") == 1


def test_one_process_under_load_opens_at_most_its_pool_and_one_listen(tmp_path, token, refund_type):
    before = connections_to_the_test_database()
    port = free_port()
    log_path = tmp_path / "web.log"
    process = start_gunicorn(
        port, log_path.open("ab"), env_on_test_database(HITL_WEB_WORKERS="1", DB_POOL_MAX_SIZE="4")
    )
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    seen = []
    try:
        wait_until_answering(url, process, log_path)
        ids = [
            httpx.post(url + "/api/v1/actions", json=proposal(n), headers=headers, timeout=30).json()["id"]
            for n in range(5)
        ]
        waits = [
            threading.Thread(
                target=httpx.get,
                args=(f"{url}/api/v1/actions/{pk}/wait",),
                kwargs={"params": {"timeout": 10}, "headers": headers, "timeout": 30},
            )
            for pk in ids
        ]
        proposers = [
            threading.Thread(
                target=lambda n=n: [
                    httpx.post(url + "/api/v1/actions", json=proposal(100 + 10 * n + i), headers=headers, timeout=30)
                    for i in range(5)
                ]
            )
            for n in range(12)
        ]
        for thread in waits + proposers:
            thread.start()
        while any(thread.is_alive() for thread in proposers):
            seen.append(connections_to_the_test_database() - before)
        for thread in waits + proposers:
            thread.join()
    finally:
        stop(process)

    # The pool's four and the LISTEN, however many requests at once (12 proposing, 5 waiting).
    assert max(seen) <= 5, seen
    assert max(seen) >= 2, seen


def proposal(n):
    return {"action": "payments.refund", "params": {"customer": f"cus_{n}", "amount": 5, "currency": "USD"}}


def test_a_database_that_does_not_answer_at_start_is_no_reason_to_refuse(tmp_path):
    """An outage is not a configuration error: the processes start, and /readyz says 503 until
    PostgreSQL is back (as orchestrators expect), rather than gunicorn exiting."""
    port, log_path = free_port(), tmp_path / "web.log"
    nobody = f"postgres://countersign@127.0.0.1:{free_port()}/countersign"
    process = start_gunicorn(port, log_path.open("ab"), env_on_test_database(HITL_WEB_WORKERS="1", DATABASE_URL=nobody))
    try:
        wait_until_answering(f"http://127.0.0.1:{port}", process, log_path)
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=30)
    finally:
        stop(process)

    assert ready.status_code == 503
    assert "PostgreSQL connections not checked: the server does not answer" in log_path.read_text()
