"""`{% user_escalations %}`: the end users' open escalations, for the top of the inbox."""

from django import template

from approvals.models import UserEscalation

register = template.Library()


@register.inclusion_tag("approvals/user_escalations.html", takes_context=True)
def user_escalations(context):
    request = context["request"]
    # The inbox's view reads them once for both the page and its poll token.
    escalations = context.get("user_escalations")
    if escalations is None:
        escalations = UserEscalation.objects.for_inbox(request.user)
    return {"escalations": escalations, "request": request, "csrf_token": context.get("csrf_token")}
