"""Policies as code: every action type's policy, its rules and the agents' kill switches as one
YAML document, exported and imported by `manage.py policies`.

An import is validated as a whole before anything is applied, and applies in one transaction;
applying the same document twice changes nothing the second time. Types and agents the
document does not name are left alone. The external checker's secret is never exported; a
document may name an environment variable to read it from (`checker_secret_env`). Nor is an
escalation tier's webhook URL (a Slack incoming webhook's path is its credential): the export
shows its host and a fingerprint, an import keeps the current URL when the fingerprint still
matches, and reads a new one from the environment variable `webhook_url_env` names.

Other apps own sections of their own (the MCP gateway's `mcp_servers`): they register a
`Section`, since this module cannot import them.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass

import yaml
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.dateparse import parse_duration

from policies.models import (
    CANDIDATE_FIELDS,
    POLICY_FIELDS,
    ActionType,
    Agent,
    Autonomy,
    EscalationTier,
    Rule,
    ShadowPolicy,
    webhook_fingerprint,
)

DOCUMENT_VERSION = 1
TYPE_KEYS = {*POLICY_FIELDS, "rules", "reviewer_groups", "escalation_tiers", "checker_secret_env", "shadow"}
SHADOW_KEYS = {*CANDIDATE_FIELDS, "rules", "note"}
RULE_KEYS = {"name", "expression", "level", "order"}
TIER_KEYS = {"position", "group", "emails", "duration", "webhook", "webhook_url_env", "slack_channel"}
TIER_FIELDS = ["group_id", "emails", "duration", "webhook_url", "slack_channel"]
AGENT_KEYS = {"pause", "pause_reason"}


@dataclass(frozen=True)
class Section:
    """A top-level part of the document that another app exports, validates and applies."""

    name: str
    export: Callable[[], dict]  # → the section's mapping; empty leaves it out of the export
    plan: Callable[[dict], tuple[object, list[str]]]  # the section's mapping → (planned, errors)
    apply: Callable[[object], list[tuple[str, dict]]]  # planned → the changes, as [(what, diff)]


SECTIONS = {}


def register_section(section):
    SECTIONS[section.name] = section


class InvalidDocument(Exception):
    def __init__(self, errors):
        super().__init__(f"{len(errors)} errors")
        self.errors = errors  # ["action_types.payments.refund.autonomy: …", …]


def export_document():
    document = {"version": DOCUMENT_VERSION}
    for section in SECTIONS.values():
        if exported := section.export():
            document[section.name] = exported
    shadows = {shadow.action_type_id: shadow.as_policy() for shadow in ShadowPolicy.objects.active()}
    document |= {
        "action_types": {
            action_type.key: action_type.policy_snapshot()
            | ({"shadow": shadows[action_type.pk]} if action_type.pk in shadows else {})
            for action_type in ActionType.objects.prefetch_related("rules", "escalation_tiers__group").order_by("key")
        },
        "agents": {
            agent.name: {"pause": agent.pause, "pause_reason": agent.pause_reason}
            for agent in Agent.objects.order_by("name")
        },
    }
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)


def import_document(text, *, dry_run=False):
    """Validate and apply a document; returns the changes as [(what, diff)]. Raises
    InvalidDocument listing every error, with nothing applied."""
    document = parse(text)
    planned = validate(document)
    changes = []
    with transaction.atomic():
        for action_type, rules, tiers, groups in planned["action_types"]:
            before = ActionType.objects.get(pk=action_type.pk).policy_snapshot() if action_type.pk else {}
            secret_changed = bool(action_type.pk) and (
                ActionType.objects.get(pk=action_type.pk).checker_secret != action_type.checker_secret
            )
            action_type.save()
            sync(action_type.rules, rules, key="name", fields=["expression", "level", "order"])
            sync(action_type.escalation_tiers, tiers, key="position", fields=TIER_FIELDS)
            if groups is None and not before:
                # A type declared before its tool is listed (or first used) gets the reviewers a
                # registered one gets, rather than reaching nobody's inbox but a superuser's.
                groups = settings.HITL_DRAFT_REVIEWER_GROUPS
            if groups is not None:
                action_type.set_reviewer_groups(Group.objects.filter(name__in=groups))
            event = action_type.record_change(
                by=None,
                before=before,
                what="imported" if before else "created by import",
                secret_changed=secret_changed,
            )
            if event is not None:
                changes.append((f"action type {action_type.key}", event.data["diff"]))
        for key, spec in planned["shadows"]:
            if (change := apply_shadow(key, spec)) is not None:
                changes.append(change)
        for agent, before in planned["agents"]:
            agent.save(update_fields=["pause", "pause_reason"])
            agent.record_pause_change(by=None, before=before)
            after = {"pause": agent.pause, "pause_reason": agent.pause_reason}
            if after != before:
                changes.append((f"agent {agent.name}", {k: {"from": before[k], "to": after[k]} for k in after}))
        for name, planned_section in planned["sections"].items():
            changes += SECTIONS[name].apply(planned_section)
        if dry_run:
            transaction.set_rollback(True)
    return changes


def parse(text):
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InvalidDocument([f"(document): not YAML: {error}"]) from None
    if not isinstance(document, dict):
        raise InvalidDocument(["(document): a mapping with version, action_types and agents"])
    return document


def validate(document):
    """Every error in the document, or the unsaved objects it describes."""
    errors = []
    unknown = set(document) - {"version", "action_types", "agents", *SECTIONS}
    errors += [f"{key}: unknown key" for key in sorted(unknown)]
    if document.get("version") != DOCUMENT_VERSION:
        errors.append(f"version: must be {DOCUMENT_VERSION}")
    planned = {"action_types": [], "agents": [], "sections": {}, "shadows": []}
    for name, section in SECTIONS.items():
        if document.get(name) is not None:
            planned["sections"][name], section_errors = section.plan(document[name])
            errors += section_errors
    types = document.get("action_types") or {}
    if not isinstance(types, dict):
        errors.append("action_types: a mapping of action type keys to policies")
        types = {}
    for key, spec in types.items():
        errors += plan_action_type(f"action_types.{key}", key, spec, planned["action_types"])
        if isinstance(spec, dict) and "shadow" in spec:
            errors += plan_shadow(f"action_types.{key}.shadow", key, spec["shadow"], planned["shadows"])
    agents = document.get("agents") or {}
    if not isinstance(agents, dict):
        errors.append("agents: a mapping of agent names to kill switches")
        agents = {}
    for name, spec in agents.items():
        errors += plan_agent(f"agents.{name}", name, spec, planned["agents"])
    if errors:
        raise InvalidDocument(errors)
    return planned


def clean_errors(path, instance, **options):
    """`instance.full_clean(**options)`'s errors, each under `path`: [] when it is valid."""
    try:
        instance.full_clean(**options)
    except ValidationError as error:
        return [f"{path}.{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()]
    return []


def plan_action_type(path, key, spec, planned):
    if not isinstance(spec, dict):
        return [f"{path}: a mapping of policy fields"]
    errors = [f"{path}.{name}: unknown field" for name in sorted(set(spec) - TYPE_KEYS)]
    action_type = ActionType.objects.filter(key=key).first() or ActionType(key=key, name=key)
    for name in POLICY_FIELDS:
        if name in spec:
            setattr(action_type, name, spec[name])
    if "checker_secret_env" in spec:
        secret = os.environ.get(str(spec["checker_secret_env"]))
        if secret is None:
            errors.append(f"{path}.checker_secret_env: the environment variable {spec['checker_secret_env']} is unset")
        else:
            action_type.checker_secret = secret
    errors += clean_errors(path, action_type, exclude=["key"] if action_type.pk else None, validate_unique=False)
    rules, rule_errors = plan_rules(f"{path}.rules", spec.get("rules", None), action_type)
    errors += rule_errors
    groups = spec.get("reviewer_groups")
    if groups is not None:
        if not isinstance(groups, list):
            errors.append(f"{path}.reviewer_groups: a list of group names")
            groups = []
        else:
            known = set(Group.objects.filter(name__in=groups).values_list("name", flat=True))
            errors += [f"{path}.reviewer_groups: no group is called {name!r}" for name in groups if name not in known]
    tiers, tier_errors = plan_tiers(f"{path}.escalation_tiers", spec.get("escalation_tiers", None), action_type)
    errors += tier_errors
    planned.append((action_type, rules, tiers, groups))
    return errors


def plan_shadow(path, key, spec, planned):
    """A type's `shadow`: the candidate's fields (those left out are the live policy's), or null to
    end the active candidate. Absent: the candidate is left alone."""
    if spec is None:
        planned.append((key, None))
        return []
    if not isinstance(spec, dict):
        return [f"{path}: a mapping of the candidate's autonomy, rules and risk gates, or null"]
    errors = [f"{path}.{name}: unknown field" for name in sorted(set(spec) - SHADOW_KEYS)]
    candidate = ShadowPolicy(**{name: spec[name] for name in SHADOW_KEYS & set(spec)})
    errors += clean_errors(path, candidate, exclude=["action_type"], validate_constraints=False)
    planned.append((key, spec))
    return errors


def apply_shadow(key, spec):
    """Start, replace or end the type's candidate as `spec` says; (what, diff) when it changed."""
    action_type = ActionType.objects.get(key=key)
    active = ShadowPolicy.objects.active().filter(action_type=action_type).first()
    wanted = None if spec is None else ShadowPolicy.from_live(action_type, **spec).as_policy()
    if (active.as_policy() if active else None) == wanted:
        return None
    if active is not None:
        active.discard(by=None)
    if spec is not None:
        ShadowPolicy.start(action_type=action_type, by=None, origin=ShadowPolicy.Origin.DOCUMENT, **spec)
    return f"shadow policy of {key}", {"shadow": {"from": active.as_policy() if active else None, "to": wanted}}


def plan_rules(path, specs, action_type):
    if specs is None:
        return None, []
    if not isinstance(specs, list):
        return None, [f"{path}: a list of rules"]
    errors, rules, names = [], [], set()
    for index, spec in enumerate(specs):
        here = f"{path}[{index}]"
        if not isinstance(spec, dict):
            errors.append(f"{here}: a mapping with name, expression, level and order")
            continue
        errors += [f"{here}.{name}: unknown field" for name in sorted(set(spec) - RULE_KEYS)]
        rule = Rule(
            action_type=action_type,  # its names are checked against the schema in this document
            name=spec.get("name", ""),
            expression=spec.get("expression", ""),
            level=spec.get("level", Autonomy.CONFIRM),
            order=spec.get("order", index),
        )
        if rule.name in names:
            errors.append(f"{here}.name: another rule of this type is called {rule.name!r}")
        names.add(rule.name)
        errors += clean_errors(here, rule, exclude=["action_type"], validate_unique=False, validate_constraints=False)
        rules.append(rule)
    return rules, errors


def plan_tiers(path, specs, action_type):
    """The unsaved tiers `specs` describes (None: leave the type's tiers alone), and the errors."""
    if specs is None:
        return None, []
    if not isinstance(specs, list):
        return None, [f"{path}: a list of escalation tiers"]
    current = {tier.position: tier for tier in action_type.escalation_tiers.all()} if action_type.pk else {}
    errors, tiers, positions = [], [], set()
    for index, spec in enumerate(specs):
        here = f"{path}[{index}]"
        if not isinstance(spec, dict):
            errors.append(f"{here}: a mapping with position, group, emails, duration and webhook")
            continue
        errors += [f"{here}.{name}: unknown field" for name in sorted(set(spec) - TIER_KEYS)]
        tier = EscalationTier(position=spec.get("position", index + 1))
        if tier.position in positions:
            errors.append(f"{here}.position: another tier has position {tier.position}")
        positions.add(tier.position)
        group = spec.get("group")
        if group is not None:
            tier.group = Group.objects.filter(name=group).first()
            if tier.group is None:
                errors.append(f"{here}.group: no group is called {group!r}")
        emails = spec.get("emails", [])
        if not isinstance(emails, list) or not all(isinstance(address, str) for address in emails):
            errors.append(f"{here}.emails: a list of addresses")
        else:
            tier.emails = "\n".join(emails)
        tier.duration = parse_duration(str(spec.get("duration", "00:30:00")))
        tier.slack_channel = str(spec.get("slack_channel") or "")
        if tier.duration is None:
            errors.append(f"{here}.duration: a duration such as 00:30:00, got {spec.get('duration')!r}")
        errors += plan_webhook(here, spec, tier, current.get(tier.position))
        errors += clean_errors(
            here, tier, exclude=["action_type", "duration"], validate_unique=False, validate_constraints=False
        )
        tiers.append(tier)
    return tiers, errors


def plan_webhook(path, spec, tier, current):
    """Set `tier.webhook_url` from the environment variable `webhook_url_env` names, or keep the
    current tier's URL while the document's fingerprint matches it."""
    if "webhook_url_env" in spec:
        url = os.environ.get(str(spec["webhook_url_env"]))
        if url is None:
            return [f"{path}.webhook_url_env: the environment variable {spec['webhook_url_env']} is unset"]
        tier.webhook_url = url
        return []
    shown = spec.get("webhook") or ""
    if not shown:
        return []
    if current is not None and webhook_fingerprint(current.webhook_url) == shown:
        tier.webhook_url = current.webhook_url
        return []
    return [
        f"{path}.webhook: not this tier's current webhook; a webhook URL is a credential and is never "
        "exported, so name an environment variable that holds it with webhook_url_env"
    ]


def plan_agent(path, name, spec, planned):
    if not isinstance(spec, dict):
        return [f"{path}: a mapping with pause and pause_reason"]
    errors = [f"{path}.{key}: unknown field" for key in sorted(set(spec) - AGENT_KEYS)]
    agent = Agent.objects.filter(name=name).first()
    if agent is None:
        return [*errors, f"{path}: no agent is called {name!r}"]
    before = {"pause": agent.pause, "pause_reason": agent.pause_reason}
    agent.pause = spec.get("pause", agent.pause) or ""
    agent.pause_reason = spec.get("pause_reason", agent.pause_reason) or ""
    if agent.pause not in ("", "block", "hold"):
        errors.append(f"{path}.pause: one of block, hold, or empty")
    elif agent.pause and not agent.pause_reason:
        errors.append(f"{path}.pause_reason: say why the agent is paused")
    planned.append((agent, before))
    return errors


def sync(related, wanted, *, key, fields):
    """Make `related` (a type's rules or escalation tiers) exactly `wanted` (None: leave them),
    matched by `key`, saving only those whose `fields` differ."""
    if wanted is None:
        return
    existing = {getattr(obj, key): obj for obj in related.all()}
    for obj in wanted:
        current = existing.pop(getattr(obj, key), None)
        if current is None:
            obj.action_type = related.instance
            obj.save()
        elif any(getattr(current, name) != getattr(obj, name) for name in fields):
            for name in fields:
                setattr(current, name, getattr(obj, name))
            current.save()
    related.filter(pk__in=[obj.pk for obj in existing.values()]).delete()
