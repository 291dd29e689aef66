"""Deadlines are loud: the SLA's warning, a breach and a timeout fallback reach the reviewers
in the inbox (a banner and the card) and by email, and the agent reads why it stopped; the
queue's health (arrivals against decisions, oldest wait, breaches to come) heads the inbox."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from approvals import escalation, notifications
from approvals.models import Action, Notification
from policies.models import ActionType

pytestmark = pytest.mark.django_db


def deliver_all():
    for notification in Notification.objects.filter(status=Notification.Status.QUEUED):
        notifications.deliver(notification.pk)


def test_a_warned_card_says_its_deadline_is_near_in_a_banner_and_on_the_card(client, supervisor, pending):
    escalation.sweep(now=pending.due_at - timedelta(minutes=1))  # past the 80% warning share
    client.force_login(supervisor)

    page = client.get("/").content.decode()

    assert "1 near their deadline" in page
    assert '<li class="badge warn">Deadline near</li>' in page
    deliver_all()
    assert [m.to[0] for m in mail.outbox] == ["sue@example.com"]


def test_an_overdue_card_is_marked_and_counted(client, supervisor, pending):
    Action.objects.filter(pk=pending.pk).update(due_at=timezone.now() - timedelta(seconds=5))
    client.force_login(supervisor)

    page = client.get("/").content.decode()

    assert "1 overdue (escalating now)" in page
    assert "Deadline passed: escalating" in page


def test_an_escalated_card_says_its_deadline_was_missed_not_only_a_fresh_countdown(client, supervisor, pending):
    Action.objects.filter(pk=pending.pk).update(escalation_tier=1, due_at=timezone.now() + timedelta(minutes=14))
    client.force_login(supervisor)

    page = client.get("/").content.decode()

    assert "<dt>Deadline missed; escalated, now decide by</dt>" in page


@pytest.mark.parametrize("fallback", ["reject", "expire"])
def test_a_timeout_fallback_is_told_to_the_reviewers_and_the_agent_with_its_reason(
    client, supervisor, pending, api, fallback
):
    ActionType.objects.filter(pk=pending.action_type_id).update(timeout_fallback=fallback)

    escalation.sweep(now=pending.due_at + timedelta(seconds=1))

    seen = api.get(f"/actions/{pending.pk}").json()
    assert seen["status"] == {"reject": "rejected", "expire": "expired"}[fallback]
    assert seen["outcome"] == {
        "status": seen["status"],
        "by": "sla-timeout",
        "reason": "No decision within the SLA and its escalation tiers.",
    }
    deliver_all()  # a type without tiers: its reviewers hear of it
    assert [m.to[0] for m in mail.outbox] == ["sue@example.com"]
    assert "No decision within the SLA" in mail.outbox[0].body
    client.force_login(supervisor)
    page = client.get("/").content.decode()
    assert "1 timed out in the last 24 hours" in page
    assert "Refund $750.00 to customer cus_123" in page


def test_the_health_line_warns_when_arrivals_outrun_decisions(client, supervisor, api, refund_type):
    for amount in (1, 2, 3, 4):
        api.propose(params={"customer": "cus_123", "amount": amount, "currency": "USD"})
    Action.objects.filter(params__amount=4).update(due_at=timezone.now() + timedelta(minutes=5))
    Action.objects.get(params__amount=1).approve(by=supervisor)
    client.force_login(supervisor)

    page = client.get("/").content.decode()

    assert "0.4 arrivals/min" in page and "0.1 decisions/min" in page
    assert "1 breach in the next 10 min" in page
    assert "Cards arrive faster than they are decided (4 arrived, 1 decided in 10 min)" in page


def test_a_calm_queue_has_no_warning(client, supervisor, pending):
    pending.approve(by=supervisor)
    client.force_login(supervisor)

    page = client.get("/").content.decode()

    assert "Cards arrive faster" not in page and "Deadlines:" not in page and "timed out" not in page
