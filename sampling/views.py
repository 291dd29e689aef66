"""The sample queue: auto-approved actions drawn for grading, and what the grades say."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from approvals.models import Conflict
from sampling.error_rates import error_rates
from sampling.models import Sample


@require_GET
@login_required
@permission_required("sampling.grade_sample", raise_exception=True)
def samples(request):
    queue = (
        Sample.objects.filter(grade="")
        .select_related("action__action_type", "action__agent")
        .order_by("drawn_at", "action_id")[:50]
    )
    graded = Sample.objects.exclude(grade="").select_related("action__action_type").order_by("-graded_at")[:20]
    return render(
        request,
        "sampling/samples.html",
        {"queue": queue, "graded": graded, "error_rates": error_rates(), "grades": Sample.Grade},
    )


@require_POST
@login_required
@permission_required("sampling.grade_sample", raise_exception=True)
def grade(request, pk):
    sample = get_object_or_404(Sample.objects.select_related("action__action_type", "action__agent"), pk=pk)
    grade, note = request.POST.get("grade", ""), request.POST.get("note", "").strip()[:5000]
    error = ""
    if grade not in Sample.Grade.values:
        error = "Choose correct, incorrect or unsure."
    else:
        try:
            sample.grade_as(by=request.user, grade=grade, note=note)
        except Conflict as conflict:
            error = str(conflict)
        except ValidationError as invalid:
            error = " ".join(invalid.messages)
    if request.htmx:
        return render(
            request,
            "sampling/samples.html#sample",
            {"sample": sample, "error": error, "grades": Sample.Grade, "note": note},
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Graded {sample.grade}: {sample.action.summary}")
    return redirect("sampling:samples")
