# The roles (hitl_site/roles.py), so that an install without the demo has working roles.

from django.db import migrations

from hitl_site import roles


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("audit", "0004_append_in_one_statement"),
        ("policies", "0003_escalation_tiers_sampling_and_executor"),
        ("approvals", "0008_action_view_insights_permission"),
        ("sampling", "0001_initial"),
    ]

    operations = [
        # Reversing keeps the groups: people may belong to them.
        migrations.RunPython(roles.migrate, migrations.RunPython.noop),
    ]
