"""`{% shown_at %}`: when a card was rendered, so a decision can say how long it was read."""

import time

from django import template

register = template.Library()


@register.simple_tag
def shown_at():
    return f"{time.time():.3f}"
