# The supervisors answer agents' questions (approvals.Question, hitl_site/roles.py).

from django.db import migrations

from hitl_site import roles


class Migration(migrations.Migration):

    dependencies = [
        ("hitl_site", "0002_gateway_roles"),
        ("approvals", "0010_question_and_reject_option"),
    ]

    operations = [
        migrations.RunPython(roles.migrate, migrations.RunPython.noop),
    ]
