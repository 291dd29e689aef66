"""Actions an agent proposed, and the decisions people made about them."""

import functools
import json
import operator
import uuid
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Count, Exists, F, Max, Min, Q, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

from approvals.delivery import claim_due_work
from approvals.receipts import receipt_for
from audit.log import Actor, record, record_many
from policies.models import ActionType, Agent, Autonomy, StandingApproval
from policies.names import identity

# Waiting agents LISTEN on this PostgreSQL channel; the payload is the action id.
DECIDED_CHANNEL = "action_decided"
# The inbox stream LISTENs on this one; triggers (migration 0013) send it the kind of change:
# new, decided, expired or escalated.
INBOX_CHANNEL = "inbox_changed"


class Conflict(Exception):
    """The action is no longer in a state that allows this; the message says why."""


class NotAllowedToApprove(Conflict):
    """Four eyes: this person may not approve this action; the message says why."""


class InvalidEdit(Exception):
    def __init__(self, errors):
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))
        self.errors = errors


class BatchConflict(Exception):
    """Some actions of a batch were decided meanwhile, so none was approved."""

    def __init__(self, conflicts):
        super().__init__("; ".join(message for _, message in conflicts))
        self.conflicts = conflicts  # [(action, "Already rejected by sam at 15:02:11.")]


# Where a person decided: each decision's audit event names one.
CHANNELS = ("web", "slack", "email", "api")


def decision_channel(channel):
    if channel not in CHANNELS:
        raise ValueError(f"Unknown decision channel {channel!r}: one of {', '.join(CHANNELS)}.")
    return channel


# The inbox's queue health: arrivals and decisions over the last HEALTH_WINDOW; deadlines
# within BREACH_HORIZON; the SLA fallbacks of the last TIMED_OUT_WINDOW. Arrivals outrunning
# decisions warn only from FALLING_BEHIND_MIN arrivals, so that one card is not a warning.
HEALTH_WINDOW = timedelta(minutes=10)
BREACH_HORIZON = timedelta(minutes=10)
TIMED_OUT_WINDOW = timedelta(hours=24)
FALLING_BEHIND_MIN = 3
SLA_TIMEOUT_NAME = "sla-timeout"  # the decider's name on a timeout fallback's decision


class ActionQuerySet(models.QuerySet):
    def awaiting_review(self):
        return self.filter(status__in=[Action.Status.PENDING, Action.Status.SUGGESTED])

    def reviewable_by(self, user):
        return self.filter(action_type__in=ActionType.objects.reviewable_by(user))

    def let_through(self):
        """Actions that ran or may be running: approved or executed. The first-use gate counts them."""
        return self.filter(status__in=[Action.Status.APPROVED, Action.Status.EXECUTED])

    def overdue(self, now=None):
        return self.filter(status=Action.Status.PENDING, due_at__lte=now or timezone.now())

    def with_escalation_tiers(self):
        """Prefetch what `Action.current_escalation_tier()` reads: two queries for a whole page."""
        return self.prefetch_related("action_type__escalation_tiers__group")

    def escalated(self):
        return self.filter(status=Action.Status.PENDING, escalation_tier__gt=0)

    def by_urgency(self):
        """Soonest deadline first; suggestions (no deadline) after, oldest first."""
        return self.select_related("action_type", "agent").order_by(
            F("due_at").asc(nulls_last=True), "created_at", "id"
        )

    def queue_health(self, now=None):
        """What the inbox's health line and deadline banner read, for these actions (a
        reviewer's): one aggregate query. Arrivals are proposals that went to a person;
        decisions, those of them decided (by a person or the SLA's fallback)."""
        now = now or timezone.now()
        window = now - HEALTH_WINDOW
        to_person = Q(autonomy__in=[Autonomy.CONFIRM, Autonomy.SUGGEST])
        pending = Q(status=Action.Status.PENDING)
        state = self.filter(
            Q(status__in=[Action.Status.PENDING, Action.Status.SUGGESTED])
            | Q(created_at__gte=window)
            | Q(decided_at__gte=window)
        ).aggregate(
            arrivals=Count("id", filter=to_person & Q(created_at__gte=window)),
            decisions=Count("id", filter=to_person & Q(decided_at__gte=window) & ~pending),
            oldest=Min("created_at", filter=Q(status__in=[Action.Status.PENDING, Action.Status.SUGGESTED])),
            overdue=Count("id", filter=pending & Q(due_at__lte=now)),
            breaching_soon=Count("id", filter=pending & Q(due_at__gt=now, due_at__lte=now + BREACH_HORIZON)),
            warned=Count("id", filter=pending & Q(due_at__gt=now, warned_tier=F("escalation_tier"))),
            timed_out=Count(
                "id",
                filter=Q(decided_at__gte=now - TIMED_OUT_WINDOW)
                & (Q(status=Action.Status.EXPIRED) | Q(decision__by_name=SLA_TIMEOUT_NAME)),
            ),
        )
        minutes = HEALTH_WINDOW.total_seconds() / 60
        state["arrivals_per_minute"] = state["arrivals"] / minutes
        state["decisions_per_minute"] = state["decisions"] / minutes
        state["falling_behind"] = state["arrivals"] > state["decisions"] and state["arrivals"] >= FALLING_BEHIND_MIN
        state["oldest_wait"] = now - state["oldest"] if state["oldest"] else None
        return state

    def timed_out(self, now=None):
        """Those the SLA's timeout fallback rejected or expired lately, newest first."""
        since = (now or timezone.now()) - TIMED_OUT_WINDOW
        return (
            self.filter(decided_at__gte=since)
            .filter(Q(status=Action.Status.EXPIRED) | Q(decision__by_name=SLA_TIMEOUT_NAME))
            .exclude(status=Action.Status.APPROVED)
            .select_related("action_type", "agent")
            .order_by("-decided_at")
        )

    def inbox_version(self):
        """(count, token): the token changes when actions arrive or leave, so a poll can answer
        'no change' with one aggregate query."""
        state = self.aggregate(count=Count("id"), newest=Max("created_at"))
        newest = state["newest"].timestamp() if state["newest"] else 0
        return state["count"], f"{state['count']}-{newest:.6f}"


