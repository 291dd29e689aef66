"""Output review: a person reads what a tool returned before the agent (and its model) gets it.

A type may require it always, or when a CEL rule over the result matches (`ActionType.
output_review`). The agent's report (`POST /actions/{id}/result`) and the MCP gateway's upstream
result are then held as an OutputReview: the action stays `approved`, the agent's wait answers
"output under review", and a reviewer of the type releases the output, releases it redacted
(chosen fields, or spans of text), or withholds it (the agent is told so, with the reason). Each
is audited in its transaction; nobody deciding within the type's SLA withholds it.

The output as reported is kept on the review (nothing the agent sent is lost) and shown only to
the type's reviewers; the audit log gets what was released, never what was held back.
"""

import json
from datetime import timedelta

import cel
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from approvals.models.action import Action, Conflict, notify
from approvals.models.status import SLA_TIMEOUT_NAME
from audit.log import Actor, record
from policies.models import ActionType
from policies.rules import evaluate_rule

MARKER = "[redacted]"
UNDER_REVIEW = "output under review"


def _report(succeeded, output, error):
    return {"status": "succeeded" if succeeded else "failed", "output": output, "error": error or ""}


def review_reason(action_type, report, params):
    """Why this report must be reviewed before the agent gets it, or "" when it need not be. A
    rule that cannot be evaluated asks for a review: a gate fails closed."""
    if action_type.output_review == "always":
        return "the policy reviews every output of this type"
    if action_type.output_review != "rule":
        return ""
    text = json.dumps(report["output"], ensure_ascii=False, default=str)
    try:
        variables = cel.Context(
            {
                "output": report["output"],
                "text": text,
                "size": len(text),
                "status": report["status"],
                "error": report["error"],
                "params": params,
            }
        )
        matched = evaluate_rule(action_type.output_review_rule, variables)
    except Exception as error:  # the library raises ValueError, OverflowError, TypeError, …
        return f"the output review rule could not be evaluated ({str(error).split('. ')[0]}): a person looks"
    return f"output review rule matched: {action_type.output_review_rule}" if matched else ""


class OutputReviewQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(status=OutputReview.Status.PENDING)

    def reviewable_by(self, user):
        return self.filter(action_type__in=ActionType.objects.reviewable_by(user))

    def overdue(self, now=None):
        return self.pending().filter(due_at__lte=now or timezone.now())


