"""What the insights page covers: a date range, an agent and an action type."""

from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone

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
