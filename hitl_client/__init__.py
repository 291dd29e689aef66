"""Countersign's agent-side client: propose a tool call, wait for the decision, report the outcome.

    client = Client("http://127.0.0.1:8000", token="cs_…")
    action = client.propose("payments.refund", {"customer": "cus_1", "amount": 20, "currency": "USD"})
    action = client.wait(action["id"])

No Django here: this package is installed into agents, which know nothing of the server.
"""

from hitl_client.client import ApiError, Client

__all__ = ["ApiError", "Client"]
