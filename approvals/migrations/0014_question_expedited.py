"""A question the agent hurries (HumanLayer's `escalate_email` on a contact request) is
*expedited*: "escalated" names only an action's move up its SLA tiers. The columns are renamed
(the inbox trigger on them follows the rename), and the trigger tells the inbox `expedited`
rather than `escalated` when such a question changes."""

from django.db import migrations

INBOX_CHANGED = """
CREATE OR REPLACE FUNCTION approvals_inbox_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    waiting text[] := ARRAY['pending', 'suggested'];
    kind text;
BEGIN
    IF TG_TABLE_NAME = 'approvals_action' THEN
        IF TG_OP = 'INSERT' THEN
            kind := CASE WHEN NEW.status = ANY (waiting) THEN 'new' END;
        ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
            kind := CASE
                WHEN NEW.status = ANY (waiting) THEN 'new'
                WHEN OLD.status = ANY (waiting) THEN CASE WHEN NEW.status = 'expired' THEN 'expired' ELSE 'decided' END
            END;
        ELSIF NEW.escalation_tier IS DISTINCT FROM OLD.escalation_tier AND NEW.status = ANY (waiting) THEN
            kind := 'escalated';
        END IF;
    ELSIF TG_OP = 'INSERT' THEN
        kind := 'new';
    ELSIF TG_TABLE_NAME = 'approvals_question' THEN
        -- Nested: PL/pgSQL would read NEW.answered_at of an appeal in a joined condition.
        IF NEW.answered_at IS NOT DISTINCT FROM OLD.answered_at THEN
            kind := '{question_update}';
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
    dependencies = [("approvals", "0013_inbox_changed_triggers")]

    operations = [
        migrations.RenameField("question", "escalated", "expedited"),
        migrations.RenameField("question", "escalation_message", "expedite_message"),
        migrations.RunSQL(
            INBOX_CHANGED.replace("{question_update}", "expedited"),
            INBOX_CHANGED.replace("{question_update}", "escalated"),
        ),
    ]
