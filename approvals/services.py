"""The proposal flow, which spans the policies, approvals and audit apps."""

import hashlib
import json

from django.db import connection, transaction
from django.utils import timezone

from approvals.metrics import ROUTING_SECONDS
from approvals.models import Action
from audit.log import Actor, record
from policies.models import Autonomy
from policies.routing import action_type_for, route

STATUS_FOR_LEVEL = {
    Autonomy.SUGGEST: Action.Status.SUGGESTED,
    Autonomy.CONFIRM: Action.Status.PENDING,
    Autonomy.AUDIT: Action.Status.APPROVED,
    Autonomy.AUTONOMOUS: Action.Status.APPROVED,
}


class InFlight(Exception):
    """Another request with the same Idempotency-Key is still being processed."""


class KeyReused(Exception):
    """The Idempotency-Key was used before with a different body."""


def action_propose(*, agent, proposal, idempotency_key=None):
    """Route and store one proposal. Returns (action, created).

    With an Idempotency-Key, a replay of the same body returns the stored action
    (created=False); the same key with another body raises KeyReused; the same key while the
    first request is still in its transaction raises InFlight.
    """
    digest = hashlib.sha256(json.dumps(proposal, sort_keys=True, default=str).encode()).hexdigest()
    with transaction.atomic():
        if idempotency_key is not None:
            if not _try_lock(agent.pk, idempotency_key):
                raise InFlight()
            existing = Action.objects.filter(agent=agent, idempotency_key=idempotency_key).first()
            if existing is not None:
                if existing.request_digest != digest:
                    raise KeyReused()
                return existing, False
        action_type = action_type_for(proposal["action"])
        with ROUTING_SECONDS.time():
            decided = route(action_type, proposal["params"])
        status = STATUS_FOR_LEVEL[decided.level]
        now = timezone.now()
        action = Action(
            agent=agent,
            action_type=action_type,
            policy_version=action_type.version,
            status=status,
            autonomy=decided.level,
            params=proposal["params"],
            final_params=proposal["params"] if status == Action.Status.APPROVED else None,
            summary=action_type.render_summary(proposal["params"]),
            route=decided.as_json(),
            session_id=proposal.get("session_id") or "",
            on_behalf_of=proposal.get("on_behalf_of") or "",
            model=proposal.get("model") or "",
            prompt_version=proposal.get("prompt_version") or "",
            confidence=proposal.get("confidence"),
            rationale=proposal.get("rationale") or "",
            context=proposal.get("context") or {},
            batch=proposal.get("batch") or "",
            idempotency_key=idempotency_key,
            request_digest=digest,
            created_at=now,
            due_at=now + action_type.sla if status == Action.Status.PENDING else None,
            decided_at=now if status == Action.Status.APPROVED else None,
        )
        action.save(force_insert=True)
        actor = Actor.agent(agent)
        record(kind="action.proposed", actor=actor, action=action, data={"proposal": proposal})
        record(
            kind="action.routed",
            actor=Actor.system("policy"),
            action=action,
            data={"level": decided.level, "status": status, "policy_version": action_type.version, **decided.as_json()},
        )
    return action, True


def _try_lock(agent_id, key):
    # Held until the transaction ends; a second request with the same key meanwhile is in flight.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))", [agent_id, key])
        return cursor.fetchone()[0]
