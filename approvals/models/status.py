"""The statuses of an action, apart from the model, so that the rows that deliver news of an
action (approvals.models.outbox) can name them without importing it."""

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
