"""Every event is chained to the one before; altering one, or rewriting them all, is found."""

import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction

from audit import tasks
from audit.log import GENESIS_HASH, Actor, record
from audit.models import ChainHead, Event, canonical_json
from audit.verification import verify_chain
from tests.audit.conftest import append, superuser_edit

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_events(api, refund_type, supervisor):
    from approvals.models import Action

    action_id = api.propose().json()["id"]
    Action.objects.get(pk=action_id).approve(by=supervisor)
    return list(Event.objects.order_by("seq"))


def test_events_form_one_chain_from_the_genesis(three_events):
    assert [e.seq for e in three_events] == [1, 2, 3]
    assert three_events[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(three_events, three_events[1:]))
    call_command("audit_verify")


@pytest.mark.parametrize(
    "column, value",
    [
        ("at", "2020-01-01T00:00:00Z"),
        ("kind", "action.rejected"),
        ("actor_kind", "user"),
        ("actor_id", "999"),
        ("actor_name", "mallory"),
        ("agent", "another-agent"),
        ("session_id", "run-0"),
        ("on_behalf_of", "mallory@example.com"),
        ("model", "gpt-0"),
        ("prompt_version", "v0"),
        ("action_id", "00000000-0000-0000-0000-000000000000"),
        ("action_type", "email.send"),
        ("summary", "Refund $1.00"),
        ("data", '{"level": "autonomous"}'),
        ("prev_hash", "f" * 64),
        ("hash", "e" * 64),
    ],
)
def test_altering_any_field_of_a_middle_event_is_named_by_audit_verify(three_events, column, value):
    middle = three_events[1]
    with superuser_edit(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE audit_event SET {column} = %s WHERE seq = %s", [value, middle.seq])

    with pytest.raises(CommandError, match=f"event #{middle.seq} "):
        call_command("audit_verify")


def test_a_whole_table_rewritten_with_fresh_hashes_is_caught_by_the_signed_head(three_events):
    call_command("audit_verify")  # signs the head: #3 and its hash
    with superuser_edit():
        prev_hash = three_events[0].hash
        for event in three_events[1:]:
            event.actor_name, event.prev_hash = "mallory", prev_hash
            event.hash = prev_hash = event.compute_hash()
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE audit_event SET actor_name = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                    [event.actor_name, event.prev_hash, event.hash, event.seq],
                )

    with pytest.raises(CommandError, match="rewritten: event #3 .* no longer has the hash head #1 signed"):
        call_command("audit_verify")
    assert tasks.verify_chain()["ok"] is False


def test_a_forged_chain_head_is_refused(three_events):
    verify_chain()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_chainhead (number, seq, hash, verified_at, ok, problem, signature, lanes, "
            "prev_signature, checked, \"full\") "
            "VALUES (2, 3, 'forged', now(), true, '', 'not a signature', '{}', '', 0, false)"
        )
    with pytest.raises(CommandError, match="chain head #2 has a bad signature"):
        call_command("audit_verify")


def test_each_head_signs_the_one_before_and_is_written_to_the_witness(three_events, witness_dir):
    first, second, third = verify_chain().head, verify_chain().head, verify_chain(full=True).head

    assert [h.number for h in (first, second, third)] == [1, 2, 3]
    assert (first.prev_number, first.prev_signature) == (None, "")
    assert (second.prev_number, second.prev_signature) == (1, first.signature)
    assert (third.prev_number, third.prev_signature) == (2, second.signature)
    assert all(head.is_authentic() for head in ChainHead.objects.all())
    stored = sorted(witness_dir.rglob("*.json"))
    assert [path.read_text() for path in stored] == [head.record() for head in (first, second, third)]
    # The signature covers the link: a head pointed at another predecessor no longer verifies.
    third.prev_signature = first.signature
    assert not third.is_authentic()


def test_the_periodic_task_verifies_only_new_events_and_signs_the_head(three_events):
    assert tasks.verify_chain() == {"ok": True, "seq": 3, "checked": 3, "problem": ""}
    append("later")
    append("later still")

    assert tasks.verify_chain() == {"ok": True, "seq": 5, "checked": 2, "problem": ""}
    head = ChainHead.objects.latest()
    fifth = Event.objects.get(seq=5)
    assert (head.seq, head.lanes, head.ok) == (5, {str(fifth.lane): [5, fifth.hash, 5]}, True)
    assert head.is_authentic()


