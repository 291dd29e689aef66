"""Who a Teams user is in Countersign, and the Adaptive Cards posted about actions: one row per
card, posted and then updated in place by the delivery loop (`approvals.delivery`), as Slack's
messages are."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone

from approvals.models import Action, Notification, Outbox
from hitl_lib.tasks import enqueue_on_commit


class TeamsUser(models.Model):
    """A Teams user as the Bot Connector names them: their Entra object id (`aadObjectId`), linked
    to one Countersign user by their verified email or by the person themselves. Their personal
    chat with the bot, once they have one, is where cards for them can go."""

    class Via(models.TextChoices):
        EMAIL = "email", "Verified email"
        LINK = "link", "Linked by the user"

    aad_object_id = models.CharField("Entra object id", max_length=64, unique=True)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="teams_identity")
    via = models.CharField(max_length=10, choices=Via)
    linked_at = models.DateTimeField(default=timezone.now)
    # The personal chat with the bot: Teams' id of the user (29:…) and the conversation, learnt from
    # an activity they sent in it (installing the app sends one).
    teams_user_id = models.CharField(max_length=200, blank=True)
    service_url = models.CharField(max_length=500, blank=True)
    personal_conversation_id = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = "Teams user"

    def __str__(self):
        return f"{self.aad_object_id} is {self.user}"

    @classmethod
    def linked_user(cls, aad_object_id):
        """The active user this Entra object id is linked to, or None."""
        link = cls.objects.select_related("user").filter(aad_object_id=aad_object_id, user__is_active=True).first()
        return link.user if link else None

    @classmethod
    def link_by_email(cls, aad_object_id, email):
        """Link this Entra object id to the one active user whose email is `email` (as the tenant's
        directory gives it) and who has no Teams link yet; that user, or None."""
        if not email:
            return None
        users = list(get_user_model().objects.filter(email__iexact=email, is_active=True)[:2])
        if len(users) != 1 or cls.objects.filter(user=users[0]).exists():
            return None
        cls.objects.get_or_create(aad_object_id=aad_object_id, defaults={"user": users[0], "via": cls.Via.EMAIL})
        return users[0]

    def remember_personal_chat(self, *, teams_user_id, service_url, conversation_id):
        """Where cards for this person go (TEAMS_PERSONAL_CHATS), learnt from their personal chat."""
        if (self.teams_user_id, self.service_url, self.personal_conversation_id) != (
            teams_user_id,
            service_url,
            conversation_id,
        ):
            self.teams_user_id, self.service_url, self.personal_conversation_id = (
                teams_user_id,
                service_url,
                conversation_id,
            )
            self.save(update_fields=["teams_user_id", "service_url", "personal_conversation_id"])


class TeamsCard(Outbox):
    """One Adaptive Card about one action in one conversation (the configured channel, or a
    reviewer's personal chat): posted by a task (`teams.connector`), then queued again and updated
    in place (a PUT to its activity) whenever the action changes."""

    Status = Notification.Status  # the delivery loop's states

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="teams_cards")
    service_url = models.CharField(max_length=500)
    conversation_id = models.CharField(max_length=500)
    activity_id = models.CharField(max_length=200, blank=True)  # the Bot Connector's, once posted
    shown_status = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["action", "conversation_id"], name="one_teams_card_per_conversation")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="teams_card_status_next")]

    def __str__(self):
        return f"Teams card in {self.conversation_id} about {self.action_id}: {self.status}"

    @classmethod
    def queue_posts(cls, actions):
        """A card for each new pending action: in the configured channel, and in the personal chat
        of each linked reviewer who may decide it (TEAMS_PERSONAL_CHATS). One per action and
        conversation however often this is called."""
        if not settings.TEAMS_APP_ID:
            return 0
        rows = []
        for action in actions:
            if settings.TEAMS_CHANNEL_CONVERSATION_ID:
                rows.append(
                    cls(
                        action=action,
                        service_url=settings.TEAMS_SERVICE_URL,
                        conversation_id=settings.TEAMS_CHANNEL_CONVERSATION_ID,
                    )
                )
            if settings.TEAMS_PERSONAL_CHATS:
                for person in TeamsUser.objects.select_related("user").exclude(personal_conversation_id=""):
                    if person.user.is_active and action.is_reviewable_by(person.user):
                        rows.append(
                            cls(
                                action=action,
                                service_url=person.service_url,
                                conversation_id=person.personal_conversation_id,
                            )
                        )
        if not rows:
            return 0
        created = cls.objects.bulk_create(rows, ignore_conflicts=True)
        _dispatch_on_commit()
        return len(created)

    @classmethod
    def queue_for_signal(cls, sender, *, kind, actions, **kwargs):
        """approvals' `attention_needed`: a new pending action is posted (a warning or an escalation
        reaches the cards through `cards_outdated`)."""
        if kind == "new":
            cls.queue_posts(actions)

    @classmethod
    def queue_for_outdated(cls, sender, *, action_ids, **kwargs):
        """approvals' `cards_outdated`."""
        cls.queue_updates(action_ids)

    @classmethod
    def queue_updates(cls, action_ids):
        """The actions changed: queue their posted cards again, to be updated in place. A card
        still being posted is checked by its sender after posting."""
        if not settings.TEAMS_APP_ID:
            return 0
        queued = cls.queue_again(cls.objects.filter(action_id__in=list(action_ids)).exclude(activity_id=""))
        if queued:
            _dispatch_on_commit()
        return queued


def _dispatch_on_commit():
    enqueue_on_commit("teams.tasks.dispatch_teams_cards")
