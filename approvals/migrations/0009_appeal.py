# The end user's "This is wrong" / "Get a human" is an Appeal, so that "escalation" names only
# the SLA's move up the tiers. The rows stay; notifications about them get the new kind.

import django.db.models.deletion
from django.db import migrations, models


def rename_kind(apps, schema_editor, old="user_escalation", new="appeal"):
    Notification = apps.get_model("approvals", "Notification")
    Notification.objects.filter(kind=old).update(kind=new)


def rename_kind_back(apps, schema_editor):
    rename_kind(apps, schema_editor, old="appeal", new="user_escalation")


class Migration(migrations.Migration):

    dependencies = [
        ("approvals", "0008_action_view_insights_permission"),
        ("policies", "0003_escalation_tiers_sampling_and_executor"),
    ]

    operations = [
        migrations.RenameModel("UserEscalation", "Appeal"),
        migrations.AlterField(
            model_name="appeal",
            name="action",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="appeals", to="approvals.action"),
        ),
        migrations.AlterField(
            model_name="appeal",
            name="agent",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="appeals", to="policies.agent"),
        ),
        migrations.AlterField(
            model_name="notification",
            name="kind",
            field=models.CharField(choices=[("warning", "SLA warning"), ("escalated", "Escalated"), ("fallback", "Timeout fallback"), ("appeal", "End user's appeal"), ("digest", "Digest")], max_length=20),
        ),
        migrations.RunPython(rename_kind, rename_kind_back),
    ]
