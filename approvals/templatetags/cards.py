"""What the inbox's cards need: their URLs, their times, who may approve them, when they were
shown, and the end users' appeals above them. `{% load cards %}`."""

import json
import re
import time
from functools import lru_cache

from django import template
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from approvals.models import Appeal, Question
from policies.schema import child_pointer, humanize_key, label, matches, ordered_names, resolve, variants
from policies.summary import humanize, when

register = template.Library()


RULE_REASON = re.compile(r"rule '(?P<name>[^']*)' (?P<what>matched|could not be evaluated): (?P<rest>.*)", re.S)


@register.filter
def reason_html(reason):
    """A routing reason as a supervisor reads it: a rule by its name, its expression set apart
    as code (it is the policy admin's language, not the reviewer's)."""
    found = RULE_REASON.fullmatch(str(reason))
    if found is None:
        return reason
    if found["what"] == "matched":
        return format_html('Rule “{}” applies <code class="muted rule">{}</code>', found["name"], found["rest"])
    return format_html("Rule “{}” could not be evaluated ({}), so a person decides", found["name"], found["rest"])


@register.filter
def as_text(value):
    """A value for a person to read: text as it is (its line breaks kept by the page's CSS, not
    written as \\n), anything else as indented JSON."""
    return value if isinstance(value, str) else as_json(value)


@register.filter
def entries(value):
    """A mapping's (key, value) pairs, in its order; [] for anything else."""
    return list(value.items()) if isinstance(value, dict) else []


