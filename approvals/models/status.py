"""The statuses of an action and the name its SLA's timeout decides under, apart from the model,
so that what reports on an action (approvals.models.outbox, approvals.tracing) can name them
without importing it."""

from django.db import models


class ActionStatus(models.TextChoices):
    SUGGESTED = "suggested"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    EXECUTED = "executed"
    FAILED = "failed"
    DISMISSED = "dismissed"


SLA_TIMEOUT_NAME = "sla-timeout"  # the decider's name on a timeout fallback's decision
