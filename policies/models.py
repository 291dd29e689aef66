"""Action types, agents and their tokens: what may be proposed, by whom, and how it is routed."""

import base64
import copy
import hashlib
import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, validate_email
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.functional import cached_property
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from policies.callback_urls import CallbackUrlRefused, check


class Autonomy(models.TextChoices):
    """Strictest first: the order is what `strictest()` compares."""

    SUGGEST = "suggest", "Suggest only"
    CONFIRM = "confirm", "Confirm before act"
    AUDIT = "audit", "Act with audit"
    AUTONOMOUS = "autonomous", "Fully autonomous"

    @classmethod
    def strictest(cls, *levels):
        order = list(cls.values)
        return cls(min(levels, key=order.index))


class BlastRadius(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class Pause(models.TextChoices):
    """The kill switch: "block" refuses proposals with 403, "hold" sends each to a person."""

    OFF = "", "Running"
    BLOCK = "block", "Paused: refuse proposals (403)"
    HOLD = "hold", "Paused: hold every proposal for a person"


class Holdable:
    """The kill switch's "hold" set and released by a supervisor from the inbox (an agent, or a
    type they review): every proposal waits for a person. Audited as a policy change. A block
    set by a policy admin is not a supervisor's to soften."""

    def hold(self, *, by, reason):
        self._set_hold(by=by, pause=Pause.HOLD, reason=reason)

    def release_hold(self, *, by):
        self._set_hold(by=by, pause=Pause.OFF, reason="")

    def _set_hold(self, *, by, pause, reason):
        # The switch and its `policy.changed` event commit together or not at all: the audit log
        # refuses to write outside a transaction, and a hold saved without its event (#32) broke
        # the promise that every policy change is audited.
        with transaction.atomic():
            current = type(self).objects.select_for_update().get(pk=self.pk)
            if current.pause == Pause.BLOCK:
                raise ValidationError("A policy admin blocked it; only they can change its kill switch.")
            before = current.hold_snapshot()
            self.pause, self.pause_reason = pause, reason
            self.save(update_fields=["pause", "pause_reason"])
            self.record_hold(by=by, before=before)


# Confidence is a hint the agent gives as a number 0–1 or a word; words compare as these numbers.
CONFIDENCE_WORDS = {"low": 0.25, "medium": 0.5, "high": 0.75}


def confidence_value(confidence):
    """0.62 → 0.62, "medium" → 0.5, anything else → None."""
    if isinstance(confidence, bool):
        return None
    if isinstance(confidence, int | float):
        return float(confidence)
    if isinstance(confidence, str):
        if confidence in CONFIDENCE_WORDS:
            return CONFIDENCE_WORDS[confidence]
        try:
            return float(confidence)
        except ValueError:
            return None
    return None


class TimeoutFallback(models.TextChoices):
    REJECT = "reject", "Reject"
    EXPIRE = "expire", "Expire (the agent sees it as not approved)"
    APPROVE = "approve", "Approve (never for irreversible action types)"


class ActionTypeQuerySet(models.QuerySet):
    def reviewable_by(self, user):
        """The types `user` may review: the object permission (django-guardian), a global grant
        of it, or a superuser."""
        from guardian.shortcuts import get_objects_for_user  # guardian's models load after these

        return get_objects_for_user(
            user, "policies.review_actiontype", self, accept_global_perms=True, with_superuser=True
        )


class ActionType(Holdable, models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DRAFT = "draft", "Draft (registered on first use)"

    key = models.CharField(
        max_length=200,
        unique=True,
        help_text="What agents call it, such as email.send or payments.refund.",
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.ACTIVE)
    params_schema = models.JSONField(
        "parameters JSON Schema",
        default=dict,
        blank=True,
        help_text="JSON Schema (2020-12) that every proposal's parameters must satisfy.",
    )
    # The order of every object's properties in `params_schema`, by JSON pointer: jsonb keeps
    # keys in its own order, and cards, forms, diffs and the API follow the schema's.
    params_order = models.JSONField(default=dict, blank=True, editable=False)
    summary_template = models.TextField(
        blank=True,
        help_text="Plain-language summary, as a Django template over the parameters, "
        'such as "Refund {{ amount|money:currency }} to customer {{ customer }}".',
    )
    autonomy = models.CharField(max_length=16, choices=Autonomy, default=Autonomy.CONFIRM)
    irreversible = models.BooleanField(default=False)
    blast_radius = models.CharField(max_length=8, choices=BlastRadius, default=BlastRadius.LOW)
    editable_params = models.JSONField(
        default=list, blank=True, help_text="Names of the parameters a reviewer may edit."
    )
    params_schema_inferred = models.BooleanField(
        "schema inferred from the first call",
        default=False,
        help_text="A draft's provisional schema, inferred from its first call's parameters: it shapes the "
        "reviewers' edit form but refuses no proposal. Clear it once the schema is reviewed.",
    )
    sla = models.DurationField(default=timedelta(minutes=30), help_text="How long a person has to decide.")
    allow_irreversible_unattended = models.BooleanField(
        "let irreversible actions run without a person",
        default=False,
        help_text="Irreversible actions wait for a person unless this is ticked.",
    )
    confidence_threshold = models.CharField(
        max_length=8,
        blank=True,
        help_text="A number 0–1 or low, medium, high. A proposal with a lower (or no) confidence waits for a "
        "person. Blank: no threshold.",
    )
    first_use_threshold = models.PositiveIntegerField(
        default=5, help_text="The first this many executions of this type wait for a person."
    )
    rate_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Rate breaker: more than this many proposals from one agent within the window send the rest "
        "of the window to a person. Blank: off.",
    )
    rate_window = models.DurationField(default=timedelta(minutes=1), help_text="The rate breaker's window.")
    redact_paths = models.JSONField(
        default=list,
        blank=True,
        help_text='Paths redacted in the audit log, such as ["params.card_number", "context.email_body"].',
    )
    required_approvers = models.PositiveSmallIntegerField(
        default=1, help_text="How many different people must approve (four eyes: 2)."
    )
    checker_url = models.URLField(
        "external checker URL",
        blank=True,
        help_text="Optional. Receives each proposal as a signed POST and answers pass or fail.",
    )
    checker_secret = models.CharField(
        "external checker secret", max_length=200, blank=True, help_text="Key of the HMAC-SHA256 signature."
    )
    checker_timeout = models.FloatField(
        "external checker timeout (seconds)", default=2.0, help_text="No answer within this counts as fail."
    )
    pause = models.CharField("kill switch", max_length=8, choices=Pause, default=Pause.OFF, blank=True)
    pause_reason = models.CharField(max_length=500, blank=True)
    last_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    sla_warning_share = models.FloatField(
        "SLA warning at",
        default=0.8,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of each deadline after which the current reviewers are warned (0.8 = at 80%).",
    )
    timeout_fallback = models.CharField(
        max_length=16,
        choices=TimeoutFallback,
        default=TimeoutFallback.REJECT,
        help_text="What happens when the last escalation tier lets the deadline pass. "
        "An irreversible action is never approved this way.",
    )
    sampling_rate = models.FloatField(
        default=0.1,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of auto-approved actions drawn into the sample queue for grading (0.1 = 10%).",
    )
    target_error_rate = models.FloatField(
        default=0.02,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="The error rate you accept for actions of this type that run without review.",
    )
    earned_autonomy_decisions = models.PositiveIntegerField(
        "offer act-with-audit after",
        default=20,
        help_text="At confirm, when this many of the latest decisions by a person (within the window) are all "
        "approvals without an edit, this page offers act-with-audit, with the dry run of that change. 0: never.",
    )
    earned_autonomy_window = models.DurationField(
        "decisions within",
        default=timedelta(days=30),
        help_text="How far back those decisions may go, such as 30 00:00:00 for 30 days.",
    )
    slack_channel = models.CharField(
        max_length=80,
        blank=True,
        help_text="Optional. The Slack channel (its ID, C…) where each pending action of this type is posted "
        "with Approve, Reject and Edit buttons; needs the Slack app (SLACK_BOT_TOKEN).",
    )
    executor_url = models.URLField(
        blank=True,
        help_text="Optional webhook that executes this action when a person runs it from the dashboard; "
        "it receives the final parameters, signed.",
    )
    output_review = models.CharField(
        max_length=8,
        choices=[("", "Never"), ("always", "Always"), ("rule", "When the rule below matches")],
        default="",
        blank=True,
        help_text="Whether a person reviews what the tool returned before the agent gets it (the agent's /result "
        "report and the MCP gateway's upstream result are held). Nobody reviewing in the SLA withholds it.",
    )
    output_review_rule = models.TextField(
        blank=True,
        help_text="CEL over output, text (the output as JSON text), size (its length), status, error and params, "
        'such as size > 10000 || text.matches("[0-9]{3}-[0-9]{2}-[0-9]{4}") || has(output.email).',
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ActionTypeQuerySet.as_manager()

    class Meta:
        ordering = ["key"]
        permissions = [("review_actiontype", "Can review actions of this type")]

    def __str__(self):
        return self.key

    def save(self, *args, **kwargs):
        from policies.schema import merged_orders

        self.params_order = merged_orders(self.params_schema, self.params_order)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "params_schema" in update_fields:
            kwargs["update_fields"] = {*update_fields, "params_order"}
        super().save(*args, **kwargs)

    def clean(self):
        from policies.names import action_key_problem

        if self.key and (problem := action_key_problem(self.key)):
            raise ValidationError({"key": problem})
        try:
            Draft202012Validator.check_schema(self.params_schema)
        except SchemaError as error:
            raise ValidationError({"params_schema": f"Not a valid JSON Schema: {error.message}"}) from None
        if not isinstance(self.editable_params, list) or not all(
            isinstance(name, str) for name in self.editable_params
        ):
            raise ValidationError({"editable_params": "A list of parameter names."})
        if not isinstance(self.redact_paths, list) or not all(isinstance(path, str) for path in self.redact_paths):
            raise ValidationError({"redact_paths": 'A list of paths, such as ["params.card_number"].'})
        threshold = confidence_value(self.confidence_threshold) if self.confidence_threshold else 0
        if threshold is None or not 0 <= threshold <= 1:
            raise ValidationError({"confidence_threshold": "A number from 0 to 1, or low, medium or high."})
        if not 0 <= self.sampling_rate <= 1:
            raise ValidationError({"sampling_rate": "A share from 0 to 1."})
        if self.earned_autonomy_window is not None and self.earned_autonomy_window <= timedelta(0):
            raise ValidationError({"earned_autonomy_window": "A time back from now, such as 30 days."})
        if self.checker_url and not self.checker_secret:
            raise ValidationError({"checker_secret": "The external checker needs a secret to sign requests with."})
        if self.pause and not self.pause_reason:
            raise ValidationError({"pause_reason": "Say why: agents and supervisors are shown the reason."})
        if self.summary_template:
            from django.template import TemplateSyntaxError

            from policies.summary import compile_template

            try:
                compile_template(self.summary_template)
            except TemplateSyntaxError as error:
                raise ValidationError({"summary_template": f"Not a valid summary template: {error}"}) from None
        if self.output_review == "rule":
            from policies.rules import compile_expression

            try:
                compile_expression(self.output_review_rule)
            except ValueError as error:
                raise ValidationError({"output_review_rule": f"Not a valid CEL expression: {error}"}) from None
        if self.irreversible and self.timeout_fallback == TimeoutFallback.APPROVE:
            raise ValidationError({"timeout_fallback": "An irreversible action is never approved by a timeout."})

    @property
    def has_editable_params(self):
        """Whether a reviewer may edit anything: an "Edit…" to offer."""
        return self.status == self.Status.DRAFT or bool(self.editable_params)

    def may_edit(self, name):
        """Whether a reviewer may edit the parameter `name`: any of a draft's, whose editable
        parameters nobody has chosen yet, else those the policy names."""
        return self.status == self.Status.DRAFT or name in self.editable_params

    def params_errors(self, params):
        """Every way `params` fails the schema, as [{"path": "amount", "message": …}]. An inferred
        schema refuses nothing: it is a guess from one call."""
        if self.params_schema_inferred:
            return []
        validator = Draft202012Validator(self.params_schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        return [
            {"path": ".".join(str(part) for part in error.absolute_path) or "(root)", "message": error.message}
            for error in sorted(validator.iter_errors(params), key=lambda e: list(map(str, e.absolute_path)))
        ]

    def edit_errors(self, params):
        """As `params_errors`, for a reviewer's edit: each at the deepest field, in plain words."""
        from policies.schema import plain_errors

        return plain_errors(self.params_schema, params)

    def ordered_params(self, params):
        """`params` in the schema's order (nested objects too), then the rest: how every page and
        the API list them."""
        from policies.schema import ordered_value

        if not isinstance(params, dict):
            return params
        return ordered_value(params, self.params_schema or {}, self.params_schema or {}, self.params_order)

    def render_summary(self, params):
        from policies.summary import render_summary

        return render_summary(self, params)

    def policy_snapshot(self, rules=None):
        """The policy as plain data (durations as "HH:MM:SS"): what a change is diffed over and
        what `policies export` writes. The checker's secret is never included."""
        from django.utils.duration import duration_string

        snapshot = {}
        for name in POLICY_FIELDS:
            value = getattr(self, name)
            snapshot[name] = duration_string(value) if isinstance(value, timedelta) else value
        rules = rules if rules is not None else (list(self.rules.all()) if self.pk else [])
        snapshot["rules"] = [
            {"name": r.name, "expression": r.expression, "level": r.level, "order": r.order}
            for r in sorted(rules, key=lambda r: (r.order, r.name))
        ]
        snapshot["reviewer_groups"] = sorted(group.name for group in self.reviewer_groups()) if self.pk else []
        tiers = list(self.escalation_tiers.all()) if self.pk else []
        snapshot["escalation_tiers"] = [tier.as_policy() for tier in sorted(tiers, key=lambda t: t.position)]
        return snapshot

    def reviewer_groups(self):
        """The groups whose members may review actions of this type (a guardian object permission)."""
        from guardian.shortcuts import get_groups_with_perms

        return {
            group
            for group, perms in get_groups_with_perms(self, attach_perms=True).items()
            if "review_actiontype" in perms
        }

    @classmethod
    def register_draft(cls, key, *, by, what, details=None, **fields):
        """The one way a type nobody declared comes to be: on an agent's first use of `key`, or
        from an MCP server's listing. A draft at `confirm`, reviewable by the default reviewer
        groups (HITL_DRAFT_REVIEWER_GROUPS: somebody must be able to see what waits), and a
        `policy.changed` event by the system part `by` saying `what` (with `details`). Returns
        (action type, created); an existing type is returned as it is."""
        from django.contrib.auth.models import Group

        from audit.log import Actor, record

        action_type, created = cls.objects.get_or_create(
            key=key, defaults={"name": key, "status": cls.Status.DRAFT, "autonomy": Autonomy.CONFIRM, **fields}
        )
        if created:
            action_type.set_reviewer_groups(Group.objects.filter(name__in=settings.HITL_DRAFT_REVIEWER_GROUPS))
            record(
                kind="policy.changed",
                actor=Actor.system(by),
                action_type=key,
                data={
                    "what": what,
                    "version": action_type.version,
                    **(details or {}),
                    "policy": action_type.policy_snapshot(),
                },
            )
        return action_type, created

    def set_reviewer_groups(self, groups):
        """Make `groups` the reviewers, keeping the escalation tiers' groups: a tier's group must
        be able to decide what is escalated to it."""
        from guardian.shortcuts import assign_perm, remove_perm

        tier_groups = {tier.group for tier in self.escalation_tiers.select_related("group") if tier.group_id}
        chosen, current = set(groups) | tier_groups, self.reviewer_groups()
        for group in chosen - current:
            assign_perm("policies.review_actiontype", group, self)
        for group in current - chosen:
            remove_perm("policies.review_actiontype", group, self)

    def record_change(self, *, by, before, what="action type changed", secret_changed=False, system="policies import"):
        """After a save: bump the version, remember who changed it, and write the field-by-field
        diff as a `policy.changed` event, in the caller's transaction. No diff, no event. Without
        a user `by`, the event's actor is the system part named `system`."""
        from audit.log import Actor, record

        diff = policy_diff(before, self.policy_snapshot())
        if secret_changed:
            diff["checker_secret"] = {"from": "(hidden)", "to": "(changed)"}
        if not diff:
            return None
        ActionType.objects.filter(pk=self.pk).update(version=models.F("version") + 1, last_changed_by=by)
        self.refresh_from_db(fields=["version", "last_changed_by"])
        return record(
            kind="policy.changed",
            actor=Actor.user(by) if by is not None else Actor.system(system),
            action_type=self.key,
            data={"what": what, "version": self.version, "diff": diff},
        )

    def record_hold(self, *, by, before):
        self.record_change(by=by, before=before, what="kill switch set from the inbox")

    def hold_snapshot(self):
        return self.policy_snapshot()

    def change_history(self):
        from audit.models import Event

        return Event.objects.filter(kind="policy.changed", action_type=self.key).order_by("-seq")


# What a policy is made of, in the order `policies export` writes it.
POLICY_FIELDS = [
    "name",
    "description",
    "status",
    "autonomy",
    "irreversible",
    "allow_irreversible_unattended",
    "blast_radius",
    "confidence_threshold",
    "first_use_threshold",
    "rate_limit",
    "rate_window",
    "required_approvers",
    "editable_params",
    "redact_paths",
    "sla",
    "sla_warning_share",
    "timeout_fallback",
    "sampling_rate",
    "target_error_rate",
    "earned_autonomy_decisions",
    "earned_autonomy_window",
    "executor_url",
    "slack_channel",
    "checker_url",
    "checker_timeout",
    "pause",
    "pause_reason",
    "summary_template",
    "params_schema",
    "params_schema_inferred",
    "output_review",
    "output_review_rule",
]


def policy_diff(before, after):
    """{"autonomy": {"from": "confirm", "to": "audit"}} for each field that differs."""
    return {
        name: {"from": before.get(name), "to": after.get(name)}
        for name in [*after, *(n for n in before if n not in after)]
        if before.get(name) != after.get(name)
    }


class Rule(models.Model):
    """A CEL expression over the proposal; when it is true, the proposal asks for `level`."""

    action_type = models.ForeignKey(ActionType, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=200)
    expression = models.TextField(
        help_text="CEL over params, context, untrusted, confidence, agent and session, such as "
        'params.amount > 1000 && params.currency == "USD".'
    )
    level = models.CharField(max_length=16, choices=Autonomy, default=Autonomy.CONFIRM)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "pk"]
        constraints = [models.UniqueConstraint(fields=["action_type", "name"], name="one_rule_name_per_type")]

    def __str__(self):
        return self.name

    def clean(self):
        """Only a rule that can evaluate is saved: one that cannot asks for a person on every
        proposal of its type, silently (#32)."""
        from policies.rule_check import problems

        try:
            schema = self.action_type.params_schema  # the form's new schema, in the admin
        except ActionType.DoesNotExist:
            schema = None
        if found := problems(self.expression, schema):
            raise ValidationError({"expression": found})


class Agent(Holdable, models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    pause = models.CharField("kill switch", max_length=8, choices=Pause, default=Pause.OFF, blank=True)
    pause_reason = models.CharField(max_length=500, blank=True)
    callback_url = models.CharField(
        "default callback URL",
        max_length=2000,
        blank=True,
        help_text="Where Countersign POSTs each decision on this agent's actions (signed per Standard Webhooks), "
        "unless a proposal names its own callback_url. http(s) only; private and loopback addresses are refused.",
    )
    # Bumped to rotate the callback signing secret, which is derived, never stored (`callback_secret()`).
    callback_secret_version = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def record_pause_change(self, *, by, before):
        from audit.log import Actor, record

        after = {"pause": self.pause, "pause_reason": self.pause_reason}
        diff = policy_diff(before, after)
        if diff:
            record(
                kind="policy.changed",
                actor=Actor.user(by) if by is not None else Actor.system("policies import"),
                agent=self.name,
                data={"what": "agent kill switch", "diff": diff},
            )

    def clean(self):
        if problem := self.look_alike_problem():
            raise ValidationError({"name": problem})
        if self.callback_url:
            try:
                check(self.callback_url)
            except CallbackUrlRefused as refusal:
                raise ValidationError({"callback_url": str(refusal)}) from None

    def look_alike_problem(self):
        """Why this name cannot be another agent's (it reads as the name of one that exists), or "":
        two agents a reviewer cannot tell apart on a card are one agent to them."""
        from policies.names import look_alike

        twin = look_alike(self.name, Agent.objects.exclude(pk=self.pk).values_list("name", flat=True))
        if twin is None:
            return ""
        return f"'{self.name}' reads as the agent '{twin}', which exists (by case, look-alike or invisible characters)."

    def callback_secret(self):
        """The Standard Webhooks signing secret (`whsec_…`) of this agent's callbacks: derived from
        HITL_WEBHOOK_SECRET, the agent and its secret version, so nothing secret is stored and
        rotating it is one counter (`rotate_callback_secret()`)."""
        message = f"countersign-agent-callbacks:{self.pk}:{self.callback_secret_version}".encode()
        key = hmac.new(settings.HITL_WEBHOOK_SECRET.encode(), message, hashlib.sha256).digest()
        return "whsec_" + base64.b64encode(key).decode()

    def rotate_callback_secret(self, *, by):
        """A new callback signing secret, returned in the clear (the old one stops working now)."""
        from audit.log import Actor, record

        with transaction.atomic():
            Agent.objects.filter(pk=self.pk).update(callback_secret_version=models.F("callback_secret_version") + 1)
            self.refresh_from_db(fields=["callback_secret_version"])
            record(
                kind="policy.changed",
                actor=Actor.user(by),
                agent=self.name,
                data={"what": "agent callback signing secret rotated", "version": self.callback_secret_version},
            )
        return self.callback_secret()

    def record_hold(self, *, by, before):
        self.record_pause_change(by=by, before=before)

    def hold_snapshot(self):
        return {"pause": self.pause, "pause_reason": self.pause_reason}

    def issue_token(self, label=""):
        """Create a token and return it in the clear: the only time it is ever seen."""
        secret = "cs_" + secrets.token_urlsafe(32)
        self.tokens.create(label=label, prefix=secret[:10], digest=AgentToken.digest_of(secret))
        return secret


class AgentTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class AgentToken(models.Model):
    """Stored as a SHA-256 digest: a token is 256 random bits, so no salt or stretching is needed."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="tokens")
    label = models.CharField(max_length=200, blank=True)
    prefix = models.CharField(max_length=10, help_text="The token's first characters, to tell tokens apart.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = AgentTokenQuerySet.as_manager()

    def __str__(self):
        return f"{self.prefix}… ({self.agent})"

    @staticmethod
    def digest_of(secret):
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def agent_for(cls, secret):
        return cls.agent_for_digest(cls.digest_of(secret))

    @classmethod
    def agent_for_digest(cls, digest):
        token = cls.objects.active().select_related("agent").filter(digest=digest).first()
        return token.agent if token else None

    def revoke(self):
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])


class InvalidProposal(models.Model):
    """A proposal whose parameters failed the schema: kept, so nothing the agent sent is lost, and
    counted per agent and session for the repair loop."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="invalid_proposals")
    action_type = models.ForeignKey(ActionType, on_delete=models.CASCADE, related_name="invalid_proposals")
    session_id = models.CharField(max_length=200, blank=True)
    proposal = models.JSONField()
    errors = models.JSONField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["agent", "session_id"], name="invalid_proposal_session")]

    def __str__(self):
        return f"{self.action_type} by {self.agent} at {self.at:%Y-%m-%d %H:%M:%S}"


class RateCounter(models.Model):
    """Proposals of one type from one agent in one fixed window, for the rate breaker.

    Counted in PostgreSQL with an atomic upsert so every web process and concurrent request
    sees the same count.
    """

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+")
    action_type = models.ForeignKey(ActionType, on_delete=models.CASCADE, related_name="+")
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agent", "action_type", "window_start"], name="one_counter_per_window")
        ]

    def __str__(self):
        return f"{self.count} from {self.window_start}"

    @classmethod
    def count_one(cls, *, agent, action_type, now=None):
        """Count one proposal; returns (count in this window including it, window end)."""
        now = now or timezone.now()
        seconds = max(int(action_type.rate_window.total_seconds()), 1)
        start = datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, tz=UTC)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {cls._meta.db_table} (agent_id, action_type_id, window_start, count)
                    VALUES (%s, %s, %s, 1)
                    ON CONFLICT (agent_id, action_type_id, window_start)
                    DO UPDATE SET count = {cls._meta.db_table}.count + 1
                    RETURNING count""",
                [agent.pk, action_type.pk, start],
            )
            return cursor.fetchone()[0], start + timedelta(seconds=seconds)


class StandingApprovalQuerySet(models.QuerySet):
    def active(self, now=None):
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=now, uses__lt=models.F("max_uses"))

    def reviewable_by(self, user):
        """Those on the action types `user` reviews: theirs to see and to revoke (revoking only
        tightens, so any reviewer of the type may, not only whoever made it)."""
        return self.filter(action_type__in=ActionType.objects.reviewable_by(user))


class StandingApproval(models.Model):
    """ "Approve and allow similar": this agent's proposals of this type whose parameters match
    `constraints` are let through at `audit`, until it expires, is used up, or is revoked.

    `constraints` maps a parameter name to {"equals": value} or {"min": n, "max": n}.
    """

    MAX_DURATION = timedelta(days=30)
    DEFAULT_DURATION = timedelta(hours=1)

    action_type = models.ForeignKey(ActionType, on_delete=models.CASCADE, related_name="standing_approvals")
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="standing_approvals")
    constraints = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField()
    max_uses = models.PositiveIntegerField(default=10)
    uses = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_from_action = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = StandingApprovalQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"allow similar {self.action_type} for {self.agent} #{self.pk}"

    def clean(self):
        if self.action_type_id and self.action_type.irreversible:
            raise ValidationError("A standing approval never applies to an irreversible action type.")
        if self.expires_at and self.expires_at > (self.created_at or timezone.now()) + self.MAX_DURATION:
            raise ValidationError({"expires_at": "At most 30 days after it is created."})
        problems = constraint_problems(self.constraints)
        if problems:
            raise ValidationError({"constraints": "; ".join(problems)})

    def describe(self):
        """The scope in words: "amount ≤ 100, currency = USD" (a list or an object as JSON, never
        Python's repr)."""
        parts = []
        for name, constraint in sorted(self.constraints.items()):
            if "equals" in constraint:
                value = constraint["equals"]
                shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                parts.append(f"{name} = {shown}")
                continue
            bounds = []
            if "min" in constraint:
                bounds.append(f"≥ {constraint['min']}")
            if "max" in constraint:
                bounds.append(f"≤ {constraint['max']}")
            parts.append(f"{name} {' and '.join(bounds)}")
        return ", ".join(parts) or "any parameters"

    def tried_on(self, actions):
        """(how many of `actions` this scope matches, how many there are): what it would have let
        through of proposals like them."""
        actions = list(actions)
        return sum(self.matches(action.params) for action in actions), len(actions)

    def matches(self, params):
        for name, constraint in self.constraints.items():
            value = params.get(name)
            if "equals" in constraint and value != constraint["equals"]:
                return False
            if "min" in constraint or "max" in constraint:
                if isinstance(value, bool) or not isinstance(value, int | float):
                    return False
                if "min" in constraint and value < constraint["min"]:
                    return False
                if "max" in constraint and value > constraint["max"]:
                    return False
        return True

    def use(self):
        """Count one use; False when another proposal took the last one meanwhile."""
        used = StandingApproval.objects.active().filter(pk=self.pk).update(uses=models.F("uses") + 1)
        return used == 1

    def revoke(self, *, by):
        """Revoke it at once; False when it was revoked already (and nothing is recorded)."""
        from audit.log import Actor, record

        with transaction.atomic():
            revoked = StandingApproval.objects.filter(pk=self.pk, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
            if revoked:
                record(
                    kind="policy.changed",
                    actor=Actor.user(by),
                    action_type=self.action_type.key,
                    agent=self.agent.name,
                    data={"what": "standing approval revoked", "standing_approval": self.pk},
                )
        self.refresh_from_db()
        return bool(revoked)

    @staticmethod
    def refusal_for(action):
        """Why no standing approval can be made from `action`, or "": never for an irreversible
        type (each of those waits for a person), and only from an approved action."""
        if action.action_type.irreversible:
            return "This type is irreversible: a standing approval never applies to it, so each one waits for a person."
        if action.status not in ("approved", "executed", "failed"):
            return f"Only an approved action can allow similar ones; this one is {action.status}."
        return ""

    @classmethod
    def for_edited_call(cls, *, action, by):
        """One use, bound to exactly the parameters `by` approved with edits, for an SDK that cannot
        run a call with other arguments (HumanLayer, the OpenAI Agents SDK): the agent calls again
        with them, and that call
        is approved at once instead of being reviewed a second time. Made once per action (the
        caller holds the action's row lock); audited as a policy change."""
        existing = cls.objects.filter(created_from_action=action.pk, max_uses=1).first()
        if existing is not None:
            return existing
        constraints = {name: {"equals": value} for name, value in action.final_params.items()}
        return cls.allow_similar(action=action, by=by, constraints=constraints, max_uses=1)

    @classmethod
    def allow_similar(cls, *, action, by, constraints, duration=None, max_uses=10):
        """Create one from an approved action (the inbox's "approve and allow similar")."""
        from audit.log import Actor, record

        refusal = cls.refusal_for(action)
        if refusal:
            raise ValidationError(refusal)
        duration = duration or cls.DEFAULT_DURATION
        now = timezone.now()
        standing = cls(
            action_type=action.action_type,
            agent=action.agent,
            constraints=constraints,
            expires_at=now + min(duration, cls.MAX_DURATION),
            max_uses=max_uses,
            created_by=by,
            created_from_action=action.pk,
            created_at=now,
        )
        standing.full_clean()
        with transaction.atomic():
            standing.save()
            record(
                kind="policy.changed",
                actor=Actor.user(by),
                action=action,
                data={
                    "what": "standing approval created",
                    "standing_approval": standing.pk,
                    "constraints": constraints,
                    "expires_at": standing.expires_at.isoformat(),
                    "max_uses": max_uses,
                },
            )
        return standing


def constraint_problems(constraints):
    if not isinstance(constraints, dict):
        return ['A mapping of parameter names to {"equals": value} or {"min": n, "max": n}.']
    problems = []
    for name, constraint in constraints.items():
        if not isinstance(constraint, dict) or not constraint or set(constraint) - {"equals", "min", "max"}:
            problems.append(f'{name}: use {{"equals": value}} or {{"min": n, "max": n}}')
        elif "equals" in constraint and len(constraint) > 1:
            problems.append(f"{name}: equals cannot be combined with a range")
        elif any(
            isinstance(constraint[k], bool) or not isinstance(constraint[k], int | float)
            for k in ("min", "max")
            if k in constraint
        ):
            problems.append(f"{name}: min and max are numbers")
    return problems


def webhook_fingerprint(url):
    """A webhook URL as policies show it: a Slack incoming webhook's path is its credential, so
    only the scheme and host appear, with a hash that changes when the URL does."""
    if not url:
        return ""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}/… (sha256 {hashlib.sha256(url.encode()).hexdigest()[:12]})"


class EscalationTier(models.Model):
    """Who a pending action goes to when the people before them let its deadline pass.

    Tiers are tried in `position` order; the action type's own SLA is the time its first
    reviewers have, and each tier's `duration` the time that tier has after it is notified.
    """

    action_type = models.ForeignKey(ActionType, on_delete=models.CASCADE, related_name="escalation_tiers")
    position = models.PositiveSmallIntegerField(default=1, help_text="1 is the first tier escalated to.")
    group = models.ForeignKey(
        "auth.Group",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="escalation_tiers",
        help_text="Reviewers who may decide actions escalated to this tier; they are notified too.",
    )
    emails = models.TextField(blank=True, help_text="Addresses to notify, one per line.")
    webhook_url = models.URLField(
        blank=True, help_text="Notified with a Slack incoming-webhook payload, signed with an HMAC header."
    )
    duration = models.DurationField(
        default=timedelta(minutes=30), help_text="How long this tier has before the next one (or the fallback)."
    )
    slack_channel = models.CharField(
        max_length=80,
        blank=True,
        help_text="Optional. The Slack channel (C…) where an action escalated to this tier is posted, with buttons.",
    )

    class Meta:
        ordering = ["action_type", "position"]
        constraints = [
            models.UniqueConstraint(fields=["action_type", "position"], name="one_escalation_tier_per_position")
        ]

    def __str__(self):
        return f"{self.action_type.key} tier {self.position}"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        if self.group_id:
            # A tier's group must be able to decide what is escalated to it.
            from guardian.shortcuts import assign_perm

            assign_perm("policies.review_actiontype", self.group, self.action_type)

    def email_list(self):
        return [line.strip() for line in self.emails.replace(",", "\n").splitlines() if line.strip()]

    def as_policy(self):
        """The tier as `ActionType.policy_snapshot()` has it, for diffs and `policies export`."""
        from django.utils.duration import duration_string

        return {
            "position": self.position,
            "group": self.group.name if self.group_id else None,
            "emails": self.email_list(),
            "duration": duration_string(self.duration),
            "webhook": webhook_fingerprint(self.webhook_url),
            "slack_channel": self.slack_channel,
        }

    def clean(self):
        for address in self.email_list():
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError({"emails": f"Not an email address: {address}"}) from None
        if self.duration is not None and self.duration <= timedelta(0):
            raise ValidationError({"duration": "A tier needs some time to decide."})



# Shadow policies: a candidate version of a type's policy that routes beside the live one
# (policies/shadow.py routes by it; insights/shadow.py reports on it).

# What a candidate may change: the autonomy level, the rules and the risk gates. Everything else
# (the schema, the kill switch, reviewers, SLA) is the live policy's, since it shapes no route or
# is not the candidate's to try.
CANDIDATE_FIELDS = [
    "autonomy",
    "allow_irreversible_unattended",
    "blast_radius",
    "confidence_threshold",
    "first_use_threshold",
    "rate_limit",
]
RULE_KEYS = {"name", "expression", "level"}
PERSON = {Autonomy.SUGGEST, Autonomy.CONFIRM}  # the levels at which a person sees a proposal


class ShadowPolicyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=ShadowPolicy.Status.ACTIVE)


