"""An agent's `/wait`, as the ASGI server serves it, is answered below Django's middleware
(`hitl_site.long_poll`): with the same answers, errors and headers as the API's route, which
answers it under the test client and for any `/wait` the long-poll leaves to Django."""

import asyncio
import json
from urllib.parse import unquote

import httpx
import pytest
from django.conf import settings
from django.core.signals import request_started
from django.utils.module_loading import import_string

from approvals import waiting
from approvals.models import Action
from hitl_site import long_poll
from policies.models import Agent
from tests.test_wait import wait

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def answered_by_django():
    """The paths Django's handler answered (it sends `request_started`; the long-poll does not)."""
    paths = []

    def record(sender, scope=None, environ=None, **kwargs):
        paths.append((scope or {}).get("path") or (environ or {}).get("PATH_INFO"))

    request_started.connect(record, dispatch_uid="answered_by_django")
    yield paths
    request_started.disconnect(dispatch_uid="answered_by_django")


def served(asgi_url, path, token, **params):
    return httpx.get(f"{asgi_url}/api/v1{path}", params=params, headers={"Authorization": f"Bearer {token}"})


def same_answer(served_answer, routed_answer):
    assert served_answer.status_code == routed_answer.status_code, served_answer.text
    assert served_answer.json() == routed_answer.json()


def test_a_decided_action_is_answered_as_the_route_answers_it(asgi_url, api, token, supervisor, answered_by_django):
    action_id = api.propose().json()["id"]
    Action.objects.get(pk=action_id).approve(
        by=supervisor, params={"customer": "cus_123", "amount": 5, "currency": "USD"}
    )
    answered_by_django.clear()

    answer = served(asgi_url, f"/actions/{action_id}/wait", token, timeout=30)

    assert answered_by_django == [], "Django answered the long-poll"
    same_answer(answer, wait(api, f"/actions/{action_id}/wait", timeout=30))
    assert answer.json()["status"] == "approved"
    assert answer.json()["receipt"]["params"] == {"customer": "cus_123", "amount": 5, "currency": "USD"}


def test_a_pending_action_is_answered_at_the_timeout_as_the_route_answers_it(asgi_url, api, token):
    action_id = api.propose().json()["id"]

    same_answer(
        served(asgi_url, f"/actions/{action_id}/wait", token, timeout=0.2),
        wait(api, f"/actions/{action_id}/wait", timeout=0.2),
    )


def test_what_the_route_leaves_out_of_an_action_it_leaves_out(asgi_url, api, token, answered_by_django):
    """Routing keeps a checker's disagreement and a standing approval's id on the action; the
    API's schema (`ActionOut`) shows an agent neither."""
    action_id = api.propose().json()["id"]
    action = Action.objects.get(pk=action_id)
    Action.objects.filter(pk=action_id).update(route={**action.route, "disagreement": "amount", "standing_approval": 7})
    answered_by_django.clear()

    answer = served(asgi_url, f"/actions/{action_id}/wait", token, timeout=0)

    assert answered_by_django == []
    same_answer(answer, wait(api, f"/actions/{action_id}/wait", timeout=0))
    assert set(answer.json()["route"]) == {"reasons", "checkers"}


@pytest.mark.parametrize("timeout", ["0.12345678901234567", "5e-05", "0"])
def test_a_timeout_as_the_python_client_writes_it_is_answered_below_django(
    asgi_url, api, token, timeout, answered_by_django
):
    action_id = api.propose().json()["id"]
    answered_by_django.clear()

    answer = httpx.get(
        f"{asgi_url}/api/v1/actions/{action_id}/wait?timeout={timeout}", headers={"Authorization": f"bearer {token}"}
    )

    assert answered_by_django == []
    assert answer.status_code == 200 and answer.json()["status"] == "pending"