class Param(NamedTuple):
    name: str
    label: str
    text: str
    editable: bool
    value: object
    schema: dict
    pointer: str


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
    # Where each decision is POSTed (the proposal's, else the agent's default); "" for none.
    callback_url = models.CharField(max_length=2000, blank=True)
    # NULL, not "": the uniqueness per agent applies only to requests that sent a key.
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    request_digest = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    outcome = models.JSONField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # SLA escalation: 0 while the action is with its first reviewers, n once escalated to the
    # action type's n-th tier; `due_at` is then that tier's deadline.
    escalation_tier = models.PositiveSmallIntegerField(default=0)
    tier_started_at = models.DateTimeField(null=True, blank=True)
    warned_tier = models.SmallIntegerField(null=True, blank=True)  # the tier whose breach warning went out

    # Statuses whose final parameters a person or a policy approved: these carry a receipt.
    APPROVED_STATUSES = (Status.APPROVED, Status.EXECUTED, Status.FAILED)

    objects = ActionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        # Insights (its own app, without models) reads actions and decisions: its permission is here.
        permissions = [("view_insights", "Can see insights on actions and decisions")]
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
            # The inbox's order, over only what awaits review: its first page reads 50 index rows.
            models.Index(
                F("due_at").asc(nulls_last=True),
                "created_at",
                "id",
                condition=Q(status__in=["pending", "suggested"]),
                name="action_awaiting_by_urgency",
            ),
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

    def has_no_decision_yet(self):
        """For an action just stored: remember that it has no decision, so that `as_api()` does
        not ask the database."""
        Action.decision.related.set_cached_value(self, None)

    def as_api(self):
        """The action as every API endpoint returns it (PRODUCT.md's shape), exactly the API
        schema's fields (`approvals.api.ActionOut`): routing's own notes on the action (a
        checker's disagreement, the standing approval it used) stay out."""
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
            "params": self.action_type.ordered_params(self.params),
            "final_params": self.action_type.ordered_params(self.final_params),
            "route": {"reasons": self.route.get("reasons", []), "checkers": self.route.get("checkers", [])},
            "decision": decision,
            "outcome": self.outcome,
            "session_id": self.session_id,
            "batch": self.batch,
            "due_at": self.due_at,
            "created_at": self.created_at,
            "review_url": self.review_url,
            "receipt": receipt_for(self),
        }

    # What a reviewer reads on a card.

    @property
    def group_key(self):
        """The batch a card belongs to: the agent's own key, else agent + session + type."""
        if self.batch:
            return f"batch:{self.agent_id}:{self.batch}"
        return f"run:{self.agent_id}:{self.session_id}:{self.action_type_id}"

    @property
    def overdue(self):
        return self.status == Action.Status.PENDING and self.due_at is not None and self.due_at <= timezone.now()

    @property
    def deadline_warned(self):
        """The SLA's warning for its current tier went out: its deadline is near."""
        return self.warned_tier is not None and self.warned_tier == self.escalation_tier

    @property
    def needs_deliberate_approval(self):
        """A pending irreversible action is approved in two steps in the inbox: an approval
        cannot be taken back (the agent is woken and its receipt issued at commit)."""
        return self.status == Action.Status.PENDING and self.action_type.irreversible

    @cached_property
    def current_summary(self):
        """Rendered now, not at proposal time, so relative dates stay true."""
        return self.action_type.render_summary(self.final_params or self.params)

    def humanized_params(self, params=None):
        """The parameters a card lists, in the schema's order then the rest: each with its
        label, its value in words, whether it may be edited, and its value and schema for
        the card's rendering of nested values (`{% param_value %}`)."""
        from policies.schema import resolve
        from policies.summary import humanize, param_label

        params = self.params if params is None else params
        action_type = self.action_type
        root = action_type.params_schema or {}
        properties = root.get("properties", {})
        described = []
        for name, value in action_type.ordered_params(params).items():
            schema, pointer = resolve(properties.get(name, {}), root, f"properties/{name}")
            described.append(
                Param(
                    name,
                    param_label(name, schema),
                    humanize(name, value, schema, params),
                    action_type.may_edit(name),
                    value,
                    schema,
                    pointer,
                )
            )
        return described

    @property
    def reject_options(self):
        """The reasons the agent offered for a rejection, [{"name", "label"}] (HumanLayer's
        `reject_options`); a reviewer may pick one, and the agent gets its name back."""
        options = (self.context.get("humanlayer") or {}).get("spec", {}).get("reject_options") or []
        return [
            {"name": option["name"], "label": option.get("title") or option.get("description") or option["name"]}
            for option in options
            if isinstance(option, dict) and isinstance(option.get("name"), str)
        ]

    @cached_property
    def low_confidence(self):
        if isinstance(self.confidence, str):
            return self.confidence == "low"
        return isinstance(self.confidence, (int, float)) and self.confidence < 0.5

    @cached_property
    def untrusted_context(self):
        untrusted = self.context.get("untrusted") if isinstance(self.context, dict) else None
        if isinstance(untrusted, str):
            return [untrusted]
        return [str(path) for path in untrusted] if isinstance(untrusted, list) else []

    @cached_property
    def disagreeing_checkers(self):
        checkers = self.route.get("checkers", []) if isinstance(self.route, dict) else []
        return [c for c in checkers if isinstance(c, dict) and c.get("verdict") not in ("pass", None)]

    def similar_recent(self, count=100):
        """This agent's latest other proposals of this type, for trying a standing approval's scope on."""
        others = Action.objects.filter(action_type_id=self.action_type_id, agent_id=self.agent_id).exclude(pk=self.pk)
        return others.only("params").order_by("-created_at")[:count]

    @property
    def allow_similar_refusal(self):
        """Why "Allow similar…" is not offered on this action, or "" (the standing approval's rules)."""
        return StandingApproval.refusal_for(self)

    def approved_by_words(self, user):
        """Who approved it, as `user` reads it: "You", another reviewer's name, "A standing
        approval" or "The policy" (an action let through on arrival has no Decision)."""
        decision = Decision.objects.filter(action=self).first()
        if decision is not None:
            return "You" if decision.by_id is not None and decision.by_id == user.pk else decision.by_name
        if isinstance(self.route, dict) and self.route.get("standing_approval"):
            return "A standing approval"
        return "The policy"

    def risk_labels(self):
        """The card's risk badges in words, for Slack and email (the inbox's template has its own)."""
        labels = []
        if self.action_type.irreversible:
            labels.append("Irreversible")
        if self.action_type.blast_radius != "low":
            labels.append(f"Blast radius: {self.action_type.get_blast_radius_display().lower()}")
        if self.low_confidence:
            labels.append("Low confidence")
        if self.untrusted_context:
            labels.append("Untrusted context: " + ", ".join(self.untrusted_context))
        labels += [f"Checker {c.get('name', '?')}: {c.get('verdict')}" for c in self.disagreeing_checkers]
        return labels

    def raw_json(self):
        raw = {
            "action": self.action_type.key,
            "params": self.params,
            "final_params": self.final_params,
            "confidence": self.confidence,
            "context": self.context,
            "route": self.route,
            "batch": self.batch,
            "session_id": self.session_id,
        }
        return json.dumps(raw, indent=2, ensure_ascii=False, sort_keys=False)

    @classmethod
    def approve_all(cls, actions, *, by, channel="web"):
        """Approve every action or none: one conditional UPDATE claims them all, and if any was
        decided meanwhile the transaction rolls back and BatchConflict names each one."""
        refused = cls.left_out_of_batch(actions, by)
        if refused:
            raise BatchConflict(refused)
        return cls._decide_all(actions, by=by, verdict=Decision.Verdict.APPROVED, reason="", channel=channel)

    @classmethod
    def reject_all(cls, actions, *, by, reason, channel="web"):
        """Reject every action or none, for one reason, as `approve_all` approves."""
        return cls._decide_all(actions, by=by, verdict=Decision.Verdict.REJECTED, reason=reason, channel=channel)

    @classmethod
    def _decide_all(cls, actions, *, by, verdict, reason, channel):
        approved = verdict == Decision.Verdict.APPROVED
        status = cls.Status.APPROVED if approved else cls.Status.REJECTED
        ids = [action.pk for action in actions]
        now = timezone.now()
        changes = {"status": status, "decided_at": now, **({"final_params": F("params")} if approved else {})}
        data = {"verdict": verdict, "reason": reason, "batch": len(ids), "channel": decision_channel(channel)}
        if approved:
            data.update(edited=False, diff={})
        try:
            with transaction.atomic():
                claimed = cls.objects.filter(pk__in=ids, status=cls.Status.PENDING).update(**changes)
                if claimed != len(ids):
                    raise BatchConflict([])
                decisions = Decision.objects.bulk_create(
                    Decision.of(action, verdict=verdict, by=by, by_name=by.get_username(), reason=reason, at=now)
                    for action in actions
                )
                record_many(
                    {"kind": f"action.{verdict}", "actor": Actor.user(by), "action": action, "data": data}
                    for action in actions
                )
                wake_waiting_agents(ids)
        except BatchConflict:
            taken = cls.objects.filter(pk__in=ids).exclude(status=cls.Status.PENDING)
            by_id = {action.pk: action for action in actions}
            conflicts = []
            for action in taken:
                by_id[action.pk].status = action.status
                conflicts.append((by_id[action.pk], action.conflict_message(by)))
            raise BatchConflict(conflicts) from None
        for action in actions:
            action.status, action.decided_at = status, now
            if approved:
                action.final_params = action.params
        return decisions

    @staticmethod
    def left_out_of_batch(actions, by):
        """[(action, why)] for the actions a batch approval by `by` leaves out: those that need
        more than one approver (each is approved on its own card) and those four eyes keeps from
        `by`. A batch rejection leaves nothing out: four eyes guards approvals only."""
        refused = []
        for action in actions:
            required = action.action_type.required_approvers
            if required > 1:
                refused.append((action, f"Needs {required} approvers: approve it on its own card."))
                continue
            try:
                action.check_may_approve(by)
            except NotAllowedToApprove as refusal:
                refused.append((action, str(refusal)))
        return refused

    def mark_done(self, *, by):
        """A person carried out a suggestion themselves."""
        now = timezone.now()
        outcome = {"status": "succeeded", "output": None, "error": "", "by": by.get_username()}
        with transaction.atomic():
            self._claim(
                from_status=self.Status.SUGGESTED,
                status=self.Status.EXECUTED,
                decided_at=now,
                finished_at=now,
                outcome=outcome,
            )
            record(kind="action.executed", actor=Actor.user(by), action=self, data={**outcome, "channel": "web"})
            self._wake_waiting_agent()

    def dismiss(self, *, by, reason=""):
        """Nobody will carry out this suggestion."""
        with transaction.atomic():
            self._claim(
                from_status=self.Status.SUGGESTED,
                status=self.Status.DISMISSED,
                decided_at=timezone.now(),
                outcome={"status": "dismissed", "by": by.get_username(), "reason": reason},
            )
            record(
                kind="action.dismissed", actor=Actor.user(by), action=self, data={"reason": reason, "channel": "web"}
            )
            self._wake_waiting_agent()

    # State changes. Each claims the row with a conditional UPDATE, so that of two people
    # acting at once exactly one wins and the other gets a Conflict naming what happened.

    def approve(self, *, by, params=None, reason="", seconds_to_decide=None, channel="web"):
        """Approve, or with four eyes record one approval and decide only when the action type's
        required number of different people have approved the same parameters. Returns the
        Decision once decided, else None. Raises NotAllowedToApprove for the exclusions.
        `seconds_to_decide`: how long the card was in front of the reviewer, where known;
        `channel`: where the reviewer decided (CHANNELS), named in the audit event."""
        channel = decision_channel(channel)
        final_params = self.params if params is None else params
        edited = final_params != self.params
        if edited:
            self.check_edit(final_params)
        self.check_may_approve(by)
        with transaction.atomic():
            required = self.action_type.required_approvers
            enough = required == 1 or self._enough_approvals(
                by=by, final_params=final_params, reason=reason, channel=channel
            )
            if not enough:
                return None
            self._claim(
                from_status=self.Status.PENDING,
                status=self.Status.APPROVED,
                final_params=final_params,
                decided_at=timezone.now(),
            )
            diff = params_diff(self.params, final_params)
            decision = Decision.of(
                self,
                verdict=Decision.Verdict.APPROVED,
                edited=edited,
                by=by,
                by_name=by.get_username(),
                reason=reason,
                diff=diff,
                seconds_to_decide=seconds_to_decide,
            )
            decision.save(force_insert=True)
            # One approval event whether edited or not, so that filtering on approvals finds it,
            # and its summary is what ran (the final parameters'), not what was proposed.
            # (Before #20 an edited approval was an `action.edited` event with the proposal's.)
            record(
                kind="action.approved",
                actor=Actor.user(by),
                action=self,
                data={"verdict": "approved", "edited": edited, "diff": diff, "reason": reason, "channel": channel},
                **({"summary": self.action_type.render_summary(final_params)} if edited else {}),
            )
            self._wake_waiting_agent()
        return decision

    def approval_refusal(self, user):
        """Why `user` may not approve this card, or "" when they may (four eyes, for the card)."""
        if any(approval.by_id == user.pk for approval in self.approvals.all()):
            return "You approved it already; it waits for another approver."
        try:
            self.check_may_approve(user)
        except NotAllowedToApprove as refusal:
            return str(refusal)
        return ""

    def check_may_approve(self, user):
        """Four eyes: nobody approves an action taken on their own behalf, and where two or more
        approvers are required, the admin who last changed the policy that routed it cannot be one.
        Raises NotAllowedToApprove saying why."""
        # Compared as identities, so " supervisor", "Supervisor\u200b" or a fullwidth spelling is
        # the same person as "supervisor".
        names = {identity(user.get_username()), identity(user.email)} - {""}
        if self.on_behalf_of and identity(self.on_behalf_of) in names:
            raise NotAllowedToApprove("You cannot approve an action taken on your own behalf.")
        if self.action_type.required_approvers > 1 and str(user.pk) == self.policy_author_id:
            raise NotAllowedToApprove(
                f"You changed the policy that routed this action (version {self.policy_version}): "
                "another person must approve it."
            )

    @cached_property
    def policy_author_id(self):
        """The user id (text) of who made the policy version that routed this action, or ""."""
        Action.with_policy_authors([self])
        return self.__dict__["policy_author_id"]

    @staticmethod
    def with_policy_authors(actions):
        """Fill `policy_author_id` for each of `actions` with one query, however many there are:
        the latest `policy.changed` event of its type and version, else the type's last editor."""
        from audit.models import Event

        versions = {(action.action_type.key, action.policy_version) for action in actions}
        if not versions:
            return actions
        which = Q()
        for key, version in versions:
            which |= Q(action_type=key, data__version=version)
        authors = {}
        changes = (
            Event.objects.filter(which, kind="policy.changed")
            .order_by("seq")
            .values_list("action_type", "data__version", "actor_kind", "actor_id")
        )
        for key, version, kind, actor_id in changes:
            authors[key, version] = actor_id if kind == "user" else ""  # the latest wins
        for action in actions:
            fallback = action.action_type.last_changed_by_id
            default = str(fallback) if fallback else ""
            action.__dict__["policy_author_id"] = authors.get((action.action_type.key, action.policy_version), default)
        return actions

    def _enough_approvals(self, *, by, final_params, reason, channel):
        """Record `by`'s approval under a row lock; True once enough people approved these parameters."""
        locked = Action.objects.select_for_update().filter(pk=self.pk, status=self.Status.PENDING).first()
        if locked is None:
            self.refresh_from_db()
            raise Conflict(self.conflict_message())
        approval, created = Approval.objects.get_or_create(
            action=self, by=by, defaults={"by_name": by.get_username(), "final_params": final_params, "reason": reason}
        )
        if not created:
            raise Conflict(f"You already approved this action at {timezone.localtime(approval.at):%H:%M:%S}.")
        approvers = self.approvals.filter(final_params=final_params).count()
        required = self.action_type.required_approvers
        record(
            kind="action.approval_recorded",
            actor=Actor.user(by),
            action=self,
            data={
                "approvals": approvers,
                "required": required,
                "diff": params_diff(self.params, final_params),
                "channel": channel,
            },
        )
        return approvers >= required

    def reject(self, *, by, reason, seconds_to_decide=None, channel="web", option=""):
        """`option`: the name of one of the agent's `reject_options`, if the reviewer chose one."""
        channel = decision_channel(channel)
        if option and option not in {choice["name"] for choice in self.reject_options}:
            raise InvalidEdit([{"path": "option", "message": f"The agent offered no reject option {option!r}."}])
        with transaction.atomic():
            self._claim(from_status=self.Status.PENDING, status=self.Status.REJECTED, decided_at=timezone.now())
            decision = Decision.of(
                self,
                verdict=Decision.Verdict.REJECTED,
                by=by,
                by_name=by.get_username(),
                reason=reason,
                reject_option=option,
                seconds_to_decide=seconds_to_decide,
            )
            decision.save(force_insert=True)
            record(
                kind="action.rejected",
                actor=Actor.user(by),
                action=self,
                data={
                    "verdict": "rejected",
                    "reason": reason,
                    "channel": channel,
                    **({"reject_option": option} if option else {}),
                },
            )
            self._wake_waiting_agent()
        return decision

    def cancel(self, *, reason=""):
        """The agent withdraws its pending action. A `reason`, where the caller knows one (the MCP
        gateway: the agent's MCP client cancelled its request), is kept as the outcome, by whom and
        why, as the timeout fallback's is, and in the audit event."""
        changes = {"decided_at": timezone.now()}
        if reason:
            changes["outcome"] = {"status": str(self.Status.CANCELLED), "by": self.agent.name, "reason": reason}
        with transaction.atomic():
            self._claim(from_status=self.Status.PENDING, status=self.Status.CANCELLED, **changes)
            record(
                kind="action.cancelled",
                actor=Actor.agent(self.agent),
                action=self,
                data={"reason": reason} if reason else None,
            )
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

    def allow_repeat(self):
        """For a framework that can only run the arguments its model wrote (HumanLayer, the OpenAI
        Agents SDK): the model is told the reviewer's arguments and calls again, and that one call —
        same type, same agent, exactly `final_params` — is approved without a second review. A
        one-shot standing approval in the reviewer's name, audited as a policy change; asking twice
        gives the same one. A Conflict unless approved with changes by a person still on record, or
        for an irreversible type, which no standing approval waives."""
        with transaction.atomic():
            locked = Action.objects.select_for_update(of=("self",)).select_related("action_type", "decision")
            action = locked.get(pk=self.pk)
            if action.status not in self.APPROVED_STATUSES or action.autonomy == Autonomy.SUGGEST:
                raise Conflict(f"The action is {action.status}, not approved.")
            if action.final_params == action.params:
                raise Conflict("It was approved as proposed: run it with its own arguments.")
            if action.action_type.irreversible:
                raise Conflict("An irreversible type is reviewed every time: the repeated call will be too.")
            decision = getattr(action, "decision", None)
            if decision is None or decision.by is None:
                raise Conflict("The reviewer's account is gone: the repeated call will be reviewed again.")
            return StandingApproval.for_edited_call(action=action, by=decision.by)

    def accept_suggestion(self, *, by):
        """A person takes up a suggest-level action to have it executed: it becomes approved,
        with their decision on record."""
        with transaction.atomic():
            self._claim(
                from_status=self.Status.SUGGESTED,
                status=self.Status.APPROVED,
                final_params=self.params,
                decided_at=timezone.now(),
            )
            Decision.of(
                self, verdict=Decision.Verdict.APPROVED, by=by, by_name=by.get_username(), reason="executed"
            ).save(force_insert=True)
            record(
                kind="action.approved",
                actor=Actor.user(by),
                action=self,
                data={"verdict": "approved", "edited": False, "suggestion": True, "channel": "web"},
            )
            self._wake_waiting_agent()

    @property
    def executable(self):
        """A person may have the executor run it: a suggestion, or an approved action nobody ran yet."""
        return bool(self.action_type.executor_url) and (
            self.status == self.Status.SUGGESTED
            or (self.status == self.Status.APPROVED and not Execution.objects.filter(action=self).exists())
        )

    def current_escalation_tier(self, ladder=None):
        """The EscalationTier that holds this action now, or None while its first reviewers do.
        `ladder`: the type's tiers in order, where the caller read them for many actions at once."""
        if not self.escalation_tier:
            return None
        if ladder is None:
            ladder = sorted(self.action_type.escalation_tiers.all(), key=lambda tier: tier.position)
        return ladder[self.escalation_tier - 1] if self.escalation_tier <= len(ladder) else None

    def _claim(self, *, from_status, **changes):
        claimed = Action.objects.filter(pk=self.pk, status=from_status).update(**changes)
        if claimed != 1:
            self.refresh_from_db()
            raise Conflict(self.conflict_message())
        for name, value in changes.items():
            setattr(self, name, value)

    def conflict_message(self, user=None):
        """Why it cannot be decided now, for `user` (who may be the one who decided it)."""
        decision = Decision.objects.filter(action=self).first()
        if decision is not None:
            when = timezone.localtime(decision.at).strftime("%H:%M:%S")
            if user is not None and decision.by_id is not None and decision.by_id == user.pk:
                return f"You already decided this: {decision.verdict} at {when}."
            return f"Already {decision.verdict} by {decision.by_name} at {when}."
        return f"This action is already {self.status}."

    def check_edit(self, final_params):
        """Raises InvalidEdit with every error if `final_params` changes a parameter that may not
        be edited or fails the type's schema."""
        changed = {k for k in set(self.params) | set(final_params) if self.params.get(k) != final_params.get(k)}
        not_editable = sorted(name for name in changed if not self.action_type.may_edit(name))
        errors = [{"path": name, "message": "This parameter may not be edited."} for name in not_editable]
        errors += self.action_type.edit_errors(final_params)
        if errors:
            raise InvalidEdit(errors)

    def _wake_waiting_agent(self):
        wake_waiting_agents([self.pk])


