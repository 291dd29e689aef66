"""The OpenAI Agents SDK adapter end to end: a real Agent and Runner on a scripted model, its
tool-approval interruptions decided in Countersign."""

import json

import pytest
from agents import Agent, function_tool, set_tracing_disabled
from agents.items import ModelResponse
from agents.models.interface import Model
from agents.usage import Usage
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from approvals.models import Action, Decision
from audit.models import Event
from hitl_client.openai_agents import run_sync
from tests.client.outages import assert_failed_closed, audited_outcome, outcome
from tests.conftest import pending_action

pytestmark = pytest.mark.django_db(transaction=True)

set_tracing_disabled(True)  # no network: the SDK would otherwise export traces to OpenAI

REFUND = {"customer": "cus_123", "amount": 750, "currency": "USD"}
EMAIL = {"to": ["ann@example.com"], "subject": "Your invioce", "body": "Attached."}


class ScriptedModel(Model):
    """Makes one tool call, then answers with whatever the tool said (or the rejection it got)."""

    def __init__(self, name="refund", args=REFUND):
        self.name, self.args = name, args
        self.inputs = []

    async def get_response(self, system_instructions, input, *args, **kwargs):
        self.inputs.append(input)
        outputs = [i for i in input if isinstance(i, dict) and i.get("type") == "function_call_output"]
        told = str(outputs[-1]["output"]) if outputs else ""
        if not outputs:
            arguments = json.dumps(self.args)
            call = ResponseFunctionToolCall(
                type="function_call", call_id="call_0", name=self.name, arguments=arguments, id="fc_0"
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


def test_an_edited_call_runs_with_the_reviewers_arguments_without_the_model_or_a_second_review(
    countersign, mailer_agent, email_type, supervisor, sent, in_background
):
    running = in_background(send_invoice, countersign, mailer_agent)

    action = pending_action()
    action.approve(by=supervisor, params={**EMAIL, "subject": "Your March invoice"})

    said = running.result(timeout=30).final_output
    assert sent == ["Your March invoice"]  # once, as edited; the model's own call never ran
    assert 'subject: "Your invioce" → "Your March invoice"' in said and said.endswith("sent Your March invoice")
    assert Action.objects.count() == 1  # nobody was asked again, and no standing approval was needed
    assert not Event.objects.filter(kind="policy.changed").exists()
    assert outcome()[0].status == "executed"


def test_an_edited_irreversible_call_runs_as_edited_without_a_second_review(
    countersign, billing_agent, refund_type, supervisor, refunds, in_background
):
    running = in_background(refund_981, countersign, billing_agent)

    pending_action().approve(by=supervisor, params={**REFUND, "amount": 500})

    said = running.result(timeout=30).final_output
    assert refunds == [500]
    assert "amount: 750 → 500" in said
    [executed] = outcome()
    assert Action.objects.count() == Decision.objects.count() == 1  # one review, of the model's call
    assert audited_outcome(executed)["output"] == {"result": "refunded 500.0 USD"}


def test_an_approved_call_ends_executed_with_its_output_in_the_audit_log(
    countersign, billing_agent, refund_type, supervisor, in_background
):
    running = in_background(refund_981, countersign, billing_agent)

    pending_action().approve(by=supervisor)

    running.result(timeout=30)
    [executed] = outcome()
    assert executed.status == "executed"
    assert audited_outcome(executed)["output"] == {"result": "refunded 750.0 USD"}


def test_a_failing_tool_ends_failed_and_the_model_hears_the_sdks_error(
    countersign, refund_type, supervisor, in_background
):
    @function_tool(needs_approval=True)
    def refund(customer: str, amount: float, currency: str) -> str:
        """Refund a customer."""
        raise RuntimeError("the payment provider is down")

    agent = Agent(name="billing", instructions="Refund when asked.", tools=[refund], model=ScriptedModel())
    running = in_background(refund_981, countersign, agent)

    pending_action().approve(by=supervisor)

    assert "An error occurred while running the tool" in running.result(timeout=30).final_output
    [failed] = outcome()
    assert failed.status == "failed"
    assert "the payment provider is down" in audited_outcome(failed)["error"]


def test_an_outage_does_not_run_the_tool_and_the_model_hears_why(outage, billing_agent, refunds):
    agent = billing_agent.clone(model=ScriptedModel(args=outage.args))
    with outage.client() as client:
        names = {"refund": "payments.refund"}
        result = run_sync(client, agent, "Refund 981", action_names=names, wait_timeout=outage.wait_timeout)
    assert_failed_closed(outage, result.final_output, refunds)
