"""The OpenAI Agents SDK adapter end to end: a real Agent and Runner on a scripted model, its
tool-approval interruptions decided in Countersign."""

import json
import re

import pytest
from agents import Agent, function_tool, set_tracing_disabled
from agents.items import ModelResponse
from agents.models.interface import Model
from agents.usage import Usage
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from approvals.models import Action, Decision
from audit.models import Event
from hitl_client.openai_agents import run_sync
from tests.conftest import pending_action

pytestmark = pytest.mark.django_db(transaction=True)

set_tracing_disabled(True)  # no network: the SDK would otherwise export traces to OpenAI

REFUND = {"customer": "cus_123", "amount": 750, "currency": "USD"}
EMAIL = {"to": ["ann@example.com"], "subject": "Your invioce", "body": "Attached."}


class ScriptedModel(Model):
    """Makes one tool call; calls again when told to with other arguments; then answers with whatever
    the tool said (or the rejection it got)."""

    def __init__(self, name="refund", args=REFUND):
        self.name, self.args = name, args
        self.inputs = []

    async def get_response(self, system_instructions, input, *args, **kwargs):
        self.inputs.append(input)
        outputs = [i for i in input if isinstance(i, dict) and i.get("type") == "function_call_output"]
        told = str(outputs[-1]["output"]) if outputs else ""
        again = re.search(r"call it again with exactly these arguments: (\{.*?\})(?: \(|$)", told)
        if not outputs or again:
            arguments = again.group(1) if again else json.dumps(self.args)
            call = ResponseFunctionToolCall(
                type="function_call",
                call_id=f"call_{len(outputs)}",
                name=self.name,
                arguments=arguments,
                id=f"fc_{len(outputs)}",
            )
            return ModelResponse(output=[call], usage=Usage(), response_id=None)
        text = ResponseOutputText(type="output_text", text=told, annotations=[])
        message = ResponseOutputMessage(
            type="message", id="msg_1", role="assistant", status="completed", content=[text]
        )
        return ModelResponse(output=[message], usage=Usage(), response_id=None)

    def stream_response(self, *args, **kwargs):
        raise NotImplementedError("The tests do not stream.")


@pytest.fixture
def refunds():
    return []


@pytest.fixture
def billing_agent(refunds):
    @function_tool(needs_approval=True)
    def refund(customer: str, amount: float, currency: str) -> str:
        """Refund a customer."""
        refunds.append(amount)
        return f"refunded {amount} {currency}"

    return Agent(name="billing", instructions="Refund when asked.", tools=[refund], model=ScriptedModel())


@pytest.fixture
def sent():
    return []


@pytest.fixture
def mailer_agent(sent):
    @function_tool(needs_approval=True)
    def send_email(to: list[str], subject: str, body: str) -> str:
        """Send an email."""
        sent.append(subject)
        return f"sent {subject}"

    model = ScriptedModel("send_email", EMAIL)
    return Agent(name="mailer", instructions="Send invoices.", tools=[send_email], model=model)


def send_invoice(countersign, mailer_agent):
    return run_sync(countersign, mailer_agent, "Send the invoice", action_names={"send_email": "email.send"})


def refund_981(countersign, billing_agent):
    return run_sync(
        countersign, billing_agent, "Refund order 981", action_names={"refund": "payments.refund"}, wait_timeout=20
    )


def test_an_approved_tool_call_runs(countersign, billing_agent, refund_type, supervisor, refunds, in_background):
    running = in_background(refund_981, countersign, billing_agent)

    action = pending_action()
    assert action.params == REFUND
    action.approve(by=supervisor)

    assert running.result(timeout=30).final_output == "refunded 750.0 USD"
    assert refunds == [750]


def test_a_rejected_tool_call_does_not_run_and_the_model_hears_why(
    countersign, billing_agent, refund_type, supervisor, refunds, in_background
):
    running = in_background(refund_981, countersign, billing_agent)

    pending_action().reject(by=supervisor, reason="Refunded already on T-977")

    assert "Refunded already on T-977" in running.result(timeout=30).final_output
    assert refunds == []


def test_an_edited_approval_is_sent_back_to_the_model_and_its_repeated_call_runs_without_a_second_review(
    countersign, mailer_agent, email_type, supervisor, sent, in_background
):
    running = in_background(send_invoice, countersign, mailer_agent)

    action = pending_action()
    edited = {**EMAIL, "subject": "Your March invoice"}
    action.approve(by=supervisor, params=edited)

    assert running.result(timeout=30).final_output == "sent Your March invoice"
    assert sent == ["Your March invoice"]  # the edited call, once; the model's first never ran
    repeated = Action.objects.exclude(pk=action.pk).get()
    assert repeated.params == edited and repeated.status == "approved" and repeated.route["standing_approval"]
    assert not Decision.objects.filter(action=repeated).exists()  # nobody reviewed it
    made = Event.objects.get(kind="policy.changed", data__what="standing approval created")
    assert made.actor_id == str(supervisor.pk) and made.data["max_uses"] == 1
    assert made.data["constraints"]["subject"] == {"equals": "Your March invoice"}


def test_an_edited_irreversible_call_is_repeated_by_the_model_and_reviewed_again(
    countersign, billing_agent, refund_type, supervisor, refunds, in_background
):
    running = in_background(refund_981, countersign, billing_agent)

    pending_action().approve(by=supervisor, params={**REFUND, "amount": 500})

    repeated = pending_action()  # no standing approval waives an irreversible type: a person decides again
    assert repeated.params == {**REFUND, "amount": 500}
    repeated.reject(by=supervisor, reason="Changed my mind")
    assert "Changed my mind" in running.result(timeout=30).final_output
    assert refunds == []
    assert not Event.objects.filter(kind="policy.changed").exists()
