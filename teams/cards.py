"""The Adaptive Card of an action, as Teams shows it: the summary and parameters in words, the
risk badges and deadline, the agent's words apart, and while it waits Approve, Reject (a reason
required), Edit (a form built from the type's schema) and Open; once decided, what became of it.

Agent text is untrusted. Teams renders Markdown in a TextBlock (and in a FactSet's values), so agent
text never goes there: it goes into a RichTextBlock's TextRuns, which Adaptive Cards render as plain
text, with URLs and host names broken by a zero-width space so that Teams makes no link of them."""

import json

from django.utils import timezone

from approvals.delivery import one_line
from approvals.forms import MISSING, RejectForm
from approvals.models import Action
from approvals.notifications import unlinked
from approvals.slack import INITIAL_VALUE, modal_fields

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"  # Teams' desktop and mobile clients render 1.5; Action.Execute needs 1.4
EDIT_PREFIX = "param."  # the edit form's input ids, apart from the card's own (`reason`, `common`)


def run(text, limit=2000, **style):
    """A TextRun of untrusted text: never Markdown, never a link."""
    text = unlinked(str(text))
    return {"type": "TextRun", "text": text if len(text) <= limit else text[: limit - 1] + "…", **style}


def rich(*runs, **block):
    return {"type": "RichTextBlock", "inlines": list(runs), **block}


def card(action, *, notice="", errors=None, values=None, open_form=""):
    """The card for `action` as it is now. `notice`: a sentence for the person who just acted
    (a refusal, four eyes' progress); `errors` ({input id: message}) and `values` (what they typed)
    re-open the form `open_form` ("reject" or "edit") with the errors beside the fields."""
    errors, values = errors or {}, values or {}
    params = action.final_params or action.params
    body = [rich(run(one_line(action.current_summary, 300), size="Medium", weight="Bolder"), wrap=True)]
    for param in action.humanized_params(params)[:20]:
        body.append(
            rich(run(param.label + ": ", 200, weight="Bolder"), run(one_line(param.text, 300)), spacing="Small")
        )
    context = [f"{action.action_type.key} · agent {action.agent.name}"]
    if action.status == Action.Status.PENDING and action.due_at:
        context.append(f"SLA: decide by {timezone.localtime(action.due_at):%Y-%m-%d %H:%M %Z}")
    body.append(rich(run(" · ".join(context), isSubtle=True, size="Small")))
    if labels := action.risk_labels():
        body.append(rich(run(" · ".join(labels), color="Attention", weight="Bolder")))
    if deadline := deadline_words(action):
        body.append(rich(run(deadline, color="Warning", weight="Bolder")))
    if action.rationale:
        body.append(rich(run("The agent's words: ", weight="Bolder", italic=True), run(action.rationale)))
    if notice:
        body.append(rich(run(notice, color="Accent", weight="Bolder")))
    actions = []
    if action.status == Action.Status.PENDING:
        actions = decide_actions(action, errors=errors, values=values, open_form=open_form)
    else:
        body.append(rich(run(outcome_words(action), weight="Bolder")))
    actions.append({"type": "Action.OpenUrl", "title": "Open in Countersign", "url": action.review_url})
    return {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body, "actions": actions}


def deadline_words(action):
    """The inbox's "Deadline near" / "Deadline passed" badge, for a pending action."""
    match action.deadline_state():
        case ("passed", _):
            return "Deadline passed: escalating now"
        case ("near", minutes):
            return f"Deadline near: due in {minutes} min, then it escalates"
    return ""


def outcome_words(action):
    decision = getattr(action, "decision", None) if action.decided_at else None
    if decision is None:
        return f"This action is {action.status}."
    line = f"{decision.verdict.capitalize()} by {decision.by_name} at {timezone.localtime(decision.at):%H:%M}"
    if decision.edited:
        line += " (edited)"
    if decision.reason:
        line += ": " + one_line(decision.reason, 300)
    return line


def execute(title, verb, action, **extra):
    return {
        "type": "Action.Execute",
        "title": title,
        "verb": verb,
        "data": {"countersign_action": str(action.pk)},
        **extra,
    }


def show(title, items, submit):
    return {
        "type": "Action.ShowCard",
        "title": title,
        "card": {"type": "AdaptiveCard", "body": items, "actions": [submit]},
    }


def error_line(message):
    return rich(run(message, color="Attention"), spacing="None")


def decide_actions(action, *, errors, values, open_form):
    if action.action_type.irreversible:
        # As in the inbox, an irreversible approval is a second, deliberate step.
        approve = show(
            "Approve…",
            [rich(run("Once approved it runs and cannot be undone.", color="Attention"))],
            execute("Approve: it cannot be undone", "approve", action, style="positive"),
        )
    else:
        approve = execute("Approve", "approve", action, style="positive")
    actions = [
        approve,
        show("Reject…", reject_form(errors, values), execute("Reject", "reject", action, style="destructive")),
    ]
    if action.action_type.has_editable_params:
        actions.append(
            show("Edit…", edit_form(action, errors, values), execute("Approve with my changes", "edit", action))
        )
    if open_form:  # the form with errors comes first, so that Teams shows it where it was
        actions.sort(key=lambda item: item["title"].rstrip("…").lower() != open_form)
    return actions


def reject_form(errors, values):
    items = [
        {
            "type": "Input.ChoiceSet",
            "id": "common",
            "label": "Reason",
            "style": "compact",
            "placeholder": "Choose a reason…",
            "choices": [{"title": reason, "value": reason} for reason in RejectForm.COMMON_REASONS],
            "value": str(values.get("common", "")),
        },
        {
            "type": "Input.Text",
            "id": "reason",
            "label": "Details",
            "isMultiline": True,
            "maxLength": 2000,
            "value": str(values.get("reason", "")),
        },
    ]
    if "reason" in errors:
        items.append(error_line(errors["reason"]))
    return items


def edit_form(action, errors, values):
    """An input per editable parameter (built from the type's schema), prefilled with what was
    typed, else the proposed value; each error under its field."""
    items = []
    for field in modal_fields(action):
        input_id = EDIT_PREFIX + field.name
        label = str(field.label)[:200] or field.name
        if field.kind == "select":
            element = {
                "type": "Input.ChoiceSet",
                "style": "compact",
                "choices": [{"title": text[:200] or "—", "value": value} for value, text in field.options if value],
                "value": values.get(input_id, field.raw),
            }
        else:
            if field.kind in ("input", "textarea"):
                initial = field.raw
            else:
                initial = "" if field.value is MISSING else json.dumps(field.value, indent=2, ensure_ascii=False)
                label += " (JSON)"
            initial = values.get(input_id, initial if len(initial) <= INITIAL_VALUE else "")
            element = {"type": "Input.Text", "isMultiline": field.kind != "input", "value": initial}
        items.append({**element, "id": input_id, "label": label, "isRequired": field.required})
        if field.required:
            items[-1]["errorMessage"] = f"{label} is required."
        if field.help_text:
            items.append(rich(run(field.help_text, isSubtle=True, size="Small"), spacing="None"))
        if input_id in errors:
            items.append(error_line(errors[input_id]))
    if "" in errors:
        items.append(error_line(errors[""]))
    return items
