"""Indexes for the audit search's model and prompt-version filters and its agent filter, a
case-insensitive prefix. Built CONCURRENTLY: the log may hold millions of events, and appends
must not wait for the build."""

from django.contrib.postgres.indexes import OpClass
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models
from django.db.models.functions import Upper


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("audit", "0005_lanes_head_chain_exact_canonical_form"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="event",
            index=models.Index(fields=["model", "seq"], name="event_model_seq"),
        ),
        AddIndexConcurrently(
            model_name="event",
            index=models.Index(fields=["prompt_version", "seq"], name="event_prompt_version_seq"),
        ),
        AddIndexConcurrently(
            model_name="event",
            index=models.Index(
                OpClass(Upper("agent"), name="text_pattern_ops"), models.F("seq"), name="event_agent_prefix_seq"
            ),
        ),
    ]
