"""The inbox's stream hears PostgreSQL: a trigger NOTIFYs `inbox_changed` whenever what an inbox
shows changes — an action comes to wait for a person (`new`), leaves the queue (`decided`,
`expired`), or moves up an escalation tier (`escalated`); a question or an appeal arrives or is
answered — from whichever code path or channel, bulk writes included.

The payload names the kind of change only: each open inbox then asks for its own queue, which
its permissions filter. PostgreSQL folds identical notifications of one transaction into one, so
a batch of 500 decisions is one message, not 500."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION approvals_inbox_changed() RETURNS trigger LANGUAGE plpgsql AS $$
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
            kind := 'escalated';
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

CREATE TRIGGER approvals_action_inbox_changed
    AFTER INSERT OR UPDATE OF status, escalation_tier ON approvals_action
    FOR EACH ROW EXECUTE FUNCTION approvals_inbox_changed();
CREATE TRIGGER approvals_question_inbox_changed
    AFTER INSERT OR UPDATE OF answered_at, escalated ON approvals_question
    FOR EACH ROW EXECUTE FUNCTION approvals_inbox_changed();
CREATE TRIGGER approvals_appeal_inbox_changed
    AFTER INSERT OR UPDATE OF resolved_at ON approvals_appeal
    FOR EACH ROW EXECUTE FUNCTION approvals_inbox_changed();
"""

BACKWARD = """
DROP TRIGGER approvals_appeal_inbox_changed ON approvals_appeal;
DROP TRIGGER approvals_question_inbox_changed ON approvals_question;
DROP TRIGGER approvals_action_inbox_changed ON approvals_action;
DROP FUNCTION approvals_inbox_changed();
"""


class Migration(migrations.Migration):
    dependencies = [("approvals", "0012_merge_20261202_0550")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
