"""What the framework adapters share: propose a turn's tool calls, then read each one's verdict."""

from hitl_client.errors import ActionEnded, StillPending


def propose_tool_calls(client, calls, key, action_names, fields):
    """Propose every (tool name, args) of one turn, each under an Idempotency-Key derived from `key`, so
    running the adapter again after a crash finds the same actions instead of asking twice."""
    action_names = action_names or {}
    return [
        client.propose(action_names.get(name, name), args, idempotency_key=f"{key}:{i}", **fields)
        for i, (name, args) in enumerate(calls)
    ]


def verdict_for(client, action, wait_timeout):
    """("approve" | "edit" | "reject", final args, message) once Countersign has decided the action."""
    if action["status"] == "suggested":
        return "reject", None, f"Suggest only: recorded for a person to run ({action['review_url']})."
    try:
        if action["status"] == "pending":
            action = client.wait(action["id"], timeout=wait_timeout)
    except StillPending:
        raise  # no decision yet: leave the run paused, to be resumed later
    except ActionEnded as ended:
        return "reject", None, str(ended)
    edited = action["final_params"] != action["params"]
    return ("edit" if edited else "approve"), action["final_params"], None
