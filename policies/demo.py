"""Demo data: the action types a realistic deployment starts with.

Tuned so that what reaches a person deserves one: routine replies and small refunds run at
act-with-audit and are sampled; large refunds, new or bulk emails, deletions and deploys wait.
"""

from datetime import timedelta

ESCALATION_TIER_DURATION = timedelta(minutes=15)

ACTION_TYPES = [
    {
        "key": "email.send",
        "name": "Send an email",
        "description": "Send an email to a customer or colleague.",
        # A reply to the customer on their own ticket runs and is sampled; anything else (a new
        # message, several recipients, text from outside) waits for a person.
        "autonomy": "audit",
        "sampling_rate": 0.2,
        "blast_radius": "medium",
        "irreversible": True,
        "allow_irreversible_unattended": True,
        "editable_params": ["subject", "body", "to"],
        "rules": [
            {"name": "several recipients", "expression": "size(params.to) > 1", "level": "confirm"},
            {
                "name": "not a reply on a ticket",
                "expression": '!has(context.ticket) || !params.subject.startsWith("Re:")',
                "level": "confirm",
            },
            {"name": "written from untrusted text", "expression": "size(untrusted) > 0", "level": "confirm"},
        ],
        "summary_template": "Email {{ to|listing:'recipient' }}: “{{ subject }}”",
        "params_schema": {
            "type": "object",
            "required": ["to", "subject", "body"],
            "properties": {
                "to": {
                    "type": "array",
                    "title": "Recipients",
                    "items": {"type": "string", "format": "email"},
                    "minItems": 1,
                },
                "subject": {"type": "string", "title": "Subject", "maxLength": 200},
                "body": {"type": "string", "title": "Body", "maxLength": 20000},
            },
            "additionalProperties": False,
        },
    },
    {
        "key": "crm.delete_contacts",
        "name": "Delete CRM contacts",
        "description": "Permanently delete contacts from the CRM.",
        "autonomy": "confirm",
        "blast_radius": "high",
        "irreversible": True,
        "editable_params": ["contact_ids"],
        "summary_template": "Delete {{ contact_ids|listing:'contact' }} from the CRM",
        "params_schema": {
            "type": "object",
            "required": ["contact_ids"],
            "properties": {
                "contact_ids": {
                    "type": "array",
                    "title": "Contacts",
                    "items": {"type": "string"},
                    "minItems": 1,
                    "maxItems": 500,
                },
                "reason": {"type": "string", "title": "Reason"},
            },
            "additionalProperties": False,
        },
    },
    {
        "key": "deploy.production",
        "name": "Deploy to production",
        "description": "Roll a build out to the production environment.",
        "autonomy": "suggest",
        "blast_radius": "high",
        "irreversible": False,
        "editable_params": ["version"],
        "summary_template": "Deploy {{ service }} version {{ version }} to production",
        "params_schema": {
            "type": "object",
            "required": ["service", "version"],
            "properties": {
                "service": {"type": "string", "title": "Service"},
                "version": {"type": "string", "title": "Version", "pattern": "^v?[0-9]+\\.[0-9]+\\.[0-9]+$"},
                "canary": {"type": "boolean", "title": "Canary first", "default": True},
            },
            "additionalProperties": False,
        },
    },
    {
        "key": "payments.refund",
        "name": "Refund a payment",
        "description": "Refund money to a customer's original payment method.",
        # Small refunds run and a quarter of them are sampled; above 100 a person confirms.
        "autonomy": "audit",
        "sampling_rate": 0.25,
        "blast_radius": "medium",
        "irreversible": True,
        "allow_irreversible_unattended": True,
        "editable_params": ["amount"],
        "summary_template": "Refund {{ amount|money:currency }} to customer {{ customer }}",
        "rules": [
            {"name": "large refund", "expression": "params.amount > 100", "level": "confirm"},
            {"name": "very large refund", "expression": "params.amount > 20000", "level": "suggest"},
        ],
        "params_schema": {
            "type": "object",
            "required": ["customer", "amount", "currency"],
            "properties": {
                "customer": {"type": "string", "title": "Customer", "pattern": "^cus_[A-Za-z0-9]+$"},
                "amount": {"type": "number", "title": "Amount", "exclusiveMinimum": 0, "maximum": 100000},
                "currency": {"type": "string", "title": "Currency", "enum": ["USD", "EUR", "GBP"]},
                "order": {"type": "string", "title": "Order"},
            },
            "additionalProperties": False,
        },
    },
    {
        "key": "tickets.tag",
        "name": "Tag a support ticket",
        "description": "Add tags to a support ticket.",
        "autonomy": "audit",
        "blast_radius": "low",
        "irreversible": False,
        "editable_params": ["tags"],
        "summary_template": "Tag ticket {{ ticket }} with {{ tags|listing:'tag' }}",
        "rules": [
            {
                "name": "tags chosen from untrusted text",
                "expression": "size(untrusted) > 0 && params.tags.exists(t, t == 'refund' || t == 'legal')",
                "level": "confirm",
            },
        ],
        "params_schema": {
            "type": "object",
            "required": ["ticket", "tags"],
            "properties": {
                "ticket": {"type": "string", "title": "Ticket"},
                "tags": {"type": "array", "title": "Tags", "items": {"type": "string"}, "minItems": 1},
            },
            "additionalProperties": False,
        },
    },
    {
        "key": "docs.search",
        "name": "Search the documentation",
        "description": "Full-text search over internal documentation (read-only).",
        "autonomy": "autonomous",
        "blast_radius": "low",
        "irreversible": False,
        "editable_params": [],
        "summary_template": "Search the docs for “{{ query }}”",
        "params_schema": {
            "type": "object",
            "required": ["query"],
            "properties": {
                "query": {"type": "string", "title": "Query", "minLength": 1, "maxLength": 500},
                "limit": {"type": "integer", "title": "Results", "minimum": 1, "maximum": 50},
            },
            "additionalProperties": False,
        },
    },
]


