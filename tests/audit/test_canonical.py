"""Events hash exactly what they store: RFC 8785 canonical JSON with every digit of every
number, and events written under chain version 1 still verify under its rule."""

import hashlib
from decimal import Decimal

import pytest
import rfc8785
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.canonical import NotCanonical, canonical_json, canonical_json_v1, exact_loads
from audit.models import Event
from tests.audit.conftest import append, superuser

# What the rfc8785 package accepts: integers within a double's exact range, finite floats.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=30,
)


@given(json_values)
@settings(max_examples=500, deadline=None)
def test_every_value_a_double_can_hold_is_written_exactly_as_rfc8785_writes_it(value):
    assert canonical_json(value).encode() == rfc8785.dumps(value)


@pytest.mark.parametrize(
    "value",
    [
        {"€": 1, "\U0001f600": 2, "\uff61": 3, "a": 4},  # keys by UTF-16 code units, not code points
        'quotes " \\ and controls \x00\x1f\x7f and \u2028',
        [1e21, 1e-7, 1e20, 0.000001, -0.0, 5e-324, 1.7976931348623157e308, 123456789012345680000.0],
    ],
)
def test_rfc8785s_own_hard_cases(value):
    assert canonical_json(value).encode() == rfc8785.dumps(value)


def test_a_number_and_an_object_spelling_it_no_longer_hash_alike():
    assert canonical_json({"a": 1}) != canonical_json({"a": {"$num": "1"}})
    # Version 1's weakness, kept for the events written under it.
    assert canonical_json_v1({"a": 1}) == canonical_json_v1({"a": {"$num": "1"}})


def test_numbers_keep_every_digit():
    big = 10**40 + 1
    assert canonical_json(big) == "1.0000000000000000000000000000000000000001e+40"
    assert canonical_json(big) != canonical_json(big + 1)
    assert canonical_json(Decimal("0.1000000000000000000000000000001")) != canonical_json(0.1)
    # Version 1 rounded to 28 digits.
    assert canonical_json_v1(big) == canonical_json_v1(big + 1)


def test_a_value_hashes_the_same_whatever_type_jsonb_hands_it_back_as():
    assert canonical_json({"a": 1e20, "b": 1.0, "c": 2.50}) == canonical_json(
        {"b": 1, "a": 100000000000000000000, "c": Decimal("2.50")}
    )
    assert canonical_json(exact_loads('{"x": 0.0000001, "y": 1E+21}')) == canonical_json({"x": 1e-7, "y": 1e21})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("NaN"), {"a": object()}, {(1, 2): 1}])
def test_what_json_cannot_hold_is_refused(value):
    with pytest.raises(NotCanonical):
        canonical_json(value)


@pytest.mark.django_db
def test_a_change_past_the_28th_digit_of_a_stored_number_is_found():
    append("note.written", data={"count": 10**40 + 1})
    call_command("audit_verify")
    with superuser() as attacker:
        attacker.sql("UPDATE audit_event SET data = '{\"count\": 10000000000000000000000000000000000000002}'")

    with pytest.raises(CommandError, match=r"event #1 \(note\.written .*\) does not match its hash: edited"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_digits_added_to_a_stored_decimal_beyond_what_a_float_holds_are_found():
    append("note.written", data={"amount": 0.1})
    with superuser() as attacker:
        # A float reads this back as 0.1 again; the verifier reads jsonb's digits exactly.
        attacker.sql("UPDATE audit_event SET data = '{\"amount\": 0.10000000000000000000000000000001}'")

    with pytest.raises(CommandError, match=r"event #1 .* does not match its hash: edited"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_events_written_under_version_1_still_verify_beside_version_2_lanes():
    previous = "0" * 64
    for n in range(1, 4):  # as version 1 wrote them: lane 0, lane_seq = seq, the $num form
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval('audit_event_seq')")
            seq = cursor.fetchone()[0]
        event = Event(
            version=1,
            seq=seq,
            lane=0,
            lane_seq=seq,
            at=timezone.now(),
            kind="legacy.event",
            actor_kind="system",
            actor_name="v1",
            data={"amount": 12.5, "n": n},
            summary="written before the upgrade" if n == 3 else "",
            prev_hash=previous,
        )
        event.hash = previous = hashlib.sha256(canonical_json_v1(event.hashed_fields()).encode()).hexdigest()
        event.save(force_insert=True)
    written = append("note.written", data={"amount": 12.5})

    assert written.version == 2
    call_command("audit_verify")
    with superuser() as attacker:
        attacker.sql('UPDATE audit_event SET data = \'{"amount": 13, "n": 2}\' WHERE seq = 2')
    with pytest.raises(CommandError, match=r"event #2 \(legacy\.event .*\) does not match its hash"):
        call_command("audit_verify")
