"""The plain-language summary a reviewer reads, rendered from the action type's template.

The template is the policy admin's; the parameters are the agent's and are only ever values
in the template's context, so template syntax inside them is never evaluated. The result is
plain text: pages escape it like any other string.
"""

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.template import Context, Engine, TemplateSyntaxError, VariableDoesNotExist
from django.template.library import Library
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

register = Library()  # Engine builtins look for a module-level `register`.

CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


@register.filter
def money(amount, currency="USD"):
    """1234.5, "USD" → "$1,234.50"; an unknown currency is written after the number."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    code = str(currency or "").upper()
    text = f"{value:,.2f}"
    symbol = CURRENCY_SYMBOLS.get(code)
    return f"{symbol}{text}" if symbol else f"{text} {code}".strip()


@register.filter
def listing(items, noun="item"):
    """["a", "b", "c", "d", "e"], "contact" → "5 contacts: a, b, c and 2 more"."""
    if not isinstance(items, (list, tuple)):
        return str(items)
    count = len(items)
    plural = noun if count == 1 else f"{noun}s"
    shown = [str(item) for item in items[:3]]
    if count == 0:
        return f"no {plural}"
    if count > 3:
        return f"{count} {plural}: {', '.join(shown)} and {count - 3} more"
    if count == 1:
        return f"1 {plural}: {shown[0]}"
    return f"{count} {plural}: {', '.join(shown[:-1])} and {shown[-1]}"


@register.filter
def when(value, now=None):
    """ "2026-11-27" → "in 3 days (Fri 27 Nov 2026)"; a date-time also gets its UTC time.

    Relative first because that is what a reviewer weighs; absolute so nobody has to compute it.
    Text that is not an ISO date comes back unchanged.
    """
    moment = _as_datetime(value)
    if moment is None:
        return str(value)
    now = now or timezone.now()
    if isinstance(moment, datetime):
        absolute = timezone.localtime(moment, UTC).strftime("%a %d %b %Y, %H:%M UTC")
        seconds = (moment - now).total_seconds()
    else:
        absolute = moment.strftime("%a %d %b %Y")
        days = (moment - timezone.localdate(now, UTC)).days
        return f"{'today' if days == 0 else relative(days * 86400)} ({absolute})"
    return f"{relative(seconds)} ({absolute})"


def relative(seconds):
    """A span of seconds as people say it: "in 3 hours", "2 days ago", "today"."""
    past = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("year", 365 * 86400), ("month", 30 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            text = f"{count} {unit}{'' if count == 1 else 's'}"
            return f"{text} ago" if past else f"in {text}"
    return "now"


def _as_datetime(value):
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value[:4].isdigit():
        return None
    try:
        if len(value) == 10:
            return parse_date(value)
        moment = parse_datetime(value)
    except ValueError:
        return None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment, UTC)
    return moment


ENGINE = Engine(autoescape=False, builtins=["policies.summary"], string_if_invalid="")


@lru_cache(maxsize=512)
def compile_template(source):
    return ENGINE.from_string(source)


def render_summary(action_type, params):
    if not action_type.summary_template:
        return fallback_summary(action_type, params)
    try:
        template = compile_template(action_type.summary_template)
        text = template.render(Context(dict(params) if isinstance(params, dict) else {}, autoescape=False))
    # A parameter the template needs may be missing (a filter's argument, which Django does not
    # leave empty as it does a missing variable), or of a type its filter cannot take.
    except VariableDoesNotExist as error:
        missing = error.params[0] if error.params else ""
        return f"{action_type.name or action_type.key} (the summary needs the parameter “{missing}”, which is missing)"
    except (TemplateSyntaxError, TypeError, ValueError, ArithmeticError) as error:
        return f"{action_type.name or action_type.key} (summary template failed: {error})"
    return " ".join(text.split())


def fallback_summary(action_type, params):
    """Without a template: the type's name, then each parameter (in the schema's order) under
    its label, humanized by what the schema says it is (money, a list, a date)."""
    from policies.schema import resolve

    root = action_type.params_schema or {}
    properties = root.get("properties", {}) if isinstance(root, dict) else {}
    parts = []
    ordered = action_type.ordered_params(params) if isinstance(params, dict) else {}
    # A title, not the parameters again (the card lists them all below): the first few, each short.
    for name, value in list(ordered.items())[:FALLBACK_PARAMS]:
        schema, _ = resolve(properties.get(name, {}), root)
        text = humanize(name, value, schema, params)
        text = text if len(text) <= FALLBACK_VALUE else text[: FALLBACK_VALUE - 1].rstrip() + "…"
        parts.append(f"{param_label(name, schema)}: {text}")
    if len(ordered) > FALLBACK_PARAMS:
        parts[-1] += f" (and {len(ordered) - FALLBACK_PARAMS} more)"
    head = action_type.name or action_type.key
    return f"{head} — {'; '.join(parts)}" if parts else head


FALLBACK_PARAMS, FALLBACK_VALUE = 3, 60


def param_label(name, schema):
    """What a person calls a parameter: its schema title, else its humanized name (never its
    description, which is help text)."""
    from policies.schema import label

    return label(name, schema)


MONEY_NAMES = ("amount", "price", "total", "cost", "fee")


def humanize(name, value, schema, params):
    """One parameter's value as a reviewer reads it; `params` lends a sibling currency to money."""
    kind = schema.get("type")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)) and _is_money(name, schema, params):
        return money(value, params.get("currency"))
    if isinstance(value, list):
        noun = (schema.get("title") or name.replace("_", " ")).lower().removesuffix("s") or "item"
        if all(isinstance(item, (str, int, float)) for item in value):
            return listing(value, noun)
        return f"{len(value)} {noun}{'' if len(value) == 1 else 's'}"
    if isinstance(value, str) and (schema.get("format") in ("date", "date-time") or kind is None):
        return when(value)
    if isinstance(value, dict):
        return plain_text(value) or "nothing"
    if value is None:
        return "none"
    return str(value)


def plain_text(value):
    """Any JSON value as one line for people: "key: value, key: value", lists joined by
    commas, nested objects in brackets; never Python's repr."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return "none"
    if isinstance(value, dict):
        parts = [f"{key}: {_nested_text(item)}" for key, item in value.items()]
        return ", ".join(parts)
    if isinstance(value, list):
        return ", ".join(_nested_text(item) for item in value)
    return str(value)


def _nested_text(value):
    if isinstance(value, (dict, list)):
        return f"({plain_text(value) or 'nothing'})"
    return plain_text(value)


def _is_money(name, schema, params):
    if schema.get("format") == "money" or schema.get("x-money"):
        return True
    return isinstance(params, dict) and "currency" in params and any(word in name.lower() for word in MONEY_NAMES)


def money_amounts(params, root):
    """(currency, amount) for each top-level parameter of `params` that is money (`_is_money`):
    what the dry run adds up. The currency is the sibling `currency`, "" without one."""
    from policies.schema import resolve

    properties = root.get("properties", {}) if isinstance(root, dict) else {}
    for name, value in params.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        schema, _ = resolve(properties.get(name, {}), root)
        if _is_money(name, schema if isinstance(schema, dict) else {}, params):
            yield str(params.get("currency") or "").upper(), Decimal(str(value))
