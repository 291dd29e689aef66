"""The policies' generation: one number that every change to what a proposal reads bumps, so
that each process may keep the policies it read until the number moves (policies/cache.py).

Statement-level triggers bump it in the changing transaction, whatever the path (the admin, an
import, a queryset's update(), psql), so it becomes visible with the change's commit. Its values
are drawn from a sequence, which a rollback does not rewind: a number never comes back with
other contents. The table is no model's, so a test database's flush leaves it alone; TRUNCATE
of a policy table bumps it too.

A standing approval's `uses` is left out: it grows with every use, and a cached set of active
approvals stays a superset of them without it (policies/cache.py)."""

from django.db import migrations

WATCHED = {
    "policies_actiontype": "INSERT OR UPDATE OR DELETE OR TRUNCATE",
    "policies_rule": "INSERT OR UPDATE OR DELETE OR TRUNCATE",
    "policies_agent": "INSERT OR UPDATE OR DELETE OR TRUNCATE",
    "policies_agenttoken": "INSERT OR UPDATE OR DELETE OR TRUNCATE",
    "policies_standingapproval": (
        "INSERT OR UPDATE OF action_type_id, agent_id, constraints, expires_at, max_uses, revoked_at "
        "OR DELETE OR TRUNCATE"
    ),
}

FORWARD = """
CREATE SEQUENCE policies_generation_seq;
CREATE TABLE policies_generation (n bigint NOT NULL);
INSERT INTO policies_generation VALUES (nextval('policies_generation_seq'));

CREATE FUNCTION policies_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE policies_generation SET n = nextval('policies_generation_seq');
    RETURN NULL;
END
$$;
""" + "".join(
    f"CREATE TRIGGER {table}_changed AFTER {events} ON {table} "
    "FOR EACH STATEMENT EXECUTE FUNCTION policies_changed();\n"
    for table, events in WATCHED.items()
)

BACKWARD = "".join(f"DROP TRIGGER {table}_changed ON {table};\n" for table in WATCHED) + """
DROP FUNCTION policies_changed();
DROP TABLE policies_generation;
DROP SEQUENCE policies_generation_seq;
"""


class Migration(migrations.Migration):
    dependencies = [("policies", "0006_actiontype_params_schema_inferred")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
