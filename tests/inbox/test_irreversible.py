"""Irreversible actions are approved deliberately (#20): the first Approve asks again, on the
server, with or without JavaScript; nothing is decided until the confirming POST."""

import re
import time

import pytest

from approvals.models import Action
from audit.models import Event
from policies.models import ActionType
from tests.conftest import CONFIRMED

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def nothing_decided(action):
    action.refresh_from_db()
    return action.status == "pending" and not Event.objects.filter(kind="action.approved").exists()


def test_approve_on_an_irreversible_card_asks_to_confirm_and_decides_nothing(client, supervisor, pending):
    client.force_login(supervisor)

    fragment = client.post(f"/actions/{pending.pk}/approve", headers=HTMX).content.decode()

    assert "Approve — irreversible: confirm" in fragment
    assert 'name="confirm" value="irreversible"' in fragment
    assert "Irreversible: once approved it runs and cannot be undone. Approve again to confirm." in fragment
    assert nothing_decided(pending)


def test_the_confirming_post_approves(client, supervisor, pending):
    client.force_login(supervisor)
    client.post(f"/actions/{pending.pk}/approve", headers=HTMX)

    fragment = client.post(f"/actions/{pending.pk}/approve", CONFIRMED, headers=HTMX).content.decode()

    assert "Approved by sue" in fragment
    assert Action.objects.get(pk=pending.pk).status == "approved"


def test_without_javascript_the_post_answers_with_a_confirmation_page_whose_form_approves(client, supervisor, pending):
    client.force_login(supervisor)

    page = client.post(f"/actions/{pending.pk}/approve")

    assert page.status_code == 422
    html = page.content.decode()
    form = re.search(r'<form method="post" action="(/actions/[^"]+/approve)"[^>]*>(.*?)</form>', html, re.S)
    assert form and 'name="confirm" value="irreversible"' in form.group(2)
    assert "<title>Confirm: Refund $750.00 to customer cus_123" in html
    assert nothing_decided(pending)

    confirmed = client.post(form.group(1), CONFIRMED)

    assert confirmed.status_code == 302
    assert Action.objects.get(pk=pending.pk).status == "approved"


def test_the_reading_time_runs_from_the_first_showing_not_from_the_confirmation(client, supervisor, pending):
    client.force_login(supervisor)
    shown = f"{time.time() - 12:.3f}"

    fragment = client.post(f"/actions/{pending.pk}/approve", {"shown_at": shown}, headers=HTMX).content.decode()
    assert f'name="shown_at" value="{shown}"' in fragment
    client.post(f"/actions/{pending.pk}/approve", {"shown_at": shown, **CONFIRMED}, headers=HTMX)

    assert Action.objects.get(pk=pending.pk).decision.seconds_to_decide >= 12


def test_an_edited_approval_of_an_irreversible_action_asks_too_and_keeps_the_edit(client, supervisor, pending):
    client.force_login(supervisor)
    edit = {"edited": "1", "amount": "500"}

    fragment = client.post(f"/actions/{pending.pk}/approve", edit, headers=HTMX).content.decode()

    assert "Approve with changes — irreversible: confirm" in fragment
    assert 'value="500"' in fragment
    assert nothing_decided(pending)
    client.post(f"/actions/{pending.pk}/approve", {**edit, **CONFIRMED}, headers=HTMX)
    pending.refresh_from_db()
    assert (pending.status, pending.final_params["amount"]) == ("approved", 500)


def test_a_reversible_action_still_approves_in_one_post(client, supervisor, pending):
    ActionType.objects.filter(pk=pending.action_type_id).update(irreversible=False)
    client.force_login(supervisor)

    fragment = client.post(f"/actions/{pending.pk}/approve", headers=HTMX).content.decode()

    assert "Approved by sue" in fragment and "irreversible: confirm" not in fragment
    assert Action.objects.get(pk=pending.pk).status == "approved"


def test_a_reviewer_four_eyes_refuses_is_told_so_rather_than_asked_to_confirm(client, supervisor, api):
    action = Action.objects.get(pk=api.propose(on_behalf_of="sue@example.com").json()["id"])
    client.force_login(supervisor)

    fragment = client.post(f"/actions/{action.pk}/approve", headers=HTMX).content.decode()

    assert "You cannot approve an action taken on your own behalf." in fragment
    assert "irreversible: confirm" not in fragment
    assert nothing_decided(action)
