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
