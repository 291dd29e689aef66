"""The approvals app's models, by what they are: an action and its decisions (`action`, with what
a card shows in `card`), what else asks a person (`asks`: appeals, questions), the rows that
deliver news of an action (`outbox`), a tool's output held for a person (`output_review`), and
what the decision channels keep (`channels`)."""

from approvals.models.action import (
    ACTION_CHANNEL,
    BREACH_HORIZON,
    CHANNELS,
    FALLING_BEHIND_MIN,
    HEALTH_WINDOW,
    INBOX_CHANNEL,
    TIMED_OUT_WINDOW,
    Action,
    ActionQuerySet,
    Approval,
    BatchConflict,
    Conflict,
    Decision,
    InvalidEdit,
    NotAllowedToApprove,
    announce,
    decision_channel,
    notify,
    params_diff,
)
from approvals.models.asks import Appeal, AppealQuerySet, Question, QuestionQuerySet
from approvals.models.card import ActionCard, Param
from approvals.models.channels import NotificationPreference, SlackUser, SpentToken
from approvals.models.outbox import CallbackDelivery, Execution, Notification, Outbox, SlackMessage
from approvals.models.output_review import OutputReview
from approvals.models.status import SLA_TIMEOUT_NAME, ActionStatus

__all__ = [
    "ACTION_CHANNEL",
    "BREACH_HORIZON",
    "CHANNELS",
    "FALLING_BEHIND_MIN",
    "HEALTH_WINDOW",
    "INBOX_CHANNEL",
    "SLA_TIMEOUT_NAME",
    "TIMED_OUT_WINDOW",
    "Action",
    "ActionCard",
    "ActionQuerySet",
    "ActionStatus",
    "Appeal",
    "AppealQuerySet",
    "Approval",
    "BatchConflict",
    "CallbackDelivery",
    "Conflict",
    "Decision",
    "Execution",
    "InvalidEdit",
    "NotAllowedToApprove",
    "Notification",
    "NotificationPreference",
    "Outbox",
    "OutputReview",
    "Param",
    "Question",
    "QuestionQuerySet",
    "SlackMessage",
    "SlackUser",
    "SpentToken",
    "announce",
    "decision_channel",
    "notify",
    "params_diff",
]
