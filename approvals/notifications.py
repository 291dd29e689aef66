"""Notifications: who hears about an action, what the message says, and delivering it once.

Rows are written in the transaction of what caused them (an escalation, a warning); a task
then claims each row with a conditional UPDATE and delivers it by email or by a signed webhook
whose JSON fits Slack's incoming webhooks. Transient failures are retried with backoff up to a
limit, and every outcome stays on the row for the action page to show.
"""

import hashlib
import hmac
import json
import re
import smtplib
import time
from datetime import timedelta

import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone
from guardian.shortcuts import get_users_with_perms

from approvals.models import Notification, NotificationPreference, claim_work, retry_work_later

SIGNATURE_HEADER = "X-Countersign-Signature"
TIMESTAMP_HEADER = "X-Countersign-Timestamp"


class PermanentFailure(Exception):
    """Retrying will not help (a 4xx answer, a malformed address)."""


# Who is told.


def _immediate_emails(users):
    """Addresses of the users who want one message each, not a digest."""
    digesting = set(
        NotificationPreference.objects.filter(user__in=users)
        .exclude(delivery=NotificationPreference.Delivery.EACH)
        .values_list("user_id", flat=True)
    )
    return [u.email for u in users if u.email and u.pk not in digesting]


def tier_targets(tier):
    """[(channel, target)] for an escalation tier: its addresses, its group's members, its webhook."""
    emails = list(tier.email_list())
    if tier.group_id:
        members = list(get_user_model().objects.filter(groups=tier.group_id, is_active=True))
        emails += _immediate_emails(members)
    targets = [(Notification.Channel.EMAIL, address) for address in dict.fromkeys(emails)]
    if tier.webhook_url:
        targets.append((Notification.Channel.WEBHOOK, tier.webhook_url))
    return targets


def reviewer_targets(action_type, ladder=()):
    """[(channel, target)] for the people who review an action type before any escalation
    (the escalation tiers' groups may review it too, but hear only once it reaches them)."""
    users = list(
        get_users_with_perms(
            action_type, only_with_perms_in=["review_actiontype"], with_group_users=True, with_superusers=False
        )
        .filter(is_active=True)
        .exclude(groups__in=[tier.group_id for tier in ladder if tier.group_id])
    )
    return [(Notification.Channel.EMAIL, address) for address in dict.fromkeys(_immediate_emails(users))]


# What they are told.


def one_line(text, limit=200):
    """Email subjects and Slack headlines are one line; agent-supplied text may hold newlines."""
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_escape(text):
    # Slack's mrkdwn treats these three as control characters; everything else is literal.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


HEADLINES = {
    Notification.Kind.WARNING: "Decide soon",
    Notification.Kind.ESCALATED: "Escalated to you",
    Notification.Kind.FALLBACK: "Timed out",
    Notification.Kind.USER_ESCALATION: "An end user asks for a person",
}


def message_for_action(kind, action, detail):
    """(subject, body, Slack payload) for a notification about one action."""
    headline = HEADLINES[kind]
    summary = one_line(action.summary)
    review_url = action.review_url
    subject = one_line(f"{headline}: {summary}")
    body = (
        f"{headline}: {action.summary}\n\n"
        f"{detail}\n\n"
        f"Action type: {action.action_type.key}\n"
        f"Agent: {action.agent.name}\n"
        f"Review it: {review_url}\n"
    )
    payload = {
        "text": f"{headline}: {summary} ({review_url})",
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*{headline}*: <{review_url}|{slack_escape(summary)}>\n{slack_escape(detail)}",
                },
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": slack_escape(f"{action.action_type.key} · agent {action.agent.name}"),
                    }
                ],
            },
        ],
    }
    return subject, body, payload


def build(*, kind, action, tier, channel, target, detail, now=None):
    """A new notification about `action`, as the column values `escalation.insert_notifications`
    writes; its dedup key makes a second one impossible. The message itself is written when
    it is sent (`render()`), which keeps a sweep of thousands to one COPY of short rows."""
    now = now or timezone.now()
    return {
        "action_id": action.pk,
        "kind": kind,
        "tier": tier,
        "channel": channel,
        "target": target,
        "detail": detail,
        "dedup_key": f"{action.pk}:{kind}:{tier}:{channel}:{target}"[:700],
        "created_at": now,
        "next_attempt_at": now,
    }


def render(notification):
    """Fill in the subject, body and webhook payload of a notification about an action."""
    if notification.subject or notification.action is None:
        return
    subject, body, payload = message_for_action(notification.kind, notification.action, notification.detail)
    notification.subject, notification.body = subject, body
    notification.payload = payload if notification.channel == Notification.Channel.WEBHOOK else {}
    Notification.objects.filter(pk=notification.pk).update(subject=subject, body=body, payload=notification.payload)


# Delivering.


def webhook_secret():
    return settings.HITL_WEBHOOK_SECRET.encode()


