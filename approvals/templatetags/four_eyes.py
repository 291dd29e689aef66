"""`{% approval_refusal action as why %}`: why the person looking may not approve this card
(four eyes), or "" when they may."""

from django import template

from approvals.models import NotAllowedToApprove

register = template.Library()


@register.simple_tag(takes_context=True)
def approval_refusal(context, action):
    user = context["request"].user
    if any(approval.by_id == user.pk for approval in action.approvals.all()):
        return "You approved it already; it waits for another approver."
    try:
        action._check_may_approve(user)
    except NotAllowedToApprove as refusal:
        return str(refusal)
    return ""