class ShadowPolicy(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Shadowing live traffic"
        PROMOTED = "promoted", "Promoted to the live policy"
        DISCARDED = "discarded", "Discarded"

    class Origin(models.TextChoices):
        ADMIN = "admin", "Written in the admin"
        OFFER = "earned autonomy offer", "An earned-autonomy offer, tried as a shadow first"
        DOCUMENT = "policies document", "The policies document"

    action_type = models.ForeignKey(ActionType, on_delete=models.CASCADE, related_name="shadow_policies")
    status = models.CharField(max_length=16, choices=Status, default=Status.ACTIVE, editable=False)
    origin = models.CharField(max_length=32, choices=Origin, default=Origin.ADMIN, editable=False)
    autonomy = models.CharField(max_length=16, choices=Autonomy, default=Autonomy.CONFIRM)
    allow_irreversible_unattended = models.BooleanField("let irreversible actions run without a person", default=False)
    blast_radius = models.CharField(max_length=8, choices=BlastRadius, default=BlastRadius.LOW)
    confidence_threshold = models.CharField(max_length=8, blank=True)
    first_use_threshold = models.PositiveIntegerField(default=5)
    rate_limit = models.PositiveIntegerField(null=True, blank=True)
    rules = models.JSONField(
        default=list,
        blank=True,
        help_text='The candidate\'s rules, replacing the live ones: [{"name": "large refund", '
        '"expression": "params.amount > 500", "level": "confirm"}].',
    )
    note = models.CharField(
        max_length=500, blank=True, help_text="What the candidate tries, for whoever reads the report."
    )
    based_on_version = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    ended_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ShadowPolicyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "shadow policy"
        verbose_name_plural = "shadow policies"
        constraints = [
            models.UniqueConstraint(
                fields=["action_type"], condition=models.Q(status="active"), name="one_active_shadow_per_type"
            )
        ]

    def __str__(self):
        return f"shadow #{self.pk} of {self.action_type.key}"

    @classmethod
    def from_live(cls, action_type, **changes):
        """An unsaved candidate that starts as a copy of the live policy, with `changes` applied."""
        candidate = cls(action_type=action_type, based_on_version=action_type.version)
        for name in CANDIDATE_FIELDS:
            setattr(candidate, name, getattr(action_type, name))
        candidate.rules = [
            {"name": rule.name, "expression": rule.expression, "level": rule.level} for rule in action_type.rules.all()
        ]
        for name, value in changes.items():
            setattr(candidate, name, value)
        return candidate

    def clean(self):
        threshold = confidence_value(self.confidence_threshold) if self.confidence_threshold else 0
        if threshold is None or not 0 <= threshold <= 1:
            raise ValidationError({"confidence_threshold": "A number from 0 to 1, or low, medium or high."})
        if problems := rule_problems(self.rules):
            raise ValidationError({"rules": "; ".join(problems)})
        if self.action_type_id and self.status == self.Status.ACTIVE:
            others = ShadowPolicy.objects.active().filter(action_type=self.action_type_id).exclude(pk=self.pk)
            if others.exists():
                raise ValidationError(
                    f"'{self.action_type.key}' already has a shadow policy: promote or discard it first."
                )

    def as_policy(self):
        """The candidate as plain data, as the policies document and the audit log show it."""
        return {name: getattr(self, name) for name in CANDIDATE_FIELDS} | {"rules": self.rules, "note": self.note}

    def candidate(self, action_type=None):
        """(an unsaved copy of the type carrying the candidate's fields, its unsaved rules): what
        routing is given in place of the live policy."""
        candidate = copy.copy(action_type or self.action_type)
        for name in CANDIDATE_FIELDS:
            setattr(candidate, name, getattr(self, name))
        return candidate, self.candidate_rules

    @cached_property
    def candidate_rules(self):
        """The candidate's rules as unsaved Rules, built once: a candidate is not edited once it runs,
        and the policies cache keeps this instance for every proposal of its generation."""
        return [
            Rule(name=spec["name"], expression=spec["expression"], level=spec.get("level", Autonomy.CONFIRM), order=i)
            for i, spec in enumerate(self.rules)
        ]

    def differences(self):
        """{field: {"from": live, "to": candidate}} where the candidate differs from the live policy."""
        live = ShadowPolicy.from_live(self.action_type).as_policy()
        mine = self.as_policy()
        return {
            name: {"from": live[name], "to": mine[name]} for name in mine if name != "note" and live[name] != mine[name]
        }

    def difference_rows(self):
        """(setting, live, candidate) in words, for the report: rules as "name: expression → level"."""

        def words(value):
            if isinstance(value, list):
                return "; ".join(
                    f"{rule['name']}: {rule['expression']} → {rule.get('level', 'confirm')}" for rule in value
                )
            return "(none)" if value in ("", None) else str(value)

        return [
            (name.replace("_", " "), words(change["from"]), words(change["to"]))
            for name, change in self.differences().items()
        ]

    def record_started(self, *, by):
        from audit.log import record

        record(
            kind="policy.changed",
            actor=_actor(by),
            action_type=self.action_type.key,
            data={
                "what": "shadow policy started",
                "shadow_policy": self.pk,
                "origin": self.origin,
                "version": self.action_type.version,
                "candidate": self.as_policy(),
                "diff": self.differences(),
            },
        )

    @classmethod
    def start(cls, *, action_type, by, origin=Origin.ADMIN, **changes):
        """Save a new active candidate and audit it; ValidationError while another is active."""
        shadow = cls.from_live(action_type, **changes)
        shadow.origin, shadow.created_by = origin, by
        shadow.full_clean()
        with transaction.atomic():
            shadow.save()
            shadow.record_started(by=by)
        return shadow

    def promote(self, *, by):
        """Make the candidate the live policy: its fields and rules replace the type's, in one
        transaction with the type's `policy.changed` event and the shadow's end."""
        from audit.log import Actor, record

        with transaction.atomic():
            self._end(status=self.Status.PROMOTED, by=by)
            action_type = ActionType.objects.select_for_update().get(pk=self.action_type_id)
            before = action_type.policy_snapshot()
            for name in CANDIDATE_FIELDS:
                setattr(action_type, name, getattr(self, name))
            action_type.full_clean(exclude=["key"])
            action_type.save(update_fields=CANDIDATE_FIELDS)
            _, rules = self.candidate(action_type)
            action_type.rules.all().delete()
            for rule in rules:
                rule.action_type = action_type
                rule.save()
            what = f"shadow policy #{self.pk} promoted"
            if action_type.record_change(by=by, before=before, what=what) is None:
                # A candidate identical to the live policy changes nothing, but its end is still recorded.
                record(
                    kind="policy.changed",
                    actor=Actor.user(by),
                    action_type=action_type.key,
                    data={"what": what, "shadow_policy": self.pk, "version": action_type.version, "diff": {}},
                )
        self.action_type = action_type
        return action_type

    def discard(self, *, by):
        from audit.log import record

        with transaction.atomic():
            self._end(status=self.Status.DISCARDED, by=by)
            record(
                kind="policy.changed",
                actor=_actor(by),
                action_type=self.action_type.key,
                data={"what": "shadow policy discarded", "shadow_policy": self.pk, "candidate": self.as_policy()},
            )

    def _end(self, *, status, by):
        """Claim the active candidate: of two people clicking at once, one wins and the other is told."""
        now = timezone.now()
        claimed = ShadowPolicy.objects.active().filter(pk=self.pk).update(status=status, ended_by=by, ended_at=now)
        if claimed != 1:
            self.refresh_from_db()
            raise ValidationError(f"This shadow policy is already {self.get_status_display().lower()}.")
        self.status, self.ended_by, self.ended_at = status, by, now


def _actor(by):
    from audit.log import Actor

    return Actor.user(by) if by is not None else Actor.system("policies import")


def rule_problems(rules):
    from policies.rules import compile_expression

    if not isinstance(rules, list):
        return ['a list of rules, each {"name": …, "expression": …, "level": …}']
    problems, names = [], set()
    for index, spec in enumerate(rules):
        here = f"rule {index + 1}"
        if not isinstance(spec, dict) or not {"name", "expression"} <= set(spec) or set(spec) - RULE_KEYS:
            problems.append(f'{here}: {{"name": …, "expression": …, "level": …}}')
            continue
        if not isinstance(spec["name"], str) or not spec["name"].strip():
            problems.append(f"{here}: a name")
        elif spec["name"] in names:
            problems.append(f"{here}: another rule is called {spec['name']!r}")
        names.add(spec.get("name"))
        if spec.get("level", Autonomy.CONFIRM) not in Autonomy.values:
            problems.append(f"{here}: level is one of {', '.join(Autonomy.values)}")
        try:
            compile_expression(str(spec["expression"]))
        except ValueError as error:
            problems.append(f"{here}: not a valid CEL expression: {error}")
    return problems
