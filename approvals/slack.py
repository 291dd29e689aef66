"""Deciding from Slack: each pending action as a Block Kit message with buttons, posted and kept
up to date by the delivery loop, and the interactivity requests those buttons and modals send.

Every decision goes through `Action.approve` and `Action.reject`, as the inbox's do, as the
Countersign user the Slack user is (`SlackUser`): the permissions are the inbox's. Agent text
reaches Slack escaped (`notifications.agent_text`): no mention, broadcast, link or unfurl comes from it.
"""

import json
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from approvals.delivery import PermanentFailure, attempt, finish_work, one_line
from approvals.forms import MISSING, ParamsForm, RejectForm
from approvals.models import Action, Conflict, InvalidEdit, SlackMessage, SlackUser, SpentToken
from approvals.notifications import agent_text
from identity import verified

LINK_SALT = "countersign.slack-link"


# slack_sdk is imported where it is used: it costs every web process 15 MB, and most installs
# have no Slack app.


def client():
    from slack_sdk import WebClient

    return WebClient(
        token=settings.SLACK_BOT_TOKEN, base_url=settings.SLACK_API_URL, timeout=settings.HITL_WEBHOOK_TIMEOUT_SECONDS
    )


# The message.


def risk_badges(action):
    return [
        (":warning: " if label == "Irreversible" else "") + agent_text(label, 200) for label in action.risk_labels()
    ]


def deadline_line(action):
    """The inbox's "Deadline near" / "Deadline passed" badge, for a pending action's message: the
    SLA sweep updates the message when it warns, and again when it escalates."""
    match action.deadline_state():
        case ("passed", _):
            return ":rotating_light: *Deadline passed:* escalating now"
        case ("near", minutes):
            return f":hourglass_flowing_sand: *Deadline near:* due in {minutes} min, then it escalates"
    return ""


def outcome_line(action):
    """What became of the action, for a message whose buttons are gone."""
    decision = getattr(action, "decision", None) if action.decided_at else None
    if decision is not None:
        when = timezone.localtime(decision.at).strftime("%H:%M")
        line = f"{decision.verdict.capitalize()} by {agent_text(decision.by_name, 200)} at {when}"
        if decision.edited:
            line += " (edited)"
        if decision.reason:
            line += ": " + agent_text(one_line(decision.reason, 300))
        return line
    return f"This action is {action.status}."


def message(action):
    """(fallback text, blocks) for the action as it is now."""
    summary = one_line(action.current_summary, 300)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{agent_text(summary)}*"}}]
    fields = [  # Slack shows at most ten fields in a section
        {"type": "mrkdwn", "text": f"*{agent_text(param.label, 100)}*\n{agent_text(one_line(param.text, 300), 300)}"}
        for param in action.humanized_params(action.final_params or action.params)[:10]
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    context = [f"{agent_text(action.action_type.key)} · agent {agent_text(action.agent.name)}"]
    if action.status == Action.Status.PENDING and action.due_at:
        context.append(f"SLA: decide by {timezone.localtime(action.due_at):%Y-%m-%d %H:%M %Z}")
    context += risk_badges(action)
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]})
    if deadline := deadline_line(action):
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": deadline}]})
    if action.rationale:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "*The agent's words:*\n" + agent_text(action.rationale)},
            }
        )
    if action.status == Action.Status.PENDING:
        approve = button("Approve", "approve", action, style="primary")
        if action.action_type.irreversible:
            # As in the inbox, an irreversible approval is a second, deliberate step (Slack's dialog).
            approve["confirm"] = {
                "title": {"type": "plain_text", "text": "Approve — irreversible"},
                "text": {"type": "plain_text", "text": "Once approved it runs and cannot be undone."},
                "confirm": {"type": "plain_text", "text": "Approve"},
                "deny": {"type": "plain_text", "text": "Not yet"},
                "style": "danger",
            }
        buttons = [approve, button("Reject…", "reject", action, style="danger")]
        if action.action_type.has_editable_params:
            buttons.append(button("Edit…", "edit", action))
        buttons.append({**button("Open in Countersign", "open", action), "url": action.review_url})
        blocks.append({"type": "actions", "block_id": "decide", "elements": buttons})
    else:
        link = f"<{action.review_url}|Open in Countersign>"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"{outcome_line(action)} · {link}"}]})
    return agent_text(summary), blocks


