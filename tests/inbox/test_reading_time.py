"""Each decision records how long its card was in front of the reviewer (for rubber-stamping)."""

import time

import pytest

from approvals.models import Action
from tests.conftest import CONFIRMED

pytestmark = pytest.mark.django_db



def test_the_card_carries_when_it_was_shown(client, supervisor, pending):
    client.force_login(supervisor)

    page = client.get("/").content.decode()

    assert 'name="shown_at"' in page


def test_approving_records_the_seconds_since_the_card_was_shown(client, supervisor, pending):
    client.force_login(supervisor)

    client.post(f"/actions/{pending.pk}/approve", {"shown_at": f"{time.time() - 12:.3f}", **CONFIRMED})

    seconds = Action.objects.get(pk=pending.pk).decision.seconds_to_decide
    assert 12 <= seconds < 20


def test_rejecting_records_it_too_and_nonsense_is_ignored(client, supervisor, api, refund_type, pending):
    other = Action.objects.get(pk=api.propose().json()["id"])
    client.force_login(supervisor)

    client.post(f"/actions/{pending.pk}/reject", {"reason": "wrong", "shown_at": f"{time.time() - 1:.3f}"})
    client.post(f"/actions/{other.pk}/reject", {"reason": "wrong", "shown_at": "yesterday"})

    assert 1 <= Action.objects.get(pk=pending.pk).decision.seconds_to_decide < 10
    assert Action.objects.get(pk=other.pk).decision.seconds_to_decide is None
