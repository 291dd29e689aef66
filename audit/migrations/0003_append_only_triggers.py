"""History cannot be changed through any connection, the application's own and a superuser's
included (short of dropping the triggers, which only the tables' owner can):

- UPDATE of an event, a checkpoint or a chain head is refused;
- DELETE is refused, except on events that a retention checkpoint covers and that are older
  than 180 days, the floor the product promises (see audit/retention.py);
- TRUNCATE is refused, except on a database whose owner set
  `ALTER DATABASE … SET countersign.audit_truncate = 'allowed'`. The trigger reads that from the
  catalog, not from the session, so no `SET` in a session can switch it on; only the test
  database sets it, so that pytest-django can empty the tables between tests.

A second trigger fills the stored `search` tsvector on insert (GIN-indexed).
"""

from django.db import migrations

APPEND_ONLY = r"""
CREATE FUNCTION audit_truncate_allowed() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM pg_catalog.pg_db_role_setting s
        JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
        WHERE d.datname = current_database() AND s.setrole = 0
          AND 'countersign.audit_truncate=allowed' = ANY (s.setconfig)
    )
$$;

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND audit_truncate_allowed() THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Retention: only events behind a checkpoint, and never younger than 180 days.
    IF TG_OP = 'DELETE'
       AND OLD.seq <= (SELECT max(seq) FROM audit_checkpoint)
       AND OLD.at < now() - interval '180 days' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % of event #% refused', TG_OP, OLD.seq
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

CREATE TRIGGER audit_chainhead_append_only BEFORE UPDATE OR DELETE ON audit_chainhead
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_chainhead_no_truncate BEFORE TRUNCATE ON audit_chainhead
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

CREATE FUNCTION audit_event_fill_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search :=
        setweight(to_tsvector('english', NEW.summary), 'A')
        -- Dotted keys both whole ("payments.refund") and by word ("refund").
        || to_tsvector('english', concat_ws(' ', NEW.kind, replace(NEW.kind, '.', ' '), NEW.action_type,
                                            replace(NEW.action_type, '.', ' '), NEW.agent, NEW.actor_name,
                                            NEW.session_id, NEW.on_behalf_of))
        || jsonb_to_tsvector('english', NEW.data, '["string", "numeric"]');
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_event_search BEFORE INSERT ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_fill_search();
"""

# Events written before this migration, filled once while UPDATE is still allowed.
BACKFILL = r"""
UPDATE audit_event SET search =
    to_tsvector('english', concat_ws(' ', kind, replace(kind, '.', ' '), action_type, replace(action_type, '.', ' '),
                                     agent, actor_name, session_id, on_behalf_of))
    || jsonb_to_tsvector('english', data, '["string", "numeric"]');
"""

DROP = r"""
DROP TRIGGER audit_event_search ON audit_event;
DROP FUNCTION audit_event_fill_search();
DROP TRIGGER audit_chainhead_no_truncate ON audit_chainhead;
DROP TRIGGER audit_chainhead_append_only ON audit_chainhead;
DROP TRIGGER audit_checkpoint_no_truncate ON audit_checkpoint;
DROP TRIGGER audit_checkpoint_append_only ON audit_checkpoint;
DROP TRIGGER audit_event_no_truncate ON audit_event;
DROP TRIGGER audit_event_append_only ON audit_event;
DROP FUNCTION audit_event_refuse_change();
DROP FUNCTION audit_refuse_change();
DROP FUNCTION audit_truncate_allowed();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_search_checkpoints_chain_heads"),
    ]

    operations = [migrations.RunSQL(BACKFILL, migrations.RunSQL.noop), migrations.RunSQL(APPEND_ONLY, DROP)]
