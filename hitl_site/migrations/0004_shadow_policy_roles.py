# Policy admins start and read shadow policies (policies.ShadowPolicy, #36; hitl_site/roles.py).

from django.db import migrations

from hitl_site import roles


class Migration(migrations.Migration):
    dependencies = [
        ("hitl_site", "0003_question_roles"),
        ("policies", "0009_shadow_policy"),
    ]

    operations = [
        migrations.RunPython(roles.migrate, migrations.RunPython.noop),
    ]
