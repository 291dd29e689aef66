"""The agent API's contract: every status code of PRODUCT.md's table that the slice covers."""

import json
import threading

import pytest
from django.db import connection, transaction
from ninja.responses import NinjaJSONEncoder

from approvals.api import ActionOut
from approvals.models import Action
from audit.models import Event
from policies.models import ActionType, Agent

pytestmark = pytest.mark.django_db


def test_a_proposal_at_confirm_waits_for_a_person(api, refund_type):
    response = api.propose(session_id="run-42", model="gpt-5.1", prompt_version="billing@v7", confidence=0.62)

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending"
    assert body["autonomy"] == "confirm"
    assert body["summary"] == "Refund $750.00 to customer cus_123"
    assert body["final_params"] is None
    assert body["decision"] is None
    assert body["route"]["checkers"] == [{"name": "schema", "verdict": "pass"}]
    assert body["due_at"] is not None
    assert body["review_url"].endswith(f"/actions/{body['id']}/")


@pytest.mark.parametrize(
    ("level", "status"),
    [("suggest", "suggested"), ("confirm", "pending"), ("audit", "approved"), ("autonomous", "approved")],
)
def test_the_action_types_level_decides_the_status(api, refund_type, level, status):
    ActionType.objects.filter(pk=refund_type.pk).update(autonomy=level)

    body = api.propose().json()

    assert body["status"] == status
    if status == "approved":
        assert body["final_params"] == body["params"]


def test_invalid_params_are_refused_with_every_error(api, refund_type):
    response = api.propose(params={"customer": "bob", "amount": -5, "extra": 1})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "params_invalid"
    paths = sorted(detail["path"] for detail in error["details"])
    assert paths == ["(root)", "(root)", "amount", "customer"]  # missing currency, extra property
    assert not Action.objects.exists()


def test_an_unknown_action_type_is_registered_as_a_draft_at_confirm(api, db):
    body = api.propose(action="files.shred", params={"path": "/tmp/x"}).json()

    assert body["status"] == "pending"
    assert ActionType.objects.get(key="files.shred").status == ActionType.Status.DRAFT
    assert "first use" in body["route"]["reasons"][0]


def test_a_draft_reaches_the_supervisors_inbox_and_its_registration_is_logged(api, client, supervisor):
    from audit.models import Event

    body = api.propose(action="files.shred", params={"path": "/tmp/x"}).json()
    api.propose(action="files.shred", params={"path": "/tmp/y"})

    client.force_login(supervisor)
    assert f'id="action-{body["id"]}"' in client.get("/").content.decode()
    registered = Event.objects.get(kind="policy.changed", action_type="files.shred")
    assert (registered.actor_name, registered.data["what"]) == ("first use", "registered on first use")
    assert registered.data["policy"]["reviewer_groups"] == ["supervisors"]


def test_an_unknown_action_type_is_refused_when_the_site_says_so(api, db, settings):
    settings.HITL_UNKNOWN_ACTIONS = "refuse"

    response = api.propose(action="files.shred", params={})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "unknown_action"
    assert not ActionType.objects.filter(key="files.shred").exists()


@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        '{"params": {}}',
        '{"action": "payments.refund"}',
        '{"action": 5, "params": {}}',
        '{"action": "payments.refund", "params": []}',
        '{"action": "payments.refund", "params": {}, "confidence": "very"}',
    ],
)
def test_a_malformed_request_is_a_400_in_the_error_shape(api, refund_type, raw):
    response = api.post("/actions", raw=raw)

    assert response.status_code == 400
    assert set(response.json()["error"]) == {"code", "message", "details"}
    assert not Action.objects.exists()


def test_no_token_or_a_bad_token_is_a_401(client, refund_type):
    no_token = client.post("/api/v1/actions", "{}", content_type="application/json")
    bad_token = client.get("/api/v1/action-types", headers={"Authorization": "Bearer cs_nope"})

    assert no_token.status_code == 401
    assert bad_token.status_code == 401
    assert bad_token.json()["error"]["code"] == "unauthorized"


def test_a_revoked_token_fails_at_once(api, agent, refund_type):
    assert api.get("/action-types").status_code == 200
    agent.tokens.get().revoke()

    assert api.get("/action-types").status_code == 401


