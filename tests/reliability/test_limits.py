"""Limits on what an agent may send: each refused with a clear error, and nothing stored."""

import json

import pytest

from approvals.models import Action
from hitl_lib.limits import Unacceptable, check_storable

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_counters")]


def nested(depth):
    value = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"next": value}
    return value


def test_json_nested_deeper_than_the_limit_is_a_400(api, refund_type, settings):
    settings.HITL_MAX_JSON_DEPTH = 32

    response = api.propose(context=nested(40))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "json_too_deep"
    assert not Action.objects.exists()


def test_json_at_the_depth_limit_is_accepted(api, refund_type, settings):
    settings.HITL_MAX_JSON_DEPTH = 32

    response = api.propose(context=nested(30))  # plus the body and context levels: 32

    assert response.status_code == 201


def test_json_too_deep_for_the_parser_itself_is_a_400(api, refund_type):
    response = api.post("/actions", raw='{"action": "x", "params": ' + "[" * 100_000 + "]" * 100_000 + "}")

    assert response.status_code == 400
    assert not Action.objects.exists()


def test_depth_counts_lists_and_objects():
    check_storable({"a": [1, {"b": []}]}, depth_limit=4)
    with pytest.raises(Unacceptable):
        check_storable({"a": [1, {"b": []}]}, depth_limit=3)


@pytest.mark.parametrize(
    "raw",
    [
        '{"action": "payments.refund", "params": {"customer": "cus_1\\u0000"}}',
        '{"action": "payments.refund", "params": {"\\u0000": 1}}',
        '{"action": "payments.refund", "params": {}, "rationale": "\\ud800"}',
    ],
)
def test_text_postgresql_cannot_store_is_a_400(api, refund_type, raw):
    response = api.post("/actions", raw=raw)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unstorable_text"
    assert not Action.objects.exists()


def test_an_agent_over_its_rate_gets_429_and_nothing_is_stored(api, refund_type, settings):
    settings.HITL_AGENT_RATE_LIMIT = (3, 60)

    answers = [api.propose().status_code for _ in range(5)]

    assert answers == [201, 201, 201, 429, 429]
    assert Action.objects.count() == 3
    over = api.propose()
    assert over["Retry-After"] == "60"
    assert over.json()["error"]["code"] == "rate_limited"


def test_the_rate_is_counted_per_agent(api, client, refund_type, settings):
    from policies.models import Agent

    settings.HITL_AGENT_RATE_LIMIT = (1, 60)
    other = Agent.objects.create(name="other").issue_token()
    api.propose()

    response = client.post(
        "/api/v1/actions",
        json.dumps({"action": "payments.refund", "params": {"customer": "cus_1", "amount": 1, "currency": "USD"}}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {other}"},
    )

    assert response.status_code == 201
