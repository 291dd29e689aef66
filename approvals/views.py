"""The reviewer's pages: the inbox, one action, and the decisions taken from them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from approvals.models import Action, Conflict, Execution, NotificationPreference, Sample, UserEscalation
from approvals.sampling import error_rates
from approvals.tasks import execute_action
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


# The sample queue: auto-approved actions drawn for grading, and what the grades say.


def _require_sample_reviewer(request):
    if not (request.user.is_superuser or request.user.groups.filter(name="sample_reviewers").exists()):
        raise PermissionDenied("Only sample reviewers grade samples.")


@require_GET
@login_required
def samples(request):
    _require_sample_reviewer(request)
    queue = (
        Sample.objects.filter(grade="")
        .select_related("action__action_type", "action__agent")
        .order_by("drawn_at", "action_id")[:50]
    )
    graded = Sample.objects.exclude(grade="").select_related("action__action_type").order_by("-graded_at")[:20]
    return render(
        request,
        "approvals/samples.html",
        {"queue": queue, "graded": graded, "error_rates": error_rates(), "grades": Sample.Grade},
    )


@require_POST
@login_required
def grade_sample(request, pk):
    _require_sample_reviewer(request)
    sample = get_object_or_404(Sample.objects.select_related("action__action_type", "action__agent"), pk=pk)
    grade, note = request.POST.get("grade", ""), request.POST.get("note", "").strip()[:5000]
    error = ""
    if grade not in Sample.Grade.values:
        error = "Choose correct, incorrect or unsure."
    else:
        try:
            sample.grade_as(by=request.user, grade=grade, note=note)
        except Conflict as conflict:
            error = str(conflict)
    if request.htmx:
        return render(
            request, "approvals/samples.html#sample", {"sample": sample, "error": error, "grades": Sample.Grade}
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Graded {sample.grade}: {sample.action.summary}")
    return redirect("approvals:samples")


@require_POST
@login_required
def resolve_escalation(request, pk):
    escalation = get_object_or_404(UserEscalation.objects.select_related("agent", "action__action_type"), pk=pk)
    if not UserEscalation.objects.filter(pk=pk).visible_to(request.user).exists():
        raise PermissionDenied("You may not review the actions this escalation is about.")
    error = ""
    try:
        escalation.resolve(by=request.user)
    except Conflict as conflict:
        error = str(conflict)
    if request.htmx:
        return render(request, "approvals/user_escalations.html#escalation", {"escalation": escalation, "error": error})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"{escalation.get_kind_display()} from {escalation.agent.name}: resolved.")
    return redirect("approvals:inbox")


@login_required
@require_http_methods(["GET", "POST"])
def notification_preferences(request):
    """A reviewer chooses one message per action or an hourly or daily digest."""
    preference, _ = NotificationPreference.objects.get_or_create(user=request.user)
    if request.method == "POST":
        delivery = request.POST.get("delivery", "")
        if delivery not in NotificationPreference.Delivery.values:
            messages.error(request, "Choose one message each, an hourly digest or a daily digest.")
        else:
            preference.delivery = delivery
            preference.save(update_fields=["delivery"])
            messages.success(request, f"Notifications: {preference.get_delivery_display().lower()}.")
        return redirect("approvals:notification_preferences")
    return render(
        request,
        "approvals/notification_preferences.html",
        {"preference": preference, "choices": NotificationPreference.Delivery.choices},
    )


@require_POST
@login_required
def execute(request, pk):
    """Have the action type's executor run a suggestion or an approved action."""
    action = _get_action_for_reviewer(request, pk)
    try:
        Execution.request(action, by=request.user)
    except Conflict as conflict:
        messages.error(request, str(conflict))
    else:
        execute_action.delay_on_commit(action.pk)
        messages.success(request, f"{action.summary}: sent to the executor.")
    return redirect(action)
