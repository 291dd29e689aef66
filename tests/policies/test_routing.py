"""The routing pipeline, one row per gate and the interesting combinations, through the agent API."""

import pytest

from approvals.models import Action
from audit.models import Event
from policies.models import ActionType, Agent, InvalidProposal
from tests.policies.conftest import TAG, add_rule

# (what, changes to the type, rules, proposal fields, expected level, a reason that must be listed)
ROWS = [
    ("the type's own level", {}, [], {}, "autonomous", "policy for 'tickets.tag'"),
    (
        "a matching rule",
        {},
        [("billing tags", '"billing" in params.tags')],
        {},
        "confirm",
        "rule 'billing tags' matched: \"billing\" in params.tags",
    ),
    (
        "a rule that does not match",
        {},
        [("big", "has(params.amount) && params.amount > 500")],
        {},
        "autonomous",
        "policy for",
    ),
    (
        "a rule asking for suggest beats one asking confirm",
        {},
        [("a", "true"), ("b", "params.ticket == 'T-1'", "suggest")],
        {},
        "suggest",
        "rule 'b' matched",
    ),
    (
        "a rule cannot loosen the type's level",
        {"autonomy": "confirm"},
        [("loose", "true", "autonomous")],
        {},
        "confirm",
        "policy for",
    ),
    (
        "a rule that fails to evaluate asks for a person",
        {},
        [("typo", "params.amount > 500")],
        {},
        "confirm",
        "rule 'typo' could not be evaluated: no such field: amount",
    ),
    (
        "rules see untrusted context",
        {},
        [("from email", "'ticket.body' in untrusted")],
        {"context": {"ticket": {"body": "hi"}, "untrusted": ["ticket.body"]}},
        "confirm",
        "rule 'from email' matched",
    ),
    (
        "rules see the agent and session",
        {},
        [("night run", "agent.name == 'billing-agent' && session.id == 'n-1'")],
        {"session_id": "n-1"},
        "confirm",
        "rule 'night run' matched",
    ),
    ("irreversible", {"irreversible": True}, [], {}, "confirm", "irreversible"),
    (
        "irreversible, explicitly allowed",
        {"irreversible": True, "allow_irreversible_unattended": True},
        [],
        {},
        "autonomous",
        "policy for",
    ),
    ("blast radius high", {"blast_radius": "high"}, [], {}, "confirm", "blast radius is high"),
    (
        "confidence below a number",
        {"confidence_threshold": "0.8"},
        [],
        {"confidence": 0.62},
        "confirm",
        "confidence 0.62 is below 0.8",
    ),
    ("confidence above a number", {"confidence_threshold": "0.8"}, [], {"confidence": 0.9}, "autonomous", "policy"),
    (
        "confidence below a word",
        {"confidence_threshold": "medium"},
        [],
        {"confidence": "low"},
        "confirm",
        "confidence low is below medium",
    ),
    (
        "confidence as a word above a number",
        {"confidence_threshold": "0.6"},
        [],
        {"confidence": "high"},
        "autonomous",
        "policy",
    ),
    (
        "no confidence where a threshold is set",
        {"confidence_threshold": "high"},
        [],
        {},
        "confirm",
        "gave no confidence",
    ),
    ("first use", {"first_use_threshold": 5}, [], {}, "confirm", "one of the first 5 uses of 'tickets.tag'"),
    (
        "on hold",
        {"pause": "hold", "pause_reason": "incident 42"},
        [],
        {},
        "confirm",
        "'tickets.tag' is on hold: incident 42",
    ),
    (
        "hold and a suggest rule",
        {"pause": "hold", "pause_reason": "x"},
        [("s", "true", "suggest")],
        {},
        "suggest",
        "rule 's' matched",
    ),
    (
        "several gates at once",
        {"blast_radius": "high", "irreversible": True, "autonomy": "audit"},
        [("r", "true")],
        {},
        "confirm",
        "blast radius is high",
    ),
]


@pytest.mark.parametrize(("what", "changes", "rules", "fields", "level", "reason"), ROWS, ids=[r[0] for r in ROWS])
def test_the_pipeline_asks_for_the_strictest_level(api, tag_type, what, changes, rules, fields, level, reason):
    ActionType.objects.filter(pk=tag_type.pk).update(**changes)
    for order, (name, expression, *rule_level) in enumerate(rules):
        add_rule(tag_type, name, expression, *(rule_level or ["confirm"]), order=order)

    response = api.propose("tickets.tag", TAG, **fields)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["autonomy"] == level
    assert any(reason in text for text in body["route"]["reasons"]), body["route"]["reasons"]


def test_every_reason_at_the_effective_level_is_listed(api, tag_type):
    ActionType.objects.filter(pk=tag_type.pk).update(blast_radius="high")
    add_rule(tag_type, "billing tags", '"billing" in params.tags')

    reasons = api.propose("tickets.tag", TAG).json()["route"]["reasons"]

    assert reasons == ["rule 'billing tags' matched: \"billing\" in params.tags", "blast radius is high"]


