"""Rows of work that a task delivers once, each telling someone of an action: notifications,
executions, callbacks, Slack messages. Each is written in the transaction of the change it tells
of; a task claims it with a lease, attempts it, hands it back with backoff after a transient
failure (counted on the row) and finishes it (approvals.delivery); `dispatch_due` finds what a
lost task left undone."""

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from approvals.delivery import claim_due_work
from approvals.models.status import ActionStatus
from approvals.signals import cards_outdated
from hitl_lib.tasks import enqueue, enqueue_on_commit


class Outbox(models.Model):
    """The shape every such row shares: how often it was tried, why it last failed, and when a
    task should next work on it (while one sends it, the end of that task's lease)."""

    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    @classmethod
    def dispatch_due(cls, now):
        """Ids of the rows a task should work on now: new ones, ones whose retry is due, and ones
        a dead sender held past its lease."""
        return claim_due_work(cls, now)

    @staticmethod
    def queue_again(rows):
        """Queue these rows again, from a first attempt, if they were delivered or failed: what
        they deliver changed (a card to update in place). One still being sent is left to its
        sender. Returns how many."""
        return rows.filter(status__in=["sent", "failed"]).update(
            status="queued", attempts=0, next_attempt_at=timezone.now()
        )


class Notification(Outbox):
    """One message to one target, and what became of it. The row is written in the transaction
    of the escalation that caused it; a task delivers it afterwards, so the database always
    knows what is still owed."""

    class Kind(models.TextChoices):
        WARNING = "warning", "SLA warning"
        ESCALATED = "escalated", "Escalated"
        FALLBACK = "fallback", "Timeout fallback"
        APPEAL = "appeal", "End user's appeal"
        DIGEST = "digest", "Digest"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        WEBHOOK = "webhook", "Webhook"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed after retries"

    action = models.ForeignKey(
        "approvals.Action", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=Kind)
    tier = models.PositiveSmallIntegerField(default=0)
    channel = models.CharField(max_length=10, choices=Channel)
    target = models.CharField(max_length=500)
    detail = models.TextField(blank=True)  # what happened, in a sentence; the message is written when sent
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)  # the webhook's JSON body
    # One message per (what happened, to whom): a second escalation run cannot insert another.
    dedup_key = models.CharField(max_length=700, unique=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notification_status_next")]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.target}: {self.status}"


class Execution(Outbox):
    """A person's request, from the dashboard, that the action type's executor webhook run an
    action; one per action, so it is executed at most once however often someone clicks."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        DONE = "done", "Done"

    action = models.OneToOneField(
        "approvals.Action", on_delete=models.CASCADE, primary_key=True, related_name="execution"
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_by_name = models.CharField(max_length=150)
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)

    def __str__(self):
        return f"execution of {self.action_id}: {self.status}"


class CallbackDelivery(Outbox):
    """One POST of an action's new state to its callback URL, and what became of it. Written in
    the deciding transaction (one per action and state: its `webhook_id` is what a receiver
    de-duplicates on), then delivered by `approvals.callbacks` at least once."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Delivered"
        FAILED = "failed", "Failed"

    action = models.ForeignKey("approvals.Action", on_delete=models.CASCADE, related_name="callbacks")
    state = models.CharField(max_length=16, choices=ActionStatus)  # the status that was announced
    webhook_id = models.CharField(max_length=100, unique=True)
    url = models.CharField(max_length=2000)
    # The body, fixed at the first attempt, so that every retry sends the same bytes.
    payload = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="callback_status_next")]

    def __str__(self):
        return f"{self.webhook_id} to {self.url}: {self.status}"

    @classmethod
    def queue_for(cls, action_ids):
        """Queue a callback for each of these actions that has a callback URL, announcing its
        status now; one statement however many. A state announced before is not queued again.
        The delivery tasks start once the transaction commits."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {cls._meta.db_table}
                    (action_id, state, webhook_id, url, status, attempts, last_error, created_at, next_attempt_at)
                SELECT id, status, 'msg_' || replace(id::text, '-', '') || '_' || status, callback_url,
                       'queued', 0, '', now(), now()
                FROM {cls._meta.get_field("action").related_model._meta.db_table}
                WHERE id = ANY(%s::uuid[]) AND callback_url <> ''
                ON CONFLICT (webhook_id) DO NOTHING
                RETURNING id
                """,
                [list(action_ids)],
            )
            ids = [row[0] for row in cursor.fetchall()]
        if ids:
            transaction.on_commit(lambda: _start_callbacks(ids))
        return ids


def _start_callbacks(ids):
    for callback_id in ids:
        enqueue("approvals.tasks.deliver_callback", callback_id)


class SlackMessage(Outbox):
    """One Slack message about one action in one channel: posted by a task (`approvals.slack`),
    then updated in place by the same delivery loop whenever the action's state changes. The
    row is queued again for each update, so the database knows what Slack still has to hear."""

    Status = Notification.Status  # the delivery loop's states

    action = models.ForeignKey("approvals.Action", on_delete=models.CASCADE, related_name="slack_messages")
    channel = models.CharField(max_length=80)  # Slack's channel id (C…)
    tier = models.PositiveSmallIntegerField(default=0)  # 0: the type's channel; n: escalation tier n's
    ts = models.CharField(max_length=40, blank=True)  # Slack's id of the message, once posted
    shown_status = models.CharField(max_length=16, blank=True)  # the action's status the message shows
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["action", "channel"], name="one_slack_message_per_channel")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="slack_message_status_next")]

    def __str__(self):
        return f"Slack {self.channel} about {self.action_id}: {self.status}"

    @classmethod
    def queue_posts(cls, actions_and_channels, *, tier=0):
        """Queue a message for each (action, channel) with a channel; one per action and channel
        however often this is called. Returns how many are new."""
        rows = [cls(action=action, channel=channel, tier=tier) for action, channel in actions_and_channels if channel]
        if not rows or not settings.SLACK_BOT_TOKEN:
            return 0
        created = cls.objects.bulk_create(rows, ignore_conflicts=True)
        _dispatch_slack_on_commit()
        return len(created)

    @classmethod
    def queue_updates(cls, action_ids):
        """The actions changed: queue their posted messages again, to be updated in place. A
        message still being posted is checked by its sender after posting (`approvals.slack`)."""
        if not settings.SLACK_BOT_TOKEN:
            return 0
        queued = cls.queue_again(cls.objects.filter(action_id__in=list(action_ids)).exclude(ts=""))
        if queued:
            _dispatch_slack_on_commit()
        return queued


def _dispatch_slack_on_commit():
    enqueue_on_commit("approvals.tasks.dispatch_slack_messages")


def queue_card_updates(action_ids):
    """These actions changed (a decision from any channel, an SLA warning or escalation): every
    card about them is queued again, to be updated in place: Slack's here, other channels' by
    `cards_outdated` (approvals/signals.py)."""
    SlackMessage.queue_updates(action_ids)
    cards_outdated.send(sender=SlackMessage, action_ids=action_ids)
