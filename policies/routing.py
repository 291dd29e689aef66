"""Routing: which autonomy level a proposal gets, and why.

Evaluated once per proposal on arrival, in PRODUCT.md's order: kill switch, unknown action
type, schema (with the repair loop), rules, external checker, risk gates, standing approvals.
Each step may ask for a level with a reason a supervisor understands; the effective level is
the strictest asked for. Facts that need the database (counts, standing approvals) are gathered
first by the proposal flow (`approvals.services.facts_for()`), and the external checker is asked
before it (`ask_external_checker`), so `route()` itself is plain functions over plain data.
"""

import json
from dataclasses import dataclass, field

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hitl_lib.signing import signed_headers
from policies.cache import Policies
from policies.models import (
    ActionType,
    Autonomy,
    Pause,
    StandingApproval,
    confidence_value,
)
from policies.names import action_key_problem, look_alike
from policies.rules import evaluate_rule, rule_variables
from policies.schema import infer_schema

# Without a session_id, invalid proposals of the last hour count as one session's.


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
    # A standing approval may lower what the policy, rules and risk profile ask for, but never
    # a hold, a checker's disagreement, the repair loop, the rate breaker or untrusted context.
    waivable: bool = True


@dataclass
class Route:
    level: Autonomy
    reasons: list[str]
    checkers: list[dict] = field(default_factory=list)
    disagreement: dict | None = None
    standing_approval: StandingApproval | None = None

    def as_json(self):
        route = {"reasons": self.reasons, "checkers": self.checkers}
        if self.disagreement:
            route["disagreement"] = self.disagreement
        if self.standing_approval:
            route["standing_approval"] = self.standing_approval.pk
        return route


@dataclass(frozen=True)
class Proposal:
    """What an agent proposed, whichever way it came in — the REST API, HumanLayer's API, an MCP
    `tools/call` — as the one typed object that every entry builds and every check reads.
    Text fields are "" when not sent; `as_body()` gives it back in the API's shape."""

    params: dict
    action: str = ""
    context: dict = field(default_factory=dict)
    confidence: float | str | None = None
    session_id: str = ""
    on_behalf_of: str = ""
    model: str = ""
    prompt_version: str = ""
    rationale: str = ""
    batch: str = ""
    callback_url: str = ""

    TEXT_FIELDS = ("session_id", "on_behalf_of", "model", "prompt_version", "rationale", "batch", "callback_url")

    @classmethod
    def from_request(cls, body):
        """From a body in the API's shape (`ProposalIn`'s fields); what is missing or null is empty."""
        return cls(
            action=body.get("action") or "",
            params=body["params"],
            context=body.get("context") or {},
            confidence=body.get("confidence"),
            **{name: body.get(name) or "" for name in cls.TEXT_FIELDS},
        )

    def as_body(self):
        """The proposal in the API's shape, with only what was sent: what the audit log keeps and
        an Idempotency-Key's digest covers."""
        body = {"action": self.action, "params": self.params}
        for name in ("session_id", "on_behalf_of", "model", "prompt_version", "confidence", "rationale"):
            if getattr(self, name) not in ("", None):
                body[name] = getattr(self, name)
        if self.context:
            body["context"] = self.context
        for name in ("batch", "callback_url"):
            if getattr(self, name):
                body[name] = getattr(self, name)
        return body


@dataclass
class Facts:
    """What routing needs to know from the database about this proposal's circumstances."""

    executions: int = 0  # of this action type so far
    invalid_attempts: int = 0  # invalid proposals by this agent in this session so far
    rate_count: int = 0  # proposals of this type by this agent in the current window, this one included
    standing_approvals: list[StandingApproval] = field(default_factory=list)


def action_type_for(key, params=None, policies=None):
    """The action type agents call `key`; an unknown one is registered as a draft (its schema
    inferred from `params`, the first call's) or refused. `policies`: what the request read
    (policies/cache.py), else the current ones."""
    # The format is checked first, for every proposal: junk, invisible or look-alike characters
    # never become draft types, and a type registered under such a key before the format existed
    # (the admin and the gateway refuse one now) is refused too, until an admin renames it.
    if problem := action_key_problem(key):
        if ActionType.objects.filter(key=key).exists():
            problem += " An action type has this key from before the format: an admin renames it in the policy admin."
        raise Refusal(422, "action_key_invalid", problem)
    action_type = (policies or Policies.current()).action_type(key)
    if action_type is not None:
        return action_type
    if settings.HITL_UNKNOWN_ACTIONS == "refuse":
        raise Refusal(422, "unknown_action", f"No action type is called '{key}'.")
    # A second spelling of a type that exists, by case or by look-alike characters, is not
    # registered as another: all the keys are read, but only when a new one would be registered.
    twin = look_alike(key, ActionType.objects.values_list("key", flat=True))
    if twin is not None and twin.casefold() == key.casefold():
        raise Refusal(
            422,
            "action_key_invalid",
            f"No action type is called '{key}'; did you mean '{twin}'? Keys are case-sensitive.",
        )
    if twin is not None:
        raise Refusal(
            422,
            "action_key_invalid",
            f"No action type is called '{key}', and it looks like '{twin}', which exists (0 and O, 1, I and l, "
            f"rn and m are told apart only by close reading): did you mean '{twin}'? A look-alike is not registered.",
        )
    with transaction.atomic():
        action_type, _ = ActionType.register_draft(
            key,
            by="first use",
            what="registered on first use",
            params_schema=infer_schema(params) if isinstance(params, dict) else {},
            params_schema_inferred=isinstance(params, dict),
        )
    return action_type


