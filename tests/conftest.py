"""Named actors, a few action types and the agent API, shared by every test."""

import copy
import json
import os
import socket
import threading
import time
from datetime import timedelta

import pytest
import uvicorn
from django.contrib.auth.models import Group, User
from django.db import connection
from guardian.shortcuts import assign_perm

from approvals import views
from approvals.models import Action
from hitl_site import roles
from policies.models import ActionType, Agent

# Browser tests run Django's live server in a thread while Playwright's event loop is
# running in this one; Django would otherwise refuse the ORM calls the tests make.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct horse battery staple"
# The second step of approving an irreversible action in the inbox (#20); the refunds are.
CONFIRMED = {"confirm": views.CONFIRMED}


def pytest_collection_modifyitems(items):
    """Tests that drive Chromium run last. Playwright's sync API leaves its event loop running
    in the main thread from the first browser test to the end of the session, and Django (the
    test client calling an async view, `asyncio.run`) refuses to start a loop of its own there."""
    items.sort(key=lambda item: "playwright" in getattr(item, "fixturenames", ()))


REFUND_SCHEMA = {
    "type": "object",
    "required": ["customer", "amount", "currency"],
    "properties": {
        "customer": {"type": "string", "pattern": "^cus_[A-Za-z0-9]+$"},
        "amount": {"type": "number", "exclusiveMinimum": 0},
        "currency": {"type": "string", "enum": ["USD", "EUR"]},
    },
    "additionalProperties": False,
}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def asgi_url(transactional_db):
    """Countersign's ASGI application (`hitl_site.asgi`, as gunicorn's uvicorn worker serves it)
    under uvicorn in a thread, on the test database; its base URL."""
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    from hitl_site.asgi import application as countersign

    # Static files from the apps' folders, as the live server serves them (no collectstatic).
    application = ASGIStaticFilesHandler(countersign)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    # An open event stream never ends by itself: 2 s after the test, uvicorn drops it.
    config = uvicorn.Config(application, lifespan="on", log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        threading.Event().wait(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join()
    sock.close()


@pytest.fixture(scope="session", autouse=True)
def stop_decision_listener(django_db_setup):
    """The long-poll's LISTEN connection must close before the test database is dropped."""
    yield
    from approvals.waiting import listener

    listener.stop()


@pytest.fixture(autouse=True)
def own_audit_witness(settings, tmp_path):
    """Each test's chain heads go to a witness directory of its own, as its database is its own:
    a head another test signed would be a head missing from this one's database."""
    settings.AUDIT_WITNESS_DIR = str(tmp_path / "witness")


@pytest.fixture(scope="session", autouse=True)
def allow_flushing_the_audit_log(django_db_setup, django_db_blocker):
    """pytest-django empties tables with TRUNCATE, which the audit log refuses on any database
    whose owner has not allowed it (audit migration 0003): the test database allows it."""
    name = connection.ops.quote_name(connection.settings_dict["NAME"])
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(f"ALTER DATABASE {name} SET countersign.audit_truncate = 'allowed'")


def make_user(username, group=None, **extra):
    """A user, in `group` if given: one of the roles (hitl_site/roles.py) with the permissions a
    fresh install gives it, or any other group by that name."""
    user = User.objects.create_user(username, f"{username}@example.com", PASSWORD, **extra)
    if group:
        roles.install()  # made by a migration, but a transactional test's flush empties the groups
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


def pending_action(key=None, timeout=10.0):
    """The action an agent under test (its SDK, a framework, an MCP client) just proposed, of type
    `key` if given, once it is waiting for a person; the agent runs in another thread or process."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = Action.objects.filter(status=Action.Status.PENDING).select_related("action_type", "agent")
        action = (waiting.filter(action_type__key=key) if key else waiting).first()
        if action is not None:
            return action
        time.sleep(0.02)
    raise AssertionError(f"No {key or 'action'} was proposed and left pending within {timeout} s.")


@pytest.fixture
def refund_type(db):
    return ActionType.objects.create(
        key="payments.refund",
        name="Refund a payment",
        params_schema=copy.deepcopy(REFUND_SCHEMA),  # a test may change its own copy
        summary_template="Refund {{ amount|money:currency }} to customer {{ customer }}",
        autonomy="confirm",
        irreversible=True,
        editable_params=["amount"],
        sla=timedelta(minutes=30),
        # Past the routing gates that would hold any new or irreversible type, so that its level
        # alone decides; tests of those gates switch them back on.
        allow_irreversible_unattended=True,
        first_use_threshold=0,
    )


# The named actors. Each holds a role exactly as an admin would grant it: a member of its group,
# with that group's permissions and nothing else.


@pytest.fixture
def supervisor(db, refund_type):
    """Sue reviews refunds."""
    user = make_user("sue", roles.SUPERVISORS)
    assign_perm("policies.review_actiontype", Group.objects.get(name=roles.SUPERVISORS), refund_type)
    return user


@pytest.fixture
def second_supervisor(supervisor):
    return make_user("sam", roles.SUPERVISORS)


@pytest.fixture
def policy_admin(db):
    """Pat edits policies in the admin: a policy_admins member with staff status, not a superuser."""
    return make_user("pat", roles.POLICY_ADMINS, is_staff=True)


@pytest.fixture
def auditor(db):
    return make_user("audrey", roles.AUDITORS)


@pytest.fixture
def sample_reviewer(db):
    return make_user("sandy", roles.SAMPLE_REVIEWERS)


@pytest.fixture
def superuser(db):
    return make_user("root", is_staff=True, is_superuser=True)


@pytest.fixture
def outsider(db):
    """Olive may log in and nothing more."""
    return make_user("olive")


@pytest.fixture
def agent(db):
    return Agent.objects.create(name="billing-agent")


@pytest.fixture
def token(agent):
    return agent.issue_token(label="tests")


class AgentApi:
    """The agent API through Django's test client, as an agent with a token would call it."""

    def __init__(self, client, token):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def post(self, path, body=None, *, raw=None, idempotency_key=None):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        headers = {**self.headers, **({"Idempotency-Key": idempotency_key} if idempotency_key else {})}
        return self.client.post("/api/v1" + path, data=data, content_type="application/json", headers=headers)

    def get(self, path, **params):
        return self.client.get("/api/v1" + path, params, headers=self.headers)

    def propose(self, action="payments.refund", params=None, *, idempotency_key=None, **fields):
        params = params if params is not None else {"customer": "cus_123", "amount": 750, "currency": "USD"}
        return self.post("/actions", {"action": action, "params": params, **fields}, idempotency_key=idempotency_key)


@pytest.fixture
def reversible(refund_type):
    """The refund type, made reversible: approved in one step, and open to standing approvals."""
    ActionType.objects.filter(pk=refund_type.pk).update(irreversible=False)
    return refund_type


@pytest.fixture
def fresh_rate_counters():
    """Agent ids restart with each test database; counters of an earlier test must not count."""
    from approvals import agent_auth

    redis = agent_auth._redis()
    for key in redis.scan_iter("rate:agent:*"):
        redis.delete(key)


@pytest.fixture
def api(client, token):
    return AgentApi(client, token)


@pytest.fixture
def pending(api, refund_type):
    """A refund the agent proposed, waiting for a person."""
    return Action.objects.get(pk=api.propose(rationale="Customer reports a double charge").json()["id"])


@pytest.fixture
def push_on(settings):
    """This server with a VAPID key pair (push notifications on), sending to push services on
    localhost: the test's (tests/channels/push_service.py)."""
    from push import vapid

    settings.HITL_VAPID_PRIVATE_KEY = vapid.new_private_key()
    settings.HITL_PUSH_SERVICE_HOSTS = ["127.0.0.1"]
    return settings


@pytest.fixture
def push_service():
    from tests.channels.push_service import PushService

    service = PushService()
    yield service
    service.close()


@pytest.fixture
def stopping_process():
    """This process's readiness (`hitl_lib.readiness`), for a test that stops it as SIGTERM would;
    set back to ready afterwards, which a real process never is."""
    from hitl_lib import readiness

    yield readiness
    readiness._draining.clear()
    readiness._released.clear()
