"""`audit_append(events jsonb)`: append events to the chain in one statement.

Appends serialize on one advisory lock, held until the appending transaction commits. Taking
the lock, reading the chain's end and inserting each event from Python cost a round trip
each, and under load each round trip also waited for Python's interpreter lock, all while
every other appender waited. This function does the same work in one call: it takes the lock,
reads the end of the chain (the last event, else the last retention checkpoint, else the
genesis), and inserts the events in order, hashing each.

The hash is the one `Event.compute_hash()` gives, so verification does not change: Python
sends each event's canonical JSON with two unguessable tokens where the sequence number and
the previous hash go, and SQL puts them in before hashing the UTF-8 bytes.
"""

from django.db import migrations

APPEND = r"""
CREATE FUNCTION audit_append(events jsonb, chain_lock bigint)
RETURNS TABLE (seq bigint, prev_hash varchar, hash varchar) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    last_seq bigint;
    last_hash varchar;
    event jsonb;
    hashed text;
BEGIN
    PERFORM pg_advisory_xact_lock(chain_lock);
    -- A fresh snapshot per statement (READ COMMITTED): this sees every append committed
    -- before the lock was granted.
    SELECT e.seq, e.hash INTO last_seq, last_hash FROM audit_event e ORDER BY e.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        SELECT c.seq, c.hash INTO last_seq, last_hash FROM audit_checkpoint c ORDER BY c.seq DESC LIMIT 1;
        IF NOT FOUND THEN
            last_seq := 0;
            last_hash := repeat('0', 64);
        END IF;
    END IF;
    FOR event IN SELECT value FROM jsonb_array_elements(events) LOOP
        last_seq := last_seq + 1;
        hashed := encode(sha256(convert_to(
            replace(
                replace(event->>'canonical', event->>'seq_token', '{"$num":"' || last_seq || '"}'),
                event->>'prev_hash_token', '"' || last_hash || '"'
            ), 'UTF8')), 'hex');
        INSERT INTO audit_event (seq, at, kind, actor_kind, actor_id, actor_name, agent, session_id,
            on_behalf_of, model, prompt_version, action_id, action_type, summary, data, prev_hash, hash)
        SELECT last_seq, r.at, r.kind, r.actor_kind, r.actor_id, r.actor_name, r.agent, r.session_id,
            r.on_behalf_of, r.model, r.prompt_version, r.action_id, r.action_type, r.summary, r.data,
            last_hash, hashed
        FROM jsonb_populate_record(NULL::audit_event, event->'row') AS r;
        seq := last_seq;
        prev_hash := last_hash;
        hash := hashed;
        RETURN NEXT;
        last_hash := hashed;
    END LOOP;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_append_only_triggers")]

    operations = [migrations.RunSQL(APPEND, "DROP FUNCTION audit_append(jsonb, bigint);")]
