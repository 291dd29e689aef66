"""What the decision channels keep about people: how a reviewer wants to hear of actions, who a
Slack user is in Countersign, and the tokens that work once (a Slack signature, an email link)."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class NotificationPreference(models.Model):
    """How a reviewer wants to hear about actions that wait for them."""

    class Delivery(models.TextChoices):
        EACH = "each", "One message each"
        HOURLY = "hourly", "Hourly digest"
        DAILY = "daily", "Daily digest"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    delivery = models.CharField(max_length=10, choices=Delivery, default=Delivery.EACH)
    last_digest_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.user}: {self.get_delivery_display()}"


class SlackUser(models.Model):
    """Who a Slack user is in Countersign: matched by their verified email, or linked once by the
    person from their preferences page. Decisions from Slack are that user's, with their permissions."""

    class Via(models.TextChoices):
        EMAIL = "email", "Verified email"
        LINK = "link", "Linked by the user"

    slack_user_id = models.CharField(max_length=40, unique=True)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="slack_identity")
    via = models.CharField(max_length=10, choices=Via)
    linked_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.slack_user_id} is {self.user}"


class SpentToken(models.Model):
    """Something that works once: a Slack request's signature (refusing replays inside Slack's
    five-minute window), an email decision link's nonce."""

    key = models.CharField(max_length=200, primary_key=True)
    spent_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self):
        return self.key

    @classmethod
    def spend(cls, key, *, forget_after=None):
        """True the first time `key` is spent, False ever after (while it is remembered).
        `forget_after`: a timedelta past which older tokens of any kind may be deleted, for
        keys that cannot come back anyway (a Slack signature older than its window)."""
        now = timezone.now()
        if forget_after is not None:
            cls.objects.filter(key__startswith=key.split(":", 1)[0] + ":", spent_at__lt=now - forget_after).delete()
        _, created = cls.objects.get_or_create(key=key, defaults={"spent_at": now})
        return created
