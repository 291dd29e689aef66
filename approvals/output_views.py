"""The reviewer's side of output review (approvals/models/output_review.py): the held outputs of the types
they review, one output with release, release redacted and withhold."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from approvals.models import Conflict
from approvals.models.output_review import OutputReview


def _get_review_for_reviewer(request, pk):
    review = get_object_or_404(OutputReview.objects.select_related("action__action_type", "action__agent"), pk=pk)
    if not OutputReview.objects.filter(pk=pk).reviewable_by(request.user).exists():
        raise PermissionDenied("You may not review outputs of this type.")
    return review


@require_GET
@login_required
def outputs(request):
    held = (
        OutputReview.objects.pending()
        .reviewable_by(request.user)
        .select_related("action__action_type", "action__agent")
    )
    return render(request, "approvals/outputs.html", {"reviews": held[:200]})


@require_GET
@login_required
def output_review(request, pk):
    review = _get_review_for_reviewer(request, pk)
    return render(request, "approvals/output_review.html", {"review": review, "action": review.action})


@require_POST
@login_required
def release_output(request, pk):
    review = _get_review_for_reviewer(request, pk)
    spans = [line.strip() for line in request.POST.get("spans", "").splitlines() if line.strip()]
    try:
        review.release(by=request.user, fields=request.POST.getlist("field"), spans=spans)
    except (Conflict, ValueError) as problem:
        messages.error(request, str(problem))
        return redirect("approvals:output_review", pk)
    messages.success(request, f"Output {review.get_status_display().lower()}: the agent has it now.")
    return redirect("approvals:outputs")


@require_POST
@login_required
def withhold_output(request, pk):
    review = _get_review_for_reviewer(request, pk)
    try:
        review.withhold(by=request.user, note=request.POST.get("note", ""))
    except (Conflict, ValueError) as problem:
        messages.error(request, str(problem))
        return redirect("approvals:output_review", pk)
    messages.success(request, "Output withheld: the agent is told it was, and why.")
    return redirect("approvals:outputs")
