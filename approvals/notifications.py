"""Notifications: who hears about an action, what the message says, and delivering it once.

Rows are written in the transaction of what caused them (an escalation, a warning); a task
then claims each row with a conditional UPDATE and delivers it by email or by a signed webhook
whose JSON fits Slack's incoming webhooks. Transient failures are retried with backoff up to a
limit, and every outcome stays on the row for the action page to show.
"""

import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import send_mail
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import get_users_with_perms

from approvals.delivery import attempt, finish_work, one_line, signed_post
from approvals.models import Action, Notification, NotificationPreference

# Who is told.


def _immediate_emails(users):
    """Addresses of the users who want one message each, not a digest."""
    digesting = set(
        NotificationPreference.objects.filter(user__in=users)
        .exclude(delivery=NotificationPreference.Delivery.EACH)
        .values_list("user_id", flat=True)
    )
    return [u.email for u in users if u.email and u.pk not in digesting]


def tier_members(tier):
    """The active members of an escalation tier's group (none for a tier without one)."""
    if not tier.group_id:
        return []
    return list(get_user_model().objects.filter(groups=tier.group_id, is_active=True))


def tier_targets(tier):
    """[(channel, target)] for an escalation tier: its addresses, its group's members, its webhook."""
    emails = list(tier.email_list()) + _immediate_emails(tier_members(tier))
    targets = [(Notification.Channel.EMAIL, address) for address in dict.fromkeys(emails)]
    if tier.webhook_url:
        targets.append((Notification.Channel.WEBHOOK, tier.webhook_url))
    return targets


def reviewers(action_type, ladder=()):
    """The people who review an action type before any escalation (the escalation tiers' groups
    may review it too, but hear only once it reaches them)."""
    return list(
        get_users_with_perms(
            action_type, only_with_perms_in=["review_actiontype"], with_group_users=True, with_superusers=False
        )
        .filter(is_active=True)
        .exclude(groups__in=[tier.group_id for tier in ladder if tier.group_id])
    )


def reviewer_targets(action_type, ladder=()):
    """[(channel, target)] for `reviewers(action_type, ladder)`."""
    users = reviewers(action_type, ladder)
    return [(Notification.Channel.EMAIL, address) for address in dict.fromkeys(_immediate_emails(users))]


def holders(action, ladder):
    """The people who hold `action` now: its current tier's group, or before any escalation its
    reviewers. `ladder`: its type's tiers in order."""
    tier = action.current_escalation_tier(ladder)
    return tier_members(tier) if tier else reviewers(action.action_type, ladder)


# What they are told.


ZWSP = "\u200b"