def wake_waiting_agents(action_ids):
    """Wake the agents long-polling on these actions (`approvals.waiting`): one NOTIFY each, in
    one statement, which PostgreSQL delivers when the deciding transaction commits, never before.
    Every decision and end state passes here, from whichever channel, so the actions' callbacks
    and the updates in place of their Slack messages are queued here too, in the same transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_notify(%s, id::text) FROM unnest(%s::uuid[]) AS id", [DECIDED_CHANNEL, list(action_ids)]
        )
    CallbackDelivery.queue_for(action_ids)
    SlackMessage.queue_updates(action_ids)


class Decision(models.Model):
    """Exactly one per decided action: the primary key is the action's."""

    class Verdict(models.TextChoices):
        APPROVED = "approved"
        REJECTED = "rejected"

    action = models.OneToOneField(Action, on_delete=models.CASCADE, primary_key=True, related_name="decision")
    # Copies of the action's, written with the decision (`Decision.of`), so that Insights
    # aggregates decisions over a time range, agent and type without reading every action.
    action_type = models.ForeignKey(ActionType, on_delete=models.PROTECT, related_name="+")
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField()
    verdict = models.CharField(max_length=16, choices=Verdict)
    edited = models.BooleanField(default=False)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    by_name = models.CharField(max_length=150)
    reason = models.TextField(blank=True)
    # The name of the agent's own reject option the reviewer chose (HumanLayer's `reject_options`).
    reject_option = models.CharField(max_length=200, blank=True)
    diff = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)
    # From the card being shown to the decision; NULL where the form did not say when it was
    # shown. Insights counts decisions faster than a person can read as rubber-stamping.
    seconds_to_decide = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["proposed_at"], name="decision_proposed_at")]

    def __str__(self):
        return f"{self.verdict} by {self.by_name}"

    @classmethod
    def of(cls, action, **fields):
        """An unsaved decision on `action`, with the copies of its type, agent and proposal time."""
        return cls(
            action=action,
            action_type_id=action.action_type_id,
            agent_id=action.agent_id,
            proposed_at=action.created_at,
            **fields,
        )

    def as_api(self):
        return {
            "verdict": self.verdict,
            "edited": self.edited,
            "by": self.by_name,
            "at": self.at,
            "reason": self.reason,
        }


