"""The inbox and a batch approval cost the same number of queries for 10 cards as for 200."""

import pytest

from approvals.models import Action
from tests.inbox.conftest import pending_actions

pytestmark = pytest.mark.django_db

INBOX_QUERIES = 11  # with the end users' open escalations, the cards' escalation tiers and approvals
BATCH_QUERIES = 14


@pytest.mark.parametrize("cards", [10, 200])
def test_the_inbox_query_count_does_not_grow_with_cards(client, supervisor, agent, refund_type, cards,
                                                        django_assert_max_num_queries):
    pending_actions(agent, refund_type, cards // 2, batch="monday")
    pending_actions(agent, refund_type, cards - cards // 2, session_id="run-1")
    client.force_login(supervisor)

    with django_assert_max_num_queries(INBOX_QUERIES):
        response = client.get("/")

    assert response.content.decode().count('class="card status-pending"') == min(cards, 50)


@pytest.mark.parametrize("cards", [10, 200])
def test_a_batch_approval_query_count_does_not_grow_with_cards(client, supervisor, agent, refund_type, cards,
                                                               django_assert_max_num_queries):
    ids = [a.pk for a in pending_actions(agent, refund_type, cards)]
    client.force_login(supervisor)

    with django_assert_max_num_queries(BATCH_QUERIES):
        response = client.post("/batch/approve", {"ids": ids})

    assert response.status_code == 302
    assert Action.objects.filter(status="approved").count() == cards


@pytest.mark.parametrize("cards", [10, 200])
def test_an_unchanged_poll_costs_the_same_queries_whatever_the_cards(client, supervisor, agent, refund_type, cards,
                                                                   django_assert_num_queries):
    import re

    pending_actions(agent, refund_type, cards)
    client.force_login(supervisor)
    version = re.search(r"version=([^&\"]+)", client.get("/").content.decode()).group(1)

    # Session, user, two permission lookups; the actions' aggregate and the end users' open escalations.
    with django_assert_num_queries(6):
        response = client.get(f"/inbox/changes?version={version}")

    assert response.status_code == 204
