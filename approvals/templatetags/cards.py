"""What the inbox's cards need: their URLs, their times, who may approve them, when they were
shown, and the end users' appeals above them. `{% load cards %}`."""

import time
from functools import lru_cache

from django import template
from django.urls import get_script_prefix, reverse
from django.utils import timezone

from approvals.models import Appeal, Question

register = template.Library()


# `{% action_url "approvals:approve" action.pk %}`: the same URL as `{% url %}`, for the action
# URLs a page of cards shows by the hundred. Each name is reversed once per process (and script
# prefix) with a placeholder key, which is then replaced: `reverse()` costs a tenth of a
# millisecond a call.
PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


@lru_cache(maxsize=64)
def _pattern(name, script_prefix):
    return reverse(name, args=[PLACEHOLDER])


@register.simple_tag
def action_url(name, pk):
    return _pattern(name, get_script_prefix()).replace(PLACEHOLDER, str(pk))


# Times, formatted with the standard library in the current time zone: the same text as the
# `date` filter's formats named below, at a fraction of the cost (a card shows five times, and
# a page fifty cards).


@register.filter
def iso(value):
    """As `date:"c"`: 2026-11-24T19:20:05.123456+00:00."""
    return timezone.localtime(value).isoformat()


@register.filter
def long_time(value, seconds=False):
    """As `date:"D j M Y, H:i e"` (with `:True`, `H:i:s`): Tue 24 Nov 2026, 19:20 UTC."""
    when = timezone.localtime(value)
    clock = f"{when:%H:%M:%S}" if seconds else f"{when:%H:%M}"
    return f"{when:%a} {when.day} {when:%b %Y}, {clock} {when.tzname()}"


@register.filter
def short_time(value):
    """As `date:"H:i e"`: 19:20 UTC."""
    when = timezone.localtime(value)
    return f"{when:%H:%M} {when.tzname()}"


@register.simple_tag
def shown_at():
    """When a card was rendered, so that a decision can say how long it was read."""
    return f"{time.time():.3f}"


@register.simple_tag(takes_context=True)
def approval_refusal(context, action):
    """`{% approval_refusal action as why %}`: why the person looking may not approve this card
    (four eyes), or "" when they may."""
    return action.approval_refusal(context["request"].user)


@register.inclusion_tag("approvals/appeals.html", takes_context=True)
def appeals(context):
    """`{% appeals %}`: the end users' open appeals, for the top of the inbox."""
    request = context["request"]
    # The inbox's view reads them once for both the page and its poll token.
    open_appeals = context.get("appeals")
    if open_appeals is None:
        open_appeals = Appeal.objects.for_inbox(request.user)
    return {"appeals": open_appeals, "request": request, "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("approvals/questions.html", takes_context=True)
def questions(context):
    """`{% questions %}`: the agents' open questions, for the top of the inbox."""
    request = context["request"]
    open_questions = context.get("questions")
    if open_questions is None:
        open_questions = Question.objects.for_inbox(request.user)
    return {"questions": open_questions, "request": request, "csrf_token": context.get("csrf_token")}
