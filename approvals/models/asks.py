"""What asks a person besides an action: an end user's appeal ("This is wrong", "Get a human")
and an agent's question (HumanLayer's contact requests)."""

import functools
import operator
import uuid

from django.conf import settings
from django.db import models, transaction
from django.db.models import Exists, F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from approvals.models.action import Action, Conflict, InvalidEdit
from audit.log import Actor, record
from policies.models import ActionType, Agent


class AppealQuerySet(models.QuerySet):
    def open(self):
        return self.filter(resolved_at__isnull=True)

    def visible_to(self, user):
        """Those about an action type the user may review, and, for a user who reviews any type,
        those about no action at all: an appeal is a supervisor's to answer, never an auditor's
        or an outsider's."""
        types = ActionType.objects.reviewable_by(user)
        # In the same query, not a query of its own: the inbox counts its queries.
        reviews_any = Exists(types.order_by())
        return self.filter((Q(action__isnull=True) & reviews_any) | Q(action__action_type__in=types))

    def for_inbox(self, user):
        """The open appeals `user` sees at the top of the inbox, soonest due first, each with its
        conversation read (three queries for them all, not two an appeal)."""
        appeals = list(
            self.open()
            .visible_to(user)
            .select_related("agent", "action__action_type", "claimed_by")
            .order_by("due_at")[:50]
        )
        Appeal.read_conversations(appeals)
        return appeals