def button(label, action_id, action, style=None):
    element = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": str(action.pk),
    }
    return {**element, "style": style} if style else element


# Delivering: a post, then updates, through the delivery loop (`approvals.delivery`).


def deliver(message_id):
    """Post or update one Slack message; the seconds after which to try again, or None."""
    return attempt(
        SlackMessage.objects.select_related("action__agent", "action__action_type"),
        message_id,
        send=_send,
        failed=lambda row, error, permanent: finish_work(row, SlackMessage.Status.FAILED, last_error=error),
    )


def _send(row):
    from slack_sdk.errors import SlackApiError

    action = Action.objects.select_related("agent", "action_type", "decision").get(pk=row.action_id)
    text, blocks = message(action)
    try:
        if row.ts:
            client().chat_update(channel=row.channel, ts=row.ts, text=text, blocks=blocks)
        else:
            answer = client().chat_postMessage(
                channel=row.channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
            )
            row.ts = answer["ts"]
            # Kept at once: a retry after this must update the message, not post a second one.
            SlackMessage.objects.filter(pk=row.pk).update(ts=row.ts)
    except SlackApiError as error:
        status = error.response.status_code
        if status == 429 or status >= 500:
            raise OSError(f"Slack answered {status}: {error.response.get('error')}") from error
        raise PermanentFailure(f"Slack refused it: {error.response.get('error')}") from error
    finish_work(row, SlackMessage.Status.SENT, last_error="", shown_status=action.status, sent_at=timezone.now())
    # Decided while this was being posted: the decision's update found nothing posted yet.
    if Action.objects.filter(pk=action.pk).exclude(status=action.status).exists():
        SlackMessage.queue_updates([action.pk])


# Interactivity: who is asking, and what they asked.


def verify(request):
    """True when the request carries Slack's v0 signature, made within five minutes, and was
    not seen before (a replay inside the window is refused)."""
    if not settings.SLACK_SIGNING_SECRET:
        return False
    from slack_sdk.signature import SignatureVerifier

    verifier = SignatureVerifier(settings.SLACK_SIGNING_SECRET)
    if not verifier.is_valid_request(request.body, dict(request.headers)):
        return False
    signature = request.headers.get("X-Slack-Signature", "")
    return SpentToken.spend(f"slack:{signature}", forget_after=timedelta(minutes=10))


def countersign_user(slack_user_id):
    """The Countersign user a Slack user is, or None, verified as that Slack user (the audit
    events of their decisions name Slack as the issuer and the Slack user as the subject)."""
    user = _matched_user(slack_user_id)
    if user is not None:
        user.verified_identity = verified.slack(slack_user_id)
    return user


def _matched_user(slack_user_id):
    """Their link, else their Slack email as Slack vouches for it (users.info,
    `is_email_confirmed`), matching one active user."""
    link = SlackUser.objects.select_related("user").filter(slack_user_id=slack_user_id, user__is_active=True).first()
    if link is not None:
        return link.user
    from slack_sdk.errors import SlackApiError

    try:
        profile = client().users_info(user=slack_user_id)["user"]
    except SlackApiError:
        return None
    email = (profile.get("profile") or {}).get("email", "")
    if not email or not profile.get("is_email_confirmed"):
        return None
    users = list(get_user_model().objects.filter(email__iexact=email, is_active=True)[:2])
    if len(users) != 1 or SlackUser.objects.filter(user=users[0]).exists():
        return None
    SlackUser.objects.get_or_create(
        slack_user_id=slack_user_id, defaults={"user": users[0], "via": SlackUser.Via.EMAIL}
    )
    return users[0]


def link_token(slack_user_id):
    return signing.dumps({"s": slack_user_id}, salt=LINK_SALT)


def slack_user_for_link(token, max_age=3600):
    """The Slack user id a link was made for; raises signing.BadSignature when it is not ours or old."""
    return signing.loads(token, salt=LINK_SALT, max_age=max_age)["s"]


def handle(payload):
    """Answer one interactivity payload: (HTTP status, JSON body or None)."""
    slack_user = (payload.get("user") or {}).get("id", "")
    if payload.get("type") == "block_actions":
        return _button(payload, slack_user)
    if payload.get("type") == "view_submission":
        return _submission(payload, slack_user)
    return 200, None


