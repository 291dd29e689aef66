from django.apps import AppConfig


class InsightsConfig(AppConfig):
    """Reports over the other apps' data; it has no models of its own."""

    name = "insights"