def test_a_body_over_the_limit_is_a_413_and_stores_nothing(api, refund_type, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = api.propose(rationale="x" * 2000)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert not Action.objects.exists()


def test_a_replay_with_the_same_key_returns_the_original(api, refund_type):
    first = api.post(
        "/actions",
        {"action": "payments.refund", "params": {"customer": "cus_1", "amount": 5, "currency": "USD"}},
        idempotency_key="k1",
    )
    replay = api.post(
        "/actions",
        {"action": "payments.refund", "params": {"customer": "cus_1", "amount": 5, "currency": "USD"}},
        idempotency_key="k1",
    )

    assert first.status_code == 201
    assert replay.status_code == 200
    assert replay.json()["id"] == first.json()["id"]
    assert Action.objects.count() == 1


def test_the_same_key_with_another_body_is_a_422(api, refund_type):
    body = {"action": "payments.refund", "params": {"customer": "cus_1", "amount": 5, "currency": "USD"}}
    api.post("/actions", body, idempotency_key="k1")

    body["params"]["amount"] = 6
    response = api.post("/actions", body, idempotency_key="k1")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Action.objects.count() == 1


def test_keys_are_scoped_per_agent(api, client, refund_type):
    other = Agent.objects.create(name="other").issue_token()
    body = {"action": "payments.refund", "params": {"customer": "cus_1", "amount": 5, "currency": "USD"}}
    api.post("/actions", body, idempotency_key="shared")

    response = client.post(
        "/api/v1/actions",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {other}", "Idempotency-Key": "shared"},
    )

    assert response.status_code == 201
    assert Action.objects.count() == 2


def test_an_idempotency_key_over_255_characters_is_a_400(api, refund_type):
    response = api.post("/actions", {"action": "payments.refund", "params": {}}, idempotency_key="k" * 256)

    assert response.status_code == 400


@pytest.mark.django_db(transaction=True)
def test_the_same_key_while_the_first_request_is_in_flight_is_a_409(api, agent, refund_type):
    holding, release = threading.Event(), threading.Event()

    def first_request_still_in_its_transaction():
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [agent.pk, "k-slow"])
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=first_request_still_in_its_transaction)
    thread.start()
    holding.wait(10)
    try:
        response = api.post("/actions", {"action": "payments.refund", "params": {}}, idempotency_key="k-slow")
    finally:
        release.set()
        thread.join()

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_in_flight"


def test_an_agent_reads_its_own_action_but_not_another_agents(api, client, refund_type):
    action_id = api.propose().json()["id"]
    other = Agent.objects.create(name="other").issue_token()

    own = api.get(f"/actions/{action_id}")
    foreign = client.get(f"/api/v1/actions/{action_id}", headers={"Authorization": f"Bearer {other}"})

    assert own.status_code == 200
    assert own.json()["id"] == action_id
    assert foreign.status_code == 404
    assert foreign.json()["error"]["code"] == "not_found"


def test_the_agent_reports_the_outcome_of_an_approved_action(api, refund_type):
    ActionType.objects.filter(pk=refund_type.pk).update(autonomy="audit")
    action_id = api.propose().json()["id"]

    response = api.post(f"/actions/{action_id}/result", {"status": "succeeded", "output": {"refund": "re_1"}})
    again = api.post(f"/actions/{action_id}/result", {"status": "succeeded", "output": {"refund": "re_1"}})

    assert response.status_code == 200
    assert response.json()["status"] == "executed"
    assert response.json()["outcome"]["output"] == {"refund": "re_1"}
    assert again.status_code == 200
    assert Event.objects.filter(kind="action.executed").count() == 1


def test_a_failed_execution_is_recorded_as_failed(api, refund_type):
    ActionType.objects.filter(pk=refund_type.pk).update(autonomy="autonomous")
    action_id = api.propose().json()["id"]

    response = api.post(f"/actions/{action_id}/result", {"status": "failed", "error": "card declined"})

    assert response.json()["status"] == "failed"
    assert response.json()["outcome"]["error"] == "card declined"


