"""The reviewer's pages: the inbox, one action, and the decisions taken from them.

Every decision is a real form POST (post/redirect/get without JavaScript); with htmx the same
URL answers with the card alone, swapped in place.
"""

import hashlib
import time
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.handlers.asgi import ASGIRequest
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from approvals import escalation
from approvals.forms import AllowSimilarForm, ParamsForm, RejectForm
from approvals.models import (
    Action,
    Appeal,
    BatchConflict,
    Conflict,
    InvalidEdit,
    NotificationPreference,
    Question,
    SlackUser,
    params_diff,
)
from approvals.tasks import execute_action
from approvals.waiting import inbox_events
from audit.log import Actor
from audit.models import Event
from hitl_lib.tasks import enqueue_on_commit
from policies.models import ActionType, Agent, Pause, StandingApproval

# What the second step of approving an irreversible action posts (`confirm`).
CONFIRMED = "irreversible"
CARDS_PER_PAGE = 50  # the most urgent first: a screenful to work through, and fast to render
BATCH_MAX = 500
TIMED_OUT_SHOWN = 10


def _get_action_for_reviewer(request, pk):
    action = get_object_or_404(Action.objects.select_related("action_type", "agent"), pk=pk)
    if not action.is_reviewable_by(request.user):
        raise PermissionDenied(f"You may not review {action.action_type.key} actions.")
    return action


def _seconds_shown(request):
    """How long the card was in front of the reviewer: from its rendering (the form's `shown_at`,
    written by the server) to this decision. None when unknown or implausible."""
    try:
        seconds = time.time() - float(request.POST.get("shown_at", ""))
    except ValueError:
        return None
    return seconds if 0 <= seconds <= 24 * 3600 else None


def _get_action_for_reader(request, pk):
    """Reviewers of its type, and auditors, who follow links from the audit log, may read it."""
    if request.user.has_perm("approvals.view_action"):
        return get_object_or_404(Action.objects.select_related("action_type", "agent"), pk=pk)
    return _get_action_for_reviewer(request, pk)


def _inbox_version(waiting, appeals):
    """(count of `waiting`, token): the token changes when an action or an end user's appeal
    arrives or leaves, so that a poll answers 204 only when the queue is as shown."""
    count, actions = waiting.inbox_version()
    shown = ",".join(str(appeal.pk) for appeal in appeals)
    return count, f"{actions}/{hashlib.sha256(shown.encode()).hexdigest()[:16]}"


def _queue(request):
    """The inbox's context: this user's actions awaiting review, most urgent first, in groups."""
    waiting = Action.objects.awaiting_review().reviewable_by(request.user)
    appeals = Appeal.objects.for_inbox(request.user)
    questions = Question.objects.for_inbox(request.user)
    count, version = _inbox_version(waiting, [*appeals, *questions])
    paginator = Paginator(waiting.by_urgency().with_escalation_tiers().prefetch_related("approvals"), CARDS_PER_PAGE)
    paginator.count = count  # a cached_property: spare the paginator its own COUNT(*)
    page = paginator.get_page(request.GET.get("page"))
    # Four eyes asks who made each card's policy version: one query for the page.
    Action.with_policy_authors([action for action in page if action.action_type.required_approvers > 1])
    groups = {}
    for action in page:
        groups.setdefault(action.group_key, []).append(action)
    theirs = Action.objects.reviewable_by(request.user)
    return {
        "groups": [_group(key, actions) for key, actions in groups.items()],
        "page": page,
        "version": version,
        "appeals": appeals,
        "questions": questions,
        "reject_form": RejectForm(),
        "health": theirs.queue_health(),
        "timed_out": theirs.timed_out()[:TIMED_OUT_SHOWN],
    }


def _group(key, actions):
    first = actions[0]
    if first.batch:
        label = f"Batch “{first.batch}” from {first.agent.name}"
    else:
        session = f" · session {first.session_id}" if first.session_id else ""
        label = f"{first.action_type.name or first.action_type.key} · {first.agent.name}{session}"
    pending_ids = [str(action.pk) for action in actions if action.status == Action.Status.PENDING]
    return {
        "key": key,
        "label": label,
        "actions": actions,
        "pending_ids": pending_ids,
        "batch_url": reverse("approvals:batch_approve") + "?" + urlencode([("ids", pk) for pk in pending_ids]),
    }


@require_GET
@login_required
def inbox(request):
    landing = _landing_page(request.user)
    if landing:
        return redirect(landing)
    # Pushed where the ASGI server serves the page; polled alone elsewhere (the test live server).
    return render(request, "approvals/inbox.html", {**_queue(request), "pushed": isinstance(request, ASGIRequest)})


