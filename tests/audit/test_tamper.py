"""Every way a PostgreSQL superuser without the signing key (or without the witness) might
rewrite history, done as they would do it (`session_replication_role = replica`, so the
append-only triggers do not fire), is found and named: by `manage.py audit_verify`, and by the
audit page, at once or after "Verify now"."""

import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit import tasks
from audit.models import ChainHead, Event, Verification
from audit.verification import verify_chain
from tests.audit.conftest import append, superuser

pytestmark = pytest.mark.django_db


@pytest.fixture
def anchored():
    """Eight events in one lane: #1–#3 under head #1, #4–#6 under head #2, #7–#8 after it."""
    for n in range(3):
        append("note.written", data={"n": n, "amount": 10.5})
    verify_chain()
    for n in range(3, 6):
        append("note.written", data={"n": n, "amount": 10.5})
    verify_chain()
    append("note.written", data={"n": 6})
    append("note.written", data={"n": 7})
    events = list(Event.objects.order_by("seq"))
    assert len({e.lane for e in events}) == 1 and [e.lane_seq for e in events] == list(range(1, 9))
    return events


def edit_a_middle_event(events):
    with superuser() as attacker:
        attacker.sql('UPDATE audit_event SET data = \'{"n": 4, "amount": 1000}\' WHERE seq = 5')


def edit_a_middle_event_and_recompute_later_hashes(events):
    def raise_amount(event):
        if event.seq == 5:
            event.data = {**event.data, "amount": 1000}

    with superuser() as attacker:
        attacker.rechain(events[0].lane, from_lane_seq=5, change=raise_amount)


def delete_middle_events(events):
    with superuser() as attacker:
        attacker.sql("DELETE FROM audit_event WHERE seq IN (4, 5)")


def truncate_the_tail(events):
    with superuser() as attacker:
        attacker.sql("DELETE FROM audit_event WHERE seq >= 6")


def rechain_everything(events):
    def rename(event):
        event.actor_name = "mallory"

    with superuser() as attacker:
        attacker.rechain(events[0].lane, from_lane_seq=1, change=rename)


def delete_the_newest_heads(events):
    with superuser() as attacker:
        attacker.sql("DELETE FROM audit_chainhead WHERE number = 2")


def delete_a_middle_head(events):
    verify_chain()  # head #3, so that #1 is not the newest
    with superuser() as attacker:
        attacker.sql("DELETE FROM audit_chainhead WHERE number = 1")


def delete_every_head(events):
    with superuser() as attacker:
        attacker.sql("DELETE FROM audit_chainhead")


def truncate_the_tail_and_delete_the_heads_that_saw_it(events):
    with superuser() as attacker:
        attacker.sql("DELETE FROM audit_event WHERE seq >= 5")
        attacker.sql("DELETE FROM audit_chainhead WHERE number = 2")


def rechain_everything_and_delete_every_head(events):
    rechain_everything(events)
    delete_every_head(events)


def forge_a_head_row(events):
    # The triggers allow INSERT: no superuser needed. A head saying all is well, badly signed.
    head = ChainHead.objects.get(number=2)
    with superuser() as attacker:
        attacker.sql(
            "INSERT INTO audit_chainhead (number, seq, hash, verified_at, ok, problem, signature, lanes, "
            'prev_number, prev_signature, checked, "full") '
            "VALUES (3, 8, 'forged', now(), true, '', %s, %s, 2, %s, 8, true)",
            ["0" * 64, '{"0": [8, "forged", 8]}', head.signature],
        )


def forge_a_head_with_the_signing_key(events):
    # An attacker who has the key but not the witness: a perfectly signed head nobody witnessed.
    from django.utils import timezone

    before = ChainHead.objects.get(number=2)
    forged = ChainHead(
        number=3,
        prev_number=2,
        prev_signature=before.signature,
        verified_at=timezone.now(),
        ok=True,
        problem="",
        seq=before.seq,
        lanes=before.lanes,
        checked=0,
        full=False,
        hash="x",
    )
    forged.signature = forged.expected_signature()
    forged.save(force_insert=True)


TAMPERING = [
    (edit_a_middle_event, r"event #5 \(note\.written at .*\) does not match its hash: edited"),
    (
        edit_a_middle_event_and_recompute_later_hashes,
        r"lane \d+ was rewritten somewhere after event #3 \(\d+:3, still as head #1 signed it\): event #6 \(\d+:6\) "
        r"no longer has "
        r"the hash head #2 signed",
    ),
    (delete_middle_events, r"lane \d+: events \d+:4–\d+:5 are missing after event #3, before event #6: deleted"),
    (
        truncate_the_tail,
        r"lane \d+ was cut short: it ends at \d+:5 but head #2 signed it up to \d+:6: events deleted from its end",
    ),
    (rechain_everything, r"no older signed head matches the lane: it was re-chained, every hash recomputed"),
    (delete_the_newest_heads, r"chain heads #2 were deleted from the database: the witness \(directory .*\) still has"),
    (delete_a_middle_head, r"chain heads #1 were deleted from the database: the witness \(directory .*\) still has"),
    (delete_every_head, r"chain heads #1–#2 were deleted from the database: the witness \(directory .*\) still has"),
    (
        truncate_the_tail_and_delete_the_heads_that_saw_it,
        r"lane \d+ was cut short: it ends at \d+:4 but head #2 signed it up to \d+:6",
    ),
    (rechain_everything_and_delete_every_head, r"it was re-chained"),
    (forge_a_head_row, r"chain head #3 has a bad signature: forged or altered"),
    (
        forge_a_head_with_the_signing_key,
        r"chain head #3 is signed but not in the witness \(directory .*\): its copy there was deleted, or the head "
        r"was made with the signing key",
    ),
]
IDS = [tamper.__name__ for tamper, _ in TAMPERING]


def test_the_untouched_log_verifies(anchored):
    call_command("audit_verify")
    assert ChainHead.objects.order_by("-number").first().ok


@pytest.mark.parametrize("tamper, named", TAMPERING, ids=IDS)
def test_audit_verify_finds_and_names_it(anchored, tamper, named):
    tamper(anchored)

    with pytest.raises(CommandError, match=named):
        call_command("audit_verify")


@pytest.mark.parametrize("tamper, named", TAMPERING, ids=IDS)
def test_the_audit_page_names_it_after_verify_now(client, auditor, anchored, tamper, named):
    client.force_login(auditor)  # before: a login is an event too
    tamper(anchored)

    client.post("/audit/verify")
    run = Verification.objects.get()
    tasks.verify_now(run.pk)  # what the worker runs (tests/audit/test_verify_now.py runs a real one)

    page = client.get("/audit/").text
    assert "Chain BROKEN" in page
    assert re.search(named, _text(page)), _text(page)


@pytest.mark.parametrize(
    "tamper",
    [forge_a_head_row, forge_a_head_with_the_signing_key, delete_the_newest_heads, delete_every_head],
    ids=lambda tamper: tamper.__name__,
)
def test_the_audit_page_sees_forged_and_deleted_heads_without_a_verification(client, auditor, anchored, tamper):
    client.force_login(auditor)
    tamper(anchored)

    page = client.get("/audit/").text

    assert "Chain BROKEN" in page and "Chain intact" not in page


def test_a_broken_chain_stays_broken_for_the_periodic_runs_that_follow(anchored):
    truncate_the_tail(anchored)
    assert not verify_chain(full=True).ok
    append("after the cut")

    later = tasks.verify_chain(periodic=True)

    assert later["ok"] is False and "cut short" in later["problem"]


def _text(page):
    import html

    return html.unescape(re.sub(r"\s+", " ", page))