def test_an_outcome_for_a_pending_action_is_a_409(api, refund_type):
    action_id = api.propose().json()["id"]

    response = api.post(f"/actions/{action_id}/result", {"status": "succeeded"})

    assert response.status_code == 409
    assert Action.objects.get(pk=action_id).status == "pending"


def test_the_agent_cancels_a_pending_action_once(api, refund_type):
    action_id = api.propose().json()["id"]

    first = api.post(f"/actions/{action_id}/cancel")
    second = api.post(f"/actions/{action_id}/cancel")

    assert first.status_code == 200
    assert first.json()["status"] == "cancelled"
    assert second.status_code == 409


def test_action_types_lists_what_the_agent_may_call(api, refund_type):
    ActionType.objects.create(key="draft.thing", name="x", status=ActionType.Status.DRAFT)

    body = api.get("/action-types").json()

    assert [t["key"] for t in body] == ["payments.refund"]
    assert body[0]["autonomy"] == "confirm"
    assert body[0]["params_schema"]["required"] == ["customer", "amount", "currency"]


def test_the_openapi_document_describes_every_endpoint(client):
    document = client.get("/api/v1/openapi.json").json()

    assert set(document["paths"]) >= {
        "/api/v1/actions",
        "/api/v1/actions/{action_id}",
        "/api/v1/actions/{action_id}/wait",
        "/api/v1/actions/{action_id}/result",
        "/api/v1/actions/{action_id}/cancel",
        "/api/v1/action-types",
    }


def test_every_step_writes_an_audit_event_with_the_agents_context(api, refund_type):
    ActionType.objects.filter(pk=refund_type.pk).update(autonomy="audit")
    action_id = api.propose(
        session_id="run-7", model="gpt-5.1", prompt_version="v7", on_behalf_of="alice@example.com"
    ).json()["id"]
    api.post(f"/actions/{action_id}/result", {"status": "succeeded"})

    events = list(Event.objects.filter(action_id=action_id))

    assert [e.kind for e in events] == ["action.proposed", "action.routed", "action.executed"]
    proposed = events[0]
    assert (proposed.actor_kind, proposed.actor_name) == ("agent", "billing-agent")
    assert (proposed.session_id, proposed.model, proposed.prompt_version) == ("run-7", "gpt-5.1", "v7")
    assert proposed.on_behalf_of == "alice@example.com"
    assert proposed.data["proposal"]["params"]["amount"] == 750


@pytest.mark.parametrize("state", ["pending", "approved and run", "rejected", "noted by routing"])
def test_the_actions_api_shape_is_exactly_the_api_schema(api, refund_type, supervisor, state):
    """The long-poll (`hitl_site/long_poll.py`) answers `as_api()` without ninja's check against
    `ActionOut`: it must be what that check would make of it."""
    action = Action.objects.get(pk=api.propose().json()["id"])
    if state == "approved and run":
        action.approve(by=supervisor)
        action.record_outcome(succeeded=True, output={"refund": "re_1"}, error=None)
    elif state == "rejected":
        action.reject(by=supervisor, reason="not this customer")
    elif state == "noted by routing":
        Action.objects.filter(pk=action.pk).update(
            route={**action.route, "disagreement": "fraud", "standing_approval": 7}
        )
    shape = Action.objects.get(pk=action.pk).as_api()

    def encoded(data):
        return json.dumps(data, cls=NinjaJSONEncoder, sort_keys=True)

    assert encoded(shape) == encoded(ActionOut.model_validate(shape).model_dump())


def test_an_unknown_top_level_field_is_refused_with_422_naming_it_and_nothing_is_stored(api, refund_type):
    """`untrusted` beside `context` instead of inside it was ignored, and the rule it asks for never ran."""
    body = {"action": "payments.refund", "params": {"customer": "cus_1", "amount": 5, "currency": "USD"}}

    response = api.post("/actions", {**body, "untrusted": ["ticket.body"], "colour": "blue"})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unknown_field"
    assert "'untrusted'" in error["message"] and "'colour'" in error["message"]
    hint = "not a field of this request: list untrusted keys in context.untrusted"
    assert {"path": "untrusted", "message": hint} in error["details"]
    assert not Action.objects.exists()
    assert api.post("/actions", {**body, "context": {"untrusted": ["ticket.body"]}}).status_code == 201
