"""The permission matrix: every URL of the product, for every kind of caller, with the answer
it must get. One table; a cell that differs fails the test and the failure lists every such cell.

Callers: nobody, a supervisor allowed to review refunds (sue), a supervisor allowed to review
another type only (sid), a policy admin (pat), an auditor (audrey), a sample reviewer (sandy),
a superuser (root), an agent's token, and a revoked token.

"login" means a redirect to a login page; an int is the status code. A mutating URL runs against
a fresh action (or sample, or escalation) for every caller, so one cell cannot change another.
"""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone
from guardian.shortcuts import assign_perm

from approvals.models import Action, Appeal
from audit.models import Event
from policies.models import ActionType, Agent, StandingApproval
from sampling.models import Sample
from tests.conftest import CONFIRMED, make_user

CALLERS = ("anonymous", "sue", "sid", "pat", "audrey", "sandy", "root", "agent", "revoked")
HUMANS = ("sue", "sid", "pat", "audrey", "sandy", "root")
METRICS_TOKEN = "scrape-me-please"
LOGIN = "login"

# Transactional: the async /wait reads the agent and the action from threads with connections of
# their own, which would not see a test's uncommitted rows.
pytestmark = pytest.mark.django_db(transaction=True)


def everyone(answer):
    return dict.fromkeys(CALLERS, answer)


def page(*, allowed, allowed_answer=200, others=403):
    """A reviewer's page: nobody and agents are sent to log in, `allowed` get `allowed_answer`."""
    return {
        "anonymous": LOGIN,
        "agent": LOGIN,
        "revoked": LOGIN,
        **{caller: (allowed_answer if caller in allowed else others) for caller in HUMANS},
    }


def agent_api(answer=200, *, revoked=401):
    """The agent API: bearer tokens only, a browser session is no credential."""
    return {**everyone(401), "agent": answer, "revoked": revoked}


REVIEWERS_OF_REFUNDS = ("sue", "root")
READERS_OF_REFUNDS = ("sue", "audrey", "root")
INSIGHTS = ("sue", "pat", "audrey", "root")

