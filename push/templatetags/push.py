"""The preferences page's "Push notifications" section, from the push app:
`{% load push %}{% push_preferences %}` (approvals' template, which knows nothing of push's models)."""

from django import template
from django.conf import settings

from push import vapid

register = template.Library()


@register.inclusion_tag("push/preferences.html", takes_context=True)
def push_preferences(context):
    user = context["request"].user
    configured = vapid.configured()
    return {
        "configured": configured,
        "vapid_key": vapid.public_key() if configured else "",
        "subscriptions": list(user.push_subscriptions.all()) if configured else [],
        "bare": settings.HITL_PUSH_PAYLOAD == "bare",
        "approve_types": settings.HITL_PUSH_APPROVE_ACTION_TYPES,
        "csrf_token": context.get("csrf_token"),
    }