def route(action_type, agent, proposal, facts, *, rules=None, ask_checker=None):
    """The level and reasons for one proposal. Raises Refusal for a blocked or invalid one.

    `rules` defaults to the action type's saved rules; the dry run passes edited, unsaved ones.
    """
    ask_checker = ask_checker or ask_external_checker
    rules = list(action_type.rules.all()) if rules is None else rules
    asks = [policy_level(action_type)]
    asks += kill_switch(action_type, agent)
    schema_ask, schema_verdict = schema_check(action_type, proposal.params, facts.invalid_attempts)
    asks += schema_ask
    checkers = [schema_verdict]
    asks += rule_asks(rules, agent, proposal)
    disagreement = None
    if action_type.checker_url:
        verdict = ask_checker(action_type, agent, proposal)
        checkers.append(verdict)
        if verdict["verdict"] != "pass":
            asks.append(Ask(Autonomy.CONFIRM, f"checker '{verdict['name']}' disagreed: {verdict['reason']}", False))
            # A disagreement is when the checker would stop what the policy lets through.
            if level_of(asks[:-1]) in (Autonomy.AUDIT, Autonomy.AUTONOMOUS):
                disagreement = {"checker": verdict["name"], "reason": verdict["reason"]}
    asks += risk_gates(action_type, agent, proposal, facts)
    level = level_of(asks)
    standing = standing_approval_for(action_type, proposal, facts, asks, level)
    untrusted = untrusted_keys(proposal)
    if standing is not None and untrusted:
        # Text from outside may be steering the agent: a person reads it, whatever was allowed.
        asks.append(
            Ask(
                Autonomy.CONFIRM,
                f"standing approval #{standing.pk} not applied: the agent marked context as untrusted "
                f"({', '.join(untrusted)})",
                False,
            )
        )
        standing = None
    if standing is not None:
        return Route(
            level=Autonomy.AUDIT,
            reasons=[
                f"standing approval #{standing.pk} lets it through: {standing.describe()} "
                f"(until {timezone.localtime(standing.expires_at):%Y-%m-%d %H:%M}, "
                f"{standing.max_uses - standing.uses} uses left)",
                *(f"waived by it: {ask.reason}" for ask in asks if ask.level == level),
            ],
            checkers=checkers,
            standing_approval=standing,
        )
    return Route(
        level=level,
        reasons=[ask.reason for ask in asks if ask.level == level],
        checkers=checkers,
        disagreement=disagreement,
    )


def untrusted_keys(proposal):
    """The context keys the agent marked as coming from outside (`context.untrusted`)."""
    context = proposal.context if isinstance(proposal.context, dict) else {}
    untrusted = context.get("untrusted")
    return [str(key) for key in untrusted] if isinstance(untrusted, list) else []


def level_of(asks):
    return Autonomy.strictest(*(ask.level for ask in asks))


def policy_level(action_type):
    if action_type.status == ActionType.Status.DRAFT:
        return Ask(Autonomy.CONFIRM, f"'{action_type.key}' is new: first use of an unreviewed tool")
    return Ask(
        Autonomy(action_type.autonomy), f"policy for '{action_type.key}': {Autonomy(action_type.autonomy).label}"
    )


def kill_switch(action_type, agent):
    asks = []
    for what, paused in ((f"agent '{agent.name}'", agent), (f"'{action_type.key}'", action_type)):
        if paused.pause == Pause.BLOCK:
            raise Refusal(403, "paused", f"{what} is paused: {paused.pause_reason}")
        if paused.pause == Pause.HOLD:
            asks.append(Ask(Autonomy.CONFIRM, f"{what} is on hold: {paused.pause_reason}", False))
    return asks


def schema_check(action_type, params, invalid_attempts):
    """The schema checker's verdict. Invalid parameters are refused so the agent can repair them,
    until it has failed HITL_REPAIR_ATTEMPTS times in the session: then a person looks instead."""
    errors = action_type.params_errors(params)
    if not errors:
        return [], {"name": "schema", "verdict": "pass"}
    if invalid_attempts < settings.HITL_REPAIR_ATTEMPTS:
        raise Refusal(
            422,
            "params_invalid",
            f"The parameters do not match the schema of '{action_type.key}' ({len(errors)} errors).",
            errors,
        )
    reason = f"parameters still invalid after {invalid_attempts} attempts in this session: " + "; ".join(
        f"{e['path']}: {e['message']}" for e in errors[:3]
    )
    return [Ask(Autonomy.CONFIRM, reason, False)], {"name": "schema", "verdict": "fail", "reason": reason}


