# The policy admins' permissions on the MCP gateway's upstream servers (hitl_site/roles.py).

from django.db import migrations

from hitl_site import roles


class Migration(migrations.Migration):

    dependencies = [
        ("hitl_site", "0001_roles"),
        ("gateway", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(roles.migrate, migrations.RunPython.noop),
    ]