def _button(payload, slack_user):
    pressed = (payload.get("actions") or [{}])[0]
    if pressed.get("action_id") == "open":
        return 200, None
    action = Action.objects.select_related("action_type", "agent").filter(pk=_uuid(pressed.get("value"))).first()
    channel = (payload.get("channel") or {}).get("id", "")
    if action is None:
        return 200, None
    user = countersign_user(slack_user)
    if user is None:
        url = settings.SITE_URL + reverse("approvals:slack_link", args=[link_token(slack_user)])
        return _ephemeral(
            channel, slack_user, f"Slack does not say who you are in Countersign. Link your account once: {url}"
        )
    # Reject needs only the review permission; Approve and Edit (which approves) need four eyes too.
    why = action.refusal_for(user, "reject" if pressed["action_id"] == "reject" else "approve")
    if why:
        return _ephemeral(channel, slack_user, why)
    if pressed["action_id"] == "approve":
        try:
            action.approve(by=user, channel="slack")
        except Conflict as conflict:
            return _ephemeral(channel, slack_user, str(conflict))
        if action.status == Action.Status.PENDING:  # four eyes: more approvals needed
            return _ephemeral(channel, slack_user, action.approval_progress())
        return 200, None
    view = reject_modal(action, channel) if pressed["action_id"] == "reject" else edit_modal(action, channel)
    client().views_open(trigger_id=payload.get("trigger_id", ""), view=view)
    return 200, None


def _ephemeral(channel, slack_user, text):
    client().chat_postEphemeral(channel=channel, user=slack_user, text=text)
    return 200, None


def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


# Modals.


def modal(action, callback_id, *, title, submit, inputs, channel=""):
    """A modal about `action`, its summary first; the submission names the action and the channel
    the button was pressed in (for an answer there) in private_metadata."""
    summary = {"type": "section", "text": {"type": "mrkdwn", "text": agent_text(one_line(action.current_summary, 300))}}
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps({"action": str(action.pk), "channel": channel}),
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [summary, *inputs],
    }


def reject_modal(action, channel=""):
    return modal(
        action,
        "reject",
        title="Reject",
        submit="Reject",
        channel=channel,
        inputs=[
            {
                "type": "input",
                "block_id": "common",
                "optional": True,
                "label": {"type": "plain_text", "text": "Reason"},
                "element": {
                    "type": "static_select",
                    "action_id": "value",
                    "options": [
                        {"text": {"type": "plain_text", "text": reason}, "value": reason}
                        for reason in RejectForm.COMMON_REASONS
                    ],
                },
            },
            {
                "type": "input",
                "block_id": "reason",
                "optional": True,
                "label": {"type": "plain_text", "text": "Details"},
                "element": {"type": "plain_text_input", "action_id": "value", "multiline": True, "max_length": 2000},
            },
        ],
    )


# Slack's limits: a static select's options and their values, a text input's initial value.
SELECT_OPTIONS, OPTION_VALUE, INITIAL_VALUE = 100, 150, 3000
TYPED_KINDS = ("input", "textarea", "select")


def modal_fields(action):
    """The edit form's editable top-level fields, as the modal shows them: a text, number or
    choice as its own input; a nested value (object, list, variant) as one JSON text, since a
    modal cannot add a row or switch a variant without a round trip of its own."""
    fields = []
    for field in ParamsForm(action):
        if field.kind == "readonly":
            continue
        if field.kind == "select" and (
            len(field.options) > SELECT_OPTIONS or any(len(value) > OPTION_VALUE for value, _ in field.options)
        ):
            field.kind = "json"
        fields.append(field)
    return fields


def edit_modal(action, channel=""):
    """A modal with an input per editable parameter, prefilled with the proposed value."""
    inputs = [_input(field) for field in modal_fields(action)]
    return modal(action, "edit", title="Edit and approve", submit="Approve", inputs=inputs, channel=channel)