def rule_asks(rules, agent, proposal):
    if not rules:
        return []
    try:
        variables = rule_variables(
            params=proposal.params,
            context=proposal.context,
            confidence=confidence_value(proposal.confidence),
            agent_name=agent.name,
            session_id=proposal.session_id,
            on_behalf_of=proposal.on_behalf_of,
        )
    except ValueError as error:
        # No rule can be evaluated over values CEL cannot hold: each one asks for a person.
        return [Ask(Autonomy.CONFIRM, f"rule '{rule.name}' could not be evaluated: {error}", False) for rule in rules]
    asks = []
    for rule in rules:
        try:
            matched = evaluate_rule(rule.expression, variables)
        except ValueError as error:
            asks.append(Ask(Autonomy.CONFIRM, f"rule '{rule.name}' could not be evaluated: {error}", False))
            continue
        if matched:
            asks.append(Ask(Autonomy(rule.level), f"rule '{rule.name}' matched: {rule.expression}"))
    return asks


def risk_gates(action_type, agent, proposal, facts):
    asks = []
    if action_type.irreversible and not action_type.allow_irreversible_unattended:
        asks.append(Ask(Autonomy.CONFIRM, "irreversible: a person confirms before it runs"))
    if action_type.blast_radius == "high":
        asks.append(Ask(Autonomy.CONFIRM, "blast radius is high"))
    threshold = confidence_value(action_type.confidence_threshold) if action_type.confidence_threshold else None
    if threshold is not None:
        confidence = confidence_value(proposal.confidence)
        if confidence is None:
            asks.append(
                Ask(Autonomy.CONFIRM, f"the agent gave no confidence (threshold {action_type.confidence_threshold})")
            )
        elif confidence < threshold:
            asks.append(
                Ask(
                    Autonomy.CONFIRM,
                    f"the agent's confidence {proposal.confidence} is below {action_type.confidence_threshold}",
                )
            )
    if facts.executions < action_type.first_use_threshold:
        asks.append(
            Ask(
                Autonomy.CONFIRM,
                f"one of the first {action_type.first_use_threshold} uses of '{action_type.key}' "
                f"({facts.executions} executed so far)",
            )
        )
    if action_type.rate_limit is not None and facts.rate_count > action_type.rate_limit:
        asks.append(
            Ask(
                Autonomy.CONFIRM,
                f"rate breaker: {facts.rate_count} proposals of '{action_type.key}' from '{agent.name}' within "
                f"{action_type.rate_window} (limit {action_type.rate_limit})",
                False,
            )
        )
    return asks


def standing_approval_for(action_type, proposal, facts, asks, level):
    """The standing approval that lowers this proposal to `audit`, if one applies: only where a
    person would otherwise confirm for reasons a standing approval may waive."""
    if action_type.irreversible or level != Autonomy.CONFIRM:
        return None
    if not all(ask.waivable for ask in asks if ask.level == Autonomy.CONFIRM):
        return None
    return next((s for s in facts.standing_approvals if s.matches(proposal.params)), None)


def ask_external_checker(action_type, agent, proposal):
    """POST the proposal, signed, to the action type's checker; anything but a clear pass within
    the timeout is a fail, with the reason the checker gave or what went wrong."""
    name = "external"
    body = json.dumps(
        {
            "action": action_type.key,
            "params": proposal.params,
            "context": proposal.context,
            "confidence": proposal.confidence,
            "agent": agent.name,
            "session_id": proposal.session_id,
            "on_behalf_of": proposal.on_behalf_of,
        },
        sort_keys=True,
    ).encode()
    headers = signed_headers(action_type.checker_secret, body)
    try:
        response = httpx.post(
            action_type.checker_url, content=body, headers=headers, timeout=action_type.checker_timeout
        )
    except httpx.TimeoutException:
        return {"name": name, "verdict": "fail", "reason": f"no answer within {action_type.checker_timeout:g} s"}
    except httpx.HTTPError as error:
        return {"name": name, "verdict": "fail", "reason": f"could not be reached ({type(error).__name__})"}
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if response.status_code != 200 or not isinstance(answer, dict) or answer.get("verdict") not in ("pass", "fail"):
        return {
            "name": name,
            "verdict": "fail",
            "reason": f"answered HTTP {response.status_code} without a pass or fail verdict",
        }
    reason = str(answer.get("reason") or "")[:500]
    if answer["verdict"] == "pass":
        return {"name": name, "verdict": "pass", **({"reason": reason} if reason else {})}
    return {"name": name, "verdict": "fail", "reason": reason or "no reason given"}
