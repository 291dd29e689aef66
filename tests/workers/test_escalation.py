"""SLA escalation: overdue pending actions move up their tiers once, then meet the fallback."""

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals import escalation, notifications
from approvals.models import Action, Notification, NotificationPreference
from approvals.tasks import escalate_overdue
from audit.models import Event
from policies.models import ActionType
from tests.conftest import CONFIRMED
from tests.workers.conftest import copies

pytestmark = pytest.mark.django_db


def propose(api, **params):
    response = api.propose(params={"customer": "cus_123", "amount": 750, "currency": "USD", **params})
    assert response.status_code == 201, response.content
    return Action.objects.get(pk=response.json()["id"])


def deliver_all():
    for notification in Notification.objects.filter(status=Notification.Status.QUEUED):
        notifications.deliver(notification.pk)


def targets(action, kind):
    return sorted(Notification.objects.filter(action=action, kind=kind).values_list("target", flat=True))


def test_an_overdue_action_climbs_every_tier_once_then_is_rejected(api, two_tiers, receiver):
    action = propose(api)
    first_due = action.due_at

    result = escalation.sweep(now=first_due + timedelta(seconds=1))
    again = escalation.sweep(now=first_due + timedelta(seconds=2))

    assert (result.escalated, again.escalated) == (1, 0)
    action.refresh_from_db()
    assert action.status == "pending" and action.escalation_tier == 1
    assert action.due_at == first_due + timedelta(seconds=1, minutes=10)
    assert targets(action, "escalated") == ["mia@example.com", "oncall@example.com"]
    event = Event.objects.get(kind="action.escalated", action_id=action.pk)
    assert event.data["to_tier"] == 1 and event.data["group"] == "managers" and event.actor_name == "sla"

    escalation.sweep(now=action.due_at + timedelta(seconds=1))
    action.refresh_from_db()
    assert action.escalation_tier == 2
    assert targets(action, "escalated") == [
        "dan@example.com",
        receiver.url("/slack"),
        "mia@example.com",
        "oncall@example.com",
    ]

    escalation.sweep(now=action.due_at + timedelta(seconds=1))
    action.refresh_from_db()
    assert action.status == "rejected"
    assert action.decision.by_name == "sla-timeout" and action.decision.by is None
    assert Event.objects.filter(kind="action.rejected", action_id=action.pk, actor_name="sla").count() == 1
    assert Event.objects.filter(kind="action.escalated", action_id=action.pk).count() == 2
    assert targets(action, "fallback") == ["dan@example.com", receiver.url("/slack")]

    deliver_all()
    assert sorted(m.to[0] for m in mail.outbox) == [
        "dan@example.com",
        "dan@example.com",
        "mia@example.com",
        "oncall@example.com",
    ]
    assert [body["text"].split(":")[0] for body in receiver.bodies()] == ["Escalated to you", "Timed out"]
    assert api.get(f"/actions/{action.pk}").json()["decision"]["verdict"] == "rejected"


def test_without_tiers_the_fallback_applies_at_the_sla(api, refund_type):
    action = propose(api)

    escalate_overdue()  # nothing is due yet
    escalation.sweep(now=action.due_at + timedelta(seconds=1))

    action.refresh_from_db()
    assert action.status == "rejected"
    assert not Notification.objects.exists()


def test_an_irreversible_action_is_never_approved_by_a_timeout(api, refund_type):
    ActionType.objects.filter(pk=refund_type.pk).update(timeout_fallback="approve")  # past the admin's check
    action = propose(api)

    escalation.sweep(now=action.due_at + timedelta(seconds=1))

    action.refresh_from_db()
    assert action.status == "rejected"
    assert Event.objects.get(kind="action.rejected", action_id=action.pk).data["fallback"] == "reject"


