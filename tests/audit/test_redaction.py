"""Secrets never reach the log: configured paths and detected secrets become markers saying
what was removed, while the caller's data (the action's own parameters) stays intact."""

import copy

import pytest

from audit.redaction import luhn_valid, redact
from tests.audit.conftest import append

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "secret, label",
    [
        ("sk-proj-Abcdefghijklmnopqrstuvwxyz012345", "API key"),
        ("sk_live_51HxYzAbCdEfGhIjKlMn", "API key"),
        ("ghp_0123456789abcdefghijklmnopqrstuvwxyzAB", "GitHub token"),
        ("xoxb-123456789012-abcdefghijkl", "Slack token"),
        ("AKIAIOSFODNN7EXAMPLE", "AWS access key"),
        ("AIzaSyA1234567890abcdefghijklmnopqrstuv", "Google API key"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "JWT"),
        ("Bearer abcdef0123456789abcdef", "bearer token"),
        ("4111 1111 1111 1111", "card number"),
        ("5555-5555-5555-4444", "card number"),
        ("378282246310005", "card number"),
    ],
)
def test_values_that_look_like_secrets_are_replaced_inside_text(secret, label):
    event = append(data={"proposal": {"params": {"body": f"Use {secret} for this."}}})

    assert event.data == {"proposal": {"params": {"body": f"Use [redacted: {label}] for this."}}}
    event.refresh_from_db()
    assert secret not in str(event.data)


def test_a_card_number_given_as_a_number_is_redacted():
    assert redact({"card": 4111111111111111}) == {"card": "[redacted: card number]"}


def test_numbers_that_fail_the_luhn_check_or_look_like_timestamps_stay():
    assert not luhn_valid("4111111111111112")
    kept = {"order": "4111 1111 1111 1112", "sent_at_ms": 1732460000000, "amount": 750, "phone": "+1 415 555 0100"}
    assert redact(kept) == kept


@pytest.mark.parametrize(
    "field", ["password", "db_password", "newPassword", "client_secret", "api_key", "apiKey", "X-Api-Key", "token"]
)
def test_values_of_fields_named_like_secrets_are_redacted(field):
    assert redact({"params": {field: "hunter2"}}) == {"params": {field: f"[redacted: {field}]"}}


def test_fields_that_only_resemble_secret_names_stay():
    kept = {"max_tokens": 500, "keyboard": "qwerty", "token_count": 3, "passenger": "Ada"}
    assert redact(kept) == kept


def test_a_numeric_pin_is_redacted():
    assert redact({"pin": 1234}) == {"pin": "[redacted: pin]"}


def test_configured_paths_are_redacted_wherever_they_match_or_from_the_root():
    data = {
        "proposal": {"params": {"card": {"number": "x", "holder": "Ada"}, "note": "hi", "password": "p"}},
        "diff": {"note": {"from": "hi", "to": "hello"}},
    }
    redacted = redact(data, ["params.card.number", "$.proposal.params.note", "diff.note.*"])

    assert redacted == {
        "proposal": {
            "params": {
                "card": {"number": "[redacted: params.card.number]", "holder": "Ada"},
                "note": "[redacted: $.proposal.params.note]",
                "password": "[redacted: password]",
            }
        },
        "diff": {"note": {"from": "[redacted: diff.note.*]", "to": "[redacted: diff.note.*]"}},
    }


def test_an_anchored_path_does_not_match_deeper_down():
    data = {"params": {"note": "a"}, "proposal": {"params": {"note": "b"}}}
    assert redact(data, ["$.params.note"]) == {
        "params": {"note": "[redacted: $.params.note]"},
        "proposal": data["proposal"],
    }


def test_recording_leaves_the_callers_data_intact():
    params = {"card": "4111111111111111", "amount": 750}
    data = {"proposal": {"params": params}}
    before = copy.deepcopy(data)

    event = append(data=data, redact_paths=["params.amount"])

    assert data == before
    assert event.data == {
        "proposal": {"params": {"card": "[redacted: card number]", "amount": "[redacted: params.amount]"}}
    }
    assert event.compute_hash() == event.hash


def test_summaries_are_redacted_too():
    event = append(summary="Charge card 4111 1111 1111 1111")
    assert event.summary == "Charge card [redacted: card number]"


class _Typed:
    """An action as approvals.Action looks to the log: a context, a summary, an action type."""

    def __init__(self, redact_paths):
        self.summary = "Pay invoice"
        self.action_type = type("ActionType", (), {"redact_paths": redact_paths})()

    def audit_context(self):
        return {"action_type": "payments.pay", "agent": "billing-agent"}


def test_an_action_types_redact_paths_apply_by_default():
    from django.db import transaction

    from audit.log import Actor, record

    with transaction.atomic():
        event = record(
            kind="action.proposed",
            actor=Actor.system("tests"),
            action=_Typed(["params.iban"]),
            data={"proposal": {"params": {"iban": "DE89370400440532013000", "amount": 5}}},
        )
    assert event.data == {"proposal": {"params": {"iban": "[redacted: params.iban]", "amount": 5}}}
    assert (event.summary, event.action_type) == ("Pay invoice", "payments.pay")


def test_a_proposal_is_logged_redacted_while_the_action_keeps_what_the_agent_sent(api, refund_type):
    from approvals.models import Action
    from audit.models import Event

    rationale = "Customer pasted card 4242 4242 4242 4242 and key sk-live-abcdefghijklmnopqrstuvwx"
    response = api.propose(rationale=rationale, context={"api_token": "t0ps3cret", "ticket": "T-1"})

    action = Action.objects.get(pk=response.json()["id"])
    assert action.rationale == rationale and action.context["api_token"] == "t0ps3cret"
    proposal = Event.objects.get(kind="action.proposed").data["proposal"]
    assert proposal["rationale"] == "Customer pasted card [redacted: card number] and key [redacted: API key]"
    assert proposal["context"] == {"api_token": "[redacted: api_token]", "ticket": "T-1"}
    assert proposal["params"] == {"customer": "cus_123", "amount": 750, "currency": "USD"}


def test_an_edit_of_a_redacted_parameter_stays_redacted_in_the_approval(api, refund_type, supervisor):
    """The approval's diff is keyed by the changed value's path, which `params.amount` must still
    cover: the edited amount is in no event, from or to."""
    from approvals.models import Action
    from audit.models import Event

    refund_type.redact_paths = ["params.amount"]
    refund_type.save()
    action = Action.objects.get(pk=api.propose().json()["id"])

    action.approve(by=supervisor, params={**action.params, "amount": 500})

    approved = Event.objects.get(kind="action.approved", action_id=action.pk)
    assert approved.data["diff"] == {
        "amount": {"from": "[redacted: params.amount]", "to": "[redacted: params.amount]"}
    }
    assert "500" not in str(approved.data) and "750" not in str(approved.data)
