"""Shadow policies (#36): a candidate policy per type that routes beside the live one. A
candidate starting or ending bumps the policies' generation (0007), so every process reads it
from the next proposal on."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("policies", "0008_merge_0007_earned_autonomy_0007_policy_generation"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ShadowPolicy",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("active", "Shadowing live traffic"),
                            ("promoted", "Promoted to the live policy"),
                            ("discarded", "Discarded"),
                        ],
                        default="active",
                        editable=False,
                        max_length=16,
                    ),
                ),
                (
                    "origin",
                    models.CharField(
                        choices=[
                            ("admin", "Written in the admin"),
                            ("earned autonomy offer", "An earned-autonomy offer, tried as a shadow first"),
                            ("policies document", "The policies document"),
                        ],
                        default="admin",
                        editable=False,
                        max_length=32,
                    ),
                ),
                (
                    "autonomy",
                    models.CharField(
                        choices=[
                            ("suggest", "Suggest only"),
                            ("confirm", "Confirm before act"),
                            ("audit", "Act with audit"),
                            ("autonomous", "Fully autonomous"),
                        ],
                        default="confirm",
                        max_length=16,
                    ),
                ),
                (
                    "allow_irreversible_unattended",
                    models.BooleanField(default=False, verbose_name="let irreversible actions run without a person"),
                ),
                (
                    "blast_radius",
                    models.CharField(
                        choices=[("low", "Low"), ("medium", "Medium"), ("high", "High")], default="low", max_length=8
                    ),
                ),
                ("confidence_threshold", models.CharField(blank=True, max_length=8)),
                ("first_use_threshold", models.PositiveIntegerField(default=5)),
                ("rate_limit", models.PositiveIntegerField(blank=True, null=True)),
                (
                    "rules",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text='The candidate\'s rules, replacing the live ones: [{"name": "large refund", '
                        '"expression": "params.amount > 500", "level": "confirm"}].',
                    ),
                ),
                (
                    "note",
                    models.CharField(
                        blank=True, help_text="What the candidate tries, for whoever reads the report.", max_length=500
                    ),
                ),
                ("based_on_version", models.PositiveIntegerField(default=0, editable=False)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("ended_at", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "action_type",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="shadow_policies",
                        to="policies.actiontype",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "ended_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "shadow policy",
                "verbose_name_plural": "shadow policies",
                "ordering": ["-created_at"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status", "active")),
                        fields=("action_type",),
                        name="one_active_shadow_per_type",
                    )
                ],
            },
        ),
        migrations.RunSQL(
            "CREATE TRIGGER policies_shadowpolicy_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            "ON policies_shadowpolicy FOR EACH STATEMENT EXECUTE FUNCTION policies_changed();",
            "DROP TRIGGER policies_shadowpolicy_changed ON policies_shadowpolicy;",
        ),
    ]