def test_a_type_paused_with_block_is_refused_with_the_reason(api, tag_type):
    ActionType.objects.filter(pk=tag_type.pk).update(pause="block", pause_reason="vendor outage")

    response = api.propose("tickets.tag", TAG)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "paused"
    assert "vendor outage" in response.json()["error"]["message"]
    assert not Action.objects.exists()
    refused = Event.objects.get(kind="action.refused")
    assert (refused.agent, refused.action_type, refused.data["code"]) == ("billing-agent", "tickets.tag", "paused")


def test_a_refused_proposal_is_redacted_by_its_types_paths(api, tag_type):
    ActionType.objects.filter(pk=tag_type.pk).update(
        pause="block", pause_reason="vendor outage", redact_paths=["params.ticket"]
    )

    assert api.propose("tickets.tag", TAG).status_code == 403

    refused = Event.objects.get(kind="action.refused")
    assert refused.data["proposal"]["params"]["ticket"] != "T-1"
    assert refused.data["proposal"]["params"]["tags"] == ["billing"]
    assert "T-1" not in str(refused.data)


def test_a_paused_agent_is_blocked_or_held(api, agent, tag_type):
    Agent.objects.filter(pk=agent.pk).update(pause="block", pause_reason="runaway loop")
    blocked = api.propose("tickets.tag", TAG)
    Agent.objects.filter(pk=agent.pk).update(pause="hold", pause_reason="being retrained")
    held = api.propose("tickets.tag", TAG)

    assert blocked.status_code == 403
    assert "agent 'billing-agent' is paused: runaway loop" in blocked.json()["error"]["message"]
    assert held.json()["status"] == "pending"
    assert "agent 'billing-agent' is on hold: being retrained" in held.json()["route"]["reasons"]


def test_each_action_records_the_policy_version_that_routed_it(api, tag_type):
    ActionType.objects.filter(pk=tag_type.pk).update(version=7)

    action_id = api.propose("tickets.tag", TAG).json()["id"]

    assert Action.objects.get(pk=action_id).policy_version == 7
    assert Event.objects.get(kind="action.routed", action_id=action_id).data["policy_version"] == 7


def test_first_use_counts_what_ran(api, tag_type):
    ActionType.objects.filter(pk=tag_type.pk).update(first_use_threshold=2, autonomy="audit")

    levels = []
    for _ in range(3):
        body = api.propose("tickets.tag", TAG).json()
        levels.append(body["autonomy"])
        if body["status"] == "pending":
            Action.objects.filter(pk=body["id"]).update(status="executed")

    assert levels == ["confirm", "confirm", "audit"]


class TestRepairLoop:
    def test_invalid_proposals_are_refused_and_kept(self, api, tag_type):
        response = api.propose("tickets.tag", {"ticket": 5}, session_id="run-1")

        assert response.status_code == 422
        assert response.json()["error"]["code"] == "params_invalid"
        kept = InvalidProposal.objects.get()
        assert kept.proposal["params"] == {"ticket": 5}
        assert kept.session_id == "run-1"
        assert {e["path"] for e in kept.errors} == {"(root)", "ticket"}
        assert Event.objects.filter(kind="action.refused", data__code="params_invalid").count() == 1

    def test_after_three_invalid_attempts_the_next_goes_to_a_person(self, api, tag_type):
        codes = [api.propose("tickets.tag", {"ticket": 5}, session_id="run-1").status_code for _ in range(3)]

        fourth = api.propose("tickets.tag", {"ticket": 5}, session_id="run-1")

        assert codes == [422, 422, 422]
        assert fourth.status_code == 201
        body = fourth.json()
        assert body["status"] == "pending"
        assert "parameters still invalid after 3 attempts" in body["route"]["reasons"][-1]
        assert body["route"]["checkers"][0]["verdict"] == "fail"

    def test_attempts_are_counted_per_session(self, api, tag_type):
        for _ in range(3):
            api.propose("tickets.tag", {"ticket": 5}, session_id="run-1")

        other_session = api.propose("tickets.tag", {"ticket": 5}, session_id="run-2")

        assert other_session.status_code == 422

    def test_attempts_are_counted_per_agent(self, api, client, tag_type):
        from tests.conftest import AgentApi

        other = AgentApi(client, Agent.objects.create(name="other-agent").issue_token())
        for _ in range(3):
            other.propose("tickets.tag", {"ticket": 5}, session_id="run-1")

        assert api.propose("tickets.tag", {"ticket": 5}, session_id="run-1").status_code == 422

    def test_a_valid_proposal_in_that_session_is_routed_as_usual(self, api, tag_type):
        for _ in range(3):
            api.propose("tickets.tag", {"ticket": 5}, session_id="run-1")

        body = api.propose("tickets.tag", TAG, session_id="run-1").json()

        assert body["status"] == "approved"


def test_without_a_session_the_repair_loop_counts_the_last_hour(api, tag_type):
    from datetime import timedelta

    from django.utils import timezone

    for _ in range(3):
        api.propose("tickets.tag", {"ticket": 5})
    InvalidProposal.objects.update(at=timezone.now() - timedelta(hours=2))

    assert api.propose("tickets.tag", {"ticket": 5}).status_code == 422
    for _ in range(2):
        api.propose("tickets.tag", {"ticket": 5})
    assert api.propose("tickets.tag", {"ticket": 5}).status_code == 201
