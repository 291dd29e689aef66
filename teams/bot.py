"""What Countersign does with an activity the Bot Connector sent (already authenticated,
`teams.auth`): a card's Approve, Reject or Edit (Action.Execute, Teams' Universal Actions: an
`adaptiveCard/action` invoke, answered with the card as it now is, so that errors show in the card),
and the personal chat a reviewer opens. Countersign's cards carry no Action.Submit, so a message
activity only tells where a reviewer's personal chat is.

Every decision goes through `Action.approve` and `Action.reject`, as the inbox's and Slack's do, as
the Countersign user the Teams user is (`TeamsUser`), after `Action.refusal_for`: the permissions,
four eyes and the words of a refusal are the inbox's."""

import uuid

from django.conf import settings

from approvals.forms import RejectForm
from approvals.models import Action, Conflict, InvalidEdit
from approvals.slack import edited_params
from identity import verified
from teams import cards, connector
from teams.models import TeamsUser

CARD = "application/vnd.microsoft.card.adaptive"
MESSAGE = "application/vnd.microsoft.activity.message"
NOT_LINKED = (
    "Teams does not say who you are in Countersign: your Microsoft account's email matches no "
    "Countersign user. Ask an admin to link your Teams account (Teams users, in the admin)."
)


def handle(activity):
    """(HTTP status, JSON body or None) for one authenticated activity."""
    person = countersign_user(activity)
    if person is not None:
        _remember_personal_chat(activity, person)
    if activity.type == "invoke" and activity.name == "adaptiveCard/action":
        value = activity.value if isinstance(activity.value, dict) else {}
        pressed = value.get("action") if isinstance(value.get("action"), dict) else {}
        data = pressed.get("data") if isinstance(pressed.get("data"), dict) else {}
        return 200, decide(str(pressed.get("verb") or ""), data, person)
    return 200, None


def message(text):
    return {"statusCode": 200, "type": MESSAGE, "value": text}


def card(action, **shown):
    return {"statusCode": 200, "type": CARD, "value": cards.card(action, **shown)}


def decide(verb, data, user):
    """The invoke response to a card's button: the card as it now is (for the person who pressed
    it; the delivery loop updates it for everyone), the form again with its errors, or a message."""
    action = _action(data.get("countersign_action"))
    if action is None:
        return message("This action no longer exists in Countersign.")
    if user is None:
        return message(NOT_LINKED)
    # Reject needs only the review permission; Approve and Edit (which approves) need four eyes too.
    if why := action.refusal_for(user, "reject" if verb == "reject" else "approve"):
        return message(why)
    params = None  # the proposal's
    try:
        if verb == "approve":
            action.approve(by=user, channel="teams")
        elif verb == "reject":
            form = RejectForm({"common": data.get("common") or "", "reason": data.get("reason") or ""})
            if not form.is_valid():
                error = " ".join(form.non_field_errors()) or " ".join(e for es in form.errors.values() for e in es)
                return card(action, errors={"reason": error}, values=data, open_form="reject")
            action.reject(by=user, reason=form.cleaned_data["text"], channel="teams")
        elif verb == "edit":
            typed = {
                key[len(cards.EDIT_PREFIX) :]: str(value)
                for key, value in data.items()
                if key.startswith(cards.EDIT_PREFIX)
            }
            params, errors = edited_params(action, typed)
            if not errors:
                try:
                    action.approve(by=user, params=params, channel="teams")
                except InvalidEdit as invalid:
                    for error in invalid.errors:
                        name = (error.get("path") or "").split(".")[0]
                        errors[name if name in typed else ""] = f"{errors.get(name, '')} {error['message']}".strip()
            if errors:
                errors = {(cards.EDIT_PREFIX + name if name else ""): text for name, text in errors.items()}
                return card(action, errors=errors, values=data, open_form="edit")
        else:
            return message("Countersign does not know that button.")
    except Conflict as conflict:
        return message(str(conflict))
    action = _action(action.pk)
    if action.status == Action.Status.PENDING:  # four eyes: more approvals needed
        return card(action, notice=action.approval_progress(params))
    return card(action)


def _action(pk):
    try:
        pk = uuid.UUID(str(pk))
    except ValueError:
        return None
    return Action.objects.select_related("agent", "action_type", "decision").filter(pk=pk).first()


def tenant_of(activity):
    channel_data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = (channel_data.get("tenant") or {}).get("id") if isinstance(channel_data.get("tenant"), dict) else None
    return tenant or (activity.conversation.tenant_id if activity.conversation else "") or ""


def countersign_user(activity):
    """The Countersign user who sent this activity, verified as that Teams user (the audit
    events of their decisions name Entra as the issuer and their object id as the subject), or
    None: their Entra object id's link, else their email as the Bot Connector gives it from the
    tenant's directory. Only people of the configured tenant (TEAMS_TENANT_ID): without one nobody
    is matched, since any tenant can install an app that names this bot."""
    sender = activity.from_property
    aad = getattr(sender, "aad_object_id", None) or ""
    tenant = tenant_of(activity)
    if not aad or not settings.TEAMS_TENANT_ID or tenant != settings.TEAMS_TENANT_ID:
        return None
    user = TeamsUser.linked_user(aad)
    if user is None and activity.conversation:
        found = connector.member(activity.service_url, activity.conversation.id, sender.id)
        if found.get("aadObjectId") == aad:
            user = TeamsUser.link_by_email(aad, found.get("email") or "")
    if user is not None:
        user.verified_identity = verified.teams(aad, tenant)
    return user


def _remember_personal_chat(activity, user):
    conversation = activity.conversation
    if conversation is None or conversation.conversation_type != "personal":
        return
    link = TeamsUser.objects.filter(user=user).first()
    if link is not None:
        link.remember_personal_chat(
            teams_user_id=activity.from_property.id, service_url=activity.service_url, conversation_id=conversation.id
        )
