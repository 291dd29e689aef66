"""The Pydantic models of the corpus: run `python pydantic_models.py` (pydantic 2) to rewrite
their `pydantic_*.json` files from `Model.model_json_schema()`. Not imported by the tests, so
the test environment needs no Pydantic. Modelled on Slack's chat.postMessage / chat.scheduleMessage
(blocks, a schedule that may be null), a refund with a payment method chosen by its `kind`
(a discriminated union, `oneOf`), and an email with formats (email, uri, date)."""

import datetime
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field


class TextObject(BaseModel):
    type: Literal["plain_text", "mrkdwn"] = "mrkdwn"
    text: str


class SectionBlock(BaseModel):
    type: Literal["section"] = "section"
    text: TextObject
    block_id: str | None = None


class Schedule(BaseModel):
    post_at: datetime.datetime = Field(description="When Slack posts the message.")
    timezone: str = "UTC"


class PostMessage(BaseModel):
    """Post a message to a Slack channel, now or at a scheduled time."""

    channel: str = Field(description="Channel ID, e.g. C024BE91L.")
    text: str = Field(description="Fallback text shown in notifications.")
    blocks: list[SectionBlock] = []
    schedule: Schedule | None = None
    unfurl_links: bool = True


class Currency(StrEnum):
    USD = "USD"
    EUR = "EUR"
    GBP = "GBP"


class Card(BaseModel):
    kind: Literal["card"]
    last4: str = Field(pattern=r"^[0-9]{4}$")


class BankTransfer(BaseModel):
    kind: Literal["bank_transfer"]
    iban: str
    reference: str | None = None


class Refund(BaseModel):
    customer_id: str
    amount: float = Field(gt=0, le=10000)
    currency: Currency = Currency.USD
    method: Annotated[Card | BankTransfer, Field(discriminator="kind")]
    reason: str | None = Field(default=None, max_length=500)
    notify_customer: bool = True


class SendEmail(BaseModel):
    to: list[Annotated[str, Field(json_schema_extra={"format": "email"})]] = Field(min_length=1)
    cc: list[Annotated[str, Field(json_schema_extra={"format": "email"})]] = []
    subject: str = Field(max_length=200)
    body: str
    send_on: datetime.date | None = None
    unsubscribe_url: Annotated[str, Field(json_schema_extra={"format": "uri"})] | None = None
    priority: int = Field(default=3, ge=1, le=5)


MODELS = {"pydantic_slack_post_message": PostMessage, "pydantic_refund": Refund, "pydantic_send_email": SendEmail}

if __name__ == "__main__":
    for name, model in MODELS.items():
        entry = {
            "source": f"Pydantic model {model.__name__} in tests/schemas/corpus/pydantic_models.py, "
            "written with Model.model_json_schema() (pydantic 2.14)",
            "tool": name.removeprefix("pydantic_"),
            "schema": model.model_json_schema(),
        }
        Path(__file__).with_name(f"{name}.json").write_text(json.dumps(entry, indent=2) + "\n")
