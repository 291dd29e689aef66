from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth import signals

        from audit import checks, logins  # noqa: F401 - checks registers the witness directory's check

        signals.user_logged_in.connect(logins.logged_in, dispatch_uid="audit.user.login")
        signals.user_logged_out.connect(logins.logged_out, dispatch_uid="audit.user.logout")
        signals.user_login_failed.connect(logins.login_failed, dispatch_uid="audit.user.login_failed")
