"""Chain version 2: events in lanes, appended without a global lock; exact canonical JSON; a
chain of signed heads; "Verify now" runs.

- Events get `version` (1 for every event already written, which keeps verifying under the
  rule it was written with), `lane` and `lane_seq`. The events already written are lane 0,
  with `lane_seq` = `seq` (version 1 had one gap-free chain); new events of lane 0 chain on
  after them, the other lanes from the genesis hash.
- `seq` now comes from the sequence `audit_event_seq`, drawn under the lane's lock.
- `audit_append_v2(events, lanes, lock_base)` replaces `audit_append()`: it takes the first
  free lane's transaction-level advisory lock (trying the one this backend prefers first, so
  one transaction's events stay in one lane), reads the lane's end and inserts the events in
  order, hashing each over its version-2 canonical JSON. It waits only when every lane is
  held, and then for the lane it prefers.
"""

from django.db import migrations, models

LANES = r"""
CREATE SEQUENCE audit_event_seq AS bigint OWNED BY audit_event.seq;
SELECT setval('audit_event_seq',
              GREATEST((SELECT max(seq) FROM audit_event), (SELECT max(seq) FROM audit_checkpoint), 0) + 1,
              false);

CREATE FUNCTION audit_take_lane(lanes integer, lock_base bigint) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    preferred integer := pg_backend_pid() % lanes;
    candidate integer;
BEGIN
    FOR step IN 0 .. lanes - 1 LOOP
        candidate := (preferred + step) % lanes;
        -- Re-entrant: a transaction that already holds a lane gets it again at once.
        IF pg_try_advisory_xact_lock(lock_base + candidate) THEN
            RETURN candidate;
        END IF;
    END LOOP;
    -- Every lane is held. A transaction waiting here holds none, so no cycle can form.
    PERFORM pg_advisory_xact_lock(lock_base + preferred);
    RETURN preferred;
END
$$;

-- Where a lane ends: its last event; else (a purge emptied it) where the last checkpoint left
-- it; else the genesis. VOLATILE, so that it sees what committed before the lock was granted.
CREATE FUNCTION audit_lane_end(lane_number integer, OUT end_seq bigint, OUT end_hash varchar)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    lanes jsonb;
    legacy_seq bigint;
    legacy_hash varchar;
BEGIN
    SELECT e.lane_seq, e.hash INTO end_seq, end_hash
    FROM audit_event e WHERE e.lane = lane_number ORDER BY e.lane_seq DESC LIMIT 1;
    IF FOUND THEN
        RETURN;
    END IF;
    SELECT c.lanes, c.seq, c.hash INTO lanes, legacy_seq, legacy_hash
    FROM audit_checkpoint c ORDER BY c.seq DESC LIMIT 1;
    IF FOUND AND lanes IS NULL AND lane_number = 0 THEN
        end_seq := legacy_seq;  -- a version-1 checkpoint: one chain, lane 0
        end_hash := legacy_hash;
        RETURN;
    END IF;
    IF FOUND AND lanes ? lane_number::text THEN
        end_seq := (lanes -> lane_number::text ->> 0)::bigint;
        end_hash := lanes -> lane_number::text ->> 1;
        RETURN;
    END IF;
    end_seq := 0;
    end_hash := repeat('0', 64);
END
$$;

CREATE FUNCTION audit_append_v2(events jsonb, lanes integer, lock_base bigint)
RETURNS TABLE (seq bigint, lane integer, lane_seq bigint, prev_hash varchar, hash varchar)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    chosen integer;
    last_lane_seq bigint;
    last_hash varchar;
    next_seq bigint;
    event jsonb;
    hashed text;
BEGIN
    chosen := audit_take_lane(lanes, lock_base);
    SELECT e.end_seq, e.end_hash INTO last_lane_seq, last_hash FROM audit_lane_end(chosen) e;
    FOR event IN SELECT value FROM jsonb_array_elements(events) LOOP
        next_seq := nextval('audit_event_seq');
        last_lane_seq := last_lane_seq + 1;
        -- Python sent the canonical JSON with an unguessable token where each of these goes.
        hashed := encode(sha256(convert_to(
            replace(replace(replace(replace(event->>'canonical',
                event->>'seq_token', next_seq::text),
                event->>'lane_token', chosen::text),
                event->>'lane_seq_token', last_lane_seq::text),
                event->>'prev_hash_token', '"' || last_hash || '"'),
            'UTF8')), 'hex');
        INSERT INTO audit_event (seq, version, lane, lane_seq, at, kind, actor_kind, actor_id, actor_name, agent,
            session_id, on_behalf_of, model, prompt_version, action_id, action_type, summary, data, prev_hash, hash)
        SELECT next_seq, 2, chosen, last_lane_seq, r.at, r.kind, r.actor_kind, r.actor_id, r.actor_name, r.agent,
            r.session_id, r.on_behalf_of, r.model, r.prompt_version, r.action_id, r.action_type, r.summary, r.data,
            last_hash, hashed
        FROM jsonb_populate_record(NULL::audit_event, event->'row') AS r;
        seq := next_seq;
        lane := chosen;
        lane_seq := last_lane_seq;
        prev_hash := last_hash;
        hash := hashed;
        RETURN NEXT;
        last_hash := hashed;
    END LOOP;
END
$$;

DROP FUNCTION audit_append(jsonb, bigint);
"""

