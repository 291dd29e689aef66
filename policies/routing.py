"""Routing: which autonomy level a proposal gets, and why.

Plain functions over plain data, evaluated once per proposal on arrival. Each step may ask for
a level with a reason a supervisor understands; the effective level is the strictest asked for.
"""

from dataclasses import dataclass, field

from django.conf import settings

from policies.models import ActionType, Autonomy


class Refusal(Exception):
    """The proposal cannot be accepted at all; the agent gets `status` with `code`."""

    def __init__(self, status, code, message, details=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


@dataclass
class Ask:
    level: Autonomy
    reason: str


@dataclass
class Route:
    level: Autonomy
    reasons: list[str]
    checkers: list[dict] = field(default_factory=list)

    def as_json(self):
        return {"reasons": self.reasons, "checkers": self.checkers}


def action_type_for(key):
    """The action type agents call `key`; an unknown one is registered as a draft or refused."""
    action_type = ActionType.objects.filter(key=key).first()
    if action_type is not None:
        return action_type
    if settings.HITL_UNKNOWN_ACTIONS == "refuse":
        raise Refusal(422, "unknown_action", f"No action type is called '{key}'.")
    action_type, _ = ActionType.objects.get_or_create(
        key=key,
        defaults={"name": key, "status": ActionType.Status.DRAFT, "autonomy": Autonomy.CONFIRM},
    )
    return action_type


def route(action_type, params):
    """The level and reasons for one proposal of `action_type` with `params`."""
    errors = action_type.params_errors(params)
    if errors:
        raise Refusal(
            422,
            "params_invalid",
            f"The parameters do not match the schema of '{action_type.key}' ({len(errors)} errors).",
            errors,
        )
    asks = [policy_level(action_type)]
    level = Autonomy.strictest(*(ask.level for ask in asks))
    return Route(
        level=level,
        reasons=[ask.reason for ask in asks if ask.level == level],
        checkers=[{"name": "schema", "verdict": "pass"}],
    )


def policy_level(action_type):
    if action_type.status == ActionType.Status.DRAFT:
        return Ask(Autonomy.CONFIRM, f"'{action_type.key}' is new: first use of an unreviewed tool")
    return Ask(
        Autonomy(action_type.autonomy), f"policy for '{action_type.key}': {Autonomy(action_type.autonomy).label}"
    )
