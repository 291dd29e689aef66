"""Gate a plain Python function with @gate: the email goes out only once a person approves it.

Run `make run`, then `.venv/bin/python examples/gate_email.py`, and decide the card in the inbox
(http://127.0.0.1:8000/, user `supervisor`, password `countersign`): approve, fix the subject
and approve, or reject.
"""

import os

from hitl_client import Client, Rejected, gate

countersign = Client(
    os.environ.get("COUNTERSIGN_URL", "http://127.0.0.1:8000"),
    os.environ.get("COUNTERSIGN_TOKEN", "cs_demo_agent_token_for_local_use_only"),
    # With the agent's receipt secret (`manage.py receipt_secret demo-agent`), @gate also checks
    # the signed approval before the function runs.
    receipt_secret=os.environ.get("COUNTERSIGN_RECEIPT_SECRET"),
)


@gate("email.send", client=countersign, rationale="The customer asked for a copy of invoice 981.")
def send_email(to, subject, body):
    print(f"Sending {subject!r} to {', '.join(to)}")
    return {"message_id": "msg-981"}


if __name__ == "__main__":
    print("Waiting for a person to decide in the inbox…", flush=True)
    try:
        print("Sent:", send_email(["ann@example.com"], "Your invoice", "Attached is invoice 981."))
    except Rejected as rejected:
        print("Rejected:", rejected.reason)
