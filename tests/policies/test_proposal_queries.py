"""What a proposal costs PostgreSQL (issue 21; docs/performance.md, "Where the time goes"): a
few statements, however many rules and types there are, once this process has the policies."""

import pytest

from policies.models import ActionType
from tests.policies.conftest import TAG, add_rule

pytestmark = pytest.mark.django_db

REFUND = {"action": "payments.refund", "params": {"customer": "cus_1", "amount": 5, "currency": "USD"}}

# The policies' generation (policies/cache.py); BEGIN; the Idempotency-Key's lock with the
# lookup of the action it may already have made; the action's INSERT with the audit append of its
# events, one statement (approvals.services._store); COMMIT.
WITH_IDEMPOTENCY_KEY = 5
# Without a key, no lock or lookup, and so no transaction around the one statement (which commits
# by itself): the generation and the INSERT with its events.
WITHOUT_KEY = 2
# Reading the policies again after a change: the token with its agent, the type, its rules,
# (for a reversible type) which standing approvals are active, and the active shadow policies.
AFTER_A_CHANGE = 5


def test_a_proposal_with_an_idempotency_key_runs_five_statements(api, refund_type, django_assert_num_queries):
    add_rule(refund_type, "large refund", "params.amount > 500")
    add_rule(refund_type, "foreign currency", "params.currency != 'USD'")
    api.post("/actions", REFUND, idempotency_key="first")  # this process reads the policies

    with django_assert_num_queries(WITH_IDEMPOTENCY_KEY):
        assert api.post("/actions", REFUND, idempotency_key="second").status_code == 201


def test_a_proposal_of_a_reversible_type_without_a_key_runs_two(api, tag_type, django_assert_num_queries):
    api.propose(action="tickets.tag", params=TAG)

    with django_assert_num_queries(WITHOUT_KEY):
        assert api.propose(action="tickets.tag", params=TAG).json()["status"] == "approved"


def test_after_a_policy_change_only_the_next_proposal_reads_the_policies_again(
    api, tag_type, django_assert_num_queries
):
    api.propose(action="tickets.tag", params=TAG)
    ActionType.objects.filter(pk=tag_type.pk).update(name="Tag a support ticket")

    with django_assert_num_queries(WITHOUT_KEY + AFTER_A_CHANGE):
        api.propose(action="tickets.tag", params=TAG)
    with django_assert_num_queries(WITHOUT_KEY):
        api.propose(action="tickets.tag", params=TAG)
