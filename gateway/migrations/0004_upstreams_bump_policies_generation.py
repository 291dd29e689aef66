"""A change to what a `tools/call` looks up first — an upstream's name, switch or connection, a
tool's name or whether it is withheld — bumps the policies' generation (policies migration
0007), so that each process may keep the tools it found until the number moves
(`gateway.calls.find_tool`), as it keeps the policies. A listing's text and age
(`listing`, `listed_at`, refreshed once a minute) are left out: nothing a call looks up."""

from django.db import migrations

WATCHED = {
    "gateway_upstream": (
        "INSERT OR UPDATE OF name, enabled, transport, command, args, env, cwd, url, headers, timeout "
        "OR DELETE OR TRUNCATE"
    ),
    "gateway_upstreamtool": "INSERT OR UPDATE OF upstream_id, name, withheld_reason OR DELETE OR TRUNCATE",
}

FORWARD = "".join(
    f"CREATE TRIGGER {table}_changed AFTER {events} ON {table} FOR EACH STATEMENT EXECUTE FUNCTION policies_changed();\n"
    for table, events in WATCHED.items()
)
BACKWARD = "".join(f"DROP TRIGGER {table}_changed ON {table};\n" for table in WATCHED)


class Migration(migrations.Migration):
    dependencies = [
        ("gateway", "0003_upstream_last_listing"),
        ("policies", "0008_merge_0007_earned_autonomy_0007_policy_generation"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
