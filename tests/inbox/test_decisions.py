"""Approve, edit and approve, reject with a reason, and a suggestion done or dismissed."""

import pytest

from approvals.models import Action
from audit.models import Event
from tests.conftest import CONFIRMED

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def test_editing_shows_fields_only_for_editable_parameters(client, supervisor, pending):
    client.force_login(supervisor)

    fragment = client.get(f"/actions/{pending.pk}/edit", headers=HTMX).content.decode()

    assert 'name="amount"' in fragment and 'type="number"' in fragment
    assert 'name="customer"' not in fragment
    assert "Approve with changes" in fragment


def test_an_invalid_value_is_refused_beside_its_field_in_plain_words(client, supervisor, pending):
    client.force_login(supervisor)

    fragment = client.post(f"/actions/{pending.pk}/edit", {"edited": "1", "amount": "-5"}, headers=HTMX)

    assert 'class="field invalid"' in fragment.content.decode()
    assert "More than 0." in fragment.content.decode()
    assert "less than or equal to the minimum" not in fragment.content.decode()
    assert Action.objects.get(pk=pending.pk).status == "pending"


def test_a_valid_change_rerenders_the_summary_with_the_diff(client, supervisor, pending):
    client.force_login(supervisor)

    fragment = client.post(f"/actions/{pending.pk}/edit", {"edited": "1", "amount": "500"}, headers=HTMX)

    page = fragment.content.decode()
    assert "Refund $500.00 to customer cus_123" in page
    assert "<del>$750.00</del>" in page and "<ins>$500.00</ins>" in page


def test_approving_an_edit_records_the_diff_and_the_agent_gets_the_final_params(client, supervisor, pending, api):
    client.force_login(supervisor)

    response = client.post(
        f"/actions/{pending.pk}/approve", {"edited": "1", "amount": "500", **CONFIRMED}, headers=HTMX
    )

    assert "Approved by sue" in response.content.decode()
    seen = api.get(f"/actions/{pending.pk}").json()
    assert seen["final_params"] == {"customer": "cus_123", "amount": 500, "currency": "USD"}
    assert seen["decision"]["edited"] is True
    assert Action.objects.get(pk=pending.pk).decision.diff == {"amount": {"from": 750, "to": 500}}
    assert Event.objects.get(kind="action.approved", action_id=pending.pk).data["edited"] is True


def test_approving_an_invalid_edit_changes_nothing(client, supervisor, pending):
    client.force_login(supervisor)

    response = client.post(f"/actions/{pending.pk}/approve", {"edited": "1", "amount": "abc"})

    assert response.status_code == 422
    assert "Enter a number, like 4.5." in response.content.decode()
    assert Action.objects.get(pk=pending.pk).status == "pending"


def test_a_common_reason_and_details_make_the_rejection_reason(client, supervisor, pending):
    client.force_login(supervisor)

    client.post(f"/actions/{pending.pk}/reject", {"common": "Wrong parameters", "reason": "wrong customer"})

    decision = Action.objects.get(pk=pending.pk).decision
    assert decision.verdict == "rejected"
    assert decision.reason == "Wrong parameters: wrong customer"


def test_a_rejection_without_any_reason_is_refused(client, supervisor, pending):
    client.force_login(supervisor)

    response = client.post(f"/actions/{pending.pk}/reject", {"common": "", "reason": ""}, headers=HTMX)

    assert "Say why you reject it" in response.content.decode()
    assert Action.objects.get(pk=pending.pk).status == "pending"


def test_the_reject_panel_stays_open_with_its_error_and_the_reasons_given(client, supervisor, pending):
    client.force_login(supervisor)

    fragment = client.post(f"/actions/{pending.pk}/reject", {"reason": "  "}, headers=HTMX).content.decode()

    panel = fragment.split('<details class="reject" open>', 1)
    assert len(panel) == 2, "the panel is closed: the reviewer does not see what went wrong"
    assert "Say why you reject it" in panel[1].split("</details>")[0]
    assert 'name="reason"' in panel[1] and "autofocus" in panel[1]


def test_marking_a_suggestion_done_records_who(client, supervisor, suggestion):
    client.force_login(supervisor)

    response = client.post(f"/actions/{suggestion.pk}/done", headers=HTMX)

    assert "Executed" in response.content.decode()
    action = Action.objects.get(pk=suggestion.pk)
    assert action.status == "executed"
    assert action.outcome["by"] == "sue"
    assert Event.objects.get(kind="action.executed", action_id=suggestion.pk).actor_name == "sue"


def test_dismissing_a_suggestion(client, supervisor, suggestion):
    client.force_login(supervisor)

    response = client.post(f"/actions/{suggestion.pk}/dismiss")

    assert response.status_code == 302
    assert Action.objects.get(pk=suggestion.pk).status == "dismissed"
    assert Event.objects.get(kind="action.dismissed", action_id=suggestion.pk).actor_name == "sue"


def test_a_pending_action_cannot_be_marked_done(client, supervisor, pending):
    client.force_login(supervisor)

    response = client.post(f"/actions/{pending.pk}/done", headers=HTMX)

    assert "already pending" in response.content.decode()
    assert Action.objects.get(pk=pending.pk).status == "pending"


def test_the_action_page_shows_proposed_and_final_parameters_with_the_diff(client, supervisor, pending):
    pending.approve(by=supervisor, params={**pending.params, "amount": 500})
    client.force_login(supervisor)

    page = client.get(f"/actions/{pending.pk}/").content.decode()

    assert "Approved with changes by sue" in page
    assert "<del>$750.00</del>" in page and "<ins>$500.00</ins>" in page
    assert "Checkers" in page and "schema" in page
    assert "policy for &#x27;payments.refund&#x27;" in page


def test_a_changed_amount_and_currency_read_as_money_on_each_side(client, supervisor, pending):
    from django.template import Context, Template

    diff = {"amount": {"from": 750, "to": 500}, "currency": {"from": "USD", "to": "EUR"}}
    table = Template('{% include "approvals/diff_table.html" %}').render(
        Context({"action": pending, "diff": diff, "caption": "Changes", "final_heading": "Final"})
    )

    assert "<del>$750.00</del>" in table and "<ins>€500.00</ins>" in table
