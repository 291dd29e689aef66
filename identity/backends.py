"""Local passwords, which the break-glass switch turns off for everyone but one named account."""

from django.conf import settings
from django.contrib.auth.backends import ModelBackend

from identity import verified


def password_allowed(username):
    return settings.HITL_LOCAL_PASSWORDS == "on" or username == settings.HITL_BREAK_GLASS_USER


class PasswordBackend(ModelBackend):
    """Django's ModelBackend, refusing a password when passwords are off for that account. A refused
    password fails like a wrong one (django-axes counts it, the audit log records the failure)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(self._username_field())
        if username is not None and not password_allowed(username):
            return None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            user.verified_identity = verified.password(user)
        return user

    @staticmethod
    def _username_field():
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD
