"""Shadow policies: a candidate version of a type's policy (its autonomy, rules and risk gates)
that routes every real proposal beside the live one and decides nothing.

The candidate's route is stored in the action's `route` under "shadow", next to the live
reasons, and written into the same `action.routed` audit event; the report (insights/shadow.py)
compares it with what people then decided. Promoting copies the candidate onto the type as one
audited policy change; discarding ends it, audited too. A type has at most one active candidate.
"""

import copy

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.functional import cached_property

from policies.models import ActionType, Autonomy, BlastRadius, Rule, confidence_value

# What a candidate may change: the autonomy level, the rules and the risk gates. Everything else
# (the schema, the kill switch, reviewers, SLA) is the live policy's, since it shapes no route or
# is not the candidate's to try.
CANDIDATE_FIELDS = [
    "autonomy",
    "allow_irreversible_unattended",
    "blast_radius",
    "confidence_threshold",
    "first_use_threshold",
    "rate_limit",
]
RULE_KEYS = {"name", "expression", "level"}
PERSON = {Autonomy.SUGGEST, Autonomy.CONFIRM}  # the levels at which a person sees a proposal


class ShadowPolicyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=ShadowPolicy.Status.ACTIVE)


class ShadowPolicy(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Shadowing live traffic"
        PROMOTED = "promoted", "Promoted to the live policy"
        DISCARDED = "discarded", "Discarded"

    class Origin(models.TextChoices):
        ADMIN = "admin", "Written in the admin"
        OFFER = "earned autonomy offer", "An earned-autonomy offer, tried as a shadow first"
        DOCUMENT = "policies document", "The policies document"

    action_type = models.ForeignKey(ActionType, on_delete=models.CASCADE, related_name="shadow_policies")
    status = models.CharField(max_length=16, choices=Status, default=Status.ACTIVE, editable=False)
    origin = models.CharField(max_length=32, choices=Origin, default=Origin.ADMIN, editable=False)
    autonomy = models.CharField(max_length=16, choices=Autonomy, default=Autonomy.CONFIRM)
    allow_irreversible_unattended = models.BooleanField("let irreversible actions run without a person", default=False)
    blast_radius = models.CharField(max_length=8, choices=BlastRadius, default=BlastRadius.LOW)
    confidence_threshold = models.CharField(max_length=8, blank=True)
    first_use_threshold = models.PositiveIntegerField(default=5)
    rate_limit = models.PositiveIntegerField(null=True, blank=True)
    rules = models.JSONField(
        default=list,
        blank=True,
        help_text='The candidate\'s rules, replacing the live ones: [{"name": "large refund", '
        '"expression": "params.amount > 500", "level": "confirm"}].',
    )
    note = models.CharField(
        max_length=500, blank=True, help_text="What the candidate tries, for whoever reads the report."
    )
    based_on_version = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    ended_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ShadowPolicyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "shadow policy"
        verbose_name_plural = "shadow policies"
        constraints = [
            models.UniqueConstraint(
                fields=["action_type"], condition=models.Q(status="active"), name="one_active_shadow_per_type"
            )
        ]

    def __str__(self):
        return f"shadow #{self.pk} of {self.action_type.key}"

    @classmethod
    def from_live(cls, action_type, **changes):
        """An unsaved candidate that starts as a copy of the live policy, with `changes` applied."""
        candidate = cls(action_type=action_type, based_on_version=action_type.version)
        for name in CANDIDATE_FIELDS:
            setattr(candidate, name, getattr(action_type, name))
        candidate.rules = [
            {"name": rule.name, "expression": rule.expression, "level": rule.level} for rule in action_type.rules.all()
        ]
        for name, value in changes.items():
            setattr(candidate, name, value)
        return candidate

    def clean(self):
        threshold = confidence_value(self.confidence_threshold) if self.confidence_threshold else 0
        if threshold is None or not 0 <= threshold <= 1:
            raise ValidationError({"confidence_threshold": "A number from 0 to 1, or low, medium or high."})
        if problems := rule_problems(self.rules):
            raise ValidationError({"rules": "; ".join(problems)})
        if self.action_type_id and self.status == self.Status.ACTIVE:
            others = ShadowPolicy.objects.active().filter(action_type=self.action_type_id).exclude(pk=self.pk)
            if others.exists():
                raise ValidationError(
                    f"'{self.action_type.key}' already has a shadow policy: promote or discard it first."
                )

    def as_policy(self):
        """The candidate as plain data, as the policies document and the audit log show it."""
        return {name: getattr(self, name) for name in CANDIDATE_FIELDS} | {"rules": self.rules, "note": self.note}

    def candidate(self, action_type=None):
        """(an unsaved copy of the type carrying the candidate's fields, its unsaved rules): what
        routing is given in place of the live policy."""
        candidate = copy.copy(action_type or self.action_type)
        for name in CANDIDATE_FIELDS:
            setattr(candidate, name, getattr(self, name))
        return candidate, self.candidate_rules

    @cached_property
    def candidate_rules(self):
        """The candidate's rules as unsaved Rules, built once: a candidate is not edited once it runs,
        and the policies cache keeps this instance for every proposal of its generation."""
        return [
            Rule(name=spec["name"], expression=spec["expression"], level=spec.get("level", Autonomy.CONFIRM), order=i)
            for i, spec in enumerate(self.rules)
        ]

    def differences(self):
        """{field: {"from": live, "to": candidate}} where the candidate differs from the live policy."""
        live = ShadowPolicy.from_live(self.action_type).as_policy()
        mine = self.as_policy()
        return {
            name: {"from": live[name], "to": mine[name]} for name in mine if name != "note" and live[name] != mine[name]
        }

    def difference_rows(self):
        """(setting, live, candidate) in words, for the report: rules as "name: expression → level"."""

        def words(value):
            if isinstance(value, list):
                return "; ".join(
                    f"{rule['name']}: {rule['expression']} → {rule.get('level', 'confirm')}" for rule in value
                )
            return "(none)" if value in ("", None) else str(value)

        return [
            (name.replace("_", " "), words(change["from"]), words(change["to"]))
            for name, change in self.differences().items()
        ]

    def record_started(self, *, by):
        from audit.log import record

        record(
            kind="policy.changed",
            actor=_actor(by),
            action_type=self.action_type.key,
            data={
                "what": "shadow policy started",
                "shadow_policy": self.pk,
                "origin": self.origin,
                "version": self.action_type.version,
                "candidate": self.as_policy(),
                "diff": self.differences(),
            },
        )

    @classmethod
    def start(cls, *, action_type, by, origin=Origin.ADMIN, **changes):
        """Save a new active candidate and audit it; ValidationError while another is active."""
        shadow = cls.from_live(action_type, **changes)
        shadow.origin, shadow.created_by = origin, by
        shadow.full_clean()
        with transaction.atomic():
            shadow.save()
            shadow.record_started(by=by)
        return shadow

    def promote(self, *, by):
        """Make the candidate the live policy: its fields and rules replace the type's, in one
        transaction with the type's `policy.changed` event and the shadow's end."""
        from audit.log import Actor, record

        with transaction.atomic():
            self._end(status=self.Status.PROMOTED, by=by)
            action_type = ActionType.objects.select_for_update().get(pk=self.action_type_id)
            before = action_type.policy_snapshot()
            for name in CANDIDATE_FIELDS:
                setattr(action_type, name, getattr(self, name))
            action_type.full_clean(exclude=["key"])
            action_type.save(update_fields=CANDIDATE_FIELDS)
            _, rules = self.candidate(action_type)
            action_type.rules.all().delete()
            for rule in rules:
                rule.action_type = action_type
                rule.save()
            what = f"shadow policy #{self.pk} promoted"
            if action_type.record_change(by=by, before=before, what=what) is None:
                # A candidate identical to the live policy changes nothing, but its end is still recorded.
                record(
                    kind="policy.changed",
                    actor=Actor.user(by),
                    action_type=action_type.key,
                    data={"what": what, "shadow_policy": self.pk, "version": action_type.version, "diff": {}},
                )
        self.action_type = action_type
        return action_type

    def discard(self, *, by):
        from audit.log import record

        with transaction.atomic():
            self._end(status=self.Status.DISCARDED, by=by)
            record(
                kind="policy.changed",
                actor=_actor(by),
                action_type=self.action_type.key,
                data={"what": "shadow policy discarded", "shadow_policy": self.pk, "candidate": self.as_policy()},
            )

    def _end(self, *, status, by):
        """Claim the active candidate: of two people clicking at once, one wins and the other is told."""
        now = timezone.now()
        claimed = ShadowPolicy.objects.active().filter(pk=self.pk).update(status=status, ended_by=by, ended_at=now)
        if claimed != 1:
            self.refresh_from_db()
            raise ValidationError(f"This shadow policy is already {self.get_status_display().lower()}.")
        self.status, self.ended_by, self.ended_at = status, by, now


def _actor(by):
    from audit.log import Actor

    return Actor.user(by) if by is not None else Actor.system("policies import")


def rule_problems(rules):
    from policies.rules import compile_expression

    if not isinstance(rules, list):
        return ['a list of rules, each {"name": …, "expression": …, "level": …}']
    problems, names = [], set()
    for index, spec in enumerate(rules):
        here = f"rule {index + 1}"
        if not isinstance(spec, dict) or not {"name", "expression"} <= set(spec) or set(spec) - RULE_KEYS:
            problems.append(f'{here}: {{"name": …, "expression": …, "level": …}}')
            continue
        if not isinstance(spec["name"], str) or not spec["name"].strip():
            problems.append(f"{here}: a name")
        elif spec["name"] in names:
            problems.append(f"{here}: another rule is called {spec['name']!r}")
        names.add(spec.get("name"))
        if spec.get("level", Autonomy.CONFIRM) not in Autonomy.values:
            problems.append(f"{here}: level is one of {', '.join(Autonomy.values)}")
        try:
            compile_expression(str(spec["expression"]))
        except ValueError as error:
            problems.append(f"{here}: not a valid CEL expression: {error}")
    return problems


def shadow_route(shadow, action_type, agent, proposal, facts, live):
    """The candidate's route of a proposal the live policy routed as `live`, as stored beside it.
    The external checker is not asked again (its live verdict stands): a shadow calls nothing."""
    from policies.routing import Refusal, route

    candidate, rules = shadow.candidate(action_type)
    verdicts = {checker["name"]: checker for checker in live.checkers}

    def live_verdict(action_type, agent, proposal):
        return verdicts.get("external") or {"name": "external", "verdict": "pass"}

    try:
        decided = route(candidate, agent, proposal, facts, rules=rules, ask_checker=live_verdict)
    except Refusal as refusal:
        return {"policy": shadow.pk, "level": "refused", "reasons": [refusal.message]}
    return {"policy": shadow.pk, "level": str(decided.level), "reasons": decided.reasons}
