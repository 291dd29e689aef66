"""The sign-in page (password and "Sign in with …"), the OpenID provider's return, and the
OAuth protected-resource metadata (RFC 9728) that tells MCP clients where to get a token."""

import requests
from authlib.integrations.base_client import OAuthError
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from audit.log import Actor, record
from identity import access_tokens, oidc

NEXT_KEY = "countersign.oidc_next"


def login(request):
    """Django's login view, with the provider's button; with passwords in break-glass mode the
    password form is kept for the one named account, folded away."""
    return auth_views.LoginView.as_view(extra_context=_sign_in_options())(request)


def _sign_in_options():
    return {
        "oidc_enabled": oidc.enabled(),
        "oidc_provider_name": settings.HITL_OIDC_PROVIDER_NAME,
        "break_glass": settings.HITL_LOCAL_PASSWORDS == "break-glass",
    }


@require_GET
def oidc_start(request):
    if not oidc.enabled():
        return _refused(request, "Sign-in with an identity provider is not set up here.", status=404)
    next_url = request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        request.session[NEXT_KEY] = next_url
    return oidc.start(request, request.build_absolute_uri(reverse("identity:oidc_callback")))


@require_GET
def oidc_callback(request):
    try:
        user, identity = oidc.finish(request)
    except (OAuthError, KeyError) as error:
        return _refused(request, f"The identity provider's answer was refused: {error}")
    except requests.RequestException as error:
        return _refused(request, f"The identity provider could not be reached: {error}", status=503)
    if user is None:
        return _refused(request, "Your Countersign account is disabled. Ask an administrator.")
    user.verified_identity = identity  # read by the login's audit event and kept in the session
    auth.login(request, user, backend="identity.backends.PasswordBackend")
    return redirect(request.session.pop(NEXT_KEY, "") or settings.LOGIN_REDIRECT_URL)


def _refused(request, message, status=403):
    with transaction.atomic():
        record(kind="user.login_failed", actor=Actor.anonymous(""), data={"method": "oidc", "reason": message})
    return render(request, "registration/login.html", {"sso_error": message, **_sign_in_options()}, status=status)


@require_GET
def protected_resource_metadata(request):
    """RFC 9728: this resource, the authorization servers it trusts, the scope an agent needs."""
    response = JsonResponse(access_tokens.resource_metadata())
    response["Access-Control-Allow-Origin"] = "*"  # browser-based MCP clients read it too
    return response
