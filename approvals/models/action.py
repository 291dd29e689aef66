"""Actions an agent proposed, the one way their status changes (`ActionQuerySet.transition`) and
how everyone hears of it (`announce`), and the decisions people made about them."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Count, F, Max, Min, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property

from approvals import tracing
from approvals.models.card import ActionCard
from approvals.models.outbox import CallbackDelivery, Execution, queue_card_updates
from approvals.models.status import SLA_TIMEOUT_NAME, ActionStatus
from approvals.receipts import receipt_for
from audit.log import Actor, record, record_many
from audit.redaction import redact_diff
from hitl_lib.sql import update_returning
from policies.models import ActionType, Agent, Autonomy, StandingApproval
from policies.names import same_identity

# Every change of an action is announced on this PostgreSQL channel, as "<kind> <action id>":
# waiting agents hear their action's id, the inbox stream the kind (`announce`).
ACTION_CHANNEL = "action_changed"
# A trigger (migrations 0013, 0016) tells the inbox stream of what no status change announces: an
# arrival ("new"), an escalation, an appeal or a question.
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
CHANNELS = ("web", "slack", "teams", "email", "api", "push")


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


class ActionQuerySet(models.QuerySet):
    def transition(self, *, from_status, **changes):
        """The one way an action's status changes, for one action or a thousand: a conditional
        UPDATE of those of these actions still in `from_status` (one status or several), which
        returns the ids it claimed, announced (`announce`) in the same transaction. Of two
        people deciding at once, exactly one claims the row; the other's claim is empty."""
        statuses = [from_status] if isinstance(from_status, str) else list(from_status)
        claimed = update_returning(self.filter(status__in=statuses), **changes)
        if claimed:
            if changes.get("status") == Action.Status.EXPIRED:
                kind = "expired"
            elif set(statuses) <= set(Action.WAITING):
                kind = "decided"
            else:
                kind = ""  # an outcome: nothing an inbox shows changed
            announce(claimed, kind)
        return claimed

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