class Approval(models.Model):
    """One person's approval where an action needs several (four eyes), before the Decision."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="approvals")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    by_name = models.CharField(max_length=150)
    final_params = models.JSONField()
    reason = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at"]
        constraints = [models.UniqueConstraint(fields=["action", "by"], name="one_approval_per_person")]

    def __str__(self):
        return f"approval by {self.by_name}"


def params_diff(proposed, final):
    """{"amount": {"from": 750, "to": 500}, "edits[1].newText": {...}} for each value that
    differs: objects compared key by key, lists of the same length item by item (a list that
    grew or shrank is one change), so a nested edit is named by its path."""
    changes = {}
    _diff_into(changes, "", proposed or {}, final or {})
    return changes


def _diff_into(changes, path, old, new):
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            child = f"{path}.{key}" if path else str(key)
            if key not in old or key not in new:
                if old.get(key) != new.get(key):
                    changes[child] = {"from": old.get(key), "to": new.get(key)}
            else:
                _diff_into(changes, child, old[key], new[key])
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new) and path:
        for index, (before, after) in enumerate(zip(old, new, strict=True)):
            _diff_into(changes, f"{path}[{index}]", before, after)
    elif old != new or type(old) is not type(new) and (isinstance(old, bool) or isinstance(new, bool)):
        changes[path] = {"from": old, "to": new}


class Notification(models.Model):
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

    action = models.ForeignKey(Action, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
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
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When a task should next work on it; while sending, the end of the sender's lease.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notification_status_next")]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.target}: {self.status}"

    @classmethod
    def dispatch_due(cls, now):
        """Ids of the notifications a task should send now: new ones, ones whose retry is due,
        and ones a dead sender held past its lease."""
        return claim_due_work(cls, now)


class NotificationPreference(models.Model):
    """How a reviewer wants to hear about actions that wait for them."""

    class Delivery(models.TextChoices):
        EACH = "each", "One message each"
        HOURLY = "hourly", "Hourly digest"
        DAILY = "daily", "Daily digest"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    delivery = models.CharField(max_length=10, choices=Delivery, default=Delivery.EACH)
    last_digest_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.user}: {self.get_delivery_display()}"


class AppealQuerySet(models.QuerySet):
    def open(self):
        return self.filter(resolved_at__isnull=True)

    def visible_to(self, user):
        """Those about an action type the user may review, and, for a user who reviews any type,
        those about no action at all: an appeal is a supervisor's to answer, never an auditor's
        or an outsider's."""
        types = ActionType.objects.reviewable_by(user)
        # In the same query, not a query of its own: the inbox counts its queries.
        reviews_any = Exists(types.order_by())
        return self.filter((Q(action__isnull=True) & reviews_any) | Q(action__action_type__in=types))

    def for_inbox(self, user):
        """The open appeals `user` sees at the top of the inbox, soonest due first, each with its
        conversation read (three queries for them all, not two an appeal)."""
        appeals = list(
            self.open()
            .visible_to(user)
            .select_related("agent", "action__action_type", "claimed_by")
            .order_by("due_at")[:50]
        )
        Appeal.read_conversations(appeals)
        return appeals


