"""PostgreSQL restarted under agents parked on /wait: the server (gunicorn with the uvicorn
worker, as deployed) keeps them waiting, its LISTEN connection comes back, and a decision made
after the restart wakes every one. On a PostgreSQL of its own, so the rest of the suite is not
disturbed."""

import os
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from hitl_site import embedded
from tests.reliability.test_database_down import ROOT, call, free_port, own_postgres, pg_ctl  # noqa: F401

AGENTS = 5
REFUND = {"action": "payments.refund", "params": {"customer": "cus_1", "amount": 750, "currency": "USD"}}


def manage(env, *args):
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def wait_for(url, token, answers):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=90) as response:
            answers.append((response.status, response.read().decode()))
    except Exception as error:  # noqa: BLE001 - the test reads what went wrong
        answers.append((None, repr(error)))


@pytest.fixture
def served(own_postgres):  # noqa: F811
    env = {**os.environ, "DATABASE_URL": embedded.socket_url(own_postgres.get_postmaster_info().socket_dir)}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    manage(env, "migrate", "-v", "0")
    manage(env, "seed_demo")
    token = manage(env, "create_agent", "restart-agent")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "hitl_site/gunicorn_conf.py", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=5)
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
    yield env, base, token
    server.terminate()
    server.communicate(timeout=20)


def test_agents_waiting_through_a_postgresql_restart_are_woken_by_the_next_decision(own_postgres, served):  # noqa: F811
    env, base, token = served
    ids = []
    for _ in range(AGENTS):
        status, action = call(f"{base}/api/v1/actions", token, REFUND)
        assert status == 201 and action["status"] == "pending", action
        ids.append(action["id"])
    answers = []
    waiters = [
        threading.Thread(target=wait_for, args=(f"{base}/api/v1/actions/{i}/wait?timeout=60", token, answers))
        for i in ids
    ]
    for waiter in waiters:
        waiter.start()
    time.sleep(1)  # parked: the waiters have read their rows and subscribed

    pg_ctl(own_postgres, "stop", "-m", "fast")
    time.sleep(2)  # the listener notices and retries every second
    socket_dir = own_postgres.get_postmaster_info().socket_dir
    pg_ctl(own_postgres, "start", "-o", f'-h "" -k {socket_dir}', "-l", str(own_postgres.log))
    assert answers == [], "a waiter was answered before any decision"

    decided = manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth.models import User; from approvals.models import Action;"
        "root = User.objects.create_superuser('root', 'root@example.com', 'pw');"
        f"[Action.objects.get(pk=i).approve(by=root) for i in {ids!r}]; print('decided')",
    )
    assert decided == "decided"
    for waiter in waiters:
        waiter.join(70)

    assert len(answers) == AGENTS
    assert all(status == 200 and '"status": "approved"' in body.replace('":"', '": "') for status, body in answers), (
        answers
    )
