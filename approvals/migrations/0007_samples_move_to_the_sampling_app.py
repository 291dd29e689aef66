# Sample and SamplingWatermark now belong to the sampling app (its 0001); their tables stay.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("approvals", "0006_decision_copies_of_the_action"),
        ("sampling", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Sample"),
                migrations.DeleteModel(name="SamplingWatermark"),
            ],
            database_operations=[],
        ),
    ]