def _landing_page(user):
    """Where a person who reviews nothing starts, rather than an inbox that is always empty: an
    auditor at the audit log, a sample reviewer at the samples. None for a reviewer (a supervisor
    answers questions, and anyone allowed to review a type reviews)."""
    if user.has_perm("approvals.answer_question"):
        return None
    if ActionType.objects.reviewable_by(user).exists():
        return None
    if user.has_perm("audit.view_event"):
        return reverse("audit:search")
    if user.has_perm("sampling.grade_sample"):
        return reverse("sampling:samples")
    return None


@require_GET
@login_required
def inbox_changes(request):
    """Polled by the open inbox: 204 when nothing arrived or left, else the queue anew."""
    waiting = Action.objects.awaiting_review().reviewable_by(request.user)
    shown = [*Appeal.objects.for_inbox(request.user), *Question.objects.for_inbox(request.user)]
    if request.GET.get("version") == _inbox_version(waiting, shown)[1]:
        return HttpResponse(status=204)
    return render(request, "approvals/inbox.html#queue", _queue(request))


@require_GET
@login_required
async def inbox_stream(request):
    """The open inbox's push channel (Server-Sent Events): it says when to ask `inbox_changes`
    again, and nothing of what changed, which each reader's own query decides. Served by the
    ASGI server only: under WSGI (the test live server) a stream would hold a thread for good,
    so it answers 204, which tells EventSource not to retry, and the inbox polls instead."""
    if not isinstance(request, ASGIRequest):
        return HttpResponse(status=204)
    response = StreamingHttpResponse(inbox_events(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


@require_GET
@login_required
def action_detail(request, pk):
    action = _get_action_for_reader(request, pk)
    final = action.final_params if action.final_params is not None else action.params
    return render(
        request,
        "approvals/action.html",
        {
            "action": action,
            "decision": getattr(action, "decision", None) if action.decided_at else None,
            "diff": params_diff(action.params, final),
            "events": Event.objects.for_action(action.pk).defer("search"),
            # "Allow similar…" for a reviewer of its type, once a person or a policy approved it;
            # where the type forbids it, the page says why rather than hiding it.
            "reviews_it": action.status in action.APPROVED_STATUSES
            and action.is_reviewable_by(request.user),
        },
    )


def _card(request, action, *, status=200, error="", form=None, message="", confirming=False, rejecting=False):
    """After a decision or an edit: the card again (htmx), or a page (a plain form post).
    `confirming`: the card asks to confirm the approval of an irreversible action.
    `rejecting`: the error is the reject panel's, which stays open to show it."""
    context = {
        "action": action,
        "error": error,
        "message": message,
        "form": form,
        "reject_form": RejectForm(),
        "rejecting": rejecting,
    }
    if form is not None and form.is_bound and form.is_valid():
        context["preview"] = _preview(action, form)
    if confirming:
        # The reading time runs from the card's first showing, not from this second step.
        context.update(confirming=True, first_shown_at=request.POST.get("shown_at", ""))
    if request.htmx:
        return render(request, "approvals/inbox.html#card", context)
    if form is not None or confirming:
        return render(request, "approvals/edit.html", context, status=status)
    if error:
        messages.error(request, error)
    elif message:
        messages.success(request, message)
    return redirect("approvals:inbox")


def _preview(action, form):
    final = form.final_params()
    return {
        "summary": action.action_type.render_summary(final),
        "diff": params_diff(action.params, final),
        "params": action.humanized_params(final),
    }


@require_http_methods(["GET", "POST"])
@login_required
def edit(request, pk):
    action = _get_action_for_reviewer(request, pk)
    if action.status != Action.Status.PENDING:
        return _card(request, action, error=action.conflict_message(request.user))
    form = ParamsForm(action, request.POST if request.method == "POST" else None)
    if form.is_bound:
        form.is_valid()  # errors beside the fields, the preview when it is valid
    return _card(request, action, form=form, status=200 if not form.errors else 422)


@require_POST
@login_required
def approve(request, pk):
    action = _get_action_for_reviewer(request, pk)
    params = form = None
    if "edited" in request.POST:
        form = ParamsForm(action, request.POST)
        if not form.is_valid():
            return _card(request, action, form=form, status=422)
        params = form.final_params()
    try:
        if action.needs_deliberate_approval and request.POST.get("confirm") != CONFIRMED:
            # The first press of Approve on an irreversible action asks again (unless four eyes
            # refuses this reviewer anyway); nothing is decided, as after an edit that fails.
            action.check_may_approve(request.user)
            why = "Irreversible: once approved it runs and cannot be undone. Approve again to confirm."
            return _card(request, action, form=form, confirming=True, message=why, status=422)
        decision = action.approve(by=request.user, params=params, seconds_to_decide=_seconds_shown(request))
    except Conflict as conflict:
        return _card(request, action, error=str(conflict))
    if decision is None:  # four eyes: more approvals are needed
        return _card(request, action, message=action.approval_progress(params))
    action.decision = decision
    return _card(request, action, message=f"Approved: {action.current_summary}.")


@require_POST
@login_required
def reject(request, pk):
    action = _get_action_for_reviewer(request, pk)
    form = RejectForm(request.POST, action=action)
    if not form.is_valid():
        error = " ".join(form.non_field_errors()) or "Give a reason."
        return _card(request, action, error=error, rejecting=action.status == Action.Status.PENDING)
    try:
        decision = action.reject(
            by=request.user,
            reason=form.cleaned_data["text"],
            option=form.cleaned_data["option"],
            seconds_to_decide=_seconds_shown(request),
        )
    except Conflict as conflict:
        return _card(request, action, error=str(conflict))
    action.decision = decision
    return _card(request, action, message=f"Rejected: {action.current_summary}.")


def _get_appeal_for_reviewer(request, pk):
    appeal = get_object_or_404(Appeal.objects.select_related("agent", "action__action_type", "claimed_by"), pk=pk)
    if not Appeal.objects.filter(pk=pk).visible_to(request.user).exists():
        raise PermissionDenied("You may not review the actions this appeal is about.")
    return appeal


def _appeal(request, appeal, change, done):
    """Make `change`; then the appeal's card again (htmx), or the inbox with a message."""
    error = ""
    try:
        change()
    except Conflict as conflict:
        error = str(conflict)
    if request.htmx:
        return render(request, "approvals/appeals.html#appeal", {"appeal": appeal, "error": error})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"{appeal.get_kind_display()} from {appeal.agent.name}: {done}.")
    return redirect("approvals:inbox")


@require_POST
@login_required
def claim_appeal(request, pk):
    """ "I'm on it": the other supervisors see who handles it."""
    appeal = _get_appeal_for_reviewer(request, pk)
    return _appeal(request, appeal, lambda: appeal.claim(by=request.user), "you are on it")


@require_POST
@login_required
def resolve_appeal(request, pk):
    appeal = _get_appeal_for_reviewer(request, pk)
    note = request.POST.get("note", "").strip()[:5000]
    return _appeal(request, appeal, lambda: appeal.resolve(by=request.user, note=note), "resolved")


@require_POST
@login_required
def answer_question(request, pk):
    """A supervisor answers an agent's question: their words go back verbatim, or an option's name."""
    if not request.user.has_perm("approvals.answer_question"):
        raise PermissionDenied("You may not answer agents' questions.")
    question = get_object_or_404(Question.objects.select_related("agent"), pk=pk)
    error = ""
    try:
        question.answer(
            by=request.user,
            response=request.POST.get("response", "").strip(),
            option_name=request.POST.get("option", ""),
        )
    except Conflict as conflict:
        error = str(conflict)
    except InvalidEdit as invalid:
        error = " ".join(detail["message"] for detail in invalid.errors)
    if request.htmx:
        return render(request, "approvals/questions.html#question", {"question": question, "error": error})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Answered {question.agent.name}'s question.")
    return redirect("approvals:inbox")


@login_required
@require_http_methods(["GET", "POST"])
def notification_preferences(request):
    """A reviewer chooses one message per action or an hourly or daily digest."""
    preference, _ = NotificationPreference.objects.get_or_create(user=request.user)
    if request.method == "POST":
        delivery = request.POST.get("delivery", "")
        if delivery not in NotificationPreference.Delivery.values:
            messages.error(request, "Choose one message each, an hourly digest or a daily digest.")
        else:
            preference.delivery = delivery
            preference.save(update_fields=["delivery"])
            messages.success(request, f"Notifications: {preference.get_delivery_display().lower()}.")
        return redirect("approvals:notification_preferences")
    return render(
        request,
        "approvals/notification_preferences.html",
        {
            "preference": preference,
            "choices": NotificationPreference.Delivery.choices,
            "slack_identity": SlackUser.objects.filter(user=request.user).first(),
            "standing_approvals": StandingApproval.objects.active()
            .reviewable_by(request.user)
            .select_related("action_type", "agent", "created_by")
            .order_by("expires_at")[:100],
        },
    )


@require_POST
@login_required
def execute(request, pk):
    """Have the action type's executor run a suggestion or an approved action."""
    action = _get_action_for_reviewer(request, pk)
    try:
        action.request_execution(by=request.user)
    except Conflict as conflict:
        messages.error(request, str(conflict))
    else:
        enqueue_on_commit(execute_action, action.pk)
        messages.success(request, f"{action.summary}: sent to the executor.")
    return redirect(action)


@require_http_methods(["GET", "POST"])
@login_required
def allow_similar(request, pk):
    """ "Approve and allow similar": after approving, let this agent's matching proposals of this
    type through at `audit`, within a scope, a time and a count the reviewer chooses."""
    action = _get_action_for_reviewer(request, pk)
    form = AllowSimilarForm(action, request.POST or None)
    standing = None
    # The scope as chosen so far (the default one on the first showing), in words before it is made.
    constraints = form.initial_constraints() if not form.is_bound else form.constraints() if form.is_valid() else None
    if constraints is not None:
        standing = StandingApproval(action_type=action.action_type, agent=action.agent, constraints=constraints)
    if request.method == "POST" and form.is_valid():
        if "create" in request.POST:
            try:
                standing = StandingApproval.allow_similar(
                    action=action,
                    by=request.user,
                    constraints=form.constraints(),
                    duration=timedelta(hours=form.cleaned_data["hours"]),
                    max_uses=form.cleaned_data["max_uses"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    f"Allowing similar {action.action_type.key} from {action.agent.name} "
                    f"({standing.describe()}) for {form.cleaned_data['hours']} h, at most "
                    f"{form.cleaned_data['max_uses']} times. Revoke it any time under “Standing approvals” "
                    "on your Notifications page.",
                )
                return redirect("approvals:inbox")
    return render(
        request,
        "approvals/allow_similar.html",
        {
            "action": action,
            "form": form,
            "standing": standing,
            "approved_by": action.approved_by_words(request.user),
            # The scope tried on this agent's recent proposals: one that matches none of them
            # would likely never apply again.
            "recent": standing.tried_on(action.similar_recent()) if standing else None,
        },
    )


@require_POST
@login_required
def revoke_standing_approval(request, pk):
    """A reviewer of its type revokes a standing approval at once (audited by the model)."""
    standing = get_object_or_404(StandingApproval.objects.select_related("action_type", "agent"), pk=pk)
    if not StandingApproval.objects.filter(pk=pk).reviewable_by(request.user).exists():
        raise PermissionDenied("You may not review this action type, so its standing approvals are not yours.")
    if standing.revoke(by=request.user):
        messages.success(
            request, f"Revoked: {standing.action_type.key} from {standing.agent.name} no longer runs unseen."
        )
    else:
        messages.info(request, f"Already revoked at {timezone.localtime(standing.revoked_at):%Y-%m-%d %H:%M}.")
    return redirect(reverse("approvals:notification_preferences") + "#standing")


@require_POST
@login_required
def escalate(request, pk):
    """Send the card to the next escalation tier now."""
    action = _get_action_for_reviewer(request, pk)
    try:
        escalation.escalate_now(action, actor=Actor.user(request.user))
    except Conflict as conflict:
        return _card(request, action, error=str(conflict))
    tier = action.current_escalation_tier()
    who = tier.group.name if tier and tier.group else "the next tier"
    return _card(request, action, message=f"Escalated to tier {action.escalation_tier} ({who}).")


@require_POST
@login_required
def mark_done(request, pk):
    action = _get_action_for_reviewer(request, pk)
    try:
        action.mark_done(by=request.user)
    except Conflict as conflict:
        return _card(request, action, error=str(conflict))
    return _card(request, action, message=f"Marked as done: {action.current_summary}.")


@require_POST
@login_required
def dismiss(request, pk):
    action = _get_action_for_reviewer(request, pk)
    try:
        action.dismiss(by=request.user, reason=request.POST.get("reason", "").strip())
    except Conflict as conflict:
        return _card(request, action, error=str(conflict))
    return _card(request, action, message=f"Dismissed: {action.current_summary}.")


def _get_actions_for_reviewer(request, ids):
    """The actions named by `ids`, in urgency order; 404 if one is unknown, 403 if one is not theirs."""
    ids = list(dict.fromkeys(ids))
    if len(ids) > BATCH_MAX:
        raise PermissionDenied(f"At most {BATCH_MAX} actions at once.")
    try:
        actions = list(Action.objects.filter(pk__in=ids).by_urgency())
    except ValidationError as error:  # a malformed UUID
        raise Http404("No such action.") from error
    if len(actions) != len(ids):
        raise Http404("One of the selected actions does not exist.")
    allowed = set(Action.objects.filter(pk__in=ids).reviewable_by(request.user).values_list("pk", flat=True))
    if len(allowed) != len(ids):
        raise PermissionDenied("You may not review some of the selected actions.")
    return actions


@require_http_methods(["GET", "POST"])
@login_required
def batch_approve(request):
    """Django admin's delete_selected, for approvals: a list of what will happen, then one POST."""
    return _batch(
        request,
        verb="approve",
        done="approved",
        intro="Each runs as proposed, and its agent is told at once. Read what each will do:",
        button="primary",
        # Four eyes: what one person may not approve alone stays out of the batch, and says why.
        leave_out=lambda pending: Action.left_out_of_batch(pending, request.user),
        decide=lambda pending, form: Action.approve_all(pending, by=request.user),
    )


@require_http_methods(["GET", "POST"])
@login_required
def batch_reject(request):
    """The same list, with one reason for all, then one POST that rejects them all or none."""
    return _batch(
        request,
        verb="reject",
        done="rejected",
        intro="None of them runs; each agent is told at once, with your reason. Read what you are turning down:",
        button="danger",
        form=RejectForm(request.POST if request.method == "POST" else None),
        decide=lambda pending, form: Action.reject_all(pending, by=request.user, reason=form.cleaned_data["text"]),
    )


def _batch(request, *, verb, done, intro, button, decide, form=None, leave_out=lambda pending: []):
    """The confirmation page of a batch (`intro` over the list, a `button` of that class) and its
    POST, to the page's own URL. `decide(pending, form)` decides them all or raises BatchConflict;
    `leave_out(pending)` names those the batch must not take."""
    ids = request.POST.getlist("ids") if request.method == "POST" else request.GET.getlist("ids")
    if not ids:
        messages.info(request, f"Select the actions to {verb} first (x, or the boxes on the cards).")
        return redirect("approvals:inbox")
    actions = _get_actions_for_reviewer(request, ids)
    pending = [action for action in actions if action.status == Action.Status.PENDING]
    conflicts = [(action, action.conflict_message(request.user)) for action in actions if action not in pending]
    left_out = leave_out(pending)
    pending = [action for action in pending if action not in {a for a, _ in left_out}]
    if request.method == "POST" and not conflicts and (form is None or form.is_valid()):
        try:
            decide(pending, form)
        except BatchConflict as conflict:
            conflicts = conflict.conflicts
            pending = [action for action in pending if action.status == Action.Status.PENDING]
        else:
            messages.success(request, f"{done.capitalize()} {len(pending)} action{'' if len(pending) == 1 else 's'}.")
            return redirect("approvals:inbox")
    return render(
        request,
        "approvals/batch.html",
        {
            "verb": verb,
            "verb_done": done,
            "intro": intro,
            "button": button,
            "post_to": request.path,
            "actions": pending,
            "conflicts": conflicts,
            "left_out": left_out,
            "form": form,
            "posted": request.method == "POST",
        },
        status=409 if conflicts and request.method == "POST" else 400 if form is not None and form.errors else 200,
    )


def _holdable(request):
    """The types `request.user` reviews, and the agents that proposed actions of them."""
    types = ActionType.objects.reviewable_by(request.user)
    agents = Agent.objects.filter(actions__action_type__in=types).distinct().order_by("name")
    return types.order_by("key"), agents


@login_required
@require_http_methods(["GET", "POST"])
def hold(request):
    """A supervisor holds an agent or a type they review (the kill switch's "hold": every
    proposal waits for a person), or releases their hold; audited as a policy change."""
    types, agents = _holdable(request)
    if not types.exists():
        raise PermissionDenied("You review no action types.")
    if request.method == "POST":
        kind, _, pk = request.POST.get("target", "").partition(":")
        target = {"type": types, "agent": agents}.get(kind, ActionType.objects.none()).filter(pk=pk or None).first()
        reason = request.POST.get("reason", "").strip()
        if target is None:
            messages.error(request, "Choose an agent or a type you review.")
        elif "release" in request.POST:
            _change_hold(request, target.release_hold, by=request.user)
        elif not reason:
            messages.error(request, "Say why: agents and other supervisors are shown the reason.")
        else:
            _change_hold(request, target.hold, by=request.user, reason=reason)
        return redirect("approvals:hold")
    held = any(target.pause for target in [*types, *agents])
    return render(request, "approvals/hold.html", {"types": types, "agents": agents, "Pause": Pause, "held": held})


def _change_hold(request, change, **options):
    try:
        change(**options)
    except ValidationError as refusal:
        messages.error(request, " ".join(refusal.messages))
    else:
        messages.success(request, "Done: the kill switch is changed, and the change is in the audit log.")