# (method, path, body, expected answer per caller)
MATRIX = [
    # Health and login: open to all.
    ("GET", "/healthz", None, everyone(200)),
    ("GET", "/readyz", None, everyone(200)),
    ("GET", "/accounts/login/", None, everyone(200)),
    # The reviewer's pages.
    # The auditor and the sample reviewer review nothing: they start at their own pages.
    ("GET", "/", None, {**page(allowed=HUMANS), "audrey": 302, "sandy": 302}),
    ("GET", "/inbox/changes", None, page(allowed=HUMANS)),
    ("GET", "/actions/{action}/", None, page(allowed=READERS_OF_REFUNDS)),
    ("GET", "/actions/{missing}/", None, page(allowed=(), others=404)),
    ("GET", "/actions/{action}/edit", None, page(allowed=REVIEWERS_OF_REFUNDS)),
    ("POST", "/actions/{fresh}/edit", {"amount": "5"}, page(allowed=REVIEWERS_OF_REFUNDS)),
    ("POST", "/actions/{fresh}/approve", CONFIRMED, page(allowed=REVIEWERS_OF_REFUNDS, allowed_answer=302)),
    ("POST", "/actions/{fresh}/reject", {"reason": "no"}, page(allowed=REVIEWERS_OF_REFUNDS, allowed_answer=302)),
    ("POST", "/actions/{fresh}/execute", {}, page(allowed=REVIEWERS_OF_REFUNDS, allowed_answer=302)),
    ("POST", "/actions/{fresh}/done", {}, page(allowed=REVIEWERS_OF_REFUNDS, allowed_answer=302)),
    ("POST", "/actions/{fresh}/dismiss", {}, page(allowed=REVIEWERS_OF_REFUNDS, allowed_answer=302)),
    ("GET", "/actions/{action}/approve", None, everyone(405)),  # the method is checked before the login
    ("GET", "/batch/approve?ids={action}", None, page(allowed=REVIEWERS_OF_REFUNDS)),
    ("POST", "/batch/approve", {"ids": "{fresh}"}, page(allowed=REVIEWERS_OF_REFUNDS, allowed_answer=302)),
    ("GET", "/batch/reject?ids={action}", None, page(allowed=REVIEWERS_OF_REFUNDS)),
    (
        "POST",
        "/batch/reject",
        {"ids": "{fresh}", "reason": "no"},
        page(allowed=REVIEWERS_OF_REFUNDS, allowed_answer=302),
    ),
    ("GET", "/samples/", None, page(allowed=("sandy", "root"))),
    ("POST", "/samples/{sample}/grade", {"grade": "correct"}, page(allowed=("sandy", "root"), allowed_answer=302)),
    (
        "POST",
        "/appeals/{escalation}/resolve",
        {},
        page(allowed=REVIEWERS_OF_REFUNDS, allowed_answer=302),
    ),
    ("POST", "/appeals/{escalation}/claim", {}, page(allowed=REVIEWERS_OF_REFUNDS, allowed_answer=302)),
    ("POST", "/standing-approvals/{standing}/revoke", {}, page(allowed=REVIEWERS_OF_REFUNDS, allowed_answer=302)),
    ("GET", "/standing-approvals/{standing}/revoke", None, everyone(405)),
    ("GET", "/notifications/preferences", None, page(allowed=HUMANS)),
    ("POST", "/notifications/preferences", {"delivery": "hourly"}, page(allowed=HUMANS, allowed_answer=302)),
    # Slack and email: Slack's requests are signed (an unsigned one is refused for everyone); a
    # link that is not ours is refused to any logged-in person, after the login.
    ("POST", "/slack/interactions", {"payload": "{{}}"}, everyone(401)),  # "{{}}": fill() formats
    ("GET", "/slack/link/not-a-token", None, page(allowed=HUMANS, allowed_answer=400)),
    ("POST", "/slack/unlink", {}, page(allowed=HUMANS, allowed_answer=302)),
    # Teams: only the Bot Connector's signed activities are read (no Teams app is configured here).
    ("POST", "/teams/messages", {}, everyone(401)),
    ("GET", "/teams/messages", None, everyone(405)),
    ("GET", "/email/decide/not-a-token", None, page(allowed=HUMANS, allowed_answer=400)),
    ("POST", "/email/decide/not-a-token", {}, page(allowed=HUMANS, allowed_answer=400)),
    # The audit log.
    ("GET", "/audit/", None, page(allowed=("audrey", "root"))),
    ("GET", "/audit/export?format=csv", None, page(allowed=("audrey", "root"))),
    ("GET", "/audit/export?format=jsonl", None, page(allowed=("audrey", "root"))),
    ("GET", "/audit/events/{event}/", None, page(allowed=("audrey", "root"))),
    ("GET", "/audit/events/999999999/", None, page(allowed=("audrey", "root"), allowed_answer=404)),
    # Insights and metrics.
    ("GET", "/insights/", None, page(allowed=INSIGHTS)),
    ("GET", "/insights/volume.csv", None, page(allowed=INSIGHTS)),
    ("GET", "/insights/no-such-chart.csv", None, page(allowed=(), others=404)),
    ("GET", "/metrics", None, everyone(401)),
    # The admin: staff with the model permission only.
    ("GET", "/admin/", None, {**everyone(LOGIN), "pat": 200, "root": 200}),
    ("GET", "/admin/policies/actiontype/", None, {**everyone(LOGIN), "pat": 200, "root": 200}),
    ("GET", "/admin/auth/user/", None, {**everyone(LOGIN), "pat": 403, "root": 200}),
    # The agent API.
    ("GET", "/api/v1/openapi.json", None, everyone(200)),
    ("GET", "/api/v1/docs", None, everyone(200)),
    ("GET", "/api/v1/action-types", None, agent_api()),
    (
        "POST",
        "/api/v1/actions",
        {"action": "payments.refund", "params": {"customer": "cus_1", "amount": 5, "currency": "USD"}},
        agent_api(201),
    ),
    ("GET", "/api/v1/actions/{action}", None, agent_api()),
    ("GET", "/api/v1/actions/{other_agents}", None, agent_api(404)),
    ("GET", "/api/v1/actions/{missing}", None, agent_api(404)),
    ("GET", "/api/v1/actions/{action}/wait?timeout=0", None, agent_api()),
    ("GET", "/api/v1/actions/{other_agents}/wait?timeout=0", None, agent_api(404)),
    ("POST", "/api/v1/actions/{fresh}/cancel", {}, agent_api()),
    ("POST", "/api/v1/actions/{other_agents}/cancel", {}, agent_api(404)),
    ("POST", "/api/v1/actions/{fresh}/result", {"status": "succeeded"}, agent_api(409)),
    ("POST", "/api/v1/actions/{other_agents}/result", {"status": "succeeded"}, agent_api(404)),
    ("POST", "/api/v1/actions/{fresh}/repeat", {}, agent_api(409)),  # pending: not approved with changes
    ("POST", "/api/v1/actions/{other_agents}/repeat", {}, agent_api(404)),
    ("POST", "/api/v1/escalations", {"kind": "human", "session_id": "s-1"}, agent_api(201)),
    ("POST", "/api/v1/escalations", {"kind": "human", "action_id": "{other_agents}"}, agent_api(404)),
    # The HumanLayer compatibility routes.
    (
        "POST",
        "/api/v1/humanlayer/function_calls",
        {
            "run_id": "r",
            "call_id": "{fresh_call}",
            "spec": {"fn": "payments.refund", "kwargs": {"customer": "cus_1", "amount": 5, "currency": "USD"}},
        },
        agent_api(201),
    ),
    ("GET", "/api/v1/humanlayer/function_calls/call-1", None, agent_api()),
    ("GET", "/api/v1/humanlayer/function_calls/others-call", None, agent_api(404)),
    (
        "POST",
        "/api/v1/humanlayer/agent/function_calls/others-call/respond",
        {"approved": False},
        agent_api(404),
    ),
    (
        "POST",
        "/api/v1/humanlayer/agent/function_calls/call-1/respond",
        {"approved": True},
        agent_api(403),
    ),
]