class Appeal(models.Model):
    """The end user's appeal to a person, "This is wrong" or "Get a human", forwarded by the agent
    (`POST /api/v1/escalations`). Not an SLA escalation, which moves an action up its tiers."""

    class Kind(models.TextChoices):
        WRONG = "wrong", "This is wrong"
        HUMAN = "human", "Get a human"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="appeals")
    kind = models.CharField(max_length=8, choices=Kind)
    message = models.TextField(blank=True)
    session_id = models.CharField(max_length=200, blank=True)
    action = models.ForeignKey(Action, null=True, blank=True, on_delete=models.SET_NULL, related_name="appeals")
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the supervisor did about it, in their words: for the other supervisors and the log.
    resolution_note = models.TextField(blank=True)
    # "I'm on it": who took it, so that two supervisors do not both call the end user.
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = AppealQuerySet.as_manager()

    class Meta:
        ordering = ["due_at"]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.agent}, session {self.session_id or '-'})"

    def session_actions(self):
        """The actions of the same agent and session, the one it names first."""
        actions = Action.objects.filter(agent=self.agent).select_related("action_type")
        if self.session_id:
            actions = actions.filter(Q(session_id=self.session_id) | Q(pk=self.action_id))
        else:
            actions = actions.filter(pk=self.action_id)
        return actions.order_by("-created_at")

    CONVERSATION = 12  # the latest entries of a session an appeal shows

    def conversation(self):
        """What happened in the session before the end user asked, oldest first: the agent's
        proposals (with its words and each decision) and its questions to a person (with the
        answers), the latest `CONVERSATION` of them, as [("action" | "question", object)]."""
        if not hasattr(self, "_conversation"):
            Appeal.read_conversations([self])
        return self._conversation

    @classmethod
    def read_conversations(cls, appeals):
        """Each appeal's `conversation()`, for all of them at once: the latest entries of each
        session by one window query for actions and one for questions, and the actions the
        appeals name outside them by one more."""
        sessions = [Q(agent=appeal.agent_id, session_id=appeal.session_id) for appeal in appeals if appeal.session_id]
        actions, questions = {}, []
        if sessions:
            in_sessions = functools.reduce(operator.or_, sessions)
            latest = Window(RowNumber(), partition_by=[F("agent"), F("session_id")], order_by=F("created_at").desc())
            of_sessions = Action.objects.select_related("action_type", "decision").filter(in_sessions)
            actions = {
                action.pk: action for action in of_sessions.annotate(rank=latest).filter(rank__lte=cls.CONVERSATION)
            }
            questions = list(
                Question.objects.filter(in_sessions).annotate(rank=latest).filter(rank__lte=cls.CONVERSATION)
            )
        named = {appeal.action_id for appeal in appeals} - {None} - set(actions)
        if named:
            actions.update(Action.objects.select_related("action_type", "decision").in_bulk(named))
        for appeal in appeals:

            def its(item, appeal=appeal):
                return (
                    item.agent_id == appeal.agent_id
                    and bool(appeal.session_id)
                    and item.session_id == appeal.session_id
                )

            named_here = appeal.action_id, appeal.agent_id
            own = [action for action in actions.values() if its(action) or (action.pk, action.agent_id) == named_here]
            own.sort(key=lambda action: action.created_at)
            entries = [("action", action) for action in own[-cls.CONVERSATION :]]
            entries += [("question", question) for question in questions if its(question)]
            entries.sort(key=lambda entry: entry[1].created_at)
            appeal._conversation = entries[-cls.CONVERSATION :]

    def audit_context(self):
        return {
            "agent": self.agent.name,
            "session_id": self.session_id,
            "action_id": self.action_id,
            "action_type": self.action.action_type.key if self.action_id else "",
        }

    @property
    def overdue(self):
        return self.resolved_at is None and self.due_at <= timezone.now()

    @classmethod
    def open_for(cls, *, agent, kind, message="", session_id="", action=None):
        """Record the end user's appeal, due within the site's SLA for appeals."""
        now = timezone.now()
        with transaction.atomic():
            appeal = cls.objects.create(
                agent=agent,
                created_at=now,
                kind=kind,
                message=message,
                session_id=session_id or (action.session_id if action else ""),
                action=action,
                due_at=now + settings.HITL_USER_ESCALATION_SLA,
            )
            # The audit log keeps the kind and key it has always had for these events.
            record(
                kind="escalation.opened",
                actor=Actor.agent(agent),
                data={"escalation_id": str(appeal.pk), "kind": kind, "message": message},
                **appeal.audit_context(),
            )
        return appeal

    def claim(self, *, by):
        """ "I'm on it": the appeal is `by`'s to handle, and the inbox says so. A second claim is
        a Conflict naming who has it; anyone who sees it may still resolve it."""
        with transaction.atomic():
            now = timezone.now()
            open_unclaimed = Appeal.objects.filter(pk=self.pk, resolved_at__isnull=True, claimed_by__isnull=True)
            if open_unclaimed.update(claimed_at=now, claimed_by=by) != 1:
                self.refresh_from_db()
                if self.resolved_at:
                    raise Conflict("This appeal is already resolved.")
                who = "You are" if self.claimed_by_id == by.pk else f"{self.claimed_by.get_username()} is"
                raise Conflict(f"{who} on it since {timezone.localtime(self.claimed_at):%H:%M}.")
            self.claimed_at, self.claimed_by = now, by
            record(
                kind="escalation.claimed",
                actor=Actor.user(by),
                data={"escalation_id": str(self.pk), "kind": self.kind},
                **self.audit_context(),
            )

    def resolve(self, *, by, note=""):
        """Resolved, with what was done about it in `by`'s words (`note`, optional)."""
        with transaction.atomic():
            now = timezone.now()
            resolved = Appeal.objects.filter(pk=self.pk, resolved_at__isnull=True).update(
                resolved_at=now, resolved_by=by, resolution_note=note
            )
            if resolved != 1:
                self.refresh_from_db()
                raise Conflict("This appeal is already resolved.")
            self.resolved_at, self.resolved_by, self.resolution_note = now, by, note
            record(
                kind="escalation.resolved",
                actor=Actor.user(by),
                data={"escalation_id": str(self.pk), "kind": self.kind, "note": note},
                **self.audit_context(),
            )


class QuestionQuerySet(models.QuerySet):
    def open(self):
        return self.filter(answered_at__isnull=True)

    def for_inbox(self, user):
        """The open questions for the top of `user`'s inbox, expedited and soonest due first."""
        if not user.has_perm("approvals.answer_question"):
            return []
        return list(self.open().select_related("agent").order_by("-expedited", "due_at")[:50])


