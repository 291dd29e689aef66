"""The installable inbox (its web app manifest and service worker), turning push notifications on
and off for a browser, and a notification's Approve."""

import base64
import json
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from approvals.models import Action, Conflict, SpentToken
from push import vapid
from push.messages import lock_screen_refusal, read_approve_token
from push.models import Subscription

SERVICE_WORKER = Path(__file__).resolve().parent / "static" / "push" / "sw.js"


@require_GET
def manifest(request):
    """The web app manifest: what a phone's "Add to Home screen" installs."""
    body = {
        "name": "Countersign",
        "short_name": "Countersign",
        "description": "Decide what your AI agents may do.",
        "id": "/",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1f5fbf",
        "icons": [
            {"src": static("push/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("push/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("push/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    return HttpResponse(json.dumps(body), content_type="application/manifest+json")


@cache
def _service_worker_source():
    return SERVICE_WORKER.read_bytes()


@require_GET
def service_worker(request):
    """The service worker, from the site's root so that its scope is the whole inbox. Never cached
    long: browsers look for a new one at each navigation anyway, and a stale one lingers."""
    response = HttpResponse(_service_worker_source(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


def endpoint_refusal(endpoint):
    """Why Countersign will not POST to this push endpoint, or "": an https URL on one of the
    push services of HITL_PUSH_SERVICE_HOSTS (Countersign POSTs there; nothing else may be named)."""
    if not isinstance(endpoint, str) or len(endpoint) > Subscription._meta.get_field("endpoint").max_length:
        return "The subscription's endpoint is not a URL of at most 2000 characters."
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    known = settings.HITL_PUSH_SERVICE_HOSTS
    listed = any(host == name or (name.startswith(".") and host.endswith(name)) for name in known)
    if not listed or "@" in parts.netloc:
        return f"The subscription's push service {host or '(none)'} is not one this server sends to."
    if parts.scheme != "https" and not (parts.scheme == "http" and host in ("127.0.0.1", "localhost")):
        return "The subscription's endpoint must be an https:// URL."
    return ""


def _base64url(value):
    if not isinstance(value, str) or len(value) > 200:
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        return None


def keys_refusal(p256dh, auth):
    """Why a subscription's keys cannot encrypt a message (RFC 8291): the browser's public key is an
    uncompressed P-256 point (65 bytes, 0x04 first), its auth secret 16 bytes; both base64url."""
    point, secret = _base64url(p256dh), _base64url(auth)
    if point is None or len(point) != 65 or point[0] != 4:
        return "The subscription's keys.p256dh is not a P-256 public key (65 bytes, base64url)."
    if secret is None or len(secret) != 16:
        return "The subscription's keys.auth is not a 16-byte secret (base64url)."
    return ""


@login_required
@require_POST
def subscribe(request):
    """This browser's subscription (PushSubscription.toJSON(), posted by push/register.js): push
    notifications on for it, as the logged-in person."""
    if not vapid.configured():
        return JsonResponse({"error": "Push notifications are off on this server."}, status=409)
    try:
        sent = json.loads(request.body)
        endpoint, keys = sent["endpoint"], sent["keys"]
        p256dh, auth = keys["p256dh"], keys["auth"]
    except (ValueError, KeyError, TypeError):
        return JsonResponse(
            {"error": "Send the subscription as JSON: endpoint, keys.p256dh and keys.auth."}, status=400
        )
    if refusal := keys_refusal(p256dh, auth):
        return JsonResponse({"error": refusal}, status=400)
    if refusal := endpoint_refusal(endpoint):
        return JsonResponse({"error": refusal}, status=422)
    # An endpoint is one browser's: subscribing it again (another person logged in there) moves it.
    Subscription.objects.update_or_create(
        endpoint=endpoint,
        defaults={
            "user": request.user,
            "p256dh": p256dh,
            "auth": auth,
            "device": Subscription.device_name(request.headers.get("User-Agent", "")),
        },
    )
    messages.success(request, "Push notifications are on for this browser.")
    return JsonResponse({"subscribed": True}, status=201)


@login_required
@require_POST
def unsubscribe(request):
    """Push notifications off: on every browser of this person (push/register.js also drops this
    browser's own subscription before the form is sent)."""
    deleted, _ = Subscription.objects.filter(user=request.user).delete()
    messages.success(request, "Push notifications are off." if deleted else "Push notifications were already off.")
    return redirect("approvals:notification_preferences")


@csrf_exempt  # the token is the proof a page's CSRF token would be: signed, for this person, spent once
@require_POST
def approve(request, token):
    """A notification's Approve, posted by the service worker with the person's session. The
    same checks and decision as an email link (approvals.channel_views.email_decide), plus the
    lock screen's own: a reversible action of a type allowed to be approved there."""
    if not request.user.is_authenticated:
        return _refused("Log in to Countersign to decide.", 401)
    # Posted by this site's own service worker: another site's page must not spend the token.
    if request.headers.get("Sec-Fetch-Site", "same-origin") != "same-origin":
        return _refused("Approve from the notification itself, or decide on the card.", 403)
    try:
        grant = read_approve_token(token)
    except signing.SignatureExpired:
        return _refused("This notification's Approve has expired. Decide on the card.", 400)
    except signing.BadSignature:
        return _refused("This Approve is not valid.", 400)
    if grant["u"] != request.user.pk:
        return _refused("This notification was sent to another reviewer.", 403)
    action = Action.objects.select_related("action_type", "agent").filter(pk=grant["a"]).first()
    if action is None:
        return _refused("This action no longer exists.", 404)
    if refusal := action.refusal_for(request.user, "approve"):
        return _refused(refusal, 403 if not action.is_reviewable_by(request.user) else 409)
    if refusal := lock_screen_refusal(action):
        return _refused(refusal, 403)
    try:
        with transaction.atomic():
            if not SpentToken.spend(f"push:{grant['n']}"):
                raise Conflict("This notification's Approve was used already.")
            decision = action.approve(by=request.user, channel="push")
    except Conflict as conflict:
        return _refused(str(conflict), 409)
    said = action.approval_progress() if decision is None else f"Approved: {action.current_summary}."
    return JsonResponse({"message": said, "url": action.get_absolute_url()})


def _refused(error, status):
    return JsonResponse({"error": error}, status=status)
