"""`@gate` end to end: propose, wait for the person, run with the final parameters, report."""

import asyncio
from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import escalation
from approvals.models import Action
from hitl_client import Expired, ReceiptInvalid, Rejected, Suggested, gate
from policies.models import ActionType
from tests.client.outages import outcome
from tests.conftest import pending_action

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def outbox():
    return []


@pytest.fixture
def send_email(countersign, email_type, outbox):
    @gate("email.send", client=countersign, rationale="The customer asked for the invoice.")
    def send_email(to, subject, body="(empty)"):
        outbox.append({"to": to, "subject": subject, "body": body})
        return {"message_id": f"msg-{len(outbox)}"}

    return send_email


def test_an_approved_call_runs_and_its_outcome_is_reported(send_email, supervisor, outbox, in_background):
    sending = in_background(send_email, ["ann@example.com"], "Your invoice")

    pending_action().approve(by=supervisor)

    assert sending.result(timeout=20) == {"message_id": "msg-1"}
    assert outbox == [{"to": ["ann@example.com"], "subject": "Your invoice", "body": "(empty)"}]
    [action] = outcome()
    assert action.params == {"to": ["ann@example.com"], "subject": "Your invoice", "body": "(empty)"}
    assert action.rationale == "The customer asked for the invoice."
    assert action.status == "executed"
    assert action.outcome["output"] == {"message_id": "msg-1"}


def test_the_function_receives_the_reviewers_edit(send_email, supervisor, outbox, in_background):
    sending = in_background(send_email, ["ann@example.com"], "Your invioce", body="Attached.")

    action = pending_action()
    action.approve(by=supervisor, params={**action.params, "subject": "Your invoice"})

    sending.result(timeout=20)
    assert outbox == [{"to": ["ann@example.com"], "subject": "Your invoice", "body": "Attached."}]


def test_a_rejected_call_raises_and_never_runs(send_email, supervisor, outbox, in_background):
    sending = in_background(send_email, ["ann@example.com"], "Your invoice")

    pending_action().reject(by=supervisor, reason="Ann already has it")

    with pytest.raises(Rejected, match="Ann already has it"):
        sending.result(timeout=20)
    assert outbox == []


def test_an_expired_call_raises_and_never_runs(send_email, email_type, outbox, in_background):
    ActionType.objects.filter(pk=email_type.pk).update(timeout_fallback="expire")
    sending = in_background(send_email, ["ann@example.com"], "Your invoice")

    pending_action()
    escalation.sweep(now=timezone.now() + timedelta(hours=1))

    with pytest.raises(Expired):
        sending.result(timeout=20)
    assert outbox == []


def test_a_failing_function_reports_its_exception_and_raises_it(countersign, tagging_type):
    @gate("tickets.tag", client=countersign)
    def tag(ticket, tag):
        raise ConnectionError("helpdesk is down")

    with pytest.raises(ConnectionError):
        tag("T-1", "billing")

    [action] = outcome()
    assert action.status == "failed"
    assert action.outcome["error"] == "ConnectionError: helpdesk is down"


def test_an_auto_approved_call_runs_at_once(countersign, tagging_type):
    @gate("tickets.tag", client=countersign)
    def tag(ticket, tag):
        return f"{ticket} tagged {tag}"

    assert tag("T-1", tag="billing") == "T-1 tagged billing"
    assert outcome()[0].outcome["output"] == {"result": "T-1 tagged billing"}


def test_a_suggest_only_call_is_returned_as_a_suggestion_and_not_run(countersign, deploy_type):
    deployed = []

    @gate("deploy.production", client=countersign)
    def deploy(build):
        deployed.append(build)

    suggestion = deploy("build-42")

    assert isinstance(suggestion, Suggested)
    assert suggestion.action["status"] == "suggested"
    assert deployed == []


def test_a_receipt_that_does_not_verify_stops_the_call(live_server, token, tagging_type):
    from hitl_client import Client

    ran = []
    with Client(live_server.url, token, receipt_secret="not-this-agents-secret") as impostor:

        @gate("tickets.tag", client=impostor)
        def tag(ticket):
            ran.append(ticket)

        with pytest.raises(ReceiptInvalid):
            tag("T-1")
    assert ran == []
    assert Action.objects.get().status == "approved"  # approved, never executed


def test_an_async_function_is_gated_the_same_way(async_countersign, email_type, supervisor, outbox, in_background):
    async def agent():
        async with async_countersign() as client:

            @gate("email.send", client=client)
            async def send_email(to, subject, body):
                outbox.append(subject)
                return {"sent": True}

            return await send_email(["bo@example.com"], "Hello", "Hi Bo")

    sending = in_background(asyncio.run, agent())
    action = pending_action()
    action.approve(by=supervisor, params={**action.params, "subject": "Hello Bo"})

    assert sending.result(timeout=20) == {"sent": True}
    assert outbox == ["Hello Bo"]
    assert outcome()[0].status == "executed"


def test_a_method_is_gated_without_its_instance_as_a_parameter(countersign, tagging_type):
    class Helpdesk:
        prefix = "HD"

        @gate("tickets.tag", client=countersign)
        def tag(self, ticket, tags):
            return f"{self.prefix}-{ticket}: {', '.join(tags)}"

    assert Helpdesk().tag("T-1", ["billing"]) == "HD-T-1: billing"
    assert Action.objects.get().params == {"ticket": "T-1", "tags": ["billing"]}


def test_keyword_arguments_gathered_by_kwargs_are_proposed_as_parameters(countersign, tagging_type):
    @gate("tickets.tag", client=countersign)
    def tag(ticket, **labels):
        return {"ticket": ticket, **labels}

    assert tag("T-1", team="billing", priority=2) == {"ticket": "T-1", "team": "billing", "priority": 2}
    assert Action.objects.get().params == {"ticket": "T-1", "team": "billing", "priority": 2}


def test_an_edit_to_a_kwargs_parameter_reaches_the_function(send_email_kw, supervisor, outbox, in_background):
    sending = in_background(send_email_kw, to=["ann@example.com"], subject="Your invioce", body="Attached.")

    action = pending_action()
    assert action.params == {"to": ["ann@example.com"], "subject": "Your invioce", "body": "Attached."}
    action.approve(by=supervisor, params={**action.params, "subject": "Your invoice"})

    sending.result(timeout=20)
    assert outbox == [{"to": ["ann@example.com"], "subject": "Your invoice", "body": "Attached."}]


@pytest.fixture
def send_email_kw(countersign, email_type, outbox):
    @gate("email.send", client=countersign)
    def send_email(**message):
        outbox.append(message)

    return send_email


def test_positional_only_parameters_are_proposed_by_name_and_passed_by_position(countersign, tagging_type):
    @gate("tickets.tag", client=countersign)
    def tag(ticket, /, tag):
        return f"{ticket}: {tag}"

    assert tag("T-1", "billing") == "T-1: billing"
    assert Action.objects.get().params == {"ticket": "T-1", "tag": "billing"}


def test_a_function_taking_star_args_is_refused_when_decorated(countersign):
    with pytest.raises(TypeError, match=r"cannot name the values of \*files in delete"):

        @gate("files.delete", client=countersign)
        def delete(*files):
            pass