@register.filter
def as_json(value):
    """A value as the JSON it came as (indented, keys in their order): the "(JSON)" panels and
    the audit log's details, never Python's repr. Escaped by the template like any text."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


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


# Parameter values as people read them: lists as lists (every item), objects as "key: value"
# lines, long text collapsed behind "show all", code and paths in monospace; never Python's repr.

LONG_VALUE = 160  # characters (or 4 lines) past which a text is collapsed
# Monospace for what is code or a path, by the schema's hints, the parameter's name or the
# value's look; never for a name that merely contains such a word ("provider", "video_guide").
CODE_FORMATS = (
    "uri",
    "uri-reference",
    "uri-template",
    "iri",
    "iri-reference",
    "regex",
    "json-pointer",
    "relative-json-pointer",
    "uuid",
    "hostname",
    "ipv4",
    "ipv6",
)
# A name that is exactly one of these (case and separators aside): "oldText", "new_text", "content".
CODE_NAMES = {"content", "oldtext", "newtext", "diff", "patch", "script", "expression", "selector"}
# A name whose last word is one of these: "path", "repo_path", "commit_id", "unsubscribe_url".
CODE_LAST_WORDS = {
    "path",
    "paths",
    "file",
    "files",
    "filename",
    "filepath",
    "dir",
    "directory",
    "command",
    "cmd",
    "query",
    "sql",
    "code",
    "regex",
    "sha",
    "commit",
    "branch",
    "ref",
    "url",
    "uri",
    "id",
    "ids",
}
# An absolute, home or ./ path, a Windows path, a relative path to a file (src/app.py), a URL.
LOOKS_LIKE_CODE = re.compile(
    r"\A(?:(?:~|\.{1,2})?/[^\s/]\S*|[A-Za-z]:\\\S*|[\w.-]+/[\w./-]*\.\w+|[a-z][a-z0-9+.-]*://\S+)\Z"
)


def is_code(value, schema, name):
    """Whether a text is code, a path or an identifier, to be shown in monospace."""
    if schema.get("format") in CODE_FORMATS:
        return True
    if "pattern" in schema and not re.search(r"\s", value):
        return True  # a constrained token: an id, a code, a number with a shape
    words = humanize_key(name).lower().split()
    if "".join(words) in CODE_NAMES or (words and words[-1] in CODE_LAST_WORDS):
        return True
    return bool(LOOKS_LIKE_CODE.match(value))


@register.simple_tag(takes_context=True)
def param_value(context, action, param):
    """`{% param_value action param %}`: one of `action.humanized_params` rendered for the card."""
    action_type = action.action_type
    root = action_type.params_schema or {}
    return render_value(
        param.value, param.schema, root, action_type.params_order, param.pointer, param.name, param.text
    )


def render_value(value, schema, root, orders, pointer, name, text=None):
    schema, pointer = resolve(schema, root, pointer)
    if isinstance(value, dict):
        schema, pointer = _variant_for(value, schema, root, pointer)
        properties = schema.get("properties") or {}
        rows = []
        for key in ordered_names(schema, pointer, orders, value):
            if key not in value:
                continue
            sub, _ = resolve(properties.get(key, {}), root)
            inner = render_value(
                value[key], properties.get(key, {}), root, orders, child_pointer(pointer, "properties", key), key
            )
            rows.append(format_html("<div><dt>{}</dt><dd>{}</dd></div>", label(key, sub), inner))
        if not rows:
            return format_html('<span class="muted">{}</span>', "nothing")
        return format_html('<dl class="object">{}</dl>', mark_safe("".join(rows)))
    if isinstance(value, list):
        if not value:
            return format_html('<span class="muted">{}</span>', "none")
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        pointer = child_pointer(pointer, "items")
        rendered = format_html_join(
            "", "<li>{}</li>", ((render_value(item, items, root, orders, pointer, name),) for item in value)
        )
        count = format_html('<span class="count">{}</span>', f"{len(value)} item{'' if len(value) == 1 else 's'}")
        return format_html('{}<ol class="items">{}</ol>', count, rendered)
    if value is None:
        return format_html('<span class="muted">{}</span>', "empty (null)")
    if isinstance(value, str):
        return _text_html(value, schema, name, text)
    return text if text is not None else humanize(name, value, schema, {})


def _variant_for(value, schema, root, pointer):
    """The `anyOf`/`oneOf` variant a value takes, for its labels."""
    options = variants(schema)
    if not options:
        return schema, pointer
    for index, option in enumerate(options):
        if matches(value, option, root):
            return resolve(option, root, child_pointer(pointer, "anyOf", index))
    return schema, pointer


def _text_html(value, schema, name, text):
    if schema.get("format") in ("date", "date-time"):
        return when(value)
    code = is_code(value, schema, name)
    lines = value.count("\n") + 1
    if len(value) <= LONG_VALUE and lines <= 4:
        return format_html("<code>{}</code>", value) if code else (text if text is not None else value)
    first = value.split("\n", 1)[0][:100]
    body = (
        format_html('<pre class="full">{}</pre>', value) if code else format_html('<div class="full">{}</div>', value)
    )
    return format_html(
        '<details class="long"><summary><span class="first">{}…</span> '
        '<span class="more">show all ({} characters)</span></summary>{}</details>',
        first,
        len(value),
        body,
    )


@register.simple_tag
def diff_rows(action, diff):
    """`{% diff_rows action diff as rows %}`: a diff's changes in the schema's order at every
    level (then the rest, by name) and lists by index, each with a human label ("Edits › 2 ›
    New text"), its path, and the old and new values rendered."""
    action_type = action.action_type
    root = action_type.params_schema or {}
    orders = action_type.params_order
    rows = []
    # Each side's currency, so that money reads "$1,800.00 → $900.00", not "1800 → 900".
    proposed = action.params if isinstance(action.params, dict) else {}
    currency = diff.get("currency", {}).get("to", proposed.get("currency"))
    sides = {"from": proposed, "to": {**proposed, "currency": currency} if "currency" in proposed else proposed}
    for path in diff:
        parts = path_parts(path)
        schema, names, place = _schema_at(root, orders, parts)
        change = diff[path]
        # The key it is under (a list item's: its list's), as the card names a value.
        last = next((part for part in reversed(parts) if isinstance(part, str)), path)
        side_params = {side: params if len(parts) == 1 else {} for side, params in sides.items()}
        rows.append(
            {
                "place": place,
                "path": path,
                "label": " › ".join(names),
                "from": _diff_value(change.get("from"), schema, root, orders, last, side_params["from"]),
                "to": _diff_value(change.get("to"), schema, root, orders, last, side_params["to"]),
            }
        )
    return sorted(rows, key=lambda row: row["place"])


def _diff_value(value, schema, root, orders, name, params):
    if value is None:
        return "—"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return humanize(name, value, resolve(schema, root)[0], params)
    return render_value(value, schema, root, orders, "", name)


def path_parts(path):
    """ "edits[1].newText" → ["edits", 1, "newText"]."""
    parts = []
    for piece in str(path).split("."):
        head, *indexes = piece.split("[")
        if head:
            parts.append(head)
        parts += [int(index.rstrip("]")) for index in indexes if index.rstrip("]").isdigit()]
    return parts or [str(path)]


def _schema_at(root, orders, parts):
    """The sub-schema at a diff path, the human names of the path's steps, and its place in
    the schema's order: at each step the property's position (a name the schema does not know
    after those it does, by name), or the list index."""
    schema, pointer = root, ""
    names, place = [], []
    for part in parts:
        schema, pointer = resolve(schema, root, pointer)
        if isinstance(part, int):
            schema = schema.get("items") if isinstance(schema.get("items"), dict) else {}
            pointer = child_pointer(pointer, "items")
            names.append(str(part + 1))
            place.append((part, ""))
            continue
        owner, pointer = _owner_of(part, schema, root, pointer)
        known = ordered_names(owner, pointer, orders)
        place.append((known.index(part), "") if part in known else (len(known), part))
        schema = (owner.get("properties") or {}).get(part, {})
        pointer = child_pointer(pointer, "properties", part)
        names.append(label(part, resolve(schema, root)[0]))
    return resolve(schema, root)[0], names, tuple(place)


def _owner_of(name, schema, root, pointer):
    """The object schema (itself or one of its `anyOf`/`oneOf` variants) that declares `name`,
    and its pointer."""
    options = variants(schema)
    if options:
        keyword = "anyOf" if isinstance(schema.get("anyOf"), list) else "oneOf"
        for index, option in enumerate(options):
            found, found_pointer = resolve(option, root, child_pointer(pointer, keyword, index))
            if name in (found.get("properties") or {}):
                return found, found_pointer
    return schema, pointer


@register.simple_tag
def readonly_value(action, field):
    """A parameter the reviewer may not edit, shown as on the card."""
    action_type = action.action_type
    root = action_type.params_schema or {}
    return render_value(field.value, field.schema, root, action_type.params_order, "", field.name)


@register.inclusion_tag("approvals/questions.html", takes_context=True)
def questions(context):
    """`{% questions %}`: the agents' open questions, for the top of the inbox."""
    request = context["request"]
    open_questions = context.get("questions")
    if open_questions is None:
        open_questions = Question.objects.for_inbox(request.user)
    return {"questions": open_questions, "request": request, "csrf_token": context.get("csrf_token")}
