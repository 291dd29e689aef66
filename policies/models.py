"""Action types, agents and their tokens: what may be proposed, by whom, and how it is routed."""

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, validate_email
from django.db import models
from django.utils import timezone
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError


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


class TimeoutFallback(models.TextChoices):
    REJECT = "reject", "Reject"
    EXPIRE = "expire", "Expire (the agent sees it as not approved)"
    APPROVE = "approve", "Approve (never for irreversible action types)"


class ActionType(models.Model):
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
    sla = models.DurationField(default=timedelta(minutes=30), help_text="How long a person has to decide.")
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
    executor_url = models.URLField(
        blank=True,
        help_text="Optional webhook that executes this action when a person runs it from the dashboard; "
        "it receives the final parameters, signed.",
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        permissions = [("review_actiontype", "Can review actions of this type")]

    def __str__(self):
        return self.key

    def clean(self):
        try:
            Draft202012Validator.check_schema(self.params_schema)
        except SchemaError as error:
            raise ValidationError({"params_schema": f"Not a valid JSON Schema: {error.message}"}) from None
        if not isinstance(self.editable_params, list) or not all(
            isinstance(name, str) for name in self.editable_params
        ):
            raise ValidationError({"editable_params": "A list of parameter names."})
        if self.irreversible and self.timeout_fallback == TimeoutFallback.APPROVE:
            raise ValidationError({"timeout_fallback": "An irreversible action is never approved by a timeout."})

    def params_errors(self, params):
        """Every way `params` fails the schema, as [{"path": "amount", "message": …}]."""
        validator = Draft202012Validator(self.params_schema)
        return [
            {"path": ".".join(str(part) for part in error.absolute_path) or "(root)", "message": error.message}
            for error in sorted(validator.iter_errors(params), key=lambda e: list(map(str, e.absolute_path)))
        ]

    def render_summary(self, params):
        from policies.summary import render_summary

        return render_summary(self, params)


class Agent(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

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
        token = cls.objects.active().select_related("agent").filter(digest=cls.digest_of(secret)).first()
        return token.agent if token else None

    def revoke(self):
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])


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

    def clean(self):
        for address in self.email_list():
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError({"emails": f"Not an email address: {address}"}) from None
        if self.duration is not None and self.duration <= timedelta(0):
            raise ValidationError({"duration": "A tier needs some time to decide."})
