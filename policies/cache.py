"""The policies a proposal reads — the agent behind a token, the action type with its rules,
whether a standing approval may apply — kept in each process for as long as no policy changes.

Every change to those tables, from any process or path (the admin, `policies import`, a
queryset's `update()`, psql), bumps one number in PostgreSQL, `policies_generation`, by a
trigger in the changing transaction (migration policies.0007). Each proposal reads it first, one
cheap statement, and uses what this process read at the same number; a different number
starts afresh. So a change applies from the very next proposal everywhere, with no waiting for
an expiry or a message between processes.

The number is read before anything it vouches for, and becomes visible with the change's own
commit: what is kept under it is never older than it. Its values come from a sequence, which a
rollback does not rewind, so a number is never reused for other contents. Only what exists is
kept (an unknown token or key is asked again each time), so the cache holds at most the
policies there are.
"""

import copy

from django.db import connection

from policies.models import ActionType, AgentToken, ShadowPolicy, StandingApproval

_latest = None  # this process's Policies, of the last generation a proposal read


class Policies:
    def __init__(self, generation):
        self.generation = generation
        self._agents = {}  # token digest → Agent
        self._action_types = {}  # key → ActionType, its rules prefetched
        self._standing = None  # {(action_type_id, agent_id)} of the standing approvals active when read
        self._shadows = None  # {action_type_id: ShadowPolicy} of the active shadow policies (policies/shadow.py)

    @classmethod
    def current(cls):
        """The policies as of now: one statement when nothing changed since the last proposal."""
        global _latest
        with connection.cursor() as cursor:
            cursor.execute("SELECT n FROM policies_generation")
            generation = cursor.fetchone()[0]
        policies = _latest
        if policies is None or policies.generation != generation:
            policies = _latest = cls(generation)
        return policies

    def agent_for_token(self, secret):
        """The agent of an active token, or None."""
        digest = AgentToken.digest_of(secret)
        agent = self._agents.get(digest)
        if agent is None:
            agent = AgentToken.agent_for_digest(digest)
            if agent is None:
                return None
            self._agents[digest] = agent
        # A copy per request: whatever a request caches on its instance stays its own.
        return copy.copy(agent)

    def action_type(self, key):
        """The action type called `key`, with its rules; None for an unknown key."""
        action_type = self._action_types.get(key)
        if action_type is None:
            action_type = ActionType.objects.filter(key=key).prefetch_related("rules").first()
            if action_type is None:
                return None
            self._action_types[key] = action_type
        return copy.copy(action_type)

    def may_have_standing_approval(self, action_type, agent):
        """False when no standing approval can apply to this type and agent, so routing need not
        ask. Read once per generation: an approval only leaves the active set by itself (it
        expires, or its uses run out) and enters it by a change that bumps the generation (it is
        created, extended or un-revoked), so the set read stays a superset of the active ones."""
        if self._standing is None:
            self._standing = set(StandingApproval.objects.active().values_list("action_type_id", "agent_id"))
        return (action_type.pk, agent.pk) in self._standing

    def shadow_policy(self, action_type):
        """The type's active shadow policy, or None: all of them read once per generation (a
        candidate starting, promoted or discarded bumps it, migration policies.0009)."""
        if self._shadows is None:
            self._shadows = {shadow.action_type_id: shadow for shadow in ShadowPolicy.objects.active()}
        return self._shadows.get(action_type.pk)
