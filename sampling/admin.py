from django.contrib import admin

from policies.admin import ActionTypeAdmin
from sampling.error_rates import error_rate_for


@admin.display(description="Sampled error rate")
def sampling_recommendation(action_type):
    """The sample page's verdict, as a column on the action types' list."""
    rate = error_rate_for(action_type)
    if not rate.judged:
        return "No graded samples yet"
    return f"{rate.text}, {rate.judged} graded: {rate.recommendation}"


# Added from here so that policies/admin.py needs no import of sampling (policies comes first).
ActionTypeAdmin.list_display = [*ActionTypeAdmin.list_display, sampling_recommendation]