class Appeal(models.Model):
    """The end user's appeal to a person, "This is wrong" or "Get a human", forwarded by the agent
    (`POST /api/v1/escalations`). Not an SLA escalation, which moves an action up its tiers."""

    class Kind(models.TextChoices):
        WRONG = "wrong", "This is wrong"
        HUMAN = "human", "Get a human"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="appeals")
    kind = models.CharField(max_length=8, choices=Kind)
    message = models.TextField(blank=True)
    session_id = models.CharField(max_length=200, blank=True)
    action = models.ForeignKey(Action, null=True, blank=True, on_delete=models.SET_NULL, related_name="appeals")
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the supervisor did about it, in their words: for the other supervisors and the log.
    resolution_note = models.TextField(blank=True)
    # "I'm on it": who took it, so that two supervisors do not both call the end user.
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = AppealQuerySet.as_manager()

    class Meta:
        ordering = ["due_at"]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.agent}, session {self.session_id or '-'})"

    def session_actions(self):
        """The actions of the same agent and session, the one it names first."""
        actions = Action.objects.filter(agent=self.agent).select_related("action_type")
        if self.session_id:
            actions = actions.filter(Q(session_id=self.session_id) | Q(pk=self.action_id))
        else:
            actions = actions.filter(pk=self.action_id)
        return actions.order_by("-created_at")

    CONVERSATION = 12  # the latest entries of a session an appeal shows

    def conversation(self):
        """What happened in the session before the end user asked, oldest first: the agent's
        proposals (with its words and each decision) and its questions to a person (with the
        answers), the latest `CONVERSATION` of them, as [("action" | "question", object)]."""
        if not hasattr(self, "_conversation"):
            Appeal.read_conversations([self])
        return self._conversation

    @classmethod
    def read_conversations(cls, appeals):
        """Each appeal's `conversation()`, for all of them at once: the latest entries of each
        session by one window query for actions and one for questions, and the actions the
        appeals name outside them by one more."""
        sessions = [Q(agent=appeal.agent_id, session_id=appeal.session_id) for appeal in appeals if appeal.session_id]
        actions, questions = {}, []
        if sessions:
            in_sessions = functools.reduce(operator.or_, sessions)
            latest = Window(RowNumber(), partition_by=[F("agent"), F("session_id")], order_by=F("created_at").desc())
            of_sessions = Action.objects.select_related("action_type", "decision").filter(in_sessions)
            actions = {
                action.pk: action for action in of_sessions.annotate(rank=latest).filter(rank__lte=cls.CONVERSATION)
            }
            questions = list(
                Question.objects.filter(in_sessions).annotate(rank=latest).filter(rank__lte=cls.CONVERSATION)
            )
        named = {appeal.action_id for appeal in appeals} - {None} - set(actions)
        if named:
            actions.update(Action.objects.select_related("action_type", "decision").in_bulk(named))
        for appeal in appeals:

            def its(item, appeal=appeal):
                return (
                    item.agent_id == appeal.agent_id
                    and bool(appeal.session_id)
                    and item.session_id == appeal.session_id
                )

            named_here = appeal.action_id, appeal.agent_id
            own = [action for action in actions.values() if its(action) or (action.pk, action.agent_id) == named_here]
            own.sort(key=lambda action: action.created_at)
            entries = [("action", action) for action in own[-cls.CONVERSATION :]]
            entries += [("question", question) for question in questions if its(question)]
            entries.sort(key=lambda entry: entry[1].created_at)
            appeal._conversation = entries[-cls.CONVERSATION :]

    def audit_context(self):
        return {
            "agent": self.agent.name,
            "session_id": self.session_id,
            "action_id": self.action_id,
            "action_type": self.action.action_type.key if self.action_id else "",
        }

    @property
    def overdue(self):
        return self.resolved_at is None and self.due_at <= timezone.now()

    @classmethod
    def open_for(cls, *, agent, kind, message="", session_id="", action=None):
        """Record the end user's appeal, due within the site's SLA for appeals."""
        now = timezone.now()
        with transaction.atomic():
            appeal = cls.objects.create(
                agent=agent,
                created_at=now,
                kind=kind,
                message=message,
                session_id=session_id or (action.session_id if action else ""),
                action=action,
                due_at=now + settings.HITL_USER_ESCALATION_SLA,
            )
            # The audit log keeps the kind and key it has always had for these events.
            record(
                kind="escalation.opened",
                actor=Actor.agent(agent),
                data={"escalation_id": str(appeal.pk), "kind": kind, "message": message},
                **appeal.audit_context(),
            )
        return appeal

    def claim(self, *, by):
        """ "I'm on it": the appeal is `by`'s to handle, and the inbox says so. A second claim is
        a Conflict naming who has it; anyone who sees it may still resolve it."""
        with transaction.atomic():
            now = timezone.now()
            open_unclaimed = Appeal.objects.filter(pk=self.pk, resolved_at__isnull=True, claimed_by__isnull=True)
            if open_unclaimed.update(claimed_at=now, claimed_by=by) != 1:
                self.refresh_from_db()
                if self.resolved_at:
                    raise Conflict("This appeal is already resolved.")
                who = "You are" if self.claimed_by_id == by.pk else f"{self.claimed_by.get_username()} is"
                raise Conflict(f"{who} on it since {timezone.localtime(self.claimed_at):%H:%M}.")
            self.claimed_at, self.claimed_by = now, by
            record(
                kind="escalation.claimed",
                actor=Actor.user(by),
                data={"escalation_id": str(self.pk), "kind": self.kind},
                **self.audit_context(),
            )

    def resolve(self, *, by, note=""):
        """Resolved, with what was done about it in `by`'s words (`note`, optional)."""
        with transaction.atomic():
            now = timezone.now()
            resolved = Appeal.objects.filter(pk=self.pk, resolved_at__isnull=True).update(
                resolved_at=now, resolved_by=by, resolution_note=note
            )
            if resolved != 1:
                self.refresh_from_db()
                raise Conflict("This appeal is already resolved.")
            self.resolved_at, self.resolved_by, self.resolution_note = now, by, note
            record(
                kind="escalation.resolved",
                actor=Actor.user(by),
                data={"escalation_id": str(self.pk), "kind": self.kind, "note": note},
                **self.audit_context(),
            )


