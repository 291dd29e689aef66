"""The action page's timeline reads the audit log."""

import pytest

from approvals.models import Action

pytestmark = pytest.mark.django_db


def test_the_action_page_shows_its_audit_events_in_order(client, api, supervisor):
    action_id = api.propose(rationale="Customer says <b>double</b> charge").json()["id"]
    Action.objects.get(pk=action_id).reject(by=supervisor, reason="Refunded already")
    api.propose(params={"customer": "cus_999", "amount": 5, "currency": "USD"})  # another action's events
    client.force_login(supervisor)

    page = client.get(f"/actions/{action_id}/").text

    timeline = page[page.index('id="timeline"') :]
    kinds = [
        ("Proposed by the agent", "action.proposed"),
        ("Routed by the policy", "action.routed"),
        ("Rejected", "action.rejected"),
    ]
    # In words, with the code beside them for a search by kind.
    positions = [
        timeline.index(f'<span class="kind">{words} <code class="muted">{kind}</code></span>') for words, kind in kinds
    ]
    assert positions == sorted(positions)
    assert timeline.count('<li class="event') == 3
    assert "by sue" in timeline and "Refunded already" in timeline
