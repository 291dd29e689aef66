"""Twenty reviewers approving, editing and rejecting the same fifty actions at once, singly and in
overlapping batches: exactly one decision per action, every loser told (Conflict or
BatchConflict), and the audit log's decision events one to one with the decisions."""

import random
import threading
from collections import Counter

import pytest
from django.db import connection

from approvals.models import Action, BatchConflict, Conflict, Decision
from audit.models import Event
from audit.verification import verify_chain
from tests.conftest import make_user

REVIEWERS = 20
ACTIONS = 50
DECISION_EVENTS = ("action.approved", "action.edited", "action.rejected")


def plan(rng, ids, singles_only):
    """One reviewer's work: every action once, in their own order, some of them in batches."""
    ids = rng.sample(ids, len(ids))
    steps = []
    while ids:
        if not singles_only and rng.random() < 0.3:
            size = rng.randint(2, 6)
            steps.append(("batch", ids[:size]))
            ids = ids[size:]
        else:
            steps.append((rng.choice(["approve", "edit", "reject"]), [ids.pop()]))
    return steps


@pytest.mark.django_db(transaction=True)
def test_twenty_reviewers_at_once_decide_each_action_exactly_once(api, refund_type, supervisor):
    ids = [
        api.propose(params={"customer": f"cus_{n}", "amount": 100 + n, "currency": "USD"}).json()["id"]
        for n in range(ACTIONS)
    ]
    reviewers = [supervisor] + [make_user(f"reviewer{n}", "supervisors") for n in range(1, REVIEWERS)]
    rng = random.Random(20261124)
    plans = [plan(rng, ids, singles_only=(n == 0)) for n in range(REVIEWERS)]
    start = threading.Barrier(REVIEWERS)
    won, told, succeeded, errors = Counter(), Counter(), Counter(), []

    def work(reviewer, steps):
        try:
            start.wait(30)
            for kind, step_ids in steps:
                actions = list(Action.objects.filter(pk__in=step_ids).select_related("action_type", "agent"))
                try:
                    if kind == "batch":
                        Action.approve_all(actions, by=reviewer)
                    elif kind == "approve":
                        actions[0].approve(by=reviewer)
                    elif kind == "edit":
                        actions[0].approve(by=reviewer, params={**actions[0].params, "amount": 1})
                    else:
                        actions[0].reject(by=reviewer, reason="Not this one.")
                    won.update(step_ids)
                    succeeded[kind] += 1
                except (Conflict, BatchConflict) as conflict:
                    assert str(conflict) or kind == "batch"
                    told[kind] += 1
        except Exception as error:  # anything but a Conflict is a failure of the test
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=pair) for pair in zip(reviewers, plans, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    attempts = sum(len(steps) for steps in plans)
    assert errors == []
    assert sum(succeeded.values()) + sum(told.values()) == attempts  # every attempt won or was told
    # Every action decided exactly once, by whoever won it; everyone else was told.
    assert sorted(won) == sorted(ids)
    assert set(won.values()) == {1}
    assert Decision.objects.count() == ACTIONS
    assert Action.objects.filter(status=Action.Status.PENDING).count() == 0
    for action in Action.objects.select_related("decision"):
        assert action.status == action.decision.verdict
    # The audit log: one decision event per decision, about the same action.
    events = Counter(Event.objects.filter(kind__in=DECISION_EVENTS).values_list("action_id", flat=True))
    assert sorted(str(pk) for pk in events) == sorted(ids)
    assert set(events.values()) == {1}
    assert verify_chain(full=True).problems == []  # the chain still links
    print(f"{attempts} attempts, won {dict(succeeded)}, {ACTIONS} decisions, losers told: {dict(told)}")
