from django.apps import AppConfig


class PushConfig(AppConfig):
    name = "push"
    verbose_name = "Push notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from approvals.signals import attention_needed
        from push import messages

        # Rows of this app's outbox, written in the transaction that makes an action want a person.
        attention_needed.connect(messages.queue_for_signal, dispatch_uid="push.queue")