def agent_text(text, limit=2900):
    """`text` as literal mrkdwn, for every piece of agent or end-user text sent to Slack (the
    webhook's payload and the Slack app's messages alike, blocks and fallback `text`): & < >
    escaped (so no <@U…>, <!channel> or <http://…|…> from it), @channel/@here/@everyone broken
    by a zero-width space, and URLs and host names broken the same way so that Slack makes no
    link of them (nor unfurls one)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = re.sub(r"@(channel|here|everyone)\b", "@" + ZWSP + r"\1", text, flags=re.IGNORECASE)
    text = unlinked(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def unlinked(text):
    """URLs and host names broken by a zero-width space, so that a chat client (Slack, Teams)
    makes no link of them, nor unfurls one."""
    text = re.sub(r"://", ":" + ZWSP + "//", text)
    return re.sub(r"(?<=\w)\.(?=[A-Za-z]{2,})", "." + ZWSP, text)  # example.com, not 1.5


HEADLINES = {
    Notification.Kind.WARNING: "Decide soon",
    Notification.Kind.ESCALATED: "Escalated to you",
    Notification.Kind.FALLBACK: "Timed out",
    Notification.Kind.APPEAL: "An end user asks for a person",
}


# Approve and Reject links in emails. A GET of one never decides (mail scanners fetch links):
# it opens a confirmation page, whose POST decides. Each link is signed, names the action, the
# reviewer and the verdict, carries a nonce spent by that POST, and expires.

EMAIL_LINK_SALT = "countersign.email-decision"


def decision_link(action, user, verdict):
    token = signing.dumps(
        {"a": str(action.pk), "u": user.pk, "v": verdict, "n": secrets.token_urlsafe(12)}, salt=EMAIL_LINK_SALT
    )
    return settings.SITE_URL + reverse("approvals:email_decide", args=[token])


def read_decision_link(token):
    """{"a", "u", "v", "n"}; raises signing.SignatureExpired or signing.BadSignature."""
    return signing.loads(token, salt=EMAIL_LINK_SALT, max_age=settings.HITL_EMAIL_LINK_MAX_AGE_SECONDS)


def email_card(action, user=None, *, reviewable=None):
    """The card in plain words, as an email shows it; with Approve and Reject links when it is
    pending and `user` may review it (`reviewable`, where the caller knows)."""
    lines = [action.current_summary, ""]
    lines += [f"  {param.label}: {one_line(param.text, 300)}" for param in action.humanized_params()]
    if badges := action.risk_labels():
        lines += ["", "Risk: " + "; ".join(badges)]
    if action.status == Action.Status.PENDING and action.due_at:
        lines.append(f"Decide by {action.due_at:%Y-%m-%d %H:%M} UTC.")
    if action.rationale:
        lines += ["", "The agent's words (not checked by Countersign):", "  " + one_line(action.rationale, 1000)]
    lines += ["", f"Action type: {action.action_type.key} · agent {action.agent.name}"]
    if reviewable is None and user is not None:
        reviewable = action.is_reviewable_by(user)
    if user is not None and reviewable and action.status == Action.Status.PENDING:
        lines += [
            "",
            f"Approve: {decision_link(action, user, 'approve')}",
            f"Reject: {decision_link(action, user, 'reject')}",
            "(Each link opens a page in Countersign where you confirm; it works once, for you only.)",
        ]
    lines.append(f"Open it: {action.review_url}")
    return "\n".join(lines)


def reviewer_for(address):
    """The one active user with this address, or None."""
    users = list(get_user_model().objects.filter(email__iexact=address, is_active=True)[:2])
    return users[0] if len(users) == 1 else None


def message_for_action(kind, action, detail, reviewer=None):
    """(subject, body, Slack payload) for a notification about one action; the email's body
    carries decision links for `reviewer`."""
    headline = HEADLINES[kind]
    summary = one_line(action.summary)
    review_url = action.review_url
    subject = one_line(f"{headline}: {summary}")
    body = f"{headline}.\n\n" + (f"{detail}\n\n" if detail else "") + email_card(action, reviewer) + "\n"
    # Slack reads the fallback `text` as mrkdwn too: the agent's words are made inert there as well.
    payload = {
        "text": f"{headline}: {agent_text(summary)} ({review_url})",
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*{headline}*: <{review_url}|{agent_text(summary)}>\n{agent_text(detail)}",
                },
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": agent_text(f"{action.action_type.key} · agent {action.agent.name}"),
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
    email = notification.channel == Notification.Channel.EMAIL
    if notification.kind == Notification.Kind.APPEAL:
        subject, body, payload = message_for_appeal(notification)
    else:
        reviewer = reviewer_for(notification.target) if email else None
        subject, body, payload = message_for_action(
            notification.kind, notification.action, notification.detail, reviewer
        )
    notification.subject, notification.body = subject, body
    notification.payload = payload if notification.channel == Notification.Channel.WEBHOOK else {}
    Notification.objects.filter(pk=notification.pk).update(subject=subject, body=body, payload=notification.payload)


# Delivering.


def deliver(notification_id):
    """Send one notification. Returns the seconds after which to try again, or None when it
    is done (sent, failed for good, or not ours to send)."""
    return attempt(
        Notification.objects.select_related("action__agent", "action__action_type"),
        notification_id,
        send=_send,
        failed=lambda notification, error, permanent: finish_work(
            notification, Notification.Status.FAILED, last_error=error
        ),
    )


def _send(notification):
    render(notification)
    if notification.channel == Notification.Channel.WEBHOOK:
        signed_post(notification.target, notification.payload)
    else:
        send_mail(notification.subject, notification.body, settings.DEFAULT_FROM_EMAIL, [notification.target])
    finish_work(notification, Notification.Status.SENT, last_error="", sent_at=timezone.now())


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
                .select_related("action_type", "agent")
                .order_by("due_at", "created_at")[:100]
            )
            if not waiting:
                continue
            Notification.objects.create(
                kind=Notification.Kind.DIGEST,
                channel=Notification.Channel.EMAIL,
                target=preference.user.email,
                subject=f"{len(waiting)} action{'s' if len(waiting) != 1 else ''} wait for you",
                body=digest_body(waiting, preference.user),
                dedup_key=f"digest:{preference.user_id}:{now.isoformat()}",
                created_at=now,
                next_attempt_at=now,
            )
            queued += 1
    return queued


def digest_body(actions, user=None):
    """The waiting actions, each as its card; pending ones with `user`'s decision links."""
    lines = ["These actions wait for a decision:", ""]
    for action in actions:
        tier = f"[escalated, tier {action.escalation_tier}]\n" if action.escalation_tier else ""
        lines.append(f"{tier}{email_card(action, user, reviewable=True)}\n\n---\n")
    return "\n".join(lines)


