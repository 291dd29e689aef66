"""Countersign's agent-side client: propose a tool call, wait for the decision, report the outcome.

    client = Client("http://127.0.0.1:8000", token="cs_…")
    action = client.propose("payments.refund", {"customer": "cus_1", "amount": 20, "currency": "USD"})
    action = client.wait(action["id"])

    @gate("email.send", client=client)
    def send_email(to, subject, body): ...

No Django here: this package is installed into agents, which know nothing of the server.
"""

from hitl_client.callbacks import verify_callback
from hitl_client.client import AsyncClient, Client
from hitl_client.errors import (
    ActionEnded,
    ApiError,
    CallbackInvalid,
    Cancelled,
    Conflict,
    Expired,
    Forbidden,
    InvalidParams,
    NotFound,
    OutputWithheld,
    ReceiptInvalid,
    Rejected,
    ServerUnavailable,
    StillPending,
    Unauthorized,
)
from hitl_client.gate import Suggested, gate
from hitl_client.receipts import UsedReceipts, verify_receipt

__all__ = [
    "ActionEnded",
    "ApiError",
    "AsyncClient",
    "CallbackInvalid",
    "Cancelled",
    "Client",
    "Conflict",
    "Expired",
    "Forbidden",
    "InvalidParams",
    "NotFound",
    "OutputWithheld",
    "ReceiptInvalid",
    "Rejected",
    "ServerUnavailable",
    "StillPending",
    "Suggested",
    "Unauthorized",
    "UsedReceipts",
    "gate",
    "verify_callback",
    "verify_receipt",
]
