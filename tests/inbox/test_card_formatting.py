"""The cards' cheaper formatting says exactly what Django's own would."""

import uuid
from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from approvals.templatetags.cards import action_url, iso, long_time, short_time

MOMENTS = [datetime(2026, 11, 24, 19, 5, 7, 123456, tzinfo=UTC), datetime(2027, 3, 1, 0, 0, tzinfo=UTC)]


def django_date(value, format_string):
    return Template("{{ value|date:f }}").render(Context({"value": value, "f": format_string}))


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/Los_Angeles", "Asia/Kolkata"])
@pytest.mark.parametrize("moment", MOMENTS)
def test_the_clock_filters_match_the_date_filter(zone, moment):
    with timezone.override(zone):
        assert iso(moment) == django_date(moment, "c")
        assert long_time(moment) == django_date(moment, "D j M Y, H:i e")
        assert long_time(moment, True) == django_date(moment, "D j M Y, H:i:s e")
        assert short_time(moment) == django_date(moment, "H:i e")


CARD_URLS = ["approve", "reject", "edit", "escalate", "done", "dismiss", "action", "allow_similar"]


@pytest.mark.parametrize("name", CARD_URLS)
def test_action_url_is_reverse(name):
    pk = uuid.uuid4()
    assert action_url(f"approvals:{name}", pk) == reverse(f"approvals:{name}", args=[pk])


def test_a_rule_reason_reads_by_the_rules_name_with_its_expression_set_apart(client, supervisor, api, refund_type):
    from policies.models import Rule

    Rule.objects.create(action_type=refund_type, name="large refund", expression="params.amount > 500", level="confirm")
    action_id = api.propose().json()["id"]
    client.force_login(supervisor)

    card = client.get("/").content.decode()

    assert 'Rule “large refund” applies <code class="muted rule">params.amount &gt; 500</code>' in card
    reasons = card.split('aria-label="Why this needs you"')[1].split("</ul>")[0]
    assert "rule &#x27;large refund&#x27; matched" not in reasons  # only in the raw JSON toggle
    assert "Rule “large refund” applies" in client.get(f"/actions/{action_id}/").content.decode()
