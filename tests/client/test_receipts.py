"""Approval receipts: signed by the server over what was approved, checked offline by the executor."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from approvals.models import Action
from approvals.receipts import agent_secret
from hitl_client import ReceiptInvalid, UsedReceipts, verify_receipt
from policies.models import Agent

pytestmark = pytest.mark.django_db

REFUND = {"customer": "cus_123", "amount": 750, "currency": "USD"}


@pytest.fixture
def approved(api, refund_type, supervisor):
    """An action a supervisor approved with the amount cut to 500, as the agent reads it from the API."""
    action_id = api.propose(params=REFUND).json()["id"]
    Action.objects.get(pk=action_id).approve(by=supervisor, params={**REFUND, "amount": 500})
    return api.get(f"/actions/{action_id}").json()


def test_an_approved_action_carries_a_receipt_over_its_final_params(approved, receipt_secret):
    receipt = approved["receipt"]

    assert receipt["action_id"] == approved["id"]
    assert receipt["action"] == "payments.refund"
    assert receipt["params"] == {**REFUND, "amount": 500}
    assert verify_receipt(receipt, receipt_secret, params=approved["final_params"], action_id=approved["id"])


def test_a_receipt_refuses_parameters_nobody_approved(approved, receipt_secret):
    with pytest.raises(ReceiptInvalid, match="does not approve these parameters"):
        verify_receipt(approved["receipt"], receipt_secret, params={**REFUND, "amount": 750})


def test_a_receipt_whose_own_params_were_altered_is_refused(approved, receipt_secret):
    forged = {**approved["receipt"], "params": {**REFUND, "amount": 5000}}

    with pytest.raises(ReceiptInvalid):
        verify_receipt(forged, receipt_secret, params=forged["params"])


def test_an_expired_receipt_is_refused(approved, receipt_secret):
    receipt = approved["receipt"]

    with pytest.raises(ReceiptInvalid, match="expired"):
        verify_receipt(receipt, receipt_secret, params=receipt["params"], now=receipt["expires_at"] + 1)


def test_a_receipt_is_good_once(approved, receipt_secret):
    used = UsedReceipts()
    verify_receipt(approved["receipt"], receipt_secret, params=approved["final_params"], used=used)

    with pytest.raises(ReceiptInvalid, match="already used"):
        verify_receipt(approved["receipt"], receipt_secret, params=approved["final_params"], used=used)


def test_used_receipts_can_be_shared_between_processes_through_a_file(approved, receipt_secret, tmp_path):
    path = tmp_path / "used.sqlite3"
    verify_receipt(approved["receipt"], receipt_secret, params=approved["final_params"], used=UsedReceipts(path))

    with pytest.raises(ReceiptInvalid, match="already used"):
        verify_receipt(approved["receipt"], receipt_secret, params=approved["final_params"], used=UsedReceipts(path))


def test_another_agents_secret_does_not_verify(approved):
    other = Agent.objects.create(name="support-agent")

    with pytest.raises(ReceiptInvalid):
        verify_receipt(approved["receipt"], agent_secret(other), params=approved["final_params"])


def test_a_pending_or_rejected_action_has_no_receipt(api, refund_type, supervisor):
    body = api.propose(params=REFUND).json()
    assert body["receipt"] is None

    Action.objects.get(pk=body["id"]).reject(by=supervisor, reason="no")
    assert api.get(f"/actions/{body['id']}").json()["receipt"] is None


def test_the_operator_reads_an_agents_secret_with_a_command(agent, receipt_secret):
    out = StringIO()
    call_command("receipt_secret", agent.name, stdout=out)

    assert out.getvalue().strip() == receipt_secret


def test_the_receipt_survives_a_json_round_trip_with_unicode_and_floats(api, refund_type, supervisor, receipt_secret):
    params = {"customer": "cus_Zoë", "amount": 0.1, "currency": "EUR"}
    refund_type.params_schema = {"type": "object"}
    refund_type.save()
    action_id = api.propose(params=params).json()["id"]
    Action.objects.get(pk=action_id).approve(by=supervisor)

    receipt = json.loads(json.dumps(api.get(f"/actions/{action_id}").json()["receipt"]))
    assert verify_receipt(receipt, receipt_secret, params=params)
