"""What the framework adapters share: propose a turn's tool calls, then read each one's verdict."""

import json
from typing import NamedTuple

from hitl_client.errors import ActionEnded, StillPending


class Decision(NamedTuple):
    """Countersign's answer to one tool call, as an adapter hands it to a framework.

    `verdict` is "approve", "edit" (approved with the reviewer's changes) or "reject"; `args` are the
    arguments to run when approved (the reviewer's where edited); `message` says why not, when rejected.
    """

    verdict: str
    args: dict | None
    message: str | None

    @property
    def approved(self):
        return self.verdict != "reject"


def propose_tool_calls(client, calls, key, action_names, fields):
    """Propose every (tool name, args) of one turn, each under an Idempotency-Key derived from `key`, so
    running the adapter again after a crash finds the same actions instead of asking twice."""
    action_names = action_names or {}
    return [
        client.propose(action_names.get(name, name), args, idempotency_key=f"{key}:{i}", **fields)
        for i, (name, args) in enumerate(calls)
    ]


def verdict_for(client, action, wait_timeout):
    """The `Decision` once Countersign has decided the action."""
    if action["status"] == "suggested":
        return Decision("reject", None, f"Suggest only: recorded for a person to run ({action['review_url']}).")
    try:
        if action["status"] == "pending":
            action = client.wait(action["id"], timeout=wait_timeout)
    except StillPending:
        raise  # no decision yet: leave the run paused, to be resumed later
    except ActionEnded as ended:
        return Decision("reject", None, str(ended))
    edited = action["final_params"] != action["params"]
    return Decision("edit" if edited else "approve", action["final_params"], None)


def decide_calls(client, calls, *, action_names=None, wait_timeout=3600.0, **fields):
    """A `Decision` for each (Idempotency-Key, tool name, args) of one turn. All are proposed before any is
    waited on, so reviewers see them together; a key derived from the framework's own call id means that
    deciding again after a crash finds the same actions instead of asking twice."""
    action_names = action_names or {}
    proposed = [
        client.propose(action_names.get(name, name), args, idempotency_key=key, **fields) for key, name, args in calls
    ]
    return [verdict_for(client, action, wait_timeout) for action in proposed]


def edited_call_message(name, args, *, repeat_allowed=False):
    """What a model hears when a reviewer changed a call its framework cannot run with other arguments;
    `repeat_allowed` once Countersign lets the repeated call through (`Client.repeat`)."""
    message = (
        f"A reviewer approved {name} only with changes; call it again with exactly these arguments: "
        f"{json.dumps(args)}"
    )
    return f"{message} (that call is approved without another review)" if repeat_allowed else message
