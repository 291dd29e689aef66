"""Action types, agents and their tokens: what may be proposed, by whom, and how it is routed."""

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
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
