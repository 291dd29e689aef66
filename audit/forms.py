"""The audit search, as it travels in the URL: `/audit/?q=…&kind=…&agent=…`."""

from django import forms

from audit.models import Event

KNOWN_KINDS = [
    "action.proposed",
    "action.routed",
    "checker.verdict",
    "action.approved",
    "action.edited",
    "action.rejected",
    "action.escalated",
    "action.expired",
    "action.cancelled",
    "action.executed",
    "action.failed",
    "question.asked",
    "question.answered",
    "question.expedited",
    "question.escalated",  # question.expedited, as events written before that name call it
    "sample.graded",
    "escalation.opened",
    "escalation.claimed",
    "escalation.resolved",
    "policy.changed",
    "user.login",
    "user.login_failed",
    "user.logout",
    "audit.exported",
]
OUTCOMES = ["approved", "edited", "rejected", "expired", "cancelled", "executed", "failed"]


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=500, label="Search")
    since = forms.DateTimeField(required=False, label="From")
    until = forms.DateTimeField(required=False, label="Until")
    agent = forms.CharField(required=False, max_length=200, help_text="The start of its name, in any case.")
    action_type = forms.CharField(required=False, max_length=200, label="Action type")
    kind = forms.CharField(required=False, max_length=64)
    actor = forms.CharField(required=False, max_length=200)
    outcome = forms.ChoiceField(required=False, choices=[("", "any")] + [(o, o) for o in OUTCOMES])
    session = forms.CharField(required=False, max_length=200)
    model = forms.CharField(required=False, max_length=200)
    prompt_version = forms.CharField(required=False, max_length=200, label="Prompt version")
    # The keyset cursor: the page holds events with a smaller seq than this.
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    EXACT_FILTERS = {
        "action_type": "action_type",
        "kind": "kind",
        "actor": "actor_name",
        "session": "session_id",
        "model": "model",
        "prompt_version": "prompt_version",
    }

    def events(self):
        """The matching events (any order; callers page or stream them newest first)."""
        data = self.cleaned_data
        events = Event.objects.defer("search")
        if data["q"].strip():
            events = events.matching(data["q"].strip())
        for name, column in self.EXACT_FILTERS.items():
            if data[name].strip():
                events = events.filter(**{column: data[name].strip()})
        if data["agent"].strip():
            # Agents are named by their developers ("Billing-Agent", "billing-agent-v2"): the
            # start of the name in any case finds them, on the UPPER(agent) index.
            events = events.filter(agent__istartswith=data["agent"].strip())
        if data["since"]:
            events = events.filter(at__gte=data["since"])
        if data["until"]:
            events = events.filter(at__lt=data["until"])
        if data["outcome"]:
            events = events.with_outcome(data["outcome"])
        return events

    def criteria(self):
        """The search without its cursor, as recorded with an export."""
        return {
            name: (value.isoformat() if hasattr(value, "isoformat") else value)
            for name, value in self.cleaned_data.items()
            if name != "before" and value not in ("", None)
        }
