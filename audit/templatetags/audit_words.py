"""Event kinds in words for the timeline a supervisor reads ("Approved", not `action.approved`);
the code stays beside them for whoever searches the log by kind."""

from django import template

register = template.Library()

KIND_WORDS = {
    "action.proposed": "Proposed by the agent",
    "action.routed": "Routed by the policy",
    "action.refused": "Refused",
    "checker.verdict": "Checker's verdict",
    "action.approval_recorded": "Approval recorded",
    "action.approved": "Approved",
    "action.edited": "Approved with changes",
    "action.rejected": "Rejected",
    "action.warned": "Deadline near",
    "action.escalated": "Escalated",
    "action.escalation_requested": "Escalation requested",
    "action.expired": "Expired",
    "action.cancelled": "Cancelled by the agent",
    "action.dismissed": "Dismissed",
    "action.executed": "Ran",
    "action.failed": "Failed when run",
    "callback.delivered": "Decision sent to the agent's callback",
    "callback.failed": "Callback failed",
    "sample.graded": "Sample graded",
    "policy.changed": "Policy changed",
    "escalation.opened": "End user asked for a person",
    "escalation.claimed": "Appeal taken on",
    "escalation.resolved": "Appeal resolved",
    "question.asked": "Agent asked a question",
    "question.answered": "Question answered",
    "question.expedited": "Question made urgent",
    "user.login": "Logged in",
    "user.logout": "Logged out",
    "user.login_failed": "Failed login",
    "audit.exported": "Audit log exported",
}


@register.filter
def kind_words(kind):
    """The event kind as a person reads it; an unknown kind as itself."""
    return KIND_WORDS.get(kind, kind)