def install_action_types(reviewers, escalate_to=None):
    """Create the demo's action types (with their rules) that do not exist yet, and let the
    `reviewers` group review each; with `escalate_to` (a group), give each type that has none
    an escalation tier to it, so a newcomer sees the whole ladder. Safe to run again."""
    from guardian.shortcuts import assign_perm

    from policies.models import ActionType

    action_types = []
    for spec in ACTION_TYPES:
        spec = dict(spec)
        rules = spec.pop("rules", [])
        # The demo's types have a history: they start past the first-use gate.
        action_type, created = ActionType.objects.get_or_create(
            key=spec["key"], defaults={**spec, "first_use_threshold": 0}
        )
        if created:
            for order, rule in enumerate(rules):
                action_type.rules.create(order=order, **rule)
        assign_perm("policies.review_actiontype", reviewers, action_type)
        if escalate_to is not None and not action_type.escalation_tiers.exists():
            action_type.escalation_tiers.create(position=1, group=escalate_to, duration=ESCALATION_TIER_DURATION)
        action_types.append(action_type)
    return action_types


# What the demo's simulated agent (bench/simulated_agent.py) and the scale seed propose.

FIRST_NAMES = ["ana", "ben", "chen", "dara", "emeka", "fatima", "goran", "hana", "ivan", "june"]


def realistic_proposal(rng):
    """One (action, params, fields) as a support/billing/ops agent would send."""
    kind = rng.choices(
        ["payments.refund", "email.send", "crm.delete_contacts", "tickets.tag", "docs.search", "deploy.production"],
        weights=[3, 3, 1, 4, 5, 1],
    )[0]
    ticket = f"T-{rng.randint(1000, 9999)}"
    session = f"run-{rng.randint(1, 40)}"
    name = rng.choice(FIRST_NAMES)
    if kind == "payments.refund":
        amount = rng.choice([12.5, 49, 75, 120, 310, 750, 1800])
        params = {
            "customer": f"cus_{rng.randint(10000, 99999)}",
            "amount": amount,
            "currency": rng.choice(["USD", "EUR", "GBP"]),
        }
        rationale = f"Customer reports a double charge on order {rng.randint(100, 999)} ({ticket})."
    elif kind == "email.send":
        params = {
            "to": [f"{name}@example.com"],
            "subject": f"Re: your ticket {ticket}",
            "body": (
                f"Hi {name.title()},\n\nWe have looked into {ticket} and refunded the duplicate charge."
                "\n\nBest,\nSupport"
            ),
        }
        rationale = f"Replying to {name} about {ticket}."
    elif kind == "crm.delete_contacts":
        params = {
            "contact_ids": [f"c_{rng.randint(1000, 9999)}" for _ in range(rng.randint(1, 8))],
            "reason": "GDPR erasure request",
        }
        rationale = f"Erasure request received in {ticket}."
    elif kind == "tickets.tag":
        params = {"ticket": ticket, "tags": rng.sample(["billing", "refund", "bug", "vip", "churn-risk", "gdpr"], 2)}
        rationale = "Tagging for routing."
    elif kind == "docs.search":
        params = {"query": rng.choice(["refund policy", "GDPR erasure", "deploy checklist", "SLA tiers"]), "limit": 5}
        rationale = "Looking up policy before answering."
    else:
        params = {
            "service": rng.choice(["billing-api", "web", "worker"]),
            "version": f"v1.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
            "canary": True,
        }
        rationale = "All checks green on staging."
    fields = {
        "session_id": session,
        "on_behalf_of": f"{name}@example.com",
        "model": "gpt-5.1",
        "prompt_version": "support-agent@v7",
        "confidence": round(rng.uniform(0.4, 0.99), 2),
        "rationale": rationale,
        "context": {"ticket": ticket},
    }
    return kind, params, fields