def appeal_url(appeal_id):
    """The appeal's card at the top of the inbox."""
    return f"{settings.SITE_URL}{reverse('approvals:inbox')}#appeal-{appeal_id}"


def message_for_appeal(notification):
    """(subject, body, Slack payload) naming the appeal and linking to it. No Approve or Reject
    link: the action it is sent with may be only the session's latest, and one click on such a
    link once approved a second refund for a customer who had complained about the first (#32)."""
    appeal_id = notification.dedup_key.split(":")[1]  # "appeal:<id>:<channel>:<target>" (notify_appeal)
    action = notification.action
    url = appeal_url(appeal_id)
    headline = HEADLINES[Notification.Kind.APPEAL]
    subject = one_line(f"{headline}: {notification.detail.split('. ')[0]}")
    body = (
        f"{headline}.\n\n{notification.detail}\n\nAnswer it in the inbox: {url}\n\n"
        f"The action it is about (or the session's latest), as it stands:\n\n{email_card(action)}\n"
    )
    said = agent_text(notification.detail)
    payload = {
        "text": f"{headline}: {said} ({url})",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"*<{url}|{headline}>*\n{said}"}}],
    }
    return subject, body, payload


def notify_appeal(appeal):
    """Tell the people who review the action an end user complains about, and the first
    escalation tier, at once: a person asked for a person. Returns how many were queued."""
    action = appeal.action or appeal.session_actions().first()
    if action is None:
        return 0
    ladder = list(action.action_type.escalation_tiers.select_related("group"))
    targets = reviewer_targets(action.action_type, ladder) + (tier_targets(ladder[0]) if ladder else [])
    detail = f"{appeal.get_kind_display()} (session {appeal.session_id or '-'}). "
    detail += f"The end user says: {appeal.message}" if appeal.message else "No message."
    now = timezone.now()
    Notification.objects.bulk_create(
        [
            Notification(
                action=action,
                kind=Notification.Kind.APPEAL,
                channel=channel,
                target=target,
                detail=detail,
                dedup_key=f"appeal:{appeal.pk}:{channel}:{target}",
                created_at=now,
                next_attempt_at=now,
            )
            for channel, target in dict.fromkeys(targets)
        ]
    )
    return len(dict.fromkeys(targets))
