"""Decisions keep copies of their action's type, agent and proposal time, so that Insights
aggregates them without reading every action in the range. Existing decisions are filled in
from their actions before the columns become required."""

import django.db.models.deletion
from django.db import migrations, models

# Checked at once, not at commit: the ALTER TABLEs below refuse to run with checks pending.
FILL_FROM_ACTIONS = """
SET CONSTRAINTS ALL IMMEDIATE;
UPDATE approvals_decision d
SET action_type_id = a.action_type_id, agent_id = a.agent_id, proposed_at = a.created_at
FROM approvals_action a
WHERE a.id = d.action_id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0005_decision_seconds_to_decide"),
        ("policies", "0003_escalation_tiers_sampling_and_executor"),
    ]

    operations = [
        migrations.AddField(
            model_name="decision",
            name="action_type",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="policies.actiontype"
            ),
        ),
        migrations.AddField(
            model_name="decision",
            name="agent",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="policies.agent"
            ),
        ),
        migrations.AddField(model_name="decision", name="proposed_at", field=models.DateTimeField(null=True)),
        migrations.RunSQL(FILL_FROM_ACTIONS, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="decision",
            name="action_type",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="policies.actiontype"
            ),
        ),
        migrations.AlterField(
            model_name="decision",
            name="agent",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="policies.agent"),
        ),
        migrations.AlterField(model_name="decision", name="proposed_at", field=models.DateTimeField()),
        migrations.AddIndex(
            model_name="decision",
            index=models.Index(fields=["proposed_at"], name="decision_proposed_at"),
        ),
    ]
