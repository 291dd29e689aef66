"""Logins, logouts and failed logins. Django's auth signals are the only place these can be
seen (the login view and `authenticate()` are Django's), so the events are recorded here; each
in its own transaction with whatever the login itself wrote (`last_login`)."""

from django.contrib.auth import get_user_model
from django.db import transaction

from audit.log import Actor, record


def _request_data(request):
    if request is None:
        return {}
    return {"ip": request.META.get("REMOTE_ADDR", ""), "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200]}


def logged_in(sender, request, user, **kwargs):
    with transaction.atomic():
        record(kind="user.login", actor=Actor.user(user), data=_request_data(request))


def logged_out(sender, request, user, **kwargs):
    if user is None:  # logging out when not logged in changes nothing
        return
    with transaction.atomic():
        record(kind="user.logout", actor=Actor.user(user), data=_request_data(request))


def login_failed(sender, credentials, request=None, **kwargs):
    # `credentials` arrives with the password already masked by Django.
    username = str(credentials.get(get_user_model().USERNAME_FIELD, credentials.get("username", "")))[:150]
    with transaction.atomic():
        record(
            kind="user.login_failed",
            actor=Actor.anonymous(username),
            data={"username": username, **_request_data(request)},
        )
