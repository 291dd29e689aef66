"""The inbox and a batch approval cost the same number of queries for 10 cards as for 200."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from approvals.models import Action
from audit.log import Actor, record
from policies.models import ActionType
from tests.inbox.conftest import pending_actions

pytestmark = pytest.mark.django_db

# With the end users' open escalations, the agents' open questions, the cards' escalation tiers and
# approvals, the queue health and the timed-out list.
INBOX_QUERIES = 13
BATCH_QUERIES = 14
FOUR_EYES_QUERIES = INBOX_QUERIES + 1  # who made each card's policy version, for the whole page


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
    with django_assert_num_queries(7):  # with the open questions
        response = client.get(f"/inbox/changes?version={version}")

    assert response.status_code == 204


@pytest.mark.parametrize("cards", [10, 200])
def test_four_eyes_cards_ask_who_made_their_policy_once_a_page(client, supervisor, agent, refund_type, cards,
                                                              django_assert_num_queries):
    ActionType.objects.filter(pk=refund_type.pk).update(required_approvers=2)
    pending_actions(agent, refund_type, cards // 2)
    pending_actions(agent, refund_type, cards - cards // 2, policy_version=2)
    with transaction.atomic():
        record(kind="policy.changed", actor=Actor.user(supervisor), action_type=refund_type.key, data={"version": 2})
    client.force_login(supervisor)
    ContentType.objects.clear_cache()  # as a fresh process has it, like the inbox test above

    with django_assert_num_queries(FOUR_EYES_QUERIES):
        page = client.get("/").content.decode()

    # Half the cards shown were routed by the version sue made: she may not approve those.
    assert page.count("You changed the policy that routed this action (version 2)") == min(cards, 50) // 2
