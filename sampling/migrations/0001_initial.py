# Sample and SamplingWatermark move here from approvals. Their tables, rows and permissions stay:
# only Django's idea of which app holds them changes (approvals 0007 forgets them there).

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def move_content_types(apps, schema_editor, source="approvals", target="sampling"):
    """The content types (and so the permissions, such as view_sample) follow the models."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label=source, model__in=["sample", "samplingwatermark"]).update(
        app_label=target
    )


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="sampling", target="approvals")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("approvals", "0006_decision_copies_of_the_action"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("policies", "0003_escalation_tiers_sampling_and_executor"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SamplingWatermark",
                    fields=[
                        ("action_type", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name="+", serialize=False, to="policies.actiontype")),
                        ("through", models.DateTimeField()),
                    ],
                    options={"db_table": "approvals_samplingwatermark"},
                ),
                migrations.CreateModel(
                    name="Sample",
                    fields=[
                        ("action", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name="sample", serialize=False, to="approvals.action")),
                        ("drawn_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("grade", models.CharField(blank=True, choices=[("correct", "Correct"), ("incorrect", "Incorrect"), ("unsure", "Unsure")], max_length=10)),
                        ("note", models.TextField(blank=True)),
                        ("graded_by_name", models.CharField(blank=True, max_length=150)),
                        ("graded_at", models.DateTimeField(blank=True, null=True)),
                        ("action_type", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="samples", to="policies.actiontype")),
                        ("graded_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "db_table": "approvals_sample",
                        "ordering": ["drawn_at"],
                        "indexes": [models.Index(fields=["action_type", "grade"], name="sample_type_grade")],
                        "permissions": [("grade_sample", "Can grade samples")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
