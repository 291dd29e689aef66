"""Actions an agent proposed, and the decisions people made about them."""

import uuid

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from audit.log import Actor, record
from policies.models import ActionType, Agent, Autonomy

# Waiting agents LISTEN on this PostgreSQL channel; the payload is the action id.
DECIDED_CHANNEL = "action_decided"


class Conflict(Exception):
    """The action is no longer in a state that allows this; the message says why."""


class InvalidEdit(Exception):
    def __init__(self, errors):
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))
        self.errors = errors


class ActionQuerySet(models.QuerySet):
    def awaiting_review(self):
        return self.filter(status__in=[Action.Status.PENDING, Action.Status.SUGGESTED])

    def reviewable_by(self, user):
        types = get_objects_for_user(
            user, "policies.review_actiontype", ActionType, accept_global_perms=True, with_superuser=True
        )
        return self.filter(action_type__in=types)

    def overdue(self, now=None):
        return self.filter(status=Action.Status.PENDING, due_at__lte=now or timezone.now())


class Action(models.Model):
    class Status(models.TextChoices):
        SUGGESTED = "suggested"
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"
        EXPIRED = "expired"
        CANCELLED = "cancelled"
        EXECUTED = "executed"
        FAILED = "failed"
        DISMISSED = "dismissed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="actions")
    action_type = models.ForeignKey(ActionType, on_delete=models.PROTECT, related_name="actions")
    policy_version = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status)
    autonomy = models.CharField(max_length=16, choices=Autonomy)
    params = models.JSONField()
    final_params = models.JSONField(null=True, blank=True)
    summary = models.TextField()
    route = models.JSONField(default=dict)
    session_id = models.CharField(max_length=200, blank=True)
    on_behalf_of = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=200, blank=True)
    prompt_version = models.CharField(max_length=200, blank=True)
    confidence = models.JSONField(null=True, blank=True)  # a number 0–1 or low|medium|high
    rationale = models.TextField(blank=True)
    context = models.JSONField(default=dict, blank=True)
    batch = models.CharField(max_length=200, blank=True)
    # NULL, not "": the uniqueness per agent applies only to requests that sent a key.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    request_digest = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    outcome = models.JSONField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ActionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="one_action_per_idempotency_key",
            )
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="action_status_due"),
            models.Index(fields=["agent", "-created_at"], name="action_agent_recent"),
        ]

    def __str__(self):
        return f"{self.action_type.key} {self.id}"

    def get_absolute_url(self):
        return reverse("approvals:action", args=[self.pk])

    @property
    def review_url(self):
        return settings.SITE_URL + self.get_absolute_url()

    def audit_context(self):
        return {
            "action_id": self.pk,
            "action_type": self.action_type.key,
            "agent": self.agent.name,
            "session_id": self.session_id,
            "on_behalf_of": self.on_behalf_of,
            "model": self.model,
            "prompt_version": self.prompt_version,
        }

    def as_api(self):
        """The action as every API endpoint returns it (PRODUCT.md's shape)."""
        try:
            decision = self.decision.as_api()
        except Decision.DoesNotExist:
            decision = None
        return {
            "id": self.pk,
            "action": self.action_type.key,
            "status": self.status,
            "autonomy": self.autonomy,
            "summary": self.summary,
            "params": self.params,
            "final_params": self.final_params,
            "route": self.route,
            "decision": decision,
            "outcome": self.outcome,
            "session_id": self.session_id,
            "batch": self.batch,
            "due_at": self.due_at,
            "created_at": self.created_at,
            "review_url": self.review_url,
        }

    # State changes. Each claims the row with a conditional UPDATE, so that of two people
    # acting at once exactly one wins and the other gets a Conflict naming what happened.

    def approve(self, *, by, params=None, reason=""):
        final_params = self.params if params is None else params
        edited = final_params != self.params
        if edited:
            self._check_edit(final_params)
        with transaction.atomic():
            self._claim(
                from_status=self.Status.PENDING,
                status=self.Status.APPROVED,
                final_params=final_params,
                decided_at=timezone.now(),
            )
            diff = params_diff(self.params, final_params)
            decision = Decision.objects.create(
                action=self,
                verdict=Decision.Verdict.APPROVED,
                edited=edited,
                by=by,
                by_name=by.get_username(),
                reason=reason,
                diff=diff,
            )
            record(
                kind="action.edited" if edited else "action.approved",
                actor=Actor.user(by),
                action=self,
                data={"verdict": "approved", "edited": edited, "diff": diff, "reason": reason},
            )
            self._wake_waiting_agent()
        return decision

    def reject(self, *, by, reason):
        with transaction.atomic():
            self._claim(from_status=self.Status.PENDING, status=self.Status.REJECTED, decided_at=timezone.now())
            decision = Decision.objects.create(
                action=self, verdict=Decision.Verdict.REJECTED, by=by, by_name=by.get_username(), reason=reason
            )
            record(
                kind="action.rejected",
                actor=Actor.user(by),
                action=self,
                data={"verdict": "rejected", "reason": reason},
            )
            self._wake_waiting_agent()
        return decision

    def cancel(self):
        with transaction.atomic():
            self._claim(from_status=self.Status.PENDING, status=self.Status.CANCELLED, decided_at=timezone.now())
            record(kind="action.cancelled", actor=Actor.agent(self.agent), action=self)
            self._wake_waiting_agent()

    def record_outcome(self, *, succeeded, output=None, error=""):
        """The agent's report of what happened when it executed the approved action.

        Reporting the same outcome twice is harmless; a different one is a Conflict.
        """
        status = self.Status.EXECUTED if succeeded else self.Status.FAILED
        outcome = {"status": "succeeded" if succeeded else "failed", "output": output, "error": error}
        if self.status == status and self.outcome == outcome:
            return
        with transaction.atomic():
            self._claim(from_status=self.Status.APPROVED, status=status, outcome=outcome, finished_at=timezone.now())
            record(kind=f"action.{status}", actor=Actor.agent(self.agent), action=self, data=outcome)

    @classmethod
    def expire_overdue(cls, now=None):
        """Expire every pending action past its SLA; returns how many. Safe to run concurrently:
        rows another run holds are skipped, and the status guard makes a second pass a no-op."""
        now = now or timezone.now()
        expired = 0
        with transaction.atomic():
            overdue = list(
                cls.objects.overdue(now)
                .select_related("agent", "action_type")
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("due_at")[:1000]
            )
            if not overdue:
                return 0
            expired = cls.objects.filter(pk__in=[a.pk for a in overdue], status=cls.Status.PENDING).update(
                status=cls.Status.EXPIRED, decided_at=now
            )
            for action in overdue:
                action.status = cls.Status.EXPIRED
                record(
                    kind="action.expired",
                    actor=Actor.system("sla"),
                    action=action,
                    data={"due_at": action.due_at.isoformat(), "fallback": "reject"},
                )
                action._wake_waiting_agent()
        return expired

    def _claim(self, *, from_status, **changes):
        claimed = Action.objects.filter(pk=self.pk, status=from_status).update(**changes)
        if claimed != 1:
            self.refresh_from_db()
            raise Conflict(self.conflict_message())
        for name, value in changes.items():
            setattr(self, name, value)

    def conflict_message(self):
        decision = Decision.objects.filter(action=self).first()
        if decision is not None:
            when = timezone.localtime(decision.at).strftime("%H:%M:%S")
            return f"Already {decision.verdict} by {decision.by_name} at {when}."
        return f"This action is already {self.status}."

    def _check_edit(self, final_params):
        changed = {k for k in set(self.params) | set(final_params) if self.params.get(k) != final_params.get(k)}
        not_editable = sorted(changed - set(self.action_type.editable_params))
        errors = [{"path": name, "message": "This parameter may not be edited."} for name in not_editable]
        errors += self.action_type.params_errors(final_params)
        if errors:
            raise InvalidEdit(errors)

    def _wake_waiting_agent(self):
        # Delivered by PostgreSQL when the transaction commits, never before.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [DECIDED_CHANNEL, str(self.pk)])


class Decision(models.Model):
    """Exactly one per decided action: the primary key is the action's."""

    class Verdict(models.TextChoices):
        APPROVED = "approved"
        REJECTED = "rejected"

    action = models.OneToOneField(Action, on_delete=models.CASCADE, primary_key=True, related_name="decision")
    verdict = models.CharField(max_length=16, choices=Verdict)
    edited = models.BooleanField(default=False)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    by_name = models.CharField(max_length=150)
    reason = models.TextField(blank=True)
    diff = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)
    # From the card being shown to the decision; NULL where the form did not say when it was
    # shown. Insights counts decisions faster than a person can read as rubber-stamping.
    seconds_to_decide = models.FloatField(null=True, blank=True)

    def __str__(self):
        return f"{self.verdict} by {self.by_name}"

    def as_api(self):
        return {
            "verdict": self.verdict,
            "edited": self.edited,
            "by": self.by_name,
            "at": self.at,
            "reason": self.reason,
        }


def params_diff(proposed, final):
    """{"amount": {"from": 750, "to": 500}} for each parameter that differs."""
    keys = sorted(set(proposed) | set(final))
    return {
        key: {"from": proposed.get(key), "to": final.get(key)} for key in keys if proposed.get(key) != final.get(key)
    }
