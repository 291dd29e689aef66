"""A run's copies of one call, proposed at the same instant (a client retrying while its first
request is still being routed), are one action."""

import threading

from django.db import connections

from approvals.models import Action
from gateway import calls
from gateway.models import Upstream
from gateway.server import Run
from policies.models import ActionType

NOTE = {
    "name": "add_note",
    "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    "annotations": {"destructiveHint": False, "openWorldHint": False},
}


def test_two_copies_of_a_call_at_once_in_one_run_are_one_action(transactional_db, agent):
    notes = Upstream.objects.create(name="notes", command="unused")
    notes.register_listing([NOTE])
    ActionType.objects.filter(key="mcp.notes.add_note").update(status="active")
    start, answers = threading.Barrier(4), []

    def propose():
        try:
            start.wait()
            run = Run("run-1", attaches=True)
            answers.append(calls.propose(agent=agent, name="notes__add_note", arguments={"text": "x"}, run=run))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=propose) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Action.objects.count() == 1
    assert sorted(created for *_, created in answers) == [False, False, False, True]
    assert {action.pk for _, _, action, _ in answers} == {Action.objects.get().pk}
