"""hitl_client.verify_callback: what an agent's receiver checks before acting on a decision."""

import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from approvals.callbacks import body_of, signed_headers
from approvals.models import Action, CallbackDelivery
from hitl_client import CallbackInvalid, verify_callback
from hitl_client.callbacks import sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivery(api, refund_type, supervisor, settings):
    """The body and headers of a real approval's callback, as the server would POST them."""
    settings.HITL_CALLBACK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    action = Action.objects.get(pk=api.propose(callback_url="http://127.0.0.1:9/cb").json()["id"])
    action.approve(by=supervisor)
    callback = CallbackDelivery.objects.select_related("action__agent").get(action=action)
    body = body_of(callback)
    return callback, body, signed_headers(callback, body, action.agent.callback_secret())


def test_a_receiver_verifies_the_server_s_callback_and_gets_the_action(delivery, agent):
    callback, body, headers = delivery

    webhook_id, action = verify_callback(body, headers, agent.callback_secret())

    assert webhook_id == callback.webhook_id
    assert action["id"] == str(callback.action_id) and action["status"] == "approved"


def test_the_standardwebhooks_library_and_the_client_agree(delivery, agent):
    _, body, headers = delivery
    secret = agent.callback_secret()

    assert Webhook(secret).verify(body, headers) == verify_callback(body, headers, secret)[1]
    now = datetime.now(UTC)
    assert sign(secret, "msg_1", int(now.timestamp()), b"{}") == Webhook(secret).sign("msg_1", now, "{}")


def test_an_altered_body_is_refused(delivery, agent):
    _, body, headers = delivery

    with pytest.raises(CallbackInvalid, match="No signature matches"):
        verify_callback(body.replace(b'"approved"', b'"rejected"', 1), headers, agent.callback_secret())


def test_another_secret_is_refused(delivery, agent):
    _, body, headers = delivery
    other = "whsec_" + "A" * 43 + "="

    with pytest.raises(CallbackInvalid, match="No signature matches"):
        verify_callback(body, headers, other)


def test_an_old_delivery_is_refused_as_a_replay(delivery, agent):
    _, body, headers = delivery

    with pytest.raises(CallbackInvalid, match="too far from now"):
        verify_callback(body, headers, agent.callback_secret(), now=time.time() + 3600)


def test_missing_headers_are_named(delivery, agent):
    _, body, headers = delivery

    with pytest.raises(CallbackInvalid, match="lacks the webhook-id"):
        verify_callback(body, {k: v for k, v in headers.items() if k != "webhook-signature"}, agent.callback_secret())


def test_one_of_several_signatures_is_enough_during_a_rotation(delivery, agent):
    _, body, headers = delivery
    rotating = {**headers, "webhook-signature": "v1,bm90IGl0 " + headers["webhook-signature"]}

    assert verify_callback(body, rotating, agent.callback_secret())[1]["status"] == "approved"
