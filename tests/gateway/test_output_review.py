"""Output review through the MCP gateway (#36): where a tool's type reviews outputs, the upstream's
result is held until a person releases it (maybe redacted) or withholds it; the MCP client gets
the released result, or isError with the reason, or isError when nobody reviewed it in time."""

import asyncio
import time
from datetime import timedelta

from django.utils import timezone

from approvals.models.output_review import OutputReview, withhold_overdue
from audit.models import Event
from policies.models import ActionType
from tests.gateway.conftest import mcp_client
from tests.gateway.test_tools_call import decide, in_thread, let_run_alone, run

KEY = "mcp.notes.add_note"


def held_review(timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        review = OutputReview.objects.filter(action__action_type__key=KEY, status="pending").first()
        if review is not None:
            return review
        time.sleep(0.05)
    raise AssertionError("No output was held for review.")


def call_with_review(gateway_url, token, decide_output):
    """Call add_note with its outputs reviewed; `decide_output(review)` plays the reviewer."""

    def review_every_output():
        let_run_alone(KEY)
        ActionType.objects.filter(key=KEY).update(output_review="always")

    def the_reviewer():
        decide_output(held_review())

    async def scenario():
        async with mcp_client(gateway_url, token) as client:
            await client.list_tools()
            await in_thread(review_every_output)
            call = asyncio.create_task(client.call_tool("notes__add_note", {"text": "call 555-0100"}))
            await in_thread(the_reviewer)
            return await asyncio.wait_for(call, 60)

    return run(scenario())


def test_the_client_gets_the_result_a_person_released_redacted(gateway_url, token, notes_stdio, state_dir, supervisor):
    def release_redacted(review):
        assert review.reported["output"]["content"][0]["text"] == "noted: call 555-0100"
        decide(supervisor, f"/outputs/{review.pk}/release", {"spans": "555-0100"})

    result = call_with_review(gateway_url, token, release_redacted)

    assert result.is_error is False
    assert result.content[0].text == "noted: call [redacted]"
    assert Event.objects.filter(kind="action.output_redacted", actor_name="sue").count() == 1


def test_the_client_gets_the_result_as_it_came_when_released(gateway_url, token, notes_stdio, state_dir, supervisor):
    result = call_with_review(
        gateway_url, token, lambda review: decide(supervisor, f"/outputs/{review.pk}/release", {})
    )

    assert result.is_error is False and result.content[0].text == "noted: call 555-0100"


def test_a_withheld_output_is_an_error_saying_why(gateway_url, token, notes_stdio, state_dir, supervisor):
    result = call_with_review(
        gateway_url,
        token,
        lambda review: decide(supervisor, f"/outputs/{review.pk}/withhold", {"note": "It holds a phone number"}),
    )

    assert result.is_error is True
    assert result.content[0].text == "Not given to you: a person withheld this tool's output: It holds a phone number"


def test_nobody_reviewing_in_time_withholds_it(gateway_url, token, notes_stdio, state_dir):
    def let_the_sla_pass(review):
        OutputReview.objects.filter(pk=review.pk).update(due_at=timezone.now() - timedelta(seconds=1))
        assert withhold_overdue() == 1

    result = call_with_review(gateway_url, token, let_the_sla_pass)

    assert result.is_error is True
    assert "nobody reviewed the output within its SLA" in result.content[0].text
