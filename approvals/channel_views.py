"""Deciding outside the inbox: Slack's interactivity requests, the link between a Slack user and
a Countersign user, and the confirmation page behind an email's Approve and Reject links."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from approvals import slack
from approvals.models import SlackUser


@csrf_exempt  # Slack signs its requests instead (slack.verify)
@require_POST
def slack_interactions(request):
    if not slack.verify(request):
        return HttpResponse("Invalid, stale or replayed Slack signature.", status=401, content_type="text/plain")
    try:
        payload = json.loads(request.POST.get("payload", ""))
    except ValueError:
        return HttpResponse("The payload is not JSON.", status=400, content_type="text/plain")
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