class Question(models.Model):
    """An agent's question to a person (HumanLayer's contact request, `human_as_tool()`): the
    answer a person types goes back to the agent verbatim, or the name of the option they chose."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="questions")
    call_id = models.CharField(max_length=200)  # the agent's own id for it, unique per agent
    session_id = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    message = models.TextField()
    # [{"name", "title", "description", ...}] as the agent sent them: answers a person may pick.
    response_options = models.JSONField(default=list, blank=True)
    spec = models.JSONField(default=dict, blank=True)  # what else the agent sent, given back as sent
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    # Expedited by the agent (HumanLayer's `escalate_email` on a contact request): urgent, first in
    # the inbox. Not an SLA escalation, which moves an action up its type's tiers.
    expedited = models.BooleanField(default=False)
    expedite_message = models.TextField(blank=True)  # the agent's `escalation_msg`: why it is urgent
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_by_name = models.CharField(max_length=150, blank=True)
    response = models.TextField(blank=True)
    response_option_name = models.CharField(max_length=200, blank=True)

    objects = QuestionQuerySet.as_manager()

    class Meta:
        ordering = ["due_at"]
        permissions = [("answer_question", "Can answer agents' questions in the inbox")]
        constraints = [models.UniqueConstraint(fields=["agent", "call_id"], name="one_question_per_call_id")]

    def __str__(self):
        return f"Question from {self.agent} ({self.call_id})"

    def audit_context(self):
        return {"agent": self.agent.name, "session_id": self.session_id, "action_id": None, "action_type": ""}

    @property
    def overdue(self):
        return self.answered_at is None and self.due_at <= timezone.now()

    def option(self, name):
        return next((option for option in self.response_options if option.get("name") == name), None)

    @classmethod
    def ask(cls, *, agent, call_id, message, subject="", session_id="", response_options=(), spec=None):
        """Record the agent's question, due within the site's SLA for appeals. Returns (question,
        created): the same call id asks once."""
        now = timezone.now()
        with transaction.atomic():
            question, created = cls.objects.get_or_create(
                agent=agent,
                call_id=call_id,
                defaults={
                    "created_at": now,
                    "due_at": now + settings.HITL_USER_ESCALATION_SLA,
                    "message": message,
                    "subject": subject,
                    "session_id": session_id,
                    "response_options": list(response_options),
                    "spec": spec or {},
                },
            )
            if created:
                record(
                    kind="question.asked",
                    actor=Actor.agent(agent),
                    data={"question_id": str(question.pk), "call_id": call_id, "subject": subject, "message": message},
                    **question.audit_context(),
                )
        return question, created

    def answer(self, *, by, response="", option_name=""):
        """A person's answer: their words, or one of the agent's response options (with the
        option's prompt as the words, unless they wrote their own). Raises Conflict if already
        answered, InvalidEdit for an unknown option or an empty answer."""
        if option_name and self.option(option_name) is None:
            raise InvalidEdit([{"path": "option", "message": f"There is no option named {option_name!r}."}])
        chosen = self.option(option_name) or {}
        response = response or chosen.get("prompt_fill") or chosen.get("title") or option_name
        if not response.strip() and not option_name:
            raise InvalidEdit([{"path": "response", "message": "Type an answer, or choose one of the options."}])
        now = timezone.now()
        with transaction.atomic():
            claimed = Question.objects.filter(pk=self.pk, answered_at__isnull=True).update(
                answered_at=now,
                answered_by=by,
                answered_by_name=by.get_username(),
                response=response,
                response_option_name=option_name,
            )
            if claimed != 1:
                self.refresh_from_db()
                raise Conflict(
                    f"Already answered by {self.answered_by_name} at {timezone.localtime(self.answered_at):%H:%M:%S}."
                )
            self.refresh_from_db()
            record(
                kind="question.answered",
                actor=Actor.user(by),
                data={"question_id": str(self.pk), "response": response, "response_option_name": option_name},
                **self.audit_context(),
            )

    def expedite(self, *, message):
        """The agent's `escalate_email`: the question is urgent, at the top of the inbox, due now.
        Audited as `question.expedited` (`question.escalated` in events written before the name)."""
        with transaction.atomic():
            if (
                Question.objects.filter(pk=self.pk, answered_at__isnull=True).update(
                    expedited=True, expedite_message=message, due_at=timezone.now()
                )
                != 1
            ):
                self.refresh_from_db()
                raise Conflict("Only a question nobody has answered can be expedited.")
            self.refresh_from_db()
            record(
                kind="question.expedited",
                actor=Actor.agent(self.agent),
                data={"question_id": str(self.pk), "message": message},
                **self.audit_context(),
            )
