"""The auditor's pages: search the log, export a search, see whether the chain verifies and
have a worker verify all of it now."""

import csv
import json
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import connection, transaction
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from audit import tasks
from audit.checks import witness_directory_problem
from audit.forms import KNOWN_KINDS, SearchForm
from audit.log import Actor, record
from audit.models import EVENT_COLUMNS, Event, Verification
from audit.spreadsheets import spreadsheet_cell
from audit.verification import chain_status

PAGE_SIZE = 50
# Rows are written to the response in batches: one yield per row would cost more than the rows.
EXPORT_BATCH = 500
# A "Verify now" unfinished after this long counts as lost (its worker died): another may start.
VERIFICATION_LOST_AFTER = timedelta(hours=1)
# Serializes "Verify now" requests, so that two auditors clicking at once start one run.
VERIFY_REQUEST_LOCK_ID = 0x0A0D18


@require_GET
@login_required
@permission_required("audit.view_event", raise_exception=True)
def search(request):
    form = SearchForm(request.GET)
    if not form.is_valid():
        return render(request, "audit/search.html", {"form": form, "kinds": KNOWN_KINDS}, status=400)
    events = form.events().page(
        before=form.cleaned_data["before"], size=PAGE_SIZE, widening=bool(form.cleaned_data["q"])
    )
    older = request.GET.copy()
    older["before"] = events[-1].seq if events else ""
    newest = request.GET.copy()
    newest.pop("before", None)
    return render(
        request,
        "audit/search.html",
        {
            "form": form,
            "kinds": KNOWN_KINDS,
            "events": events,
            "older_query": older.urlencode() if len(events) == PAGE_SIZE else "",
            "newest_query": newest.urlencode() if form.cleaned_data["before"] else "",
            "export_query": newest.urlencode(),
            **_chain_context(),
        },
    )


@require_GET
@login_required
@permission_required("audit.view_event", raise_exception=True)
def event(request, seq):
    """One event in full: every column, a policy change's diff in words, the data as JSON."""
    found = get_object_or_404(Event.objects.defer("search"), seq=seq)
    return render(
        request,
        "audit/event.html",
        {"event": found, "data_json": json.dumps(found.data, indent=2, ensure_ascii=False, sort_keys=True)},
    )


def _chain_context(**extra):
    return {
        "status": chain_status(),
        "verification": Verification.objects.first(),
        "witness_warning": witness_directory_problem(),
        **extra,
    }


@require_GET
@login_required
@permission_required("audit.view_event", raise_exception=True)
def chain(request):
    """The chain's status and the latest "Verify now", the fragment the page polls while a
    verification runs."""
    return render(request, "audit/search.html#chain", _chain_context())


@require_POST
@login_required
@permission_required("audit.view_event", raise_exception=True)
def verify_now(request):
    """Start a full verification on a worker; while one runs, a second request joins it."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [VERIFY_REQUEST_LOCK_ID])
        running = Verification.objects.filter(
            finished_at=None, requested_at__gte=timezone.now() - VERIFICATION_LOST_AFTER
        ).first()
        if running is None:
            # No audit event: a verification changes nothing, and its outcome is the signed head.
            verification = Verification.objects.create(
                requested_by=request.user.get_username(), requested_at=timezone.now()
            )
            tasks.verify_now.delay_on_commit(verification.pk)
            message = ""
        else:
            message = f"A verification asked for by {running.requested_by} is already running; this is its progress."
    if request.htmx:
        return render(request, "audit/search.html#chain", _chain_context(message=message))
    if message:
        messages.info(request, message)
    return redirect("audit:search")


@require_GET
@login_required
@permission_required("audit.view_event", raise_exception=True)
def export(request):
    """The whole current search (every page), streamed newest first, in constant memory."""
    fmt = request.GET.get("format", "")
    if fmt not in ("csv", "jsonl"):
        return HttpResponseBadRequest("Choose format=csv or format=jsonl.")
    form = SearchForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(
            "Invalid search: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        )
    with transaction.atomic():
        exported = record(
            kind="audit.exported", actor=Actor.user(request.user), data={"format": fmt, "search": form.criteria()}
        )
    # The search as it stood when asked for: without this export's own event or any later one.
    rows = form.events().filter(seq__lt=exported.seq).order_by("-seq").values_list(*EVENT_COLUMNS)
    lines = _csv_lines(rows) if fmt == "csv" else _jsonl_lines(rows)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = StreamingHttpResponse(
        _in_one_snapshot(lines), content_type="text/csv" if fmt == "csv" else "application/x-ndjson"
    )
    response["Content-Disposition"] = f'attachment; filename="countersign-audit-{stamp}.{fmt}"'
    return response


def _in_one_snapshot(lines):
    # Inside a transaction Django reads `.iterator()` through a plain server-side cursor: rows
    # arrive as PostgreSQL finds them, never all at once in this process or (WITH HOLD) on disk.
    with transaction.atomic():
        batch = []
        for line in lines:
            batch.append(line)
            if len(batch) >= EXPORT_BATCH:
                yield "".join(batch)
                batch = []
        if batch:
            yield "".join(batch)


class _Line:
    """A file-like object whose write() returns the line, for csv.writer."""

    def write(self, value):
        return value


def _csv_lines(rows):
    writer = csv.writer(_Line())
    yield writer.writerow(EVENT_COLUMNS)
    for row in rows.iterator(chunk_size=2000):
        yield writer.writerow([_csv_cell(column, value) for column, value in zip(EVENT_COLUMNS, row)])


def _csv_cell(column, value):
    if column == "data":
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if column == "at":
        return value.isoformat(timespec="microseconds")
    # The JSON Lines export keeps every value exactly.
    return spreadsheet_cell(None if value is None else str(value))


def _jsonl_lines(rows):
    for row in rows.iterator(chunk_size=2000):
        event = dict(zip(EVENT_COLUMNS, row))
        event["at"] = event["at"].isoformat(timespec="microseconds")
        event["action_id"] = str(event["action_id"]) if event["action_id"] else None
        yield json.dumps(event, ensure_ascii=False) + "\n"
