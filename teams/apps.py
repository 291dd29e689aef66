from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "teams"
    verbose_name = "Microsoft Teams"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # approvals may not import this app, so its cards join approvals' card channels here:
        # a new pending action is posted, and every change of an action updates its cards.
        from approvals.models.outbox import CARD_CHANNELS
        from teams.models import TeamsCard

        if TeamsCard not in CARD_CHANNELS:
            CARD_CHANNELS.append(TeamsCard)
