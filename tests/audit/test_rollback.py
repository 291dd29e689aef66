"""A rollback of the audit log, done by someone who holds the database and the witness directory
(and, for some, the signing key), through SQL and file operations as they would do it: which
deployment catches which, and in what words (README, "Who can rewrite the audit log unseen").

Heads are signed at a five-minute cadence over the last 45 minutes, as a log that has been running
has them; the remote witness is examples/witness_receiver.py in a process of its own."""

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from audit import tasks
from audit.models import ChainHead, Event
from audit.verification import verify_chain
from tests.audit.conftest import append, superuser

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
CADENCE = timedelta(minutes=5)
HEADS = 10


@pytest.fixture(autouse=True)
def cadence(settings):
    settings.AUDIT_HEAD_CADENCE_SECONDS = int(CADENCE.total_seconds())
    settings.AUDIT_HEAD_MARGIN_SECONDS = 120


@pytest.fixture
def remote(settings, tmp_path):
    """The reference remote witness, run as its operator would run it."""
    token = "witness-token-for-the-tests"
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "examples" / "witness_receiver.py"),
            "--dir",
            str(tmp_path / "remote"),
            "--port",
            "0",
            "--token",
            token,
            "--name",
            "elsewhere",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        public_key = process.stdout.readline().split(": ", 1)[1].strip()
        url = process.stdout.readline().split(": ", 1)[1].strip()
        settings.AUDIT_WITNESS_REMOTE_URL = url
        settings.AUDIT_WITNESS_REMOTE_PUBLIC_KEY = public_key
        settings.AUDIT_WITNESS_REMOTE_TOKEN = token
        yield tmp_path / "remote"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def running(witness_dir):
    """HEADS heads, one every five minutes up to now, each after two new events."""
    start = timezone.now() - CADENCE * (HEADS - 1)
    for number in range(HEADS):
        append("note.written", data={"n": 2 * number})
        append("note.written", data={"n": 2 * number + 1})
        verify_chain(now=start + CADENCE * number)
    assert ChainHead.objects.count() == HEADS
    return witness_dir


def witness_file(witness_dir, number):
    return witness_dir / "00000000" / f"{number:012d}.json"


def roll_back_to(witness_dir, number):
    """Delete every head after `number` from the database and the witness directory, and the
    events they signed: the log as it was when head `number` was signed."""
    kept = ChainHead.objects.get(number=number)
    with superuser() as attacker:
        attacker.sql("DELETE FROM audit_chainhead WHERE number > %s", [number])
        attacker.sql("DELETE FROM audit_event WHERE seq > %s", [kept.seq])
    for later in range(number + 1, HEADS + 1):
        witness_file(witness_dir, later).unlink()


def verify_fails(pattern):
    with pytest.raises(CommandError) as failure:
        call_command("audit_verify")
    assert re.search(pattern, str(failure.value)), str(failure.value)
    return str(failure.value)


def test_a_log_signed_on_its_cadence_verifies(running):
    call_command("audit_verify")


def test_a_rollback_of_the_database_and_the_directory_is_stale_then_a_gap(client, auditor, running):
    client.force_login(auditor)
    deleted = Event.objects.filter(seq__gt=ChainHead.objects.get(number=6).seq).count()
    roll_back_to(running, 6)
    assert deleted >= 8  # the eight notes, and the auditor's login

    page = client.get("/audit/").text  # at once, before any verification runs
    assert "Chain BROKEN" in page and "stale: the newest chain head (#6)" in page and "Chain intact" not in page

    verify_fails(r"stale: the newest chain head \(#6\) was signed at .*, 20 min ago, but one is signed every 5 min")

    tasks.verify_chain(periodic=True)  # the next beat signs a head after #6, twenty minutes on

    verify_fails(r"gap: no chain head between #6 \(.*\) and #\d+ \(.*\), 2\d min where one was due every 5 min")


def test_a_rollback_shorter_than_the_cadence_goes_unseen_without_a_remote_witness(running):
    # The limit the README states: the newest head is 0 minutes old, so deleting it and its
    # events leaves a newest head five minutes old, inside the cadence and its margin.
    roll_back_to(running, HEADS - 1)

    call_command("audit_verify")


def test_the_remote_witness_catches_a_rollback_of_the_database_and_the_directory(remote, running):
    roll_back_to(running, 6)

    message = verify_fails(r"chain heads #7–#10 were deleted from the database: the witness \(remote .*\) still has")
    assert "cut short" in message


def test_the_remote_witness_catches_a_rollback_shorter_than_the_cadence(remote, running):
    roll_back_to(running, HEADS - 1)

    verify_fails(r"chain heads #10 were deleted from the database: the witness \(remote .*\) still has them")


def rechain_and_delete_every_head_and_witness_file(witness_dir):
    lane = Event.objects.first().lane
    with superuser() as attacker:
        attacker.rechain(lane, from_lane_seq=1, change=lambda event: event.data.update(n=-1))
        attacker.sql("DELETE FROM audit_chainhead")
    for number in range(1, HEADS + 1):
        witness_file(witness_dir, number).unlink()


def test_the_remote_witness_catches_a_rechain_with_every_head_and_witness_file_deleted(remote, running):
    rechain_and_delete_every_head_and_witness_file(running)

    message = verify_fails(r"chain heads #1–#10 were deleted from the database: the witness \(remote .*\) still has")
    assert "re-chained" in message