def test_a_reversible_type_may_fall_back_to_approval_or_expiry(api, refund_type):
    ActionType.objects.filter(pk=refund_type.pk).update(irreversible=False, timeout_fallback="approve")
    approved = propose(api)
    escalation.sweep(now=approved.due_at + timedelta(seconds=1))
    approved.refresh_from_db()
    assert approved.status == "approved" and approved.final_params == approved.params
    assert approved.decision.verdict == "approved"

    ActionType.objects.filter(pk=refund_type.pk).update(timeout_fallback="expire")
    expired = propose(api)
    escalation.sweep(now=expired.due_at + timedelta(seconds=1))
    expired.refresh_from_db()
    assert expired.status == "expired"
    assert Event.objects.get(kind="action.expired", action_id=expired.pk).data["fallback"] == "expire"


def test_the_admin_cannot_choose_approval_as_fallback_for_an_irreversible_type(refund_type):
    from django.core.exceptions import ValidationError

    refund_type.timeout_fallback = "approve"
    with pytest.raises(ValidationError, match="never approved by a timeout"):
        refund_type.full_clean()


def test_reviewers_are_warned_once_at_eighty_percent_of_the_sla(api, supervisor, two_tiers):
    action = propose(api)
    sla = action.due_at - action.created_at

    early = escalation.sweep(now=action.created_at + sla * 0.79)
    on_time = escalation.sweep(now=action.created_at + sla * 0.81)
    again = escalation.sweep(now=action.created_at + sla * 0.9)

    assert (early.warned, on_time.warned, again.warned) == (0, 1, 0)
    assert targets(action, "warning") == ["sue@example.com"]
    assert Event.objects.filter(kind="action.warned", action_id=action.pk).count() == 1  # insights counts these

    # After escalating, the tier that now holds it is warned before its own deadline.
    escalation.sweep(now=action.due_at + timedelta(seconds=1))
    action.refresh_from_db()
    escalation.sweep(now=action.tier_started_at + timedelta(minutes=9))
    assert Notification.objects.filter(action=action, kind="warning", tier=1).count() == 2


def test_a_reviewer_who_chose_a_digest_gets_no_message_per_escalation(api, two_tiers, managers):
    NotificationPreference.objects.create(user=managers, delivery="hourly")
    action = propose(api)

    escalation.sweep(now=action.due_at + timedelta(seconds=1))

    assert targets(action, "escalated") == ["oncall@example.com"]


def test_an_escalation_sweep_costs_the_same_queries_for_ten_or_two_hundred_actions(api, two_tiers):
    def queries_for(count):
        action = propose(api)
        copies(action, count - 1)
        with CaptureQueriesContext(connection) as captured:
            result = escalation.sweep(now=action.due_at + timedelta(seconds=1))
        assert result.escalated == count
        Action.objects.filter(status="pending").update(status="cancelled")
        return len(captured)

    assert queries_for(10) == queries_for(200)


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_escalate_and_notify_each_action_once(api, two_tiers):
    first = propose(api)
    copies(first, 299)
    now = first.due_at + timedelta(seconds=1)
    start = threading.Barrier(2)
    results = []

    def run():
        try:
            start.wait()
            results.append(escalation.sweep(now=now, batch_size=50))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(r.escalated for r in results) == 300
    assert Action.objects.filter(escalation_tier=1).count() == 300
    assert Event.objects.filter(kind="action.escalated").count() == 300
    assert Notification.objects.filter(kind="escalated").count() == 600  # oncall@ and mia@, once each
    from audit.verification import verify_chain

    assert verify_chain(full=True).problems == []


def test_the_tier_an_action_reached_can_decide_it_and_sees_it_on_its_card(api, client, two_tiers, managers):
    action = propose(api)
    escalation.sweep(now=action.due_at + timedelta(seconds=1))
    client.force_login(managers)

    inbox = client.get("/").content.decode()
    response = client.post(f"/actions/{action.pk}/approve", CONFIRMED)

    assert "Escalated · tier 1 (managers)" in inbox
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.status == "approved" and action.decision.by_name == "mia"


def test_a_policy_admin_edits_escalation_tiers_inline_on_the_action_type(admin_client, refund_type):
    page = admin_client.get(f"/admin/policies/actiontype/{refund_type.pk}/change/").content.decode()

    assert "escalation_tiers-TOTAL_FORMS" in page
    assert 'name="timeout_fallback"' in page and 'name="sla_warning_share"' in page
