"""The plain-language summary a reviewer reads, rendered from the action type's template.

The template is the policy admin's; the parameters are the agent's and are only ever values
in the template's context, so template syntax inside them is never evaluated. The result is
plain text: pages escape it like any other string.
"""

from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.template import Context, Engine, TemplateSyntaxError, VariableDoesNotExist
from django.template.library import Library

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
    # A parameter the template needs may be missing, or of a type its filter cannot take.
    except (TemplateSyntaxError, VariableDoesNotExist, TypeError, ValueError, ArithmeticError) as error:
        return f"{action_type.name or action_type.key} (summary template failed: {error})"
    return " ".join(text.split())


def fallback_summary(action_type, params):
    """Without a template: the type's name, then each parameter under its schema title."""
    properties = action_type.params_schema.get("properties", {}) if action_type.params_schema else {}
    parts = []
    for name, value in (params or {}).items():
        title = properties.get(name, {}).get("title") or name.replace("_", " ")
        parts.append(f"{title}: {value}")
    head = action_type.name or action_type.key
    return f"{head} — {'; '.join(parts)}" if parts else head