class QuestionQuerySet(models.QuerySet):
    def open(self):
        return self.filter(answered_at__isnull=True)

    def for_inbox(self, user):
        """The open questions for the top of `user`'s inbox, expedited and soonest due first."""
        if not user.has_perm("approvals.answer_question"):
            return []
        return list(self.open().select_related("agent").order_by("-expedited", "due_at")[:50])


class Question(models.Model):
    """An agent's question to a person (HumanLayer's contact request, `human_as_tool()`): the
    answer a person types goes back to the agent verbatim, or the name of the option they chose."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="questions")
    call_id = models.CharField(max_length=200)  # the agent's own id for it, unique per agent
    session_id = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    message = models.TextField()
    # [{"name", "title", "description", ...}] as the agent sent them: answers a person may pick.
    response_options = models.JSONField(default=list, blank=True)
    spec = models.JSONField(default=dict, blank=True)  # what else the agent sent, given back as sent
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    # Expedited by the agent (HumanLayer's `escalate_email` on a contact request): urgent, first in
    # the inbox. Not an SLA escalation, which moves an action up its type's tiers.
    expedited = models.BooleanField(default=False)
    expedite_message = models.TextField(blank=True)  # the agent's `escalation_msg`: why it is urgent
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_by_name = models.CharField(max_length=150, blank=True)
    response = models.TextField(blank=True)
    response_option_name = models.CharField(max_length=200, blank=True)

    objects = QuestionQuerySet.as_manager()

    class Meta:
        ordering = ["due_at"]
        permissions = [("answer_question", "Can answer agents' questions in the inbox")]
        constraints = [models.UniqueConstraint(fields=["agent", "call_id"], name="one_question_per_call_id")]

    def __str__(self):
        return f"Question from {self.agent} ({self.call_id})"

    def audit_context(self):
        return {"agent": self.agent.name, "session_id": self.session_id, "action_id": None, "action_type": ""}

    @property
    def overdue(self):
        return self.answered_at is None and self.due_at <= timezone.now()

    def option(self, name):
        return next((option for option in self.response_options if option.get("name") == name), None)

    @classmethod
    def ask(cls, *, agent, call_id, message, subject="", session_id="", response_options=(), spec=None):
        """Record the agent's question, due within the site's SLA for appeals. Returns (question,
        created): the same call id asks once."""
        now = timezone.now()
        with transaction.atomic():
            question, created = cls.objects.get_or_create(
                agent=agent,
                call_id=call_id,
                defaults={
                    "created_at": now,
                    "due_at": now + settings.HITL_USER_ESCALATION_SLA,
                    "message": message,
                    "subject": subject,
                    "session_id": session_id,
                    "response_options": list(response_options),
                    "spec": spec or {},
                },
            )
            if created:
                record(
                    kind="question.asked",
                    actor=Actor.agent(agent),
                    data={"question_id": str(question.pk), "call_id": call_id, "subject": subject, "message": message},
                    **question.audit_context(),
                )
        return question, created

    def answer(self, *, by, response="", option_name=""):
        """A person's answer: their words, or one of the agent's response options (with the
        option's prompt as the words, unless they wrote their own). Raises Conflict if already
        answered, InvalidEdit for an unknown option or an empty answer."""
        if option_name and self.option(option_name) is None:
            raise InvalidEdit([{"path": "option", "message": f"There is no option named {option_name!r}."}])
        chosen = self.option(option_name) or {}
        response = response or chosen.get("prompt_fill") or chosen.get("title") or option_name
        if not response.strip() and not option_name:
            raise InvalidEdit([{"path": "response", "message": "Type an answer, or choose one of the options."}])
        now = timezone.now()
        with transaction.atomic():
            claimed = Question.objects.filter(pk=self.pk, answered_at__isnull=True).update(
                answered_at=now,
                answered_by=by,
                answered_by_name=by.get_username(),
                response=response,
                response_option_name=option_name,
            )
            if claimed != 1:
                self.refresh_from_db()
                raise Conflict(
                    f"Already answered by {self.answered_by_name} at {timezone.localtime(self.answered_at):%H:%M:%S}."
                )
            self.refresh_from_db()
            record(
                kind="question.answered",
                actor=Actor.user(by),
                data={"question_id": str(self.pk), "response": response, "response_option_name": option_name},
                **self.audit_context(),
            )

    def expedite(self, *, message):
        """The agent's `escalate_email`: the question is urgent, at the top of the inbox, due now.
        Audited as `question.expedited` (`question.escalated` in events written before the name)."""
        with transaction.atomic():
            if (
                Question.objects.filter(pk=self.pk, answered_at__isnull=True).update(
                    expedited=True, expedite_message=message, due_at=timezone.now()
                )
                != 1
            ):
                self.refresh_from_db()
                raise Conflict("Only a question nobody has answered can be expedited.")
            self.refresh_from_db()
            record(
                kind="question.expedited",
                actor=Actor.agent(self.agent),
                data={"question_id": str(self.pk), "message": message},
                **self.audit_context(),
            )


class Execution(models.Model):
    """A person's request, from the dashboard, that the action type's executor webhook run an
    action; one per action, so it is executed at most once however often someone clicks."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        DONE = "done", "Done"

    action = models.OneToOneField(Action, on_delete=models.CASCADE, primary_key=True, related_name="execution")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_by_name = models.CharField(max_length=150)
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"execution of {self.action_id}: {self.status}"

    @classmethod
    def dispatch_due(cls, now):
        return claim_due_work(cls, now)

    @classmethod
    def request(cls, action, *, by):
        """Queue the execution of a suggestion (approving it first) or of an approved action
        whose type has an executor. Raises Conflict when it cannot run."""
        if not action.action_type.executor_url:
            raise Conflict(f"{action.action_type.key} has no executor webhook; run it yourself.")
        with transaction.atomic():
            if action.status == Action.Status.SUGGESTED:
                action.accept_suggestion(by=by)
            elif action.status != Action.Status.APPROVED:
                raise Conflict(action.conflict_message())
            execution, created = cls.objects.get_or_create(
                action=action, defaults={"requested_by": by, "requested_by_name": by.get_username()}
            )
            if not created:
                raise Conflict(f"Already sent to the executor by {execution.requested_by_name}.")
        return execution


class CallbackDelivery(models.Model):
    """One POST of an action's new state to its callback URL, and what became of it. Written in
    the deciding transaction (one per action and state: its `webhook_id` is what a receiver
    de-duplicates on), then delivered by `approvals.callbacks` at least once."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Delivered"
        FAILED = "failed", "Failed"

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="callbacks")
    state = models.CharField(max_length=16, choices=Action.Status)  # the status that was announced
    webhook_id = models.CharField(max_length=100, unique=True)
    url = models.CharField(max_length=2000)
    # The body, fixed at the first attempt, so that every retry sends the same bytes.
    payload = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
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
                FROM {Action._meta.db_table}
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

    @classmethod
    def dispatch_due(cls, now):
        return claim_due_work(cls, now)


def _start_callbacks(ids):
    from approvals.tasks import deliver_callback, enqueue

    for callback_id in ids:
        enqueue(deliver_callback, callback_id)


class SlackMessage(models.Model):
    """One Slack message about one action in one channel: posted by a task (`approvals.slack`),
    then updated in place by the same delivery loop whenever the action's state changes. The
    row is queued again for each update, so the database knows what Slack still has to hear."""

    Status = Notification.Status  # the delivery loop's states

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="slack_messages")
    channel = models.CharField(max_length=80)  # Slack's channel id (C…)
    tier = models.PositiveSmallIntegerField(default=0)  # 0: the type's channel; n: escalation tier n's
    ts = models.CharField(max_length=40, blank=True)  # Slack's id of the message, once posted
    shown_status = models.CharField(max_length=16, blank=True)  # the action's status the message shows
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
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
        queued = (
            cls.objects.filter(action_id__in=list(action_ids), status__in=[cls.Status.SENT, cls.Status.FAILED])
            .exclude(ts="")
            .update(status=cls.Status.QUEUED, attempts=0, next_attempt_at=timezone.now())
        )
        if queued:
            _dispatch_slack_on_commit()
        return queued

    @classmethod
    def dispatch_due(cls, now):
        return claim_due_work(cls, now)

    @classmethod
    def dispatch_due_now(cls):
        return cls.dispatch_due(timezone.now())


def _dispatch_slack_on_commit():
    from approvals.tasks import dispatch_slack_messages, enqueue_on_commit

    enqueue_on_commit(dispatch_slack_messages)


class SlackUser(models.Model):
    """Who a Slack user is in Countersign: matched by their verified email, or linked once by the
    person from their preferences page. Decisions from Slack are that user's, with their permissions."""

    class Via(models.TextChoices):
        EMAIL = "email", "Verified email"
        LINK = "link", "Linked by the user"

    slack_user_id = models.CharField(max_length=40, unique=True)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="slack_identity")
    via = models.CharField(max_length=10, choices=Via)
    linked_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.slack_user_id} is {self.user}"


class SpentToken(models.Model):
    """Something that works once: a Slack request's signature (refusing replays inside Slack's
    five-minute window), an email decision link's nonce."""

    key = models.CharField(max_length=200, primary_key=True)
    spent_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self):
        return self.key

    @classmethod
    def spend(cls, key, *, forget_after=None):
        """True the first time `key` is spent, False ever after (while it is remembered).
        `forget_after`: a timedelta past which older tokens of any kind may be deleted, for
        keys that cannot come back anyway (a Slack signature older than its window)."""
        now = timezone.now()
        if forget_after is not None:
            cls.objects.filter(key__startswith=key.split(":", 1)[0] + ":", spent_at__lt=now - forget_after).delete()
        _, created = cls.objects.get_or_create(key=key, defaults={"spent_at": now})
        return created