def test_a_periodic_run_that_finds_nothing_new_signs_no_head(three_events):
    tasks.verify_chain(periodic=True)
    tasks.verify_chain(periodic=True)
    assert ChainHead.objects.count() == 1
    append("later")
    tasks.verify_chain(periodic=True)
    assert ChainHead.objects.count() == 2


def test_the_periodic_task_finds_a_break_among_new_events(three_events):
    tasks.verify_chain()
    append("later")
    with superuser_edit():
        Event.objects.filter(seq=4).update(data={"changed": True})

    result = tasks.verify_chain()
    assert result["ok"] is False and result["problem"].startswith("event #4 ")
    assert ChainHead.objects.latest().ok is False


def test_the_beat_schedule_runs_the_verification(settings):
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"audit.tasks.verify_chain", "audit.tasks.purge_expired"} <= tasks_scheduled


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_appends_form_linear_lanes_that_verify():
    start = threading.Barrier(50)
    errors = []

    def append_one(n):
        try:
            start.wait()
            append("concurrent.append", data={"n": n}, actor=Actor.system(f"thread-{n}"))
        except Exception as error:  # reported below: a thread's exception is otherwise lost
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=append_one, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    events = list(Event.objects.order_by("seq"))
    assert sorted(e.data["n"] for e in events) == list(range(50))
    assert len({e.seq for e in events}) == 50
    for lane in {e.lane for e in events}:
        in_lane = [e for e in events if e.lane == lane]
        assert [e.lane_seq for e in in_lane] == list(range(1, len(in_lane) + 1))  # seq order is lane order
        assert in_lane[0].prev_hash == GENESIS_HASH
        assert all(later.prev_hash == earlier.hash for earlier, later in zip(in_lane, in_lane[1:]))
    call_command("audit_verify")


def test_numbers_hash_the_same_however_jsonb_returns_them():
    assert canonical_json({"a": 1e20, "b": 1.0}) == canonical_json({"b": 1, "a": 100000000000000000000})
    assert canonical_json({"a": 0.1}) != canonical_json({"a": 0.10000001})


def test_the_hash_postgresql_computes_is_the_one_python_verifies():
    awkward = {
        "text": 'quotes " and \\ backslashes, «ünïcode», emoji 🚀, a tab\tand a newline\n',
        "numbers": [0.1, 1e20, -3, 2.50],
        "lookalikes": ['"seq":"seq-0"', '{"$num":"1"}', "prev-0" * 3],
        "nested": {"z": None, "a": [True, False, {"k": "v"}]},
    }
    written = append("awkward.data", data=awkward, summary="Ünïcode summary 🚀")
    stored = Event.objects.get(seq=written.seq)
    assert (stored.seq, stored.prev_hash, stored.hash) == (written.seq, written.prev_hash, written.hash)
    assert stored.compute_hash() == stored.hash
    assert written.compute_hash() == written.hash
    call_command("audit_verify")


@pytest.mark.django_db(transaction=True)
def test_an_append_does_not_wait_for_another_transaction_that_has_appended_and_not_committed():
    holding, release = threading.Event(), threading.Event()
    held = {}

    def append_and_hold():
        try:
            with transaction.atomic():
                held["event"] = record(kind="slow.change", actor=Actor.system("slow"))
                holding.set()
                release.wait()
        finally:
            connections.close_all()

    slow = threading.Thread(target=append_and_hold)
    slow.start()
    holding.wait()
    try:
        with connection.cursor() as cursor:
            # Were appends still queued on one lock, this would fail instead of waiting forever.
            cursor.execute("SET lock_timeout = '10s'")
        fast = append("fast.change")
        assert Event.objects.filter(kind="fast.change").exists()  # committed while the other is open
        assert not Event.objects.filter(kind="slow.change").exists()
    finally:
        release.set()
        slow.join()
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = DEFAULT")
    assert fast.lane != held["event"].lane
    call_command("audit_verify")
