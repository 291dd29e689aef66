"""What Countersign reads from a Slack interactivity payload, as a schema.

A validly signed payload is still only as well-formed as whoever holds the signing secret made
it (or Slack, on a day its shapes change): every field that `approvals.slack` reads is declared
here with its type and bounds, everything else is ignored, and a payload that does not fit is
refused with a 400 naming the field, never a 500.
"""

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# Slack's own limits: ids are short, an action's value at most 2,000 characters, a text input's
# value at most 3,000.
ID = Field(default="", max_length=255)


class _Read(BaseModel):
    # strict: a number is not taken for a string, a string not for an object.
    model_config = ConfigDict(extra="ignore", strict=True)


class _Who(_Read):
    id: str = ID


class _Pressed(_Read):
    action_id: str = Field(min_length=1, max_length=255)
    value: str = Field(default="", max_length=2000)


class BlockActions(_Read):
    type: Literal["block_actions"]
    user: _Who = _Who()
    channel: _Who | None = None
    trigger_id: str = ID
    actions: list[_Pressed] = Field(min_length=1, max_length=25)


class _Option(_Read):
    value: str = Field(default="", max_length=3000)


class _Input(_Read):
    value: str | None = Field(default=None, max_length=3000)
    selected_option: _Option | None = None


class _State(_Read):
    values: dict[str, dict[str, _Input]] = Field(default_factory=dict, max_length=100)


class _View(_Read):
    callback_id: str = ID
    private_metadata: str = Field(default="", max_length=3000)
    state: _State = _State()


class ViewSubmission(_Read):
    type: Literal["view_submission"]
    user: _Who = _Who()
    view: _View


READ = {"block_actions": BlockActions, "view_submission": ViewSubmission}


class Malformed(ValueError):
    """The payload does not fit the schema; the message says where."""


def parse(text):
    """The payload as a plain dict of what is read (for `approvals.slack.handle`), or None for
    a type Countersign does not act on (Slack is answered 200); raises Malformed."""
    try:
        payload = json.loads(text)
    except RecursionError:
        raise Malformed("The payload nests too deeply.") from None
    except ValueError:
        raise Malformed("The payload is not JSON.") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise Malformed("The payload is not a Slack interaction: an object with a string 'type'.")
    schema = READ.get(payload["type"])
    if schema is None:
        return None
    try:
        return schema.model_validate(payload).model_dump()
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(payload)"
        raise Malformed(f"The {payload['type']} payload is malformed at {where}: {first['msg']}.") from None
    except RecursionError:
        raise Malformed("The payload nests too deeply.") from None
