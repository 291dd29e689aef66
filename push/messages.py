"""Who is told by push, what the notification says, and delivering it once.

Rows are queued in the transaction that makes an action want a person (`approvals.signals`): a
new pending action for its reviewers, an SLA warning for whoever holds it, an escalation for the
tier it reached. A task then encrypts each for its browser (RFC 8291, aes128gcm, by pywebpush),
signs the request with the server's VAPID key (RFC 8292) and POSTs it to the browser's push
service, with the retries of every other channel (approvals.delivery). A subscription the push
service says is gone (404, 410) is deleted.
"""

import json
import secrets
import unicodedata

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from pywebpush import WebPushException, webpush

from approvals import notifications
from approvals.delivery import PermanentFailure, attempt, finish_work, one_line
from approvals.escalation import tiers_by_type
from approvals.models import Action, Notification
from hitl_lib.tasks import enqueue_on_commit
from push import vapid
from push.models import PushMessage, Subscription

# Who is told.


def queue_for_signal(sender, *, kind, actions, **kwargs):
    queue(kind=kind, actions=actions)


def queue(*, kind, actions):
    """Queue a notification about each of `actions` to every browser of the people who hold it
    now and turned push on; once per (action, what happened, browser). Returns how many."""
    if not vapid.configured() or not actions:
        return 0
    subscribed = set(Subscription.objects.values_list("user_id", flat=True))
    if not subscribed:
        return 0
    ladders = tiers_by_type({action.action_type_id for action in actions})
    holders = {}  # (type, tier) → ids of the holders with push on, once per batch
    rows = []
    for action in actions:
        key = (action.action_type_id, action.escalation_tier)
        if key not in holders:
            people = notifications.holders(action, ladders[action.action_type_id])
            holders[key] = {person.pk for person in people} & subscribed
        rows += [(action, user_id) for user_id in holders[key]]
    if not rows:
        return 0
    browsers = {}
    for subscription in Subscription.objects.filter(user_id__in={user_id for _, user_id in rows}):
        browsers.setdefault(subscription.user_id, []).append(subscription)
    now = timezone.now()
    created = PushMessage.objects.bulk_create(
        [
            PushMessage(
                subscription=subscription,
                action=action,
                kind=kind,
                tier=action.escalation_tier,
                created_at=now,
                next_attempt_at=now,
            )
            for action, user_id in rows
            for subscription in browsers.get(user_id, [])
        ],
        ignore_conflicts=True,
    )
    enqueue_on_commit("push.tasks.dispatch_push_messages")
    return len(created)


# What they are told.

HEADLINES = {
    PushMessage.Kind.NEW: "Waiting for you",
    PushMessage.Kind.WARNING: notifications.HEADLINES[Notification.Kind.WARNING],
    PushMessage.Kind.ESCALATED: notifications.HEADLINES[Notification.Kind.ESCALATED],
}
BARE = "A card waits for your decision in Countersign."
SUMMARY_LIMIT = 200


def plain(text, limit=SUMMARY_LIMIT):
    """Agent-supplied text as a notification may show it: one line of plain text (a notification
    renders no markup, but a control or bidirectional-override character would still mislead a
    reader), truncated."""
    text = "".join(ch if unicodedata.category(ch) not in ("Cc", "Cf") else " " for ch in text)
    return one_line(text, limit)


def lock_screen_refusal(action):
    """Why `action` may not be approved from a notification (a phone's lock screen), or "" when it
    may: only reversible actions, of a type the admin listed (HITL_PUSH_APPROVE_ACTION_TYPES)."""
    if action.action_type.irreversible:
        return "Irreversible actions are approved on their card, never from a notification."
    if action.action_type.key not in settings.HITL_PUSH_APPROVE_ACTION_TYPES:
        return f"Approving {action.action_type.key} actions from a notification is not allowed here."
    return ""


def payload_for(message):
    """The notification, as the service worker reads it (push/static/push/sw.js). Only what the
    admin allows: the summary, or with HITL_PUSH_PAYLOAD=bare only that a card waits (and then
    no Approve, since nobody approves what they cannot read)."""
    action, user = message.action, message.subscription.user
    bare = settings.HITL_PUSH_PAYLOAD == "bare"
    payload = {
        "title": HEADLINES[message.kind],
        "body": BARE if bare else plain(action.current_summary),
        "url": action.get_absolute_url(),
        "tag": f"action-{action.pk}",
        "actions": [],
    }
    if not bare and not lock_screen_refusal(action) and not action.refusal_for(user, "approve"):
        # Reject needs a reason, which a notification cannot ask for: its button opens the card.
        payload["actions"] = [{"action": "approve", "title": "Approve"}, {"action": "reject", "title": "Reject…"}]
        payload["approve"] = reverse("push:approve", args=[approve_token(action, user)])
    return payload


# A notification's Approve: a signed token naming the action and the reviewer, with a nonce spent
# by the one POST that approves (push.views.approve), and an expiry.

APPROVE_SALT = "countersign.push-approve"


def approve_token(action, user):
    return signing.dumps({"a": str(action.pk), "u": user.pk, "n": secrets.token_urlsafe(12)}, salt=APPROVE_SALT)


def read_approve_token(token):
    """{"a", "u", "n"}; raises signing.SignatureExpired or signing.BadSignature."""
    return signing.loads(token, salt=APPROVE_SALT, max_age=settings.HITL_PUSH_APPROVE_MAX_AGE_SECONDS)


# Delivering.


def deliver(message_id):
    """Send one push message. Returns the seconds after which to try again, or None when it is
    done (sent, skipped, failed for good, its browser gone, or not ours to send)."""
    return attempt(
        PushMessage.objects.select_related("subscription__user", "action__action_type", "action__agent"),
        message_id,
        send=_send,
        failed=lambda message, error, permanent: finish_work(message, PushMessage.Status.FAILED, last_error=error),
    )


def _send(message):
    action = message.action
    if action.status != Action.Status.PENDING or not message.subscription.user.is_active:
        finish_work(message, PushMessage.Status.SKIPPED)
        return
    now = timezone.now()
    # Worth showing until its deadline; past it, the escalation's own notification is.
    ttl = max(60, int((action.due_at - now).total_seconds())) if action.due_at else 3600
    try:
        webpush(
            subscription_info=message.subscription.info,
            data=json.dumps(payload_for(message)),
            vapid_private_key=vapid.signer(),
            vapid_claims={"sub": settings.HITL_VAPID_SUBJECT},
            content_encoding="aes128gcm",
            ttl=ttl,
            timeout=settings.HITL_WEBHOOK_TIMEOUT_SECONDS,
        )
    except (ValueError, IndexError) as failure:  # keys that are not a P-256 point and a secret
        raise PermanentFailure(f"The subscription's keys are malformed: {one_line(str(failure))}") from None
    except WebPushException as failure:
        answer = failure.response
        if answer is None:  # the subscription's keys are malformed: no retry will help
            raise PermanentFailure(str(failure)) from None
        if answer.status_code in (404, 410):
            # The browser unsubscribed or the subscription expired: forget it (and what it was owed).
            Subscription.objects.filter(pk=message.subscription_id).delete()
            return
        if answer.status_code in (408, 429) or answer.status_code >= 500:
            answer.raise_for_status()  # requests' HTTPError, an OSError: worth another attempt
        raise PermanentFailure(f"HTTP {answer.status_code}: {one_line(answer.text, 300)}") from None
    finish_work(message, PushMessage.Status.SENT, last_error="", sent_at=timezone.now())