def test_it_keeps_the_header_middleware_in_the_settings_order_and_leaves_out_only_what_an_agent_needs_not():
    left_out_because = {
        "hitl_site.static_files.StaticFilesMiddleware": "serves files under /static/ only",
        "django.contrib.sessions.middleware.SessionMiddleware": "an agent sends a bearer token, no session cookie",
        "django.middleware.csrf.CsrfViewMiddleware": "a GET changes nothing, and a bearer token is no cookie",
        "hitl_site.middleware.AuthenticationMiddleware": "the route authenticates the token itself",
        "django.contrib.messages.middleware.MessageMiddleware": "messages are for a person's next page",
        "django_htmx.middleware.HtmxMiddleware": "htmx requests come from the inbox, not agents",
        "axes.middleware.AxesMiddleware": "it locks out failed logins to the site, not agent tokens",
        "identity.middleware.VerifiedIdentityMiddleware": "it checks people's sessions; an agent has none",
    }
    used = [
        next(
            name
            for name in settings.MIDDLEWARE
            if import_string(name) in (middleware, *getattr(middleware, "__mro__", ()))
        )
        for middleware in long_poll.HEADER_MIDDLEWARE
    ]

    assert used == [name for name in settings.MIDDLEWARE if name in used], "not in the settings' order"
    assert set(settings.MIDDLEWARE) - set(used) == set(left_out_because)


def test_its_error_answers_are_logged_as_django_logs_them(asgi_url, api, token, caplog):
    path = "/actions/00000000-0000-4000-8000-000000000000/wait"

    with caplog.at_level("WARNING", logger="django.request"):
        served(asgi_url, path, token, timeout=0)

    assert [record.getMessage() for record in caplog.records if record.name == "django.request"] == [
        f"Not Found: /api/v1{path}"
    ]


def test_its_headers_are_those_of_every_api_answer(asgi_url, api, token, supervisor):
    action_id = api.propose().json()["id"]
    Action.objects.get(pk=action_id).approve(by=supervisor)
    ignored = {"date", "server"}

    long_poll = served(asgi_url, f"/actions/{action_id}/wait", token).headers
    route = served(asgi_url, f"/actions/{action_id}", token).headers

    assert {k: v for k, v in long_poll.items() if k not in ignored} == {
        k: v for k, v in route.items() if k not in ignored
    }
    assert long_poll["content-security-policy"] and long_poll["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "case",
    ["timeout over sixty seconds", "unknown token", "another agent's action", "unknown action"],
)
def test_its_errors_are_the_routes(asgi_url, api, client, token, case, answered_by_django):
    action_id = api.propose().json()["id"]
    path, timeout = f"/actions/{action_id}/wait", 0.2
    if case == "timeout over sixty seconds":
        timeout = 61
    elif case == "unknown token":
        token = "cs_not-a-token"
        api.headers = {"Authorization": f"Bearer {token}"}
    elif case == "another agent's action":
        token = Agent.objects.create(name="another").issue_token(label="tests")
        api.headers = {"Authorization": f"Bearer {token}"}
    else:
        path = "/actions/00000000-0000-4000-8000-000000000000/wait"
    answered_by_django.clear()

    answer = served(asgi_url, path, token, timeout=timeout)

    assert answered_by_django == []
    same_answer(answer, wait(api, path, timeout=timeout))
    assert answer.json()["error"]["code"] in {"bad_timeout", "unauthorized", "not_found"}


def test_an_agent_over_its_rate_is_told_so_as_the_route_tells_it(
    asgi_url, api, token, settings, answered_by_django, fresh_rate_counters
):
    settings.HITL_AGENT_RATE_LIMIT = (2, 60)
    action_id = api.propose().json()["id"]  # the first request of this window
    path = f"/actions/{action_id}/wait"

    answered_by_django.clear()
    first = served(asgi_url, path, token, timeout=0)
    over = served(asgi_url, path, token, timeout=0)

    assert answered_by_django == []
    assert first.status_code == 200
    same_answer(over, wait(api, path, timeout=0))
    assert over.status_code == 429 and over.headers["Retry-After"] == "60"


