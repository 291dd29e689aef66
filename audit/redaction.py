"""Redaction before an event is written: secrets never reach the append-only log, where they
could not be removed later. What is removed is replaced by a marker saying what it was.

Two sources: the JSON paths an action type names (`redact_paths`), and detectors that always
run — API keys and tokens, values of fields named like passwords or secrets, and payment card
numbers that pass the Luhn check.
"""

import functools
import re

MARKER = "[redacted: {}]"

# Prefixes of the common providers' keys and tokens. Each pattern finds the secret inside a
# longer text, so that only the secret is replaced and the rest stays readable.
TOKEN_PATTERNS = [
    ("API key", re.compile(r"\bsk-(?:proj-|ant-|live-|test-)?[A-Za-z0-9_\-]{20,}")),
    ("API key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}")),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}")),
    ("AWS access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}")),
    ("JWT", re.compile(r"\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}")),
    ("bearer token", re.compile(r"\bBearer\s+[A-Za-z0-9_\-\.=:+/]{12,}", re.IGNORECASE)),
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S)),
]

# 13 to 19 digits, optionally grouped by spaces or dashes, starting with a card network's digit.
CARD_CANDIDATE = re.compile(r"(?<![\d])[2-6](?:[ \-]?\d){12,18}(?![\d])")

# Field names are split into words (snake_case, kebab-case, camelCase) and a value is secret
# when a word, or a pair of adjacent words, is one of these: `db_password`, `apiKey`,
# `client_secret` are; `max_tokens`, `keyboard` are not.
SECRET_NAME_WORDS = {
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "pin",
    "secret",
    "token",
    "apikey",
    "api_key",
    "private_key",
    "access_key",
    "secret_key",
    "authorization",
    "credential",
    "credentials",
    "cvv",
    "cvc",
    "otp",
}

NUMERIC_SECRET_WORDS = {"password", "passwd", "pwd", "pin", "cvv", "cvc", "otp"}


def redact(value, paths=()):
    """A copy of `value` (JSON-like) with the configured paths and every detected secret
    replaced by markers. The input is not modified."""
    value = _redact_paths(value, [(_parse_path(p), p.strip()) for p in paths])
    return _redact_detected(value, name="")


def redact_diff(diff, paths, root="params"):
    """A parameter diff ({"card.number": {"from": …, "to": …}}, keyed by the changed value's path
    under `root`) with the values the `paths` cover replaced by markers, as `redact` would replace
    them in the parameters themselves: the diff keys are paths, not the nested keys paths match."""
    parsed = [(_parse_path(p), p.strip()) for p in paths]
    redacted = {}
    for key, change in diff.items():
        location = (root, *(part for part in re.split(r"\.|\[(\d+)\]", key) if part))
        prefixes = [location[:end] for end in range(1, len(location) + 1)]  # a redacted parent covers its children
        covering = next((text for path, text in parsed if any(_matches(p, path) for p in prefixes)), None)
        redacted[key] = change if covering is None else {side: MARKER.format(covering) for side in change}
    return redacted


def redact_text(text):
    """Detected secrets inside one string (a summary, a reason)."""
    return _redact_string(text)


def luhn_valid(digits):
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _parse_path(path):
    """`$.proposal.params.card` is anchored at the root of the event's data; `params.card`
    matches wherever those keys follow each other. `*` matches any key or list item."""
    path = path.strip()
    anchored = path.startswith("$.")
    segments = [s for s in (path[2:] if anchored else path).split(".") if s]
    if not segments:
        raise ValueError(f"empty redaction path: {path!r}")
    return anchored, segments


def _matches(location, path):
    anchored, segments = path
    if anchored:
        if len(location) != len(segments):
            return False
    elif len(location) < len(segments):
        return False
    tail = location[-len(segments) :]
    return all(s == "*" or s == str(key) for s, key in zip(segments, tail))


def _redact_paths(value, paths, location=()):
    if not paths:
        return value
    for path, text in paths:
        if location and _matches(location, path):
            return MARKER.format(text)
    if isinstance(value, dict):
        return {k: _redact_paths(v, paths, (*location, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_paths(v, paths, (*location, i)) for i, v in enumerate(value)]
    return value


def _redact_detected(value, name):
    if isinstance(value, dict):
        return {k: _redact_detected(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_detected(v, name) for v in value]
    if isinstance(value, str) and value.startswith("[redacted: "):
        return value
    secret_name = _secret_name_words(name)
    if secret_name and isinstance(value, str) and value:
        return MARKER.format(name)
    # Numbers only under names that hold numeric secrets: `pin` is one, `token_count` is not.
    if secret_name & NUMERIC_SECRET_WORDS and isinstance(value, int) and not isinstance(value, bool):
        return MARKER.format(name)
    if isinstance(value, str):
        return _redact_string(value)
    if isinstance(value, int) and not isinstance(value, bool) and _is_card_number(str(value)):
        return MARKER.format("card number")
    return value


def _redact_string(text):
    for label, pattern in TOKEN_PATTERNS:
        text = pattern.sub(MARKER.format(label), text)
    return CARD_CANDIDATE.sub(lambda m: MARKER.format("card number") if _is_card_number(m.group()) else m.group(), text)


def _is_card_number(candidate):
    digits = re.sub(r"[ \-]", "", candidate)
    return 13 <= len(digits) <= 19 and digits.isdigit() and digits[0] in "23456" and luhn_valid(digits)


@functools.lru_cache(maxsize=4096)  # every proposal's keys, every time: the same few hundred names
def _secret_name_words(name):
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower().replace("-", "_").split("_")
    words = [w for w in words if w]
    pairs = {f"{a}_{b}" for a, b in zip(words, words[1:])}
    return frozenset(SECRET_NAME_WORDS & (set(words) | pairs))