def _input(field):
    hint = field.help_text
    if field.kind == "select":
        options = [
            {"text": {"type": "plain_text", "text": text[:75] or "—"}, "value": value}
            for value, text in field.options
            if value
        ]
        element = {"type": "static_select", "action_id": "value", "options": options}
        chosen = next((option for option in options if option["value"] == field.raw), None)
        if chosen:
            element["initial_option"] = chosen
    else:
        if field.kind in ("input", "textarea"):
            initial = field.raw
        else:
            initial = "" if field.value is MISSING else json.dumps(field.value, indent=2, ensure_ascii=False)
            hint = f"{hint} Written as JSON.".strip()
        element = {"type": "plain_text_input", "action_id": "value", "multiline": field.kind != "input"}
        if initial and len(initial) <= INITIAL_VALUE:
            element["initial_value"] = initial
    return {
        "type": "input",
        "block_id": field.name,
        "optional": not field.required,
        "label": {"type": "plain_text", "text": str(field.label)[:2000] or field.name},
        "element": element,
        **({"hint": {"type": "plain_text", "text": hint[:2000]}} if hint else {}),
    }


def edited_params(action, values):
    """(the parameters the modal's `values` make, {block_id: error}). A block left out keeps
    the proposed value; a nested value is read as JSON."""
    fields = {field.name: field for field in modal_fields(action)}
    typed = {name: text for name, text in values.items() if name in fields and fields[name].kind in TYPED_KINDS}
    form = ParamsForm(action, _as_query(typed))
    final = form.final_params()
    errors = {name: " ".join(messages) for name, messages in form.field_errors().items() if name in typed}
    for name, text in values.items():
        if name not in fields or name in typed:
            continue
        if not text.strip():
            final.pop(name, None)
            continue
        try:
            final[name] = json.loads(text)
        except ValueError as error:
            errors[name] = f"Not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
    return final, errors


def _values(view):
    """{block_id: submitted text} from a view's state."""
    values = {}
    for block_id, inputs in (view.get("state") or {}).get("values", {}).items():
        value = (inputs or {}).get("value") or {}
        selected = value.get("selected_option") or {}
        values[block_id] = selected.get("value", "") if selected else (value.get("value") or "")
    return values


def _metadata(view):
    """(action id, channel) from a modal's private_metadata; a modal opened before it named its
    channel holds the action id alone, and its answer goes to the action's first message's channel."""
    try:
        metadata = json.loads(view.get("private_metadata") or "")
    except ValueError:
        metadata = None
    if not isinstance(metadata, dict):
        action_id = _uuid(view.get("private_metadata"))
        first = SlackMessage.objects.filter(action_id=action_id).order_by("pk").first() if action_id else None
        return action_id, first.channel if first else ""
    return _uuid(metadata.get("action")), str(metadata.get("channel") or "")


def _submission(payload, slack_user):
    view = payload.get("view") or {}
    action_id, channel = _metadata(view)
    action = Action.objects.select_related("action_type", "agent").filter(pk=action_id).first()
    first_block = "reason" if view.get("callback_id") == "reject" else None
    if action is None:
        return 200, None
    user = countersign_user(slack_user)
    values = _values(view)
    if first_block is None:
        first_block = next(iter(values), "")
    if user is None:
        return _errors(first_block, "Slack does not say who you are in Countersign: link your account first.")
    why = action.refusal_for(user, view.get("callback_id") or "approve")
    if why:
        return _errors(first_block, why)
    if view.get("callback_id") == "reject":
        form = RejectForm(values)
        if not form.is_valid():
            return _errors("reason", " ".join(form.non_field_errors()) or "Give a reason.")
        try:
            action.reject(by=user, reason=form.cleaned_data["text"], channel="slack")
        except Conflict as conflict:
            return _errors("reason", str(conflict))
        return 200, None
    final, errors = edited_params(action, values)
    if errors:
        return 200, {"response_action": "errors", "errors": errors}
    try:
        action.approve(by=user, params=final, channel="slack")
    except InvalidEdit as invalid:
        for error in invalid.errors:
            block = (error.get("path") or "").split(".")[0]
            block = block if block in values else first_block
            errors[block] = f"{errors.get(block, '')} {error['message']}".strip()
        return 200, {"response_action": "errors", "errors": errors}
    except Conflict as conflict:
        return _errors(first_block, str(conflict))
    if action.status == Action.Status.PENDING and channel:  # four eyes: the modal closes, and says so
        _ephemeral(channel, slack_user, action.approval_progress(final))
    return 200, None


def _as_query(values):
    query = QueryDict(mutable=True)
    for name, value in values.items():
        query[name] = value
    return query


def _errors(block_id, text):
    return 200, {"response_action": "errors", "errors": {block_id: text}}