@pytest.mark.parametrize(
    ("path", "params", "method", "status", "code"),
    [
        ("/actions/{id}/wait", {"timeout": "soon"}, "GET", 400, "bad_request"),
        ("/actions/{id}/wait", {"timeout": "0", "and": "more"}, "GET", 200, None),
        ("/actions/{id}/wait%0A", {}, "GET", 404, "not_found"),  # a newline after the path
        ("/actions/not-an-id/wait", {}, "GET", 400, "bad_request"),
        ("/actions/{id}/wait", {}, "POST", 405, "method_not_allowed"),
    ],
)
def test_what_it_does_not_answer_django_does(
    asgi_url, api, token, answered_by_django, path, params, method, status, code
):
    action_id = api.propose().json()["id"]
    path = "/api/v1" + path.format(id=action_id)
    answered_by_django.clear()

    answer = httpx.request(method, asgi_url + path, params=params, headers={"Authorization": f"Bearer {token}"})

    assert answered_by_django == [unquote(path)]
    assert answer.status_code == status, answer.text
    if code:
        assert answer.json()["error"]["code"] == code
    else:
        assert answer.json()["status"] == "pending"


def test_without_a_bearer_token_django_answers_401(asgi_url, api, answered_by_django):
    action_id = api.propose().json()["id"]
    answered_by_django.clear()

    answer = httpx.get(f"{asgi_url}/api/v1/actions/{action_id}/wait")

    assert answered_by_django == [f"/api/v1/actions/{action_id}/wait"]
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthorized"


async def ask(asgi_url, path, token, host="127.0.0.1"):
    """A request on a socket of its own, with any Host header: the socket's reader and writer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", int(asgi_url.rsplit(":", 1)[1]))
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    await writer.drain()
    return reader, writer


def test_a_request_for_another_host_is_refused_as_every_request_is(asgi_url, api, token):
    action_id = api.propose().json()["id"]

    async def status_line(path):
        reader, writer = await ask(asgi_url, f"/api/v1{path}", token, host="countersign.evil.example")
        line = await asyncio.wait_for(reader.readline(), 20)
        writer.close()
        return line

    long_poll, route = (
        asyncio.run(status_line(f"/actions/{action_id}/wait")),
        asyncio.run(status_line(f"/actions/{action_id}")),
    )

    assert long_poll == route == b"HTTP/1.1 400 Bad Request\r\n"


def test_an_agent_that_hangs_up_stops_waiting(asgi_url, api, token):
    action_id = api.propose().json()["id"]

    async def park_then_hang_up():
        _, writer = await ask(asgi_url, f"/api/v1/actions/{action_id}/wait?timeout=60", token)
        await until(lambda: waiting.listener.waiting() == 1)
        writer.close()
        await until(lambda: waiting.listener.waiting() == 0)

    asyncio.run(asyncio.wait_for(park_then_hang_up(), 20))  # raises TimeoutError if it kept waiting


async def until(condition):
    while not condition():
        await asyncio.sleep(0.02)


def test_a_wait_answered_below_django_is_woken_by_the_decision(asgi_url, api, token, supervisor, answered_by_django):
    action_id = api.propose().json()["id"]
    answered_by_django.clear()

    async def park_then_decide():
        async with httpx.AsyncClient(base_url=asgi_url, timeout=30) as http:
            parked = asyncio.ensure_future(
                http.get(
                    f"/api/v1/actions/{action_id}/wait",
                    params={"timeout": 30},
                    headers={"Authorization": f"Bearer {token}"},
                )
            )
            await until(lambda: waiting.listener.waiting() == 1)
            await asyncio.to_thread(decide, action_id, supervisor)
            return await parked

    answer = asyncio.run(park_then_decide())

    assert answered_by_django == []
    assert answer.status_code == 200
    assert json.loads(answer.text)["decision"]["verdict"] == "rejected"


def decide(action_id, user):
    from django.db import connection

    try:
        Action.objects.get(pk=action_id).reject(by=user, reason="not this one")
    finally:
        connection.close()