DROP_LANES = r"""
DROP FUNCTION audit_append_v2(jsonb, integer, bigint);
DROP FUNCTION audit_lane_end(integer);
DROP FUNCTION audit_take_lane(integer, bigint);
DROP SEQUENCE audit_event_seq;
"""

# The events already written: one chain, so lane 0 at their seq. The append-only trigger is
# switched off for this one statement, as only the tables' owner (a migration) can.
BACKFILL = r"""
ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only;
UPDATE audit_event SET lane_seq = seq;
ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only;
"""


def restore_append(apps, schema_editor):
    # Going back: version 1's function, as migration 0004 wrote it.
    import importlib

    migration = importlib.import_module("audit.migrations.0004_append_in_one_statement")
    schema_editor.execute(migration.APPEND)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_append_in_one_statement")]

    operations = [
        migrations.AddField(
            model_name="event",
            name="version",
            field=models.PositiveSmallIntegerField(default=1),
            preserve_default=False,
        ),
        migrations.AlterField(model_name="event", name="version", field=models.PositiveSmallIntegerField(default=2)),
        migrations.AddField(model_name="event", name="lane", field=models.SmallIntegerField(default=0)),
        migrations.AddField(model_name="event", name="lane_seq", field=models.BigIntegerField(null=True)),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AlterField(model_name="event", name="lane_seq", field=models.BigIntegerField()),
        migrations.AddConstraint(
            model_name="event",
            constraint=models.UniqueConstraint(fields=("lane", "lane_seq"), name="event_lane_position"),
        ),
        migrations.AddField(model_name="checkpoint", name="lanes", field=models.JSONField(blank=True, null=True)),
        migrations.AddField(
            model_name="chainhead", name="number", field=models.BigIntegerField(blank=True, null=True, unique=True)
        ),
        migrations.AddField(model_name="chainhead", name="lanes", field=models.JSONField(blank=True, null=True)),
        migrations.AddField(
            model_name="chainhead", name="prev_number", field=models.BigIntegerField(blank=True, null=True)
        ),
        migrations.AddField(
            model_name="chainhead",
            name="prev_signature",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(model_name="chainhead", name="checked", field=models.BigIntegerField(default=0)),
        migrations.AddField(model_name="chainhead", name="full", field=models.BooleanField(default=False)),
        migrations.CreateModel(
            name="Verification",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("requested_by", models.CharField(max_length=150)),
                ("requested_at", models.DateTimeField()),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("total", models.BigIntegerField(default=0)),
                ("checked", models.BigIntegerField(default=0)),
                ("ok", models.BooleanField(null=True)),
                ("problem", models.TextField(blank=True)),
                ("head_number", models.BigIntegerField(blank=True, null=True)),
            ],
            options={"ordering": ["-pk"], "get_latest_by": "pk"},
        ),
        migrations.RunSQL(LANES, DROP_LANES),
        migrations.RunPython(migrations.RunPython.noop, restore_append),
    ]
