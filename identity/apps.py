from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "identity"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth import signals

        from identity import verified

        # The sign-in method is known only at the moment of login: kept in the session from there.
        signals.user_logged_in.connect(verified.remember_sign_in, dispatch_uid="identity.remember_sign_in")
