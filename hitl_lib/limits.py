"""Request limits of the agent API: a strict reading of JSON (the per-agent request rate is
checked with the agent's token, in `approvals.agent_auth`).

The body must be `application/json` in UTF-8 without a byte order mark, hold each object key
once, and keep to what every later reader stores and hashes alike (I-JSON, RFC 7493): finite
numbers, integers within ±(2**53 - 1), nesting under a cap, text PostgreSQL can store (no NUL
character, no lone surrogate). Python's own parser is laxer on each point.
"""

import json
import math
import re

from django.conf import settings
from ninja.parser import Parser


class Unacceptable(ValueError):
    """A body that cannot be accepted; the message says why, `status` is the answer's."""

    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code = code
        self.status = status


# The largest integer that every JSON reader (and RFC 8785's canonical form) keeps exactly.
MAX_SAFE_INTEGER = 2**53 - 1
NUMBER_RULE = (
    "numbers must be finite, non-zero ones at least about ±2.2e-308 in size (a double's range), "
    "and integers within ±9007199254740991 (I-JSON, RFC 7493)"
)
JSON_MEDIA_TYPE = re.compile(r"application/(?:[a-z0-9.+-]+\+)?json")


def check_storable(value, depth_limit):
    """Raise Unacceptable if `value` (parsed JSON, by whichever parser) nests deeper than
    `depth_limit`, holds text PostgreSQL refuses (NUL) or UTF-8 cannot encode (lone surrogates,
    which JSON escapes allow), or a number outside I-JSON's (NaN, infinities, unsafe integers)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise Unacceptable("number_out_of_range", f"{item} is not a JSON number: {NUMBER_RULE}.")
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > MAX_SAFE_INTEGER:
            shown = item if item.bit_length() < 200 else f"of {item.bit_length()} bits"
            raise Unacceptable("number_out_of_range", f"An integer {shown} is out of range: {NUMBER_RULE}.")
        elif isinstance(item, dict | list):
            if depth > depth_limit:
                raise Unacceptable("json_too_deep", f"The JSON nests deeper than {depth_limit} levels.")
            if isinstance(item, dict):
                for key in item:
                    _check_text(key)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def _check_text(text):
    if "\x00" in text:
        raise Unacceptable("unstorable_text", "Text may not contain the NUL character (\\u0000).")
    try:
        text.encode()
    except UnicodeEncodeError:
        raise Unacceptable("unstorable_text", "Text may not contain unpaired UTF-16 surrogates.") from None


def check_media_type(content_type, params):
    """Raise Unacceptable (415) unless the body is declared as JSON in UTF-8."""
    charset = params.get("charset", "utf-8").lower()
    if not JSON_MEDIA_TYPE.fullmatch(content_type or "") or charset != "utf-8":
        declared = content_type + (f"; charset={charset}" if "charset" in params else "") if content_type else "none"
        raise Unacceptable(
            "unsupported_media_type",
            f"Send the body as 'Content-Type: application/json' in UTF-8 (this request declared {declared}).",
            status=415,
        )


def _one_of_each_key(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise Unacceptable("duplicate_key", f"The key '{key}' appears twice in one JSON object: send it once.")
        seen[key] = value
    return seen


def _no_constant(name):
    raise Unacceptable("number_out_of_range", f"{name} is not a JSON number: {NUMBER_RULE}.")


def _finite_float(text):
    value = float(text)
    # Underflow is refused like overflow: 1e-400 would be stored as 0.0, a value silently changed.
    if not math.isfinite(value) or (value == 0 and _nonzero_digits(text)):
        raise Unacceptable("number_out_of_range", f"The number {text[:40]} is out of range: {NUMBER_RULE}.")
    return value


def _nonzero_digits(text):
    return re.search(r"[1-9]", re.split(r"[eE]", text)[0]) is not None


def _safe_int(text):
    # Checked on the digits first: Python refuses to convert more than 4,300 of them at all.
    if len(text.lstrip("-")) > 16 or abs(int(text)) > MAX_SAFE_INTEGER:
        shown = text if len(text) <= 40 else f"{text[:20]}… ({len(text.lstrip('-'))} digits)"
        raise Unacceptable("number_out_of_range", f"The number {shown} is out of range: {NUMBER_RULE}.")
    return int(text)


def parse_json(body, depth_limit):
    """The JSON value of `body` (bytes), read strictly; Unacceptable says what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Unacceptable("bad_encoding", "The body is not valid UTF-8 (UTF-16 and others are refused).") from None
    if text.startswith("\ufeff"):
        raise Unacceptable("bad_encoding", "The body starts with a byte order mark: send UTF-8 without one.")
    if "\x00" in text:  # valid UTF-8, but JSON never holds a raw NUL: UTF-16 or UTF-32 without a BOM
        raise Unacceptable("bad_encoding", "The body holds NUL bytes, as UTF-16 or UTF-32 would: send UTF-8.")
    data = json.loads(
        text,
        object_pairs_hook=_one_of_each_key,
        parse_constant=_no_constant,
        parse_float=_finite_float,
        parse_int=_safe_int,
    )
    check_storable(data, depth_limit)
    return data


def read_leniently(body):
    """What an unacceptable body says, as far as Python's lax parser can tell (the last of
    duplicate keys, NaN kept as text), for the audit log's record of a refusal; None when
    even that fails."""
    try:
        return json.loads(body, parse_constant=str, parse_float=_float_or_text, parse_int=_int_or_text)
    except (ValueError, RecursionError):
        return None


def _float_or_text(text):
    value = float(text)
    return value if math.isfinite(value) and not (value == 0 and _nonzero_digits(text)) else text


def _int_or_text(text):
    return int(text) if len(text.lstrip("-")) <= 16 and abs(int(text)) <= MAX_SAFE_INTEGER else text


class AgentJsonParser(Parser):
    def parse_body(self, request):
        check_media_type(request.content_type, request.content_params)
        return parse_json(request.body, settings.HITL_MAX_JSON_DEPTH)
