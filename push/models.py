"""Push notifications to the installable inbox: the browsers a reviewer turned them on in (each
a Web Push subscription), and one outbox row per notification to one of them."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from approvals.models.outbox import Outbox


class Subscription(models.Model):
    """One browser's Web Push subscription (the Push API's PushSubscription): where its push
    service takes messages, and the keys that encrypt them for that browser alone (RFC 8291)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.CharField(max_length=2000, unique=True)
    p256dh = models.CharField(max_length=200)  # the browser's P-256 public key, base64url
    auth = models.CharField(max_length=100)  # the authentication secret, base64url
    device = models.CharField(max_length=200, blank=True)  # what the browser called itself, for the person
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.user} on {self.device or 'a browser'}"

    @staticmethod
    def device_name(user_agent):
        """ "Chrome on Android", from a User-Agent header: enough for a person to tell their
        browsers apart on the preferences page."""
        browsers = [
            ("Edg/", "Edge"),
            ("Firefox/", "Firefox"),
            ("CriOS/", "Chrome"),
            ("Chrome/", "Chrome"),
            ("Safari/", "Safari"),
        ]
        systems = [
            ("Android", "Android"),
            ("iPhone", "iPhone"),
            ("iPad", "iPad"),
            ("Windows", "Windows"),
            ("Mac OS X", "macOS"),
            ("CrOS", "ChromeOS"),
            ("Linux", "Linux"),
        ]
        browser = next((name for mark, name in browsers if mark in user_agent), "A browser")
        system = next((name for mark, name in systems if mark in user_agent), "")
        return f"{browser} on {system}" if system else browser

    @property
    def info(self):
        """The subscription as pywebpush takes it (the shape of PushSubscription.toJSON())."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


class PushMessage(Outbox):
    """One notification about one action to one browser, and what became of it; delivered by a
    task as the other channels' rows are (approvals.delivery)."""

    class Kind(models.TextChoices):
        NEW = "new", "Waiting for you"
        WARNING = "warning", "Decide soon"
        ESCALATED = "escalated", "Escalated to you"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Not sent: decided meanwhile, or its reviewer deactivated"
        FAILED = "failed", "Failed after retries"

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="messages")
    action = models.ForeignKey("approvals.Action", on_delete=models.CASCADE, related_name="push_messages")
    kind = models.CharField(max_length=10, choices=Kind)
    tier = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        # One notification per (what happened, browser): a second sweep cannot queue another.
        constraints = [
            models.UniqueConstraint(fields=["subscription", "action", "kind", "tier"], name="one_push_per_event")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="push_message_status_next")]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.subscription}: {self.status}"
