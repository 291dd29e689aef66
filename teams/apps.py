from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "teams"
    verbose_name = "Microsoft Teams"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # approvals may not import this app, so its cards hear approvals' signals, in the changing
        # transaction: a new pending action is posted, and every change of an action updates its cards.
        from approvals.signals import attention_needed, cards_outdated
        from teams.models import TeamsCard

        attention_needed.connect(TeamsCard.queue_for_signal, dispatch_uid="teams.post", weak=False)
        cards_outdated.connect(TeamsCard.queue_for_outdated, dispatch_uid="teams.update", weak=False)
