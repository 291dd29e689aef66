"""Deciding an action: exactly one decision, whatever the concurrency, and every loser told."""

import threading

import pytest
from django.db import connection

from approvals.models import Action, Conflict, Decision, InvalidEdit
from audit.models import Event

pytestmark = pytest.mark.django_db



def test_approving_records_the_decision_and_an_audit_event(pending, supervisor):
    pending.approve(by=supervisor)

    pending.refresh_from_db()
    assert pending.status == "approved"
    assert pending.final_params == pending.params
    assert pending.decision.by_name == "sue"
    event = Event.objects.get(kind="action.approved")
    assert (event.actor_kind, event.actor_name, event.action_id) == ("user", "sue", pending.pk)


def test_approving_a_decided_action_reports_a_conflict(pending, supervisor, second_supervisor):
    pending.approve(by=supervisor)

    with pytest.raises(Conflict, match="Already approved by sue"):
        Action.objects.get(pk=pending.pk).reject(by=second_supervisor, reason="too late")
    assert Decision.objects.count() == 1


def test_an_edit_is_validated_and_recorded_with_its_diff(pending, supervisor):
    with pytest.raises(InvalidEdit, match="amount"):
        pending.approve(by=supervisor, params={**pending.params, "amount": -1})
    with pytest.raises(InvalidEdit, match="may not be edited"):
        pending.approve(by=supervisor, params={**pending.params, "customer": "cus_999"})

    pending.approve(by=supervisor, params={**pending.params, "amount": 500})

    pending.refresh_from_db()
    assert pending.final_params["amount"] == 500
    assert pending.decision.edited is True
    assert pending.decision.diff == {"amount": {"from": 750, "to": 500}}
    assert Event.objects.get(kind="action.approved").data["diff"] == {"amount": {"from": 750, "to": 500}}


def test_an_edited_approval_is_an_approval_whose_event_says_what_ran(pending, supervisor, client, auditor):
    pending.approve(by=supervisor, params={**pending.params, "amount": 375})

    event = Event.objects.get(action_id=pending.pk, kind="action.approved")
    assert event.data["edited"] is True
    assert event.summary == "Refund $375.00 to customer cus_123"
    assert not Event.objects.filter(kind="action.edited").exists()
    client.force_login(auditor)
    for query in ("kind=action.approved", "outcome=approved", "outcome=edited"):
        found = client.get(f"/audit/?{query}").context["events"]
        assert [e.kind for e in found if e.action_id == pending.pk and e.kind.startswith("action.a")] == [
            "action.approved"
        ], query


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_at_once_give_exactly_one_decision(api, refund_type, supervisor, second_supervisor):
    action_id = api.propose().json()["id"]
    start = threading.Barrier(2)
    results = {}

    def decide(name, user):
        try:
            action = Action.objects.select_related("action_type", "agent").get(pk=action_id)
            start.wait(5)
            if name == "approve":
                action.approve(by=user)
            else:
                action.reject(by=user, reason="not this one")
            results[name] = "won"
        except Conflict as conflict:
            results[name] = str(conflict)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=("approve", supervisor)),
        threading.Thread(target=decide, args=("reject", second_supervisor)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results.values()).count("won") == 1
    loser = next(message for message in results.values() if message != "won")
    assert loser.startswith("Already ")
    assert Decision.objects.filter(action_id=action_id).count() == 1
    decided_events = Event.objects.filter(action_id=action_id, kind__in=["action.approved", "action.rejected"])
    assert decided_events.count() == 1
