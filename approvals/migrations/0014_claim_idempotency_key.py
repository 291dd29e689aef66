"""A proposal's Idempotency-Key in one round trip: take the key's lock (held to the commit) and,
once it is held, read the action the key already made, if any.

PL/pgSQL because the order matters: each statement of a function takes its own snapshot, so
the lookup sees every action committed before the lock was granted. In one plain SELECT the
snapshot would come first, and a proposal with the same key committing in between would be
missed (and its twin inserted, against the unique constraint)."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION approvals_claim_idempotency_key(
    agent integer, key text, OUT claimed boolean, OUT action_id uuid, OUT request_digest text
) LANGUAGE plpgsql AS $$
BEGIN
    claimed := pg_try_advisory_xact_lock(agent, hashtext(key));
    IF claimed THEN
        SELECT a.id, a.request_digest INTO action_id, request_digest
        FROM approvals_action a
        WHERE a.agent_id = agent AND a.idempotency_key = key;
    END IF;
END
$$;
"""

BACKWARD = "DROP FUNCTION approvals_claim_idempotency_key(integer, text);"


class Migration(migrations.Migration):
    dependencies = [("approvals", "0013_inbox_changed_triggers")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