class Action(ActionCard, models.Model):
    Status = ActionStatus

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
    # The W3C traceparent of the proposal's span (approvals/tracing.py), so that the wait, the
    # decision and the outcome join the agent's trace; "" when tracing is off.
    traceparent = models.CharField(max_length=55, blank=True, editable=False)

    # Statuses whose final parameters a person or a policy approved: these carry a receipt.
    APPROVED_STATUSES = (Status.APPROVED, Status.EXECUTED, Status.FAILED)
    WAITING = (Status.PENDING, Status.SUGGESTED)  # for a person: the inbox shows them

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
            "output_review": self.output_review_api(),
        }

    def output_review_api(self):
        """Where its type reviews outputs (approvals.models.output_review), the review's state for
        the agent; no query for the other types."""
        if not self.action_type.output_review or self.status not in self.APPROVED_STATUSES:
            return None
        review = getattr(self, "output_review", None)  # a missing one raises an AttributeError too
        return review.as_api() if review is not None else None

    def approved_by_words(self, user):
        """Who approved it, as `user` reads it: "You", another reviewer's name, "A standing
        approval" or "The policy" (an action let through on arrival has no Decision)."""
        decision = Decision.objects.filter(action=self).first()
        if decision is not None:
            return "You" if decision.by_id is not None and decision.by_id == user.pk else decision.by_name
        if isinstance(self.route, dict) and self.route.get("standing_approval"):
            return "A standing approval"
        return "The policy"

    @classmethod
    def approve_all(cls, actions, *, by, channel="web"):
        """Approve every action or none: one conditional UPDATE claims them all, and if any was
        decided meanwhile the transaction rolls back and BatchConflict names each one."""
        refused = cls.left_out_of_batch(actions, by)
        if refused:
            raise BatchConflict(refused)
        return cls._decide_batch(actions, by=by, verdict=Decision.Verdict.APPROVED, reason="", channel=channel)

    @classmethod
    def reject_all(cls, actions, *, by, reason, channel="web"):
        """Reject every action or none, for one reason, as `approve_all` approves."""
        return cls._decide_batch(actions, by=by, verdict=Decision.Verdict.REJECTED, reason=reason, channel=channel)

    @classmethod
    def _decide_batch(cls, actions, *, by, verdict, reason, channel):
        data = {"verdict": verdict, "reason": reason, "batch": len(actions), "channel": decision_channel(channel)}
        if verdict == Decision.Verdict.APPROVED:
            data.update(edited=False, diff={})
        try:
            with transaction.atomic():
                return cls.decide_all(
                    actions,
                    verdict=verdict,
                    by=by,
                    reason=reason,
                    actor=Actor.user(by),
                    data=lambda action: data,
                    all_or_none=True,
                )
        except BatchConflict:
            ids = [action.pk for action in actions]
            taken = cls.objects.filter(pk__in=ids).exclude(status=cls.Status.PENDING)
            by_id = {action.pk: action for action in actions}
            conflicts = []
            for action in taken:
                by_id[action.pk].status = action.status
                conflicts.append((by_id[action.pk], action.conflict_message(by)))
            raise BatchConflict(conflicts) from None

    @classmethod
    def decide_all(
        cls, actions, *, verdict, by, reason, actor, data, by_name=None, outcome=None, all_or_none=False, now=None
    ):
        """Decide many pending actions at once, in the caller's transaction: a batch from the inbox
        (`all_or_none`: BatchConflict if any was decided meanwhile), or the SLA's timeout fallback
        (`by` None, `by_name` its name). `verdict`: approved, rejected, or None to expire them.
        One conditional UPDATE (`transition`), one insert of their decisions, one append of their
        audit events (`data(action)` for each one's); returns the decisions."""
        now = now or timezone.now()
        status = {
            Decision.Verdict.APPROVED: cls.Status.APPROVED,
            Decision.Verdict.REJECTED: cls.Status.REJECTED,
            None: cls.Status.EXPIRED,
        }[verdict]
        changes = {"status": status, "decided_at": now}
        if status == cls.Status.APPROVED:
            changes["final_params"] = F("params")
        if outcome is not None:
            changes["outcome"] = outcome
        claimed = set(
            cls.objects.filter(pk__in=[action.pk for action in actions]).transition(
                from_status=cls.Status.PENDING, **changes
            )
        )
        if all_or_none and len(claimed) != len(actions):
            raise BatchConflict([])
        actions = [action for action in actions if action.pk in claimed]
        decisions = []
        if verdict is not None:
            by_name = by_name or by.get_username()
            decisions = Decision.objects.bulk_create(
                [
                    Decision.of(action, verdict=verdict, by=by, by_name=by_name, reason=reason, at=now)
                    for action in actions
                ],
                batch_size=1000,
            )
        for action in actions:
            action.status, action.decided_at = status, now
            if status == cls.Status.APPROVED:
                action.final_params = action.params
            if outcome is not None:
                action.outcome = outcome
        kind = "action.expired" if verdict is None else f"action.{verdict}"
        record_many({"kind": kind, "actor": actor, "action": action, "data": data(action)} for action in actions)
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
                data={
                    "verdict": "approved",
                    "edited": edited,
                    "diff": self.diff_for_the_log(diff),
                    "reason": reason,
                    "channel": channel,
                },
                **({"summary": self.action_type.render_summary(final_params)} if edited else {}),
            )
        return decision

    def is_reviewable_by(self, user):
        """May `user` review actions of this one's type (django-guardian's permission, by group)?"""
        return Action.objects.filter(pk=self.pk).reviewable_by(user).exists()

    def refusal_for(self, user, verdict="approve"):
        """Why `user` may not decide this action now, or "" when they may: the one question every
        channel asks (the inbox, Slack, email links, notifications), in one wording. The review
        permission, a decision still to make, and for an approval four eyes (`verdict` "approve";
        "reject" needs only the first two)."""
        if not self.is_reviewable_by(user):
            return f"You may not review {self.action_type.key} actions."
        if self.status != self.Status.PENDING:
            return self.conflict_message(user)
        return self.approval_refusal(user) if verdict == "approve" else ""

    def approval_progress(self, params=None):
        """What an approver is told while four eyes waits for more approvals of the same
        parameters (`params`: the ones they approved, the proposal's when None)."""
        params = self.params if params is None else params
        count = self.approvals.filter(final_params=params).count()
        text = f"Your approval is recorded: {count} of {self.action_type.required_approvers}."
        if params != self.params:
            text += " The others must approve the same changes for them to run."
        return text

    def diff_for_the_log(self, diff):
        """An edit's diff as the audit log may keep it: the type's redacted parameters stay
        redacted in it (its keys are paths, which the type's `params.…` paths would not match)."""
        return redact_diff(diff, self.action_type.redact_paths or ())

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
        # Compared by confusable skeleton, so " supervisor", "Supervisor\u200b", a fullwidth or a
        # Cyrillic-е spelling, or one with a combining accent is the same person as "supervisor".
        names = [name for name in (user.get_username(), user.email) if name]
        if self.on_behalf_of and any(same_identity(self.on_behalf_of, name) for name in names):
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
                "diff": self.diff_for_the_log(params_diff(self.params, final_params)),
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
            tracing.reported(self)

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

    def request_execution(self, *, by):
        """Queue the execution of a suggestion (approving it first) or of an approved action
        whose type has an executor, once however often someone asks. Raises Conflict when it
        cannot run."""
        if not self.action_type.executor_url:
            raise Conflict(f"{self.action_type.key} has no executor webhook; run it yourself.")
        with transaction.atomic():
            if self.status == self.Status.SUGGESTED:
                self.accept_suggestion(by=by)
            elif self.status != self.Status.APPROVED:
                raise Conflict(self.conflict_message())
            execution, created = Execution.objects.get_or_create(
                action=self, defaults={"requested_by": by, "requested_by_name": by.get_username()}
            )
            if not created:
                raise Conflict(f"Already sent to the executor by {execution.requested_by_name}.")
        return execution

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
        """This action's `transition`; a Conflict naming what happened when it is not `from_status`."""
        if not Action.objects.filter(pk=self.pk).transition(from_status=from_status, **changes):
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


def notify(action_ids, kind):
    """One NOTIFY on ACTION_CHANNEL per action, in one statement, which PostgreSQL delivers when
    the transaction commits, never before: the agents waiting on them wake and re-read
    (`approvals.waiting`), and the inbox stream hears `kind` (none for "")."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_notify(%s, %s || ' ' || id::text) FROM unnest(%s::uuid[]) AS id",
            [ACTION_CHANNEL, kind, list(action_ids)],
        )


def announce(action_ids, kind):
    """Everyone who listens hears that these actions changed state, in the changing transaction:
    waiting agents and the inbox stream (`notify`), the actions' callbacks (queued, one per
    state), and their cards in Slack and Teams (updated in place). Every status change passes here, through
    `ActionQuerySet.transition`: a decision from any channel, the SLA's fallback, an outcome."""
    notify(action_ids, kind)
    CallbackDelivery.queue_for(action_ids)
    queue_card_updates(action_ids)
    # A decision's spans (an outcome has its own, written by `record_outcome`); with tracing off,
    # not even the queryset is built: every decision passes here.
    if kind and tracing.enabled():
        tracing.decided(Action.objects.filter(pk__in=list(action_ids)))


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
