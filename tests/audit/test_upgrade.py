"""The upgrade to chain version 2 (audit migration 0005) on a log written by version 1: the
events already there become lane 0, verify under their own rule, and new ones chain on."""

import json
import secrets

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from audit.log import APPENDED_COLUMNS  # version 1 sent the same columns
from audit.models import Event
from tests.audit.conftest import append

BEFORE = [("audit", "0004_append_in_one_statement")]


def append_as_version_1_did(count):
    """What audit.log._append sent to audit_append() before the upgrade."""
    payload = []
    for n in range(count):
        seq_token, prev_token = f"seq-{secrets.token_hex(16)}", f"prev-{secrets.token_hex(16)}"
        event = Event(
            version=1,
            seq=seq_token,
            prev_hash=prev_token,
            at=timezone.now(),
            kind="legacy.event",
            actor_kind="system",
            actor_name="v1",
            data={"n": n, "amount": 12.5, "big": 10**30 + n},
            summary=f"legacy {n}" if n % 2 else "",
        )
        payload.append(
            {
                "canonical": event.canonical(),
                "seq_token": json.dumps(seq_token),
                "prev_hash_token": json.dumps(prev_token),
                "row": {
                    **{c: getattr(event, c) for c in APPENDED_COLUMNS},
                    "at": event.at.isoformat(),
                    "action_id": None,
                },
            }
        )
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("SELECT count(*) FROM audit_append(%s::jsonb, 0)", [json.dumps(payload)])
        cursor.execute("COMMIT")


@pytest.mark.django_db(transaction=True)
def test_a_version_1_log_upgrades_and_keeps_verifying():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes("audit")
    executor.migrate(BEFORE)
    try:
        append_as_version_1_did(5)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)

    legacy = list(Event.objects.order_by("seq"))
    assert [(e.version, e.lane, e.lane_seq) for e in legacy] == [(1, 0, seq) for seq in range(1, 6)]
    appended = append("after the upgrade")
    assert (appended.version, appended.seq) == (2, 6)
    call_command("audit_verify")