class OutputReview(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Under review"
        RELEASED = "released", "Released"
        REDACTED = "redacted", "Released redacted"
        WITHHELD = "withheld", "Withheld"

    action = models.OneToOneField(Action, on_delete=models.CASCADE, primary_key=True, related_name="output_review")
    action_type = models.ForeignKey(ActionType, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    reason = models.TextField(help_text="Why the policy asked for the review.")
    # The agent's report as it came ({status, output, error}): never lost, shown only to reviewers.
    reported = models.JSONField()
    # What the agent got: the output, or a redacted copy; null while pending and when withheld.
    released = models.JSONField(null=True, blank=True)
    redactions = models.JSONField(default=dict, blank=True)  # {"fields": [paths], "spans": [texts]}
    note = models.TextField(blank=True, help_text="The reviewer's reason (told to the agent when withheld).")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by_name = models.CharField(max_length=150, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()

    objects = OutputReviewQuerySet.as_manager()

    class Meta:
        ordering = ["due_at"]
        indexes = [models.Index(fields=["status", "due_at"], name="output_review_status_due")]

    def __str__(self):
        return f"output review of {self.action_id}"

    def as_api(self):
        """What the agent reads under `output_review`: the review's state and the reviewer's note."""
        answer = {"status": self.status, "reason": self.reason}
        if self.status == self.Status.PENDING:
            answer["message"] = UNDER_REVIEW
            answer["due_at"] = self.due_at
        else:
            answer |= {"by": self.decided_by_name, "at": self.decided_at, "note": self.note}
            if self.status == self.Status.REDACTED:
                answer["redacted"] = self.redactions
        return answer

    @property
    def overdue(self):
        return self.status == self.Status.PENDING and self.due_at <= timezone.now()

    @property
    def reported_json(self):
        """The reported output as indented JSON text, for the reviewer (escaped like any agent text)."""
        return json.dumps(self.reported.get("output"), indent=2, ensure_ascii=False, default=str)

    def leaf_paths(self):
        """Every path into the reported output a reviewer may redact, as "rows[0].email" (at most 200)."""
        paths = []
        _leaves(self.reported.get("output"), "", paths)
        return paths[:200]

    # Decisions: each claims the pending review with a conditional UPDATE, so that of two
    # reviewers acting at once one decides and the other is told who did.

    def release(self, *, by, fields=(), spans=(), channel="web"):
        fields = [field for field in fields if field]
        spans = [span for span in spans if span]
        unknown = sorted(set(fields) - set(self.leaf_paths()))
        if unknown:
            raise ValueError(f"No such field in the output: {', '.join(unknown)}.")
        output = redact_output(self.reported.get("output"), fields, spans)
        redacted = bool(fields or spans)
        status = self.Status.REDACTED if redacted else self.Status.RELEASED
        redactions = {"fields": fields, "spans_redacted": len(spans)} if redacted else {}
        with transaction.atomic():
            self._claim(status=status, by=by, released={**self.reported, "output": output}, redactions=redactions)
            self.action.record_outcome(
                succeeded=self.reported["status"] == "succeeded", output=output, error=self.reported.get("error", "")
            )
            record(
                kind="action.output_redacted" if redacted else "action.output_released",
                actor=Actor.user(by),
                action=self.action,
                data={"output": output, "redacted_fields": fields, "redacted_spans": len(spans), "channel": channel},
            )

    def withhold(self, *, by, note, channel="web"):
        """The agent never gets the output: it is told it was withheld, and why."""
        if not note.strip():
            raise ValueError("Say why: the agent is told the reason.")
        with transaction.atomic():
            self._claim(status=self.Status.WITHHELD, by=by, note=note)
            self.action.record_outcome(
                succeeded=self.reported["status"] == "succeeded",
                output=None,
                error=f"The output was withheld by a reviewer: {note}",
            )
            record(
                kind="action.output_withheld",
                actor=Actor.user(by) if by is not None else Actor.system("output review SLA"),
                action=self.action,
                data={"reason": note, "channel": channel},
            )

    def _claim(self, *, status, by, **changes):
        now = timezone.now()
        name = by.get_username() if by is not None else SLA_TIMEOUT_NAME
        claimed = (
            OutputReview.objects.pending()
            .filter(pk=self.pk)
            .update(status=status, decided_by=by, decided_by_name=name, decided_at=now, **changes)
        )
        if claimed != 1:
            self.refresh_from_db()
            when = timezone.localtime(self.decided_at).strftime("%H:%M:%S") if self.decided_at else ""
            raise Conflict(f"Already {self.get_status_display().lower()} by {self.decided_by_name} at {when}.")
        self.status, self.decided_by, self.decided_by_name, self.decided_at = status, by, name, now
        for field, value in changes.items():
            setattr(self, field, value)


def report_outcome(action, *, succeeded, output=None, error=""):
    """The agent's report of what the tool did: recorded at once, or held for a person when its
    type asks for output review. Returns the OutputReview, or None when recorded. The same report
    again is harmless; another one while the first is held is a Conflict."""
    report = _report(succeeded, output, error)
    why = review_reason(action.action_type, report, action.final_params or action.params)
    if not why:
        action.record_outcome(succeeded=succeeded, output=output, error=error)
        return None
    with transaction.atomic():
        locked = Action.objects.select_for_update(of=("self",)).get(pk=action.pk)
        held = OutputReview.objects.filter(action=action).first()
        if held is not None:
            if held.reported != report:
                raise Conflict("Another outcome of this action is already held for review.")
            return held
        if locked.status != Action.Status.APPROVED:
            raise Conflict(f"This action is already {locked.status}.")
        now = timezone.now()
        review = OutputReview.objects.create(
            action=action,
            action_type=action.action_type,
            reason=why,
            reported=report,
            created_at=now,
            due_at=now + action.action_type.sla,
        )
        # What was held stays out of the log: only its size and why it was held.
        size = len(json.dumps(output, default=str))
        record(
            kind="action.output_held",
            actor=Actor.agent(action.agent),
            action=action,
            data={"reason": why, "status": report["status"], "size": size},
        )
        notify([action.pk], "")  # no new status: its waiting agent re-reads, and learns it is held
    return review


def withhold_overdue(now=None, limit=500):
    """The SLA fallback: every output nobody reviewed in time is withheld. Returns how many."""
    withheld = 0
    for review in OutputReview.objects.overdue(now).select_related("action__action_type", "action__agent")[:limit]:
        try:
            review.withhold(
                by=None,
                note=f"nobody reviewed the output within its SLA ({_duration(review.action_type.sla)})",
                channel="sla",
            )
        except Conflict:
            continue  # a reviewer decided meanwhile
        withheld += 1
    return withheld


def _duration(delta):
    minutes = int(delta / timedelta(minutes=1))
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"


def _leaves(value, path, into):
    if isinstance(value, dict):
        for key, item in value.items():
            _leaves(item, f"{path}.{key}" if path else str(key), into)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _leaves(item, f"{path}[{index}]", into)
    elif path:
        into.append(path)


def redact_output(value, fields, spans, path=""):
    """A copy of `value` with each of `fields` (leaf paths) replaced by the marker and each of
    `spans` (exact texts) cut out of every string."""
    if isinstance(value, dict):
        return {k: redact_output(v, fields, spans, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_output(v, fields, spans, f"{path}[{i}]") for i, v in enumerate(value)]
    if path and path in fields:
        return MARKER
    if isinstance(value, str):
        for span in spans:
            value = value.replace(span, MARKER)
    return value