def signature(body, timestamp):
    """HMAC-SHA256 over "<timestamp>.<body>", so a receiver can reject replays of old bodies."""
    return "sha256=" + hmac.new(webhook_secret(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signed_post(url, payload, headers=None):
    """POST JSON with the signature headers; raises PermanentFailure on a 4xx, httpx errors
    (which are worth retrying) on a network failure or a 5xx."""
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(body, timestamp),
        **(headers or {}),
    }
    response = httpx.post(url, content=body, headers=headers, timeout=settings.HITL_WEBHOOK_TIMEOUT_SECONDS)
    if response.status_code in (408, 429) or response.status_code >= 500:
        response.raise_for_status()
    if response.status_code >= 400:
        raise PermanentFailure(f"HTTP {response.status_code}: {one_line(response.text, 300)}")
    return response


def backoff_seconds(attempts):
    """Exponential, and never past the broker's visibility timeout: a retry scheduled later
    than that would be delivered twice by Redis."""
    return min(settings.HITL_NOTIFY_RETRY_BASE_SECONDS * 2 ** (attempts - 1), settings.HITL_NOTIFY_RETRY_MAX_SECONDS)


def deliver(notification_id):
    """Send one notification. Returns the seconds after which to try again, or None when it
    is done (sent, failed for good, or not ours to send)."""
    notification = claim_work(
        Notification.objects.select_related("action__agent", "action__action_type"), notification_id
    )
    if notification is None:
        return None
    render(notification)
    try:
        if notification.channel == Notification.Channel.WEBHOOK:
            signed_post(notification.target, notification.payload)
        else:
            send_mail(notification.subject, notification.body, settings.DEFAULT_FROM_EMAIL, [notification.target])
    except PermanentFailure as failure:
        _finish(notification, Notification.Status.FAILED, error=str(failure))
        return None
    except (httpx.HTTPError, smtplib.SMTPException, OSError) as failure:
        error = f"{type(failure).__name__}: {failure}"
        if notification.attempts >= settings.HITL_NOTIFY_MAX_ATTEMPTS:
            _finish(notification, Notification.Status.FAILED, error=error)
            return None
        countdown = backoff_seconds(notification.attempts)
        retry_work_later(notification, error=error, countdown=countdown)
        return countdown
    _finish(notification, Notification.Status.SENT)
    return None


def _finish(notification, status, error=""):
    changes = {"status": status, "last_error": error}
    if status == Notification.Status.SENT:
        changes["sent_at"] = timezone.now()
    Notification.objects.filter(pk=notification.pk, status=Notification.Status.SENDING).update(**changes)


# Digests: instead of one message each, what waits for a reviewer, hourly or daily.

DIGEST_PERIODS = {
    NotificationPreference.Delivery.HOURLY: timedelta(hours=1),
    NotificationPreference.Delivery.DAILY: timedelta(days=1),
}
# The beat runs on the hour; a few minutes' slack keeps a run at 10:00:03 from skipping a
# digest last sent at 09:00:05.
DIGEST_SLACK = timedelta(minutes=5)


def queue_digests(now=None):
    """Write a digest notification for every reviewer whose period has passed; returns how many.
    Each reviewer is claimed with a conditional UPDATE, so two runs send one digest."""
    from approvals.models import Action

    now = now or timezone.now()
    queued = 0
    for delivery, period in DIGEST_PERIODS.items():
        due = NotificationPreference.objects.filter(delivery=delivery, user__is_active=True).exclude(user__email="")
        due = due.filter(Q(last_digest_at__isnull=True) | Q(last_digest_at__lte=now - period + DIGEST_SLACK))
        for preference in due.select_related("user"):
            claimed = NotificationPreference.objects.filter(
                pk=preference.pk, last_digest_at=preference.last_digest_at
            ).update(last_digest_at=now)
            if claimed != 1:
                continue
            waiting = list(
                Action.objects.awaiting_review()
                .reviewable_by(preference.user)
                .select_related("action_type")
                .order_by("due_at", "created_at")[:100]
            )
            if not waiting:
                continue
            Notification.objects.create(
                kind=Notification.Kind.DIGEST,
                channel=Notification.Channel.EMAIL,
                target=preference.user.email,
                subject=f"{len(waiting)} action{'s' if len(waiting) != 1 else ''} wait for you",
                body=digest_body(waiting),
                dedup_key=f"digest:{preference.user_id}:{now.isoformat()}",
                created_at=now,
                next_attempt_at=now,
            )
            queued += 1
    return queued


def digest_body(actions):
    lines = ["These actions wait for a decision:", ""]
    for action in actions:
        due = f" (due {action.due_at:%Y-%m-%d %H:%M} UTC)" if action.due_at else ""
        tier = f" [escalated, tier {action.escalation_tier}]" if action.escalation_tier else ""
        lines.append(f"- {one_line(action.summary)}{due}{tier}\n  {action.review_url}")
    return "\n".join(lines) + "\n"


def notify_user_escalation(escalation):
    """Tell the people who review the action an end user complains about, and the first
    escalation tier, at once: a person asked for a person. Returns how many were queued."""
    action = escalation.action or escalation.session_actions().first()
    if action is None:
        return 0
    ladder = list(action.action_type.escalation_tiers.select_related("group"))
    targets = reviewer_targets(action.action_type, ladder) + (tier_targets(ladder[0]) if ladder else [])
    detail = f"{escalation.get_kind_display()} (session {escalation.session_id or '-'}). "
    detail += f"The end user says: {escalation.message}" if escalation.message else "No message."
    now = timezone.now()
    Notification.objects.bulk_create(
        [
            Notification(
                action=action,
                kind=Notification.Kind.USER_ESCALATION,
                channel=channel,
                target=target,
                detail=detail,
                dedup_key=f"user-escalation:{escalation.pk}:{channel}:{target}",
                created_at=now,
                next_attempt_at=now,
            )
            for channel, target in dict.fromkeys(targets)
        ]
    )
    return len(dict.fromkeys(targets))
