"""Delivering notifications: signed webhooks, retries with backoff, failures on record."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from approvals import delivery, escalation, notifications
from approvals.models import Action, Notification, NotificationPreference
from policies.models import EscalationTier
from tests.workers.test_escalation import propose

pytestmark = pytest.mark.django_db


@pytest.fixture
def slack_tier(refund_type, receiver):
    return EscalationTier.objects.create(
        action_type=refund_type, position=1, webhook_url=receiver.url("/slack"), duration=timedelta(minutes=10)
    )


def escalate(api, **params):
    action = propose(api, **params)
    escalation.sweep(now=action.due_at + timedelta(seconds=1))
    return action, Notification.objects.get(action=action, kind="escalated", channel="webhook")


def test_a_webhook_carries_a_slack_payload_and_a_signature_the_receiver_can_check(api, slack_tier, receiver, settings):
    action, notification = escalate(api, customer="cus_evil")

    assert notifications.deliver(notification.pk) is None

    [(path, headers, body)] = receiver.received
    assert path == "/slack"
    timestamp = headers["X-Countersign-Timestamp"]
    expected = hmac.new(settings.HITL_WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert headers["X-Countersign-Signature"] == "sha256=" + expected.hexdigest()
    payload = json.loads(body)
    assert "Refund $750.00 to customer cus_evil" in payload["text"]
    assert payload["blocks"][0]["type"] == "section" and payload["blocks"][0]["text"]["type"] == "mrkdwn"
    assert action.review_url in payload["text"]
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("sent", 1)
    assert notification.sent_at is not None


def test_agent_text_cannot_inject_slack_links_or_mail_headers(refund_type, agent):
    action = Action(
        agent=agent,
        action_type=refund_type,
        policy_version=1,
        status="pending",
        autonomy="confirm",
        params={},
        summary="Pay <https://evil.example|your bank> &\nBcc: everyone@example.com",
    )
    subject, body, payload = notifications.message_for_action(Notification.Kind.ESCALATED, action, "detail")

    assert "\n" not in subject
    for shown in (payload["text"], payload["blocks"][0]["text"]["text"]):
        assert "<https://evil" not in shown and "https://evil" not in shown and "evil.example|" not in shown
        assert "&lt;https:" in shown and "your bank&gt; &amp;" in shown


def test_a_failing_webhook_is_retried_with_growing_waits_then_sent(api, slack_tier, receiver, settings):
    settings.HITL_NOTIFY_RETRY_BASE_SECONDS = 10
    receiver.answers = [503, 500]
    _, notification = escalate(api)

    waits = [notifications.deliver(notification.pk) for _ in range(3)]

    assert waits == [10, 20, None]
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("sent", 3)
    assert len(receiver.received) == 1


def test_a_webhook_that_keeps_failing_is_recorded_as_failed_and_the_escalation_stands(
    api, slack_tier, receiver, settings
):
    settings.HITL_NOTIFY_MAX_ATTEMPTS = 2
    receiver.answers = [500, 500, 500]
    action, notification = escalate(api)

    assert notifications.deliver(notification.pk) is not None
    assert notifications.deliver(notification.pk) is None
    assert notifications.deliver(notification.pk) is None  # done: nothing more is sent

    notification.refresh_from_db()
    assert notification.status == "failed" and "500" in notification.last_error
    action.refresh_from_db()
    assert action.escalation_tier == 1 and action.status == "pending"


def test_a_webhook_answering_with_a_redirect_is_not_sent_but_retried(api, slack_tier, receiver, settings):
    settings.HITL_NOTIFY_RETRY_BASE_SECONDS = 10
    receiver.answers = [302]
    _, notification = escalate(api)

    assert notifications.deliver(notification.pk) == 10
    notification.refresh_from_db()
    assert notification.status == "queued" and "302" in notification.last_error
    assert notifications.deliver(notification.pk) is None
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("sent", 2)


def test_a_receiver_that_refuses_the_payload_is_not_retried(api, slack_tier, receiver):
    receiver.answers = [404]
    _, notification = escalate(api)

    assert notifications.deliver(notification.pk) is None

    notification.refresh_from_db()
    assert notification.status == "failed" and notification.attempts == 1 and "HTTP 404" in notification.last_error


def test_an_unreachable_webhook_never_blocks_an_escalation(api, refund_type):
    EscalationTier.objects.create(
        action_type=refund_type, position=1, webhook_url="http://127.0.0.1:9/nowhere", emails="oncall@example.com"
    )
    action = propose(api)

    escalation.sweep(now=action.due_at + timedelta(seconds=1))
    for notification in Notification.objects.all():
        notifications.deliver(notification.pk)

    action.refresh_from_db()
    assert action.escalation_tier == 1
    assert [m.to for m in mail.outbox] == [["oncall@example.com"]]
    assert Notification.objects.get(channel="webhook").status == "queued"  # waiting for its retry


def test_retries_are_never_scheduled_past_the_brokers_visibility_timeout(settings):
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert all(delivery.backoff_seconds(n) < visibility for n in range(1, 40))
    assert settings.HITL_NOTIFY_LEASE_SECONDS < visibility


def test_a_notification_sent_once_is_not_sent_again(api, slack_tier, receiver):
    _, notification = escalate(api)

    notifications.deliver(notification.pk)
    notifications.deliver(notification.pk)

    assert len(receiver.received) == 1


@override_settings(HITL_RECOVERY_GRACE_SECONDS=60)
def test_recovery_finds_notifications_whose_task_was_lost(api, slack_tier, receiver):
    _, notification = escalate(api)
    stuck = Notification.objects.filter(pk=notification.pk)
    # A sender killed mid-delivery: the row stays `sending` after its lease ran out.
    stuck.update(status="sending", attempts=1, next_attempt_at=timezone.now() - timedelta(minutes=2))

    assert Notification.dispatch_due(timezone.now()) == [notification.pk]
    assert Notification.dispatch_due(timezone.now()) == []  # marked: the next sweep waits again
    notifications.deliver(notification.pk)

    assert stuck.get().status == "sent" and len(receiver.received) == 1


def test_the_action_page_shows_who_was_notified(api, client, supervisor, slack_tier, receiver):
    action, notification = escalate(api)
    receiver.answers = [404]
    notifications.deliver(notification.pk)
    client.force_login(supervisor)

    page = client.get(f"/actions/{action.pk}/").content.decode()

    assert "Escalated · tier 1" in page
    assert receiver.url("/slack") in page and "Failed after retries" in page and "HTTP 404" in page


def test_a_reviewer_on_an_hourly_digest_gets_one_message_an_hour_listing_what_waits(api, supervisor):
    NotificationPreference.objects.create(user=supervisor, delivery="hourly")
    api.propose()
    api.propose(params={"customer": "cus_9", "amount": 5, "currency": "EUR"})
    now = timezone.now()

    queued = [notifications.queue_digests(now), notifications.queue_digests(now + timedelta(minutes=30))]
    for notification in Notification.objects.filter(kind="digest"):
        notifications.deliver(notification.pk)
    later = notifications.queue_digests(now + timedelta(minutes=58))

    assert queued == [1, 0] and later == 1
    [digest] = mail.outbox
    assert digest.to == ["sue@example.com"] and digest.subject == "2 actions wait for you"
    assert "Refund $750.00 to customer cus_123" in digest.body and "Refund €5.00 to customer cus_9" in digest.body


def test_a_daily_digest_waits_a_day_and_an_empty_one_is_not_sent(supervisor):
    NotificationPreference.objects.create(user=supervisor, delivery="daily")
    now = timezone.now()

    assert notifications.queue_digests(now) == 0  # nothing waits: no message
    assert NotificationPreference.objects.get().last_digest_at == now
    assert notifications.queue_digests(now + timedelta(hours=12)) == 0
    assert not Notification.objects.exists()


def test_a_reviewer_opts_into_a_daily_digest(client, supervisor):
    client.force_login(supervisor)

    assert 'value="each" checked' in client.get("/notifications/preferences").content.decode()
    assert client.post("/notifications/preferences", {"delivery": "daily"}).status_code == 302
    bad = client.post("/notifications/preferences", {"delivery": "weekly"}, follow=True)

    assert NotificationPreference.objects.get(user=supervisor).delivery == "daily"
    assert "Choose one message each" in bad.content.decode()
    assert client.delete("/notifications/preferences").status_code == 405
    client.logout()
    assert client.get("/notifications/preferences").status_code == 302
