"""Each signed-in request's user carries the identity the person signed in with
(`user.verified_identity`, which the audit log writes into every event they cause), and an OIDC
session is checked against its provider before a POST once HITL_OIDC_RECHECK_SECONDS have passed:
a person the provider no longer vouches for is signed out before anything they sent is done."""

import logging

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib import auth, messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.functional import SimpleLazyObject, empty

from audit.log import Actor, record
from identity import oidc, verified

log = logging.getLogger(__name__)

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
LOGOUT = "/accounts/logout/"


class VerifiedIdentityMiddleware:
    sync_capable = async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return self.check(request) or self.get_response(request)

    async def __acall__(self, request):
        # Only a request with a session can be a person's; agents' calls carry none and stay on the loop.
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            refusal = await sync_to_async(self.check)(request)
            if refusal is not None:
                return refusal
        return await self.get_response(request)

    def check(self, request):
        if not hasattr(request, "user"):
            return None
        user = request.user
        request.user = SimpleLazyObject(lambda: _with_identity(request, user))
        if request.method not in UNSAFE or request.path == LOGOUT or not request.user.is_authenticated:
            return None  # signing out never waits for the provider
        if verified.of_session(request.session, request.user)["method"] != "oidc" or not oidc.due_for_check(
            request.session
        ):
            return None
        try:
            if oidc.still_vouched_for(request.session):
                return None
        except oidc.ProviderUnavailable as error:
            log.warning("identity provider not reachable to check %s: %s", request.user, error)
            return HttpResponse(
                "Your identity provider could not be reached to confirm your account, so nothing was done. "
                "Try again in a moment.",
                status=503,
                content_type="text/plain",
            )
        return self.sign_out(request)

    @staticmethod
    def sign_out(request):
        person = request.user
        with transaction.atomic():
            record(
                kind="user.signed_out",
                actor=Actor.user(person),
                data={
                    "reason": "The identity provider no longer vouches for this person.",
                    "bound_seconds": settings.HITL_OIDC_RECHECK_SECONDS,
                },
            )
        auth.logout(request)
        messages.error(request, "Your identity provider no longer confirms your account: you have been signed out.")
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=401)
            response["HX-Redirect"] = settings.LOGIN_URL
            return response
        return redirect(settings.LOGIN_URL)


def _with_identity(request, user):
    if isinstance(user, SimpleLazyObject):
        if user._wrapped is empty:
            user._setup()
        user = user._wrapped
    if user.is_authenticated and not hasattr(user, "verified_identity"):
        user.verified_identity = verified.of_session(request.session, user)
    return user
