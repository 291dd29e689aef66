"""Every validly signed Slack interaction, of any shape, gets a 4xx or an answer Slack can show,
never a 500: the payload is read through a schema (approvals/slack_payloads.py)."""

import hashlib
import hmac
import itertools
import json
import time
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from approvals.models import Action
from audit.models import Event
from tests.channels.conftest import SIGNING_SECRET

pytestmark = pytest.mark.django_db

BUTTONS = ["approve", "reject", "edit", "open", "", "x" * 300]
SENT = itertools.count()


@pytest.fixture
def pending_refund(api, slack_api, refund_type):
    return Action.objects.get(pk=api.propose().json()["id"])


def post(client, payload_text):
    """POST a payload signed as Slack signs, with its own timestamp, so that the replay guard
    never turns a repeated fuzzed body into a 401."""
    body = urlencode({"payload": payload_text})
    stamp = str(int(time.time()) - next(SENT) % 240)  # inside Slack's five minutes
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}
    return client.post(
        "/slack/interactions", data=body, content_type="application/x-www-form-urlencoded", headers=headers
    )


@pytest.mark.parametrize(
    ("payload_text", "says"),
    [
        ("[1, 2]", "an object with a string 'type'"),
        ('"block_actions"', "an object with a string 'type'"),
        ("17", "an object with a string 'type'"),
        ('{"type": 5}', "an object with a string 'type'"),
        ('{"type": "block_actions", "actions": [1]}', "actions.0"),
        ('{"type": "block_actions", "actions": []}', "actions"),
        ('{"type": "block_actions", "user": "U_SUE", "actions": [{"action_id": "approve"}]}', "user"),
        ('{"type": "block_actions", "actions": [{"action_id": 7, "value": "x"}]}', "actions.0.action_id"),
        ('{"type": "block_actions", "actions": "approve"}', "actions"),
        ('{"type": "view_submission", "view": "reject"}', "view"),
        ('{"type": "view_submission", "view": {"state": {"values": {"reason": [1]}}}}', "view.state.values.reason"),
        ('{"type": "view_submission", "view": {"state": {"values": {"reason": {"value": {"value": 3}}}}}}', "value"),
        ("[" * 10_000 + "]" * 10_000, "nests too deeply"),
        ('{"type": "block_actions", "actions": ' + "[" * 10_000 + "]" * 10_000 + "}", "nests too deeply"),
        ("not json", "not JSON"),
    ],
)
def test_a_signed_payload_of_an_unexpected_shape_is_a_400_naming_where(
    client, pending_refund, sue_in_slack, payload_text, says
):
    response = post(client, payload_text)

    assert response.status_code == 400
    assert says in response.content.decode()
    pending_refund.refresh_from_db()
    assert pending_refund.status == "pending"
    assert not Event.objects.filter(kind="action.approved").exists()


def test_a_kind_of_interaction_countersign_does_not_act_on_is_acknowledged(client, pending_refund, sue_in_slack):
    response = post(client, '{"type": "view_closed", "view": 5, "user": []}')

    assert response.status_code == 200


def test_the_schema_lets_a_real_button_press_through(client, pending_refund, sue_in_slack, slack_api):
    payload = {
        "type": "block_actions",
        "user": {"id": "U_SUE", "name": "sue"},
        "trigger_id": "t1",
        "channel": {"id": "C1"},
        "actions": [{"action_id": "approve", "value": str(pending_refund.pk), "type": "button"}],
        "team": {"id": "T1"},
        "message": {"blocks": []},
    }

    response = post(client, json.dumps(payload))

    assert response.status_code == 200
    pending_refund.refresh_from_db()
    assert pending_refund.status == "approved"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


def shaped(action_ids):
    """Payloads near the real shapes: the right keys, each holding the right or a wrong thing."""
    text_or_junk = st.one_of(st.text(max_size=40), JSON)
    pressed = st.fixed_dictionaries(
        {"action_id": st.one_of(st.sampled_from(BUTTONS), JSON), "value": st.one_of(st.sampled_from(action_ids), JSON)}
    )
    block_actions = st.fixed_dictionaries(
        {"type": st.just("block_actions")},
        optional={
            "user": st.one_of(st.fixed_dictionaries({"id": st.sampled_from(["U_SUE", "U_NOBODY", ""])}), JSON),
            "channel": st.one_of(st.fixed_dictionaries({"id": st.text(max_size=12)}), JSON),
            "trigger_id": text_or_junk,
            "actions": st.one_of(st.lists(st.one_of(pressed, JSON), max_size=3), JSON),
        },
    )
    input_value = st.one_of(
        st.fixed_dictionaries({"value": st.one_of(st.text(max_size=30), JSON)}),
        st.fixed_dictionaries({"selected_option": st.one_of(st.fixed_dictionaries({"value": text_or_junk}), JSON)}),
        JSON,
    )
    view = st.fixed_dictionaries(
        {},
        optional={
            "callback_id": st.one_of(st.sampled_from(["reject", "edit", ""]), JSON),
            "private_metadata": st.one_of(st.sampled_from(action_ids), text_or_junk),
            "state": st.one_of(
                st.fixed_dictionaries(
                    {
                        "values": st.one_of(
                            st.dictionaries(
                                st.sampled_from(["reason", "amount", "currency", "customer", "x"]),
                                st.one_of(st.fixed_dictionaries({"value": input_value}), JSON),
                                max_size=3,
                            ),
                            JSON,
                        )
                    }
                ),
                JSON,
            ),
        },
    )
    view_submission = st.fixed_dictionaries(
        {"type": st.just("view_submission")},
        optional={"user": st.fixed_dictionaries({"id": st.just("U_SUE")}) | JSON, "view": st.one_of(view, JSON)},
    )
    return st.one_of(block_actions, view_submission, JSON, st.dictionaries(st.just("type"), JSON))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_no_signed_payload_of_any_shape_is_a_server_error(client, pending_refund, sue_in_slack, data):
    ids = [str(pending_refund.pk), "not-a-uuid", "00000000-0000-0000-0000-000000000000"]
    payload = data.draw(shaped(ids))

    response = post(client, json.dumps(payload))

    assert response.status_code < 500, (payload, response.content)
    if response.status_code >= 400:
        assert response.content  # a 4xx says why
