"""The reviewer's pages: the inbox, one action, and the decisions taken from them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from approvals.models import Action, Conflict
from audit.models import Event


def _get_action_for_reviewer(request, pk):
    action = get_object_or_404(Action.objects.select_related("action_type", "agent"), pk=pk)
    if not Action.objects.filter(pk=pk).reviewable_by(request.user).exists():
        raise PermissionDenied("You may not review actions of this type.")
    return action


@require_GET
@login_required
def inbox(request):
    actions = (
        Action.objects.awaiting_review()
        .reviewable_by(request.user)
        .select_related("action_type", "agent")
        .order_by("due_at", "created_at")
    )
    return render(request, "approvals/inbox.html", {"actions": actions})


@require_GET
@login_required
def action_detail(request, pk):
    action = _get_action_for_reviewer(request, pk)
    events = Event.objects.for_action(action.pk).defer("search")
    return render(request, "approvals/action.html", {"action": action, "events": events})


def _decided(request, action, error=""):
    """After a decision: the card again (htmx) or back to the inbox (a plain form post)."""
    if request.htmx:
        return render(request, "approvals/inbox.html#card", {"action": action, "error": error})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"{action.summary}: {action.status}.")
    return redirect("approvals:inbox")


@require_POST
@login_required
def approve(request, pk):
    action = _get_action_for_reviewer(request, pk)
    try:
        action.approve(by=request.user)
    except Conflict as conflict:
        return _decided(request, action, error=str(conflict))
    return _decided(request, action)


@require_POST
@login_required
def reject(request, pk):
    action = _get_action_for_reviewer(request, pk)
    reason = request.POST.get("reason", "").strip()
    if not reason:
        return _decided(request, action, error="Say why you reject it: the agent and the auditors read the reason.")
    try:
        action.reject(by=request.user, reason=reason)
    except Conflict as conflict:
        return _decided(request, action, error=str(conflict))
    return _decided(request, action)
