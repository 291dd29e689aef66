"""Deciding outside the inbox: Slack's interactivity requests, the link between a Slack user and
a Countersign user, and the confirmation page behind an email's Approve and Reject links."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from approvals import slack, slack_payloads
from approvals.forms import RejectForm
from approvals.models import Action, Conflict, SlackUser, SpentToken
from approvals.notifications import read_decision_link


@csrf_exempt  # Slack signs its requests instead (slack.verify)
@require_POST
def slack_interactions(request):
    if not slack.verify(request):
        return HttpResponse("Invalid, stale or replayed Slack signature.", status=401, content_type="text/plain")
    try:
        payload = slack_payloads.parse(request.POST.get("payload", ""))
    except slack_payloads.Malformed as malformed:
        return HttpResponse(str(malformed), status=400, content_type="text/plain")
    if payload is None:  # a kind of interaction Countersign does not act on
        return HttpResponse(status=200)
    status, body = slack.handle(payload)
    return JsonResponse(body, status=status) if body is not None else HttpResponse(status=status)


@login_required
@require_http_methods(["GET", "POST"])
def slack_link(request, token):
    """The link Slack gives a user it cannot match by email: opened while logged in, and
    confirmed with a POST, it makes that Slack user this Countersign user."""
    try:
        slack_user_id = slack.slack_user_for_link(token)
    except signing.BadSignature:
        return render(
            request, "approvals/slack_link.html", {"error": "This link is not valid or has expired."}, status=400
        )
    if request.method == "POST":
        SlackUser.objects.filter(user=request.user).delete()
        SlackUser.objects.update_or_create(
            slack_user_id=slack_user_id, defaults={"user": request.user, "via": SlackUser.Via.LINK}
        )
        messages.success(request, "Your Slack account is linked: its buttons now decide as you.")
        return redirect("approvals:notification_preferences")
    return render(request, "approvals/slack_link.html", {"slack_user_id": slack_user_id})


@login_required
@require_POST
def slack_unlink(request):
    SlackUser.objects.filter(user=request.user).delete()
    messages.success(request, "Your Slack account is no longer linked.")
    return redirect("approvals:notification_preferences")


@login_required  # a reviewer who is not logged in logs in and comes back here
@require_http_methods(["GET", "POST"])
def email_decide(request, token):
    """An email's Approve or Reject link: a GET shows the card and one button; only that
    button's POST decides, once, as the reviewer the link was sent to."""
    try:
        link = read_decision_link(token)
    except signing.SignatureExpired:
        return _link_refused(request, "This link has expired. Open the action in Countersign instead.", 400)
    except signing.BadSignature:
        return _link_refused(request, "This link is not valid.", 400)
    if link["u"] != request.user.pk:
        return _link_refused(request, "This link was sent to another reviewer.", 403)
    action = Action.objects.select_related("action_type", "agent").filter(pk=link["a"]).first()
    if action is None:
        return _link_refused(request, "This action no longer exists.", 404)
    if not action.is_reviewable_by(request.user):
        return _link_refused(request, action.refusal_for(request.user, link["v"]), 403)
    spent = SpentToken.objects.filter(key=f"email:{link['n']}").exists()
    context = {"action": action, "verdict": link["v"], "reject_form": RejectForm(request.POST or None)}
    if spent or (refusal := action.refusal_for(request.user, link["v"])):
        context["error"] = "This link was used already." if spent else refusal
        return render(request, "approvals/email_decide.html", context, status=409)
    if request.method == "GET":
        return render(request, "approvals/email_decide.html", context)
    if link["v"] == "reject" and not context["reject_form"].is_valid():
        context["error"] = " ".join(context["reject_form"].non_field_errors())
        return render(request, "approvals/email_decide.html", context, status=422)
    try:
        with transaction.atomic():
            if not SpentToken.spend(f"email:{link['n']}"):
                raise Conflict("This link was used already.")
            if link["v"] == "approve":
                decision = action.approve(by=request.user, channel="email")
            else:
                reason = context["reject_form"].cleaned_data["text"]
                decision = action.reject(by=request.user, reason=reason, channel="email")
    except Conflict as conflict:
        context["error"] = str(conflict)
        return render(request, "approvals/email_decide.html", context, status=409)
    if decision is None:
        messages.success(request, action.approval_progress())
    else:
        messages.success(request, f"{decision.verdict.capitalize()}: {action.current_summary}.")
    return redirect(action)


def _link_refused(request, error, status):
    return render(request, "approvals/email_decide.html", {"error": error}, status=status)
