"""`{% user_escalations %}`: the end users' open escalations, for the top of the inbox."""

from django import template

from approvals.models import UserEscalation

register = template.Library()


@register.inclusion_tag("approvals/user_escalations.html", takes_context=True)
def user_escalations(context):
    request = context["request"]
    escalations = (
        UserEscalation.objects.open()
        .visible_to(request.user)
        .select_related("agent", "action__action_type")
        .order_by("due_at")[:50]
    )
    return {"escalations": escalations, "request": request, "csrf_token": context.get("csrf_token")}