def test_heads_forged_with_the_signing_key_over_a_rollback_differ_from_the_remote_s(remote, running):
    roll_back_to(running, 6)
    # With the key, the attacker signs heads #7–#10 again, on the cadence, over the shorter log.
    for number in range(7, HEADS + 1):
        forged = ChainHead.objects.get(number=number - 1)
        head = ChainHead(
            number=number,
            prev_number=forged.number,
            prev_signature=forged.signature,
            verified_at=forged.verified_at + CADENCE,
            ok=True,
            problem="",
            seq=forged.seq,
            lanes=forged.lanes,
            checked=0,
            full=False,
            cadence=forged.cadence,
            hash="x",
        )
        head.signature = head.expected_signature()
        head.save(force_insert=True)
        witness_file(running, number).write_text(head.record())

    verify_fails(
        r"chain head #\d+ exists in two versions, each validly signed \(the database's and the witness's, remote"
    )


def test_a_replaced_witness_file_is_named_as_replaced_without_the_key(running):
    path = witness_file(running, 5)
    os.chmod(path, 0o644)
    path.write_text(path.read_text().replace('"ok":true', '"ok":false'))

    message = verify_fails(
        r"the witness's copy of chain head #5 \(directory .*\) was replaced or altered: it is not signed with the "
        r"signing key \(done without it\)"
    )
    assert "forged with the signing key" not in message and "made with the signing key" not in message


def test_a_deleted_witness_file_is_named_as_deleted(running):
    witness_file(running, 5).unlink()

    verify_fails(r"chain head #5 is signed but not in the witness \(directory .*\): its copy there was deleted")


def test_a_remote_witness_answering_with_another_key_is_not_believed(remote, running, settings):
    settings.AUDIT_WITNESS_REMOTE_PUBLIC_KEY = "A" * 43 + "="  # 32 bytes, not the witness's key

    verify_fails(r"not verified: remote .* answered with a receipt its key did not sign")


def test_each_head_written_to_the_remote_carries_a_receipt_its_key_signed(remote, settings):
    from audit.witness import configured

    append("note.written")
    head = verify_chain().head

    [witness] = [w for w in configured() if w.name.startswith("remote")]
    assert witness.read(head.number) == head.record()
    assert witness.latest() == head.number
    assert (remote / "heads" / f"{head.number:012d}.receipt.json").exists()


def test_a_remote_witness_that_cannot_be_reached_signs_no_head(settings):
    settings.AUDIT_WITNESS_REMOTE_URL = "http://127.0.0.1:9"
    settings.AUDIT_WITNESS_REMOTE_PUBLIC_KEY = "A" * 43 + "="
    append("note.written")

    with pytest.raises(CommandError, match="did not answer"):
        call_command("audit_verify")
    assert not ChainHead.objects.exists()


def test_a_rewrite_signed_over_with_the_key_and_pushed_to_the_remote_is_caught_by_the_older_heads(remote, running):
    from audit.witness import configured

    lane = Event.objects.first().lane
    with superuser() as attacker:
        attacker.rechain(lane, from_lane_seq=3, change=lambda event: event.data.update(n=-1))
    # With the signing key and the remote's token, a head over the rewritten lane, pushed everywhere.
    last = Event.objects.filter(lane=lane).order_by("-lane_seq").first()
    before = ChainHead.objects.get(number=HEADS)
    forged = ChainHead(
        number=HEADS + 1,
        prev_number=before.number,
        prev_signature=before.signature,
        verified_at=timezone.now(),
        ok=True,
        problem="",
        seq=last.seq,
        lanes={str(lane): [last.lane_seq, last.hash, last.seq]},
        checked=0,
        full=False,
        cadence=before.cadence,
        hash="x",
    )
    forged.signature = forged.expected_signature()
    forged.save(force_insert=True)
    for witness in configured():
        witness.write(forged.number, forged.record())

    verify_fails(
        r"lane \d+ was rewritten after head #\d+ signed it: event \d+:\d+ no longer has the hash it signed, though a "
        r"newer head matches the events: that head was made with the signing key"
    )


def test_the_cadence_entry_signs_a_head_even_when_nothing_happened(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["audit-head-cadence"]
    assert entry["task"] == "audit.tasks.verify_chain"
    assert entry["schedule"] == timedelta(seconds=settings.AUDIT_HEAD_CADENCE_SECONDS)
    append("note.written")
    tasks.verify_chain(**entry.get("kwargs", {}))

    tasks.verify_chain(**entry.get("kwargs", {}))  # nothing new: a head all the same
    tasks.verify_chain(**entry.get("kwargs", {}))

    heads = list(ChainHead.objects.order_by("number"))
    assert [head.number for head in heads] == [1, 2, 3]
    assert all(head.ok and head.cadence == settings.AUDIT_HEAD_CADENCE_SECONDS for head in heads)


def test_the_audit_page_says_when_the_remote_witness_cannot_be_read(client, auditor, remote, settings):
    append("note.written")
    verify_chain()
    client.force_login(auditor)
    settings.AUDIT_WITNESS_REMOTE_URL = "http://127.0.0.1:9"  # down

    response = client.get("/audit/")

    assert response.status_code == 200
    assert "Chain BROKEN" in response.text and "cannot be checked now: remote" in response.text
    assert "did not answer" in response.text