@pytest.fixture
def world(db, settings, refund_type, supervisor, policy_admin, auditor, sample_reviewer, superuser, token):
    """sue and the rest, an action of each agent, a sample, an escalation."""
    settings.HITL_METRICS_TOKEN = METRICS_TOKEN
    shipping = ActionType.objects.create(key="shipping.label", name="Print a label", autonomy="confirm")
    night_shift = Group.objects.create(name="shipping_reviewers")
    assign_perm("policies.review_actiontype", night_shift, shipping)
    users = {
        "sue": supervisor,
        "sid": make_user("sid", "shipping_reviewers"),
        "pat": policy_admin,
        "audrey": auditor,
        "sandy": sample_reviewer,
        "root": superuser,
    }
    agent = Agent.objects.get(name="billing-agent")
    other_agent = Agent.objects.create(name="other-agent")
    revoked = agent.issue_token(label="old")
    agent.tokens.get(label="old").revoke()
    other_token = other_agent.issue_token(label="other")
    return {
        "users": users,
        "agent": agent,
        "tokens": {"agent": token, "revoked": revoked},
        "action": propose(token),
        "other_agents": propose(other_token),
        "call": propose_call(token, "call-1"),
        "others_call": propose_call(other_token, "others-call"),
    }


def post_json(client, path, body, token):
    return client.post(path, json.dumps(body), content_type="application/json", headers=bearer(token))


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


REFUND = {"customer": "cus_123", "amount": 750, "currency": "USD"}


def propose(token):
    response = post_json(Client(), "/api/v1/actions", {"action": "payments.refund", "params": REFUND}, token)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def propose_call(token, call_id):
    body = {"run_id": "run-1", "call_id": call_id, "spec": {"fn": "payments.refund", "kwargs": REFUND}}
    response = post_json(Client(), "/api/v1/humanlayer/function_calls", body, token)
    assert response.status_code == 201, response.content
    return call_id


