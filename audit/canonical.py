"""The canonical JSON that events are hashed over, one function per chain version.

Version 2 (every event written since audit migration 0005) is RFC 8785, the JSON
Canonicalization Scheme, except that a number keeps every digit it has: RFC 8785 writes a
number as the IEEE 754 double nearest to it (ECMAScript's `Number.prototype.toString`), so two
integers past 2**53, or two decimals differing in their 18th digit, would hash alike. Here a
number is written in ECMAScript's notation (same digits, same exponent rules) from its exact
decimal value; for every number that is a double the output is byte for byte RFC 8785's
(tests/audit/test_canonical.py checks it against the `rfc8785` package). Since the value is
what counts, not its Python type, a float read back from jsonb as an int (1e20) or a Decimal
(`exact_loads`) hashes the same as the float that was written.

Version 1 (the events written before) wrote numbers as `{"$num": "<28 significant digits>"}`
objects; it stays, unchanged, so those events verify under the rule they were written with.
"""

import json
import math
from decimal import Decimal
from json.encoder import encode_basestring  # the C encoder of json.dumps(ensure_ascii=False)

# ECMAScript switches to exponent notation at 10**21 and below 10**-6.
_PLAIN_INTEGER_LIMIT = 10**21


class NotCanonical(ValueError):
    """A value that has no canonical JSON form (NaN, infinity, an object that is not JSON)."""


def canonical_json(value):
    """Version 2: RFC 8785 with exact numbers, as a str (hash its UTF-8 bytes)."""
    parts = []
    _write(value, parts.append)
    return "".join(parts)


def _write(value, out):
    if value is None:
        out("null")
    elif value is True:
        out("true")
    elif value is False:
        out("false")
    elif isinstance(value, str):
        out(encode_basestring(value))
    elif isinstance(value, (int, float, Decimal)):
        out(number(value))
    elif isinstance(value, dict):
        items = sorted(((_key(k), v) for k, v in value.items()), key=_utf16)
        out("{")
        for position, (key, item) in enumerate(items):
            if position:
                out(",")
            out(encode_basestring(key))
            out(":")
            _write(item, out)
        out("}")
    elif isinstance(value, (list, tuple)):
        out("[")
        for position, item in enumerate(value):
            if position:
                out(",")
            _write(item, out)
        out("]")
    else:
        raise NotCanonical(f"{type(value).__name__} is not a JSON value")


def _key(key):
    # The keys json.dumps (and so jsonb) would store for non-string keys.
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)
    raise NotCanonical(f"an object key must be a string, not {type(key).__name__}")


def _utf16(item):
    # RFC 8785 3.2.3: keys sort by their UTF-16 code units.
    return item[0].encode("utf-16-be")


def number(value):
    """ECMAScript's notation of the exact decimal value: 750, 0.1, 1e+21, 1.5e-7."""
    if isinstance(value, int) and not isinstance(value, bool) and -_PLAIN_INTEGER_LIMIT < value < _PLAIN_INTEGER_LIMIT:
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotCanonical(f"{value} is not a JSON number")
        value = Decimal(repr(value))  # the shortest digits that read back as this double
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise NotCanonical(f"{value} is not a JSON number")
    else:
        value = Decimal(value)
    sign, all_digits, exponent = value.as_tuple()
    written = "".join(map(str, all_digits))
    digits = written.rstrip("0")
    if not digits:
        return "0"
    exponent += len(written) - len(digits)
    k = len(digits)
    n = k + exponent  # value = 0.<digits> * 10**n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
        text = f"{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"
    return ("-" if sign else "") + text


def exact_loads(text):
    """Parse JSON keeping every digit of every number (what jsonb holds, as text)."""
    return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)


def _refuse_constant(name):
    raise NotCanonical(f"{name} is not a JSON number")


def canonical_json_v1(value):
    """Version 1: sorted keys, and numbers as `{"$num": …}` objects rounded to 28 digits."""
    return json.dumps(_canonical_v1(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canonical_v1(value):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float, Decimal)):
        return {"$num": format(Decimal(str(value)).normalize(), "f")}
    if isinstance(value, dict):
        return {str(k): _canonical_v1(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical_v1(v) for v in value]
    return str(value)
