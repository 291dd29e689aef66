"""Executing an action from the dashboard through its type's executor webhook."""

import hashlib
import hmac
import json
import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker

from approvals import execution
from approvals.models import Action, Execution
from audit.models import Event
from hitl_site.celery import app
from policies.models import ActionType

pytestmark = pytest.mark.django_db


@pytest.fixture
def executed_type(refund_type, receiver):
    ActionType.objects.filter(pk=refund_type.pk).update(executor_url=receiver.url("/execute"))
    refund_type.refresh_from_db()
    return refund_type


def test_a_supervisor_executes_a_suggestion_and_the_outcome_is_recorded(
    api, client, supervisor, executed_type, receiver, settings
):
    ActionType.objects.filter(pk=executed_type.pk).update(autonomy="suggest")
    action_id = api.propose().json()["id"]
    receiver.reply = {"refund_id": "re_1"}
    client.force_login(supervisor)

    assert "Execute now" in client.get(f"/actions/{action_id}/").content.decode()
    response = client.post(f"/actions/{action_id}/execute")
    assert response.status_code == 302
    execution.execute(action_id)  # what the task does

    action = Action.objects.get(pk=action_id)
    assert action.status == "executed" and action.outcome["output"] == {"refund_id": "re_1"}
    assert action.decision.by_name == "sue"
    [(path, headers, body)] = receiver.received
    assert json.loads(body)["params"] == {"customer": "cus_123", "amount": 750, "currency": "USD"}
    assert headers["Idempotency-Key"] == action_id
    expected = hmac.new(
        settings.HITL_WEBHOOK_SECRET.encode(), f"{headers['X-Countersign-Timestamp']}.".encode() + body, hashlib.sha256
    )
    assert headers["X-Countersign-Signature"] == "sha256=" + expected.hexdigest()
    assert [e.kind for e in Event.objects.filter(action_id=action_id).order_by("seq")][-2:] == [
        "action.approved",
        "action.executed",
    ]


def test_a_suggestion_taken_up_for_execution_gives_its_agent_no_receipt(api, client, supervisor, executed_type):
    ActionType.objects.filter(pk=executed_type.pk).update(autonomy="suggest")
    action_id = api.propose().json()["id"]
    client.force_login(supervisor)

    client.post(f"/actions/{action_id}/execute")
    answer = api.get(f"/actions/{action_id}").json()

    # The executor runs it; the agent must not, and has nothing to show a verifier that it may.
    assert (answer["status"], answer["autonomy"], answer["receipt"]) == ("approved", "suggest", None)


def test_an_approved_action_runs_with_the_reviewers_edit_once(api, client, supervisor, executed_type, receiver):
    action = Action.objects.get(pk=api.propose().json()["id"])
    action.approve(by=supervisor, params={**action.params, "amount": 500})
    client.force_login(supervisor)

    client.post(f"/actions/{action.pk}/execute")
    again = client.post(f"/actions/{action.pk}/execute", follow=True)
    execution.execute(action.pk)
    execution.execute(action.pk)

    assert "Already sent to the executor by sue." in again.content.decode()
    assert [json.loads(body)["params"]["amount"] for _, _, body in receiver.received] == [500]
    assert Action.objects.get(pk=action.pk).status == "executed"


def test_an_executor_that_refuses_records_a_failure(api, supervisor, executed_type, receiver):
    action = Action.objects.get(pk=api.propose().json()["id"])
    action.approve(by=supervisor)
    action.request_execution(by=supervisor)
    receiver.answers = [422]

    assert execution.execute(action.pk) is None

    action.refresh_from_db()
    assert action.status == "failed" and "HTTP 422" in action.outcome["error"]


def test_an_executor_that_is_down_is_retried_then_recorded_as_failed(
    api, supervisor, executed_type, receiver, settings
):
    settings.HITL_NOTIFY_MAX_ATTEMPTS = 2
    receiver.answers = [503, 503]
    action = Action.objects.get(pk=api.propose().json()["id"])
    action.approve(by=supervisor)
    action.request_execution(by=supervisor)

    assert execution.execute(action.pk) == settings.HITL_NOTIFY_RETRY_BASE_SECONDS
    assert execution.execute(action.pk) is None

    action.refresh_from_db()
    assert action.status == "failed" and "did not answer" in action.outcome["error"]


def test_pending_actions_and_types_without_an_executor_cannot_be_executed(api, client, supervisor, refund_type):
    action_id = api.propose().json()["id"]
    client.force_login(supervisor)

    response = client.post(f"/actions/{action_id}/execute", follow=True)

    assert "has no executor webhook" in response.content.decode()
    assert not Execution.objects.exists()


def test_execute_answers_403_404_and_405(api, client, outsider, supervisor, executed_type):
    action_id = api.propose().json()["id"]
    client.force_login(outsider)
    assert client.post(f"/actions/{action_id}/execute").status_code == 403
    client.force_login(supervisor)
    assert client.post(f"/actions/{uuid.uuid4()}/execute").status_code == 404
    assert client.get(f"/actions/{action_id}/execute").status_code == 405


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_execution(api, client, supervisor, executed_type, receiver):
    action = Action.objects.get(pk=api.propose().json()["id"])
    action.approve(by=supervisor)
    client.force_login(supervisor)

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        client.post(f"/actions/{action.pk}/execute")
        deadline = time.monotonic() + 20
        while Action.objects.get(pk=action.pk).status == "approved" and time.monotonic() < deadline:
            time.sleep(0.1)

    assert Action.objects.get(pk=action.pk).status == "executed"
    assert len(receiver.received) == 1


def test_an_execution_whose_worker_died_is_picked_up_by_the_recovery_sweep(api, supervisor, executed_type, receiver):
    from datetime import timedelta

    from django.utils import timezone

    action = Action.objects.get(pk=api.propose().json()["id"])
    action.approve(by=supervisor)
    action.request_execution(by=supervisor)
    Execution.objects.filter(pk=action.pk).update(
        status="sending", attempts=1, next_attempt_at=timezone.now() - timedelta(seconds=1)
    )

    assert Execution.dispatch_due(timezone.now()) == [action.pk]
    execution.execute(action.pk)

    assert Action.objects.get(pk=action.pk).status == "executed" and len(receiver.received) == 1
