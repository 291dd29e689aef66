"""One audit event in full, and policy changes in words: a summary on the log's list, the diff
rule by rule on the event's page."""

import pytest
from django.urls import reverse

from audit.log import Actor
from audit.models import Event
from tests.audit.conftest import append

pytestmark = pytest.mark.django_db

RULES_BEFORE = [{"name": "large", "expression": "params.amount > 500", "level": "confirm", "order": 0}]
RULES_AFTER = [
    {"name": "large", "expression": "params.amount > 900", "level": "confirm", "order": 0},
    {"name": "night", "expression": "context.hour < 6", "level": "confirm", "order": 1},
]


@pytest.fixture
def policy_change():
    return append(
        "policy.changed",
        actor=Actor("user", "3", "pat"),
        action_type="payments.refund",
        data={
            "what": "action type changed",
            "version": 4,
            "diff": {
                "autonomy": {"from": "confirm", "to": "audit"},
                "rules": {"from": RULES_BEFORE, "to": RULES_AFTER},
            },
        },
    )


def test_a_policy_change_is_summarized_in_words_on_the_log(client, auditor, policy_change):
    client.force_login(auditor)

    page = client.get("/audit/", {"kind": "policy.changed"}).content.decode()

    summary = (
        "Policy for payments.refund changed: autonomy confirm → audit; "
        "rule “large”: expression params.amount &gt; 500 → params.amount &gt; 900; "
        "rule “night” added: expression context.hour &lt; 6, level confirm, order 1"
    )
    assert summary in page
    assert f'href="/audit/events/{policy_change.seq}/"' in page
    assert Event.objects.get(seq=policy_change.seq).summary.startswith("Policy for payments.refund changed: autonomy")


def test_a_policy_change_written_without_a_summary_is_still_shown_in_words(client, auditor):
    old = append(
        "policy.changed",
        actor=Actor("user", "3", "pat"),
        agent="billing-agent",
        summary="",  # as every policy change was written before they had one
        data={"what": "agent kill switch", "diff": {"pause": {"from": "", "to": "hold"}}},
    )
    client.force_login(auditor)

    page = client.get("/audit/").content.decode()

    assert "Agent billing-agent: agent kill switch: pause — → hold" in page
    assert f'href="/audit/events/{old.seq}/"' in page


def test_the_events_page_shows_every_field_the_diff_rule_by_rule_and_the_data_as_json(client, auditor, policy_change):
    client.force_login(auditor)

    page = client.get(f"/audit/events/{policy_change.seq}/").content.decode()

    assert f"Event #{policy_change.seq}: policy.changed" in page
    assert "<li>autonomy confirm → audit</li>" in page
    assert "<li>rule “large”: expression params.amount &gt; 500 → params.amount &gt; 900</li>" in page
    assert "<li>rule “night” added:" in page
    assert "&quot;what&quot;: &quot;action type changed&quot;" in page  # JSON, not Python's repr
    assert "{&#x27;" not in page and "&#x27;from&#x27;" not in page
    assert policy_change.hash in page


def test_only_auditors_see_an_event_and_only_with_get(client, auditor, supervisor, outsider, policy_change):
    url = reverse("audit:event", args=[policy_change.seq])
    for user in (supervisor, outsider):
        client.force_login(user)
        assert client.get(url).status_code == 403
    client.force_login(auditor)
    assert client.get(reverse("audit:event", args=[999_999])).status_code == 404
    assert client.post(url).status_code == 405
