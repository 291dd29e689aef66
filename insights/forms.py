"""What the insights page covers: a date range, an agent and an action type."""

from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone

from insights.evaluation import DECIDERS, VERDICTS
from insights.reports import Window
from policies.models import ActionType, Agent

LONGEST_RANGE = timedelta(days=366)


class InsightsForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="inclusive")
    agent = forms.ModelChoiceField(Agent.objects.all(), to_field_name="name", required=False, empty_label="All agents")
    action_type = forms.ModelChoiceField(
        ActionType.objects.all(), to_field_name="key", required=False, empty_label="All action types"
    )

    def clean(self):
        data = super().clean()
        end = data.get("end") or timezone.now().date()
        start = data.get("start") or end - timedelta(days=6)
        if start > end:
            raise forms.ValidationError("The start date is after the end date.")
        if end - start >= LONGEST_RANGE:
            raise forms.ValidationError("Choose at most a year.")
        data["start"], data["end"] = start, end
        return data

    def window(self):
        data = self.cleaned_data
        start = datetime.combine(data["start"], time.min, tzinfo=timezone.get_current_timezone())
        end = datetime.combine(data["end"] + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone())
        return Window(start=start, end=end, agent=data["agent"], action_type=data["action_type"])


class DecisionExportForm(forms.Form):
    """The decisions export's filters: type, proposal time (ISO 8601 dates or times), verdict, decider."""

    action_type = forms.ModelChoiceField(ActionType.objects.all(), to_field_name="key", required=False)
    since = forms.DateTimeField(required=False, help_text="proposed at or after")
    until = forms.DateTimeField(required=False, help_text="proposed before")
    decision = forms.ChoiceField(choices=[("", "any"), *((v, v) for v in VERDICTS)], required=False)
    decided_by = forms.ChoiceField(choices=[("", "anyone"), *((d, d) for d in DECIDERS)], required=False)

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise forms.ValidationError("since must be before until.")
        return data

    def filters(self):
        data = self.cleaned_data
        return {
            "action_type": data["action_type"].key if data.get("action_type") else None,
            "since": data.get("since"),
            "until": data.get("until"),
            "decision": data.get("decision") or None,
            "decided_by": data.get("decided_by") or None,
        }

    def criteria(self):
        """The filters as the audit event records them."""
        return {name: str(value) for name, value in self.filters().items() if value}


class CheckerEvaluationForm(forms.Form):
    """An external checker to try against people's decisions before enabling it live."""

    url = forms.URLField(
        label="checker URL", assume_scheme="https", help_text="Receives each decision's proposal as a signed POST."
    )
    secret = forms.CharField(label="checker secret", widget=forms.PasswordInput(render_value=True), max_length=200)
    timeout = forms.FloatField(label="timeout (seconds)", initial=2.0, min_value=0.1, max_value=30)
    action_type = forms.ModelChoiceField(
        ActionType.objects.all(), to_field_name="key", required=False, empty_label="All action types"
    )
    since = forms.DateTimeField(required=False, help_text="proposed at or after (ISO 8601); default: any time")
    limit = forms.IntegerField(
        initial=200, min_value=1, max_value=500, help_text="at most this many decisions are sent"
    )