def fill(template, values):
    if isinstance(template, str):
        return template.format(**values)
    if isinstance(template, dict):
        return {key: fill(value, values) for key, value in template.items()}
    return template


def answer_of(response):
    if response.status_code == 302 and "/login/" in response["Location"]:
        return LOGIN
    return response.status_code


def call_as(world, caller, method, path, body, counter):
    """The answer `caller` gets; placeholders are filled with this world's objects."""
    token = world["tokens"]["agent"]
    fresh = propose(token) if "{fresh}" in path or "{fresh}" in json.dumps(body or {}) else None
    values = {
        "action": world["action"],
        "other_agents": world["other_agents"],
        "missing": "00000000-0000-4000-8000-000000000000",
        "fresh": fresh,
        "fresh_call": f"call-{caller}-{next(counter)}",
    }
    if "{sample}" in path:
        sample_action = Action.objects.get(pk=propose(token))
        values["sample"] = Sample.objects.create(action=sample_action, action_type=sample_action.action_type).pk
    if "{standing}" in path:
        values["standing"] = StandingApproval.objects.create(
            action_type=ActionType.objects.get(key="payments.refund"),
            agent=world["agent"],
            expires_at=timezone.now() + timedelta(hours=1),
        ).pk
    if "{event}" in path:
        values["event"] = Event.objects.latest("seq").seq
    if "{escalation}" in path:
        values["escalation"] = Appeal.open_for(
            agent=world["agent"], kind="wrong", action=Action.objects.get(pk=world["action"])
        ).pk
    path, body = fill(path, values), fill(body, values)
    client = Client()
    headers = {}
    if caller in world["users"]:
        client.force_login(world["users"][caller])
    elif caller in world["tokens"]:
        headers = bearer(world["tokens"][caller])
    if method == "GET":
        return answer_of(client.get(path, headers=headers))
    if path.startswith("/api/"):
        return answer_of(client.post(path, json.dumps(body), content_type="application/json", headers=headers))
    return answer_of(client.post(path, body, headers=headers))


def test_every_url_answers_every_caller_as_the_matrix_says(world):
    counter = iter(range(10_000))
    wrong = []
    for method, path, body, expected in MATRIX:
        for caller in CALLERS:
            got = call_as(world, caller, method, path, body, counter)
            if got != expected[caller]:
                wrong.append(f"{method} {path} as {caller}: expected {expected[caller]}, got {got}")
    assert wrong == [], "\n".join(wrong)


def test_metrics_answer_the_scraper_with_the_token(world, client):
    assert client.get("/metrics", headers=bearer(METRICS_TOKEN)).status_code == 200
    assert client.get("/metrics", headers=bearer("not-" + METRICS_TOKEN)).status_code == 401


def test_a_revoked_token_fails_at_once(world, client):
    token = world["tokens"]["agent"]
    assert client.get(f"/api/v1/actions/{world['action']}", headers=bearer(token)).status_code == 200
    world["agent"].tokens.get(label="tests").revoke()
    response = client.get(f"/api/v1/actions/{world['action']}", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_review_permission_is_per_action_type(world):
    """sid reviews shipping labels, not refunds; sue the other way round."""
    shipping = ActionType.objects.get(key="shipping.label")
    sue, sid = world["users"]["sue"], world["users"]["sid"]
    refund = Action.objects.get(pk=world["action"])
    assert list(Action.objects.filter(pk=refund.pk).reviewable_by(sue)) == [refund]
    assert list(Action.objects.filter(pk=refund.pk).reviewable_by(sid)) == []
    assert sid.has_perm("policies.review_actiontype", shipping)
    assert not sid.has_perm("policies.review_actiontype", refund.action_type)
    assert not sue.has_perm("policies.review_actiontype", shipping)
    sid_client = Client()
    sid_client.force_login(sid)
    assert sid_client.post(f"/actions/{refund.pk}/approve").status_code == 403
    refund.refresh_from_db()
    assert refund.status == Action.Status.PENDING
