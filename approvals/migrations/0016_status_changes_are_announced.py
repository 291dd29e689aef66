"""A status change of an action is announced by the change itself (`approvals.models.announce`,
one NOTIFY on `action_changed` that both waiting agents and the inbox stream hear), so the inbox
trigger no longer reports it a second time on `inbox_changed`. The trigger still tells the inbox
of what no status change announces: an arrival, an escalation, an appeal, a question."""

from importlib import import_module

from django.db import migrations

# Undone, the trigger is 0014's again.
BEFORE = import_module("approvals.migrations.0014_question_expedited").INBOX_CHANGED.replace(
    "{question_update}", "expedited"
)

INBOX_CHANGED = """
CREATE OR REPLACE FUNCTION approvals_inbox_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    waiting text[] := ARRAY['pending', 'suggested'];
    kind text;
BEGIN
    IF TG_TABLE_NAME = 'approvals_action' THEN
        IF TG_OP = 'INSERT' THEN
            kind := CASE WHEN NEW.status = ANY (waiting) THEN 'new' END;
        ELSIF NEW.status IS NOT DISTINCT FROM OLD.status
              AND NEW.escalation_tier IS DISTINCT FROM OLD.escalation_tier AND NEW.status = ANY (waiting) THEN
            kind := 'escalated';
        END IF;
    ELSIF TG_OP = 'INSERT' THEN
        kind := 'new';
    ELSIF TG_TABLE_NAME = 'approvals_question' THEN
        -- Nested: PL/pgSQL would read NEW.answered_at of an appeal in a joined condition.
        IF NEW.answered_at IS NOT DISTINCT FROM OLD.answered_at THEN
            kind := 'expedited';
        ELSE
            kind := 'decided';
        END IF;
    ELSE
        kind := 'decided';
    END IF;
    IF kind IS NOT NULL THEN
        PERFORM pg_notify('inbox_changed', kind);
    END IF;
    RETURN NULL;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("approvals", "0015_merge_20261204_1922")]

    operations = [migrations.RunSQL(INBOX_CHANGED, BEFORE)]
