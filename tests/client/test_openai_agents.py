"""The OpenAI Agents SDK adapter end to end: a real Agent and Runner on a scripted model, its
tool-approval interruptions decided in Countersign."""

import json

import pytest
from agents import Agent, function_tool, set_tracing_disabled
from agents.items import ModelResponse
from agents.models.interface import Model
from agents.usage import Usage
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

from hitl_client.openai_agents import run_sync
from tests.conftest import pending_action

pytestmark = pytest.mark.django_db(transaction=True)

set_tracing_disabled(True)  # no network: the SDK would otherwise export traces to OpenAI

REFUND = {"customer": "cus_123", "amount": 750, "currency": "USD"}


class ScriptedModel(Model):
    """Asks for one refund, then answers with whatever the refund tool said (or the rejection it got)."""

    def __init__(self):
        self.inputs = []

    async def get_response(self, system_instructions, input, *args, **kwargs):
        self.inputs.append(input)
        outputs = [i for i in input if isinstance(i, dict) and i.get("type") == "function_call_output"]
        if not outputs:
            call = ResponseFunctionToolCall(
                type="function_call", call_id="call_981", name="refund", arguments=json.dumps(REFUND), id="fc_1"
            )
            return ModelResponse(output=[call], usage=Usage(), response_id=None)
        text = ResponseOutputText(type="output_text", text=str(outputs[-1]["output"]), annotations=[])
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


def test_an_edited_approval_is_sent_back_to_the_model_instead_of_running_the_old_call(
    countersign, billing_agent, refund_type, supervisor, refunds, in_background
):
    running = in_background(refund_981, countersign, billing_agent)

    pending_action().approve(by=supervisor, params={**REFUND, "amount": 500})

    answer = running.result(timeout=30).final_output
    assert refunds == []
    assert "only with changes" in answer and '"amount": 500' in answer
